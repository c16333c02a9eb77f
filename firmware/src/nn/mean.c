/* MEAN, int8, over any set of axes: TFLM's reference QuantizedMeanOrSum. The raw
 * int8 values are summed in int32, the zero point times the count is subtracted,
 * and one requantization with 1/count folded into the multiplier gives the output. */
#include "nn_quant.h"
#include "nn_op.h"

ws_status_t ws_nn_mean_s8(const ws_nn_mean_params_t *params, const ws_nn_dims_t *in,
                          const int8_t *input, int8_t *output)
{
    if (!params || !in || !input || !output) {
        return WS_ERR_ARG;
    }
    const int32_t dims[4] = {in->n, in->h, in->w, in->c};
    int32_t outer[4], inner[4];
    int32_t count = 1;
    for (int k = 0; k < 4; ++k) {
        outer[k] = params->reduce[k] ? 1 : dims[k];
        inner[k] = params->reduce[k] ? dims[k] : 1;
        count *= inner[k];
    }
    size_t o = 0;
    for (int32_t a = 0; a < outer[0]; ++a) {
        for (int32_t b = 0; b < outer[1]; ++b) {
            for (int32_t c = 0; c < outer[2]; ++c) {
                for (int32_t d = 0; d < outer[3]; ++d) {
                    int32_t sum = 0;
                    for (int32_t i = 0; i < inner[0]; ++i) {
                        for (int32_t j = 0; j < inner[1]; ++j) {
                            for (int32_t k = 0; k < inner[2]; ++k) {
                                for (int32_t l = 0; l < inner[3]; ++l) {
                                    size_t at = (((size_t)(a + i) * dims[1] + (b + j)) * dims[2] +
                                                 (c + k)) * dims[3] + (d + l);
                                    sum = ws_nn_add_wrap(sum, input[at]);
                                }
                            }
                        }
                    }
                    int32_t shifted = (int32_t)((uint32_t)sum -
                                                (uint32_t)params->input_zero_point * (uint32_t)count);
                    int32_t out = ws_nn_mbqm(shifted, params->multiplier, params->shift);
                    out = ws_nn_add_wrap(out, params->output_zero_point);
                    output[o++] = (int8_t)ws_nn_clamp(out, -128, 127);
                }
            }
        }
    }
    return WS_OK;
}

/* ---------------------------------------------------------------- operator */

ws_status_t ws_nn_prepare_mean(const ws_nn_op_view_t *v, ws_nn_op_t *op)
{
    ws_nn_model_t *m = v->m;
    if (v->n_in != 2 || v->in[0] < 0 || v->in[1] < 0) {
        return WS_ERR_NN_INDEX;
    }
    if (v->has_options && v->options_type != WS_NN_OPT_REDUCER) {
        return WS_ERR_NN_OPTIONS;
    }
    ws_nn_tensor_t *in = ws_nn_tensor(m, v->in[0]), *out = ws_nn_tensor(m, v->out);
    ws_nn_tensor_t *axes_t = ws_nn_tensor(m, v->in[1]);
    if (!ws_nn_is_activation(in, WS_NN_TYPE_INT8) || !ws_nn_is_activation(out, WS_NN_TYPE_INT8)) {
        return WS_ERR_NN_TYPE;
    }
    WS_NN_CHECK(ws_nn_check_activation_q(in));
    WS_NN_CHECK(ws_nn_check_activation_q(out));
    if (in->rank < 1 || axes_t->bytes < 4 || axes_t->bytes > 16) {
        return WS_ERR_NN_SHAPE;
    }
    uint32_t n_axes = axes_t->bytes / 4;
    int32_t axes[4], din[4];
    WS_NN_CHECK(ws_nn_const_ints(m, v->in[1], n_axes, axes));
    int32_t off = ws_nn_dims4(in, din);
    ws_nn_mean_params_t *p = &op->p.mean;
    for (int k = 0; k < 4; ++k) {
        p->reduce[k] = 0;
    }
    for (uint32_t i = 0; i < n_axes; ++i) {
        int32_t a = axes[i] < 0 ? axes[i] + in->rank : axes[i];
        if (a < 0 || a >= in->rank) {
            return WS_ERR_NN_OPTIONS;
        }
        p->reduce[off + a] = 1;
    }
    int64_t keep;
    WS_NN_CHECK(ws_nn_op_option(v, 0, 1, 0, &keep));
    uint32_t kept = 1, count = 1, reduced_axes = 0;
    for (int k = 0; k < 4; ++k) {
        kept *= p->reduce[k] ? 1u : (uint32_t)din[k];
        count *= p->reduce[k] ? (uint32_t)din[k] : 1u;
        reduced_axes += (uint32_t)p->reduce[k];
    }
    int32_t want_rank = keep ? in->rank : in->rank - (int32_t)reduced_axes;
    if (out->bytes != kept || (want_rank > 0 && out->rank != want_rank)) {
        return WS_ERR_NN_SHAPE;
    }
    if (keep) {
        for (int32_t i = 0; i < in->rank; ++i) {
            if (out->dims[i] != (p->reduce[off + i] ? 1 : in->dims[i])) {
                return WS_ERR_NN_SHAPE;
            }
        }
    }
    double real = (double)in->scale / (double)out->scale;
    WS_NN_CHECK(ws_nn_check_multiplier(real));
    ws_nn_quantize_multiplier(real, &p->multiplier, &p->shift);
    if (p->shift < -31) {
        return WS_ERR_NN_QUANT;
    }
    /* fold 1/count into the multiplier exactly as the reference does */
    int32_t fold = 0;
    while ((1ULL << (fold + 1)) <= count) {
        ++fold;
    }
    fold = fold < 32 ? fold : 32;
    fold = fold < 31 + p->shift ? fold : 31 + p->shift;
    p->multiplier = (int32_t)((int64_t)((uint64_t)(int64_t)p->multiplier << fold) / (int64_t)count);
    p->shift -= fold;
    p->input_zero_point = in->zero_point;
    p->output_zero_point = out->zero_point;
    return WS_OK;
}

ws_status_t ws_nn_eval_mean(ws_nn_model_t *m, const ws_nn_op_t *op)
{
    const ws_nn_dims_t di = ws_nn_dims4_of(&m->tensors[op->inputs[0]]);
    return ws_nn_mean_s8(&op->p.mean, &di, ws_nn_tensor_data(m, op->inputs[0]),
                         ws_nn_output_ptr(m, op));
}
