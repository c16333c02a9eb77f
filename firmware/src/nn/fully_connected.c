/* FULLY_CONNECTED, int8: TFLM's reference_integer_ops::FullyConnected (per-tensor)
 * and FullyConnectedPerChannel. Weight zero point is 0 (symmetric). */
#include "nn_dot.h"
#include "nn_quant.h"
#include "nn_op.h"

size_t ws_nn_fully_connected_s8_scratch_size(int32_t in_features)
{
    (void)in_features;
    return 0;
}

#if defined(WS_NN_DSP) && WS_NN_DSP
/* Optimised build: two output features per pass share each loaded input word (widened
 * once, offset added by SXTAB16), 13 instructions per 8 multiply-accumulates; the
 * six-instruction requantisation where |acc| <= |bias| + in * 128 * 255 < 2^29. */
static inline int8_t fc_out(int32_t acc, int32_t mult, int32_t shift, const ws_nn_fc_params_t *p,
                            int32_t in_features, int32_t bias)
{
    const ws_nn_rqs_t r = ws_nn_rqs_make(mult, shift);
    if (r.ok && ws_nn_acc_bound(bias, (uint64_t)in_features * 128u, 255) < WS_NN_RQS_LIMIT) {
        return (int8_t)ws_nn_clamp(ws_nn_rqs_off(acc, r.multiplier, r.rm1, 1 + 2 * p->output_offset),
                                   p->act_min, p->act_max);
    }
    return ws_nn_requant_s8(acc, mult, shift, p->output_offset, p->act_min, p->act_max);
}

static void fc_dsp(const ws_nn_fc_params_t *params, const ws_nn_per_channel_quant_t *quant,
                   int32_t batches, int32_t in_features, const int8_t *input, int32_t out_features,
                   const int8_t *filter, const int32_t *bias, int8_t *output)
{
    const uint32_t off2 = ((uint32_t)params->input_offset & 0xFFFFu) * 0x00010001u;
    const int32_t words = in_features >> 2;
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *x = input + (size_t)b * in_features;
        int32_t o = 0;
        for (; o + 2 <= out_features; o += 2) {
            const int8_t *fa = filter + (size_t)o * in_features, *fb = fa + in_features;
            int32_t acc_a = bias ? bias[o] : 0, acc_b = bias ? bias[o + 1] : 0;
            for (int32_t k = 0; k < words; ++k) {
                const uint32_t xw = ws_nn_load4(x + 4 * k);
                const int16x2_t x02 = __sxtab16(off2, xw), x13 = ws_nn_sxtab16_ror8(off2, xw);
                const uint32_t wa = ws_nn_load4(fa + 4 * k), wb = ws_nn_load4(fb + 4 * k);
                acc_a = __smlad(__sxtb16(wa), x02, acc_a);
                acc_a = __smlad(ws_nn_sxtb16_ror8(wa), x13, acc_a);
                acc_b = __smlad(__sxtb16(wb), x02, acc_b);
                acc_b = __smlad(ws_nn_sxtb16_ror8(wb), x13, acc_b);
            }
            for (int32_t k = 4 * words; k < in_features; ++k) {
                const int32_t xv = (int32_t)x[k] + params->input_offset;
                acc_a = ws_nn_add_wrap(acc_a, (int32_t)fa[k] * xv);
                acc_b = ws_nn_add_wrap(acc_b, (int32_t)fb[k] * xv);
            }
            const int32_t ma = quant ? quant->multiplier[o] : params->multiplier;
            const int32_t sa = quant ? quant->shift[o] : params->shift;
            const int32_t mb = quant ? quant->multiplier[o + 1] : params->multiplier;
            const int32_t sb = quant ? quant->shift[o + 1] : params->shift;
            output[(size_t)b * out_features + o] =
                fc_out(acc_a, ma, sa, params, in_features, bias ? bias[o] : 0);
            output[(size_t)b * out_features + o + 1] =
                fc_out(acc_b, mb, sb, params, in_features, bias ? bias[o + 1] : 0);
        }
        for (; o < out_features; ++o) {
            int32_t acc = ws_nn_dot_s8(filter + (size_t)o * in_features, x, in_features,
                                       params->input_offset);
            if (bias) {
                acc = ws_nn_add_wrap(acc, bias[o]);
            }
            const int32_t m = quant ? quant->multiplier[o] : params->multiplier;
            const int32_t sh = quant ? quant->shift[o] : params->shift;
            output[(size_t)b * out_features + o] =
                fc_out(acc, m, sh, params, in_features, bias ? bias[o] : 0);
        }
    }
}
#endif

ws_status_t ws_nn_fully_connected_s8(const ws_nn_fc_params_t *params,
                                     const ws_nn_per_channel_quant_t *quant, int32_t batches,
                                     int32_t in_features, const int8_t *input, int32_t out_features,
                                     const int8_t *filter, const int32_t *bias, int8_t *output)
{
    if (!params || !input || !filter || !output || batches < 0 || in_features < 0 ||
        out_features < 0) {
        return WS_ERR_ARG;
    }
#if defined(WS_NN_DSP) && WS_NN_DSP
    fc_dsp(params, quant, batches, in_features, input, out_features, filter, bias, output);
    return WS_OK;
#endif
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *in_row = input + (size_t)b * in_features;
        for (int32_t o = 0; o < out_features; ++o) {
            const int8_t *f_row = filter + (size_t)o * in_features;
            int32_t acc = ws_nn_dot_s8(f_row, in_row, in_features, params->input_offset);
            if (bias) {
                acc = ws_nn_add_wrap(acc, bias[o]);
            }
            if (quant) {
                acc = ws_nn_mbqm(acc, quant->multiplier[o], quant->shift[o]);
            } else {
                acc = ws_nn_mbqm(acc, params->multiplier, params->shift);
            }
            acc = ws_nn_add_wrap(acc, params->output_offset);
            output[(size_t)b * out_features + o] =
                (int8_t)ws_nn_clamp(acc, params->act_min, params->act_max);
        }
    }
    return WS_OK;
}

/* ---------------------------------------------------------------- operator */

ws_status_t ws_nn_prepare_fully_connected(const ws_nn_op_view_t *v, ws_nn_op_t *op)
{
    ws_nn_model_t *m = v->m;
    if (v->n_in < 2 || v->n_in > 3 || v->in[0] < 0 || v->in[1] < 0) {
        return WS_ERR_NN_INDEX;
    }
    if (v->has_options && v->options_type != WS_NN_OPT_FC) {
        return WS_ERR_NN_OPTIONS;
    }
    ws_nn_tensor_t *in = ws_nn_tensor(m, v->in[0]), *w = ws_nn_tensor(m, v->in[1]);
    ws_nn_tensor_t *out = ws_nn_tensor(m, v->out);
    if (!ws_nn_is_activation(in, WS_NN_TYPE_INT8) || !ws_nn_is_activation(out, WS_NN_TYPE_INT8)) {
        return WS_ERR_NN_TYPE;
    }
    WS_NN_CHECK(ws_nn_check_activation_q(in));
    WS_NN_CHECK(ws_nn_check_activation_q(out));
    if (w->rank != 2 || in->rank < 1 || out->rank < 1) {
        return WS_ERR_NN_SHAPE;
    }
    int32_t units = w->dims[0], depth = w->dims[1];
    WS_NN_CHECK(ws_nn_check_weights(w, 0, units));
    int64_t act, format, keep;
    WS_NN_CHECK(ws_nn_op_option(v, 0, 1, 0, &act));
    WS_NN_CHECK(ws_nn_op_option(v, 1, 1, 0, &format));
    WS_NN_CHECK(ws_nn_op_option(v, 2, 1, 0, &keep));
    if (format != 0) {
        return WS_ERR_NN_OPTIONS;
    }
    uint32_t in_elements = in->bytes;
    if (in_elements % (uint32_t)depth != 0) {
        return WS_ERR_NN_SHAPE;
    }
    uint32_t batches = in_elements / (uint32_t)depth;
    if (out->dims[out->rank - 1] != units || out->bytes != batches * (uint32_t)units) {
        return WS_ERR_NN_SHAPE;
    }
    int32_t bias = v->n_in == 3 ? v->in[2] : -1;
    WS_NN_CHECK(ws_nn_check_bias(m, bias, in, w, units));
    for (int32_t c = 0; c < units; ++c) {
        WS_NN_CHECK(ws_nn_check_multiplier(
            (double)in->scale * (double)ws_nn_tensor_scale(m, w, (uint32_t)c) / (double)out->scale));
    }
    ws_nn_fc_params_t *p = &op->p.fc;
    p->input_offset = -in->zero_point;
    p->output_offset = out->zero_point;
    ws_nn_quantize_multiplier((double)in->scale * (double)w->scale / (double)out->scale,
                              &p->multiplier, &p->shift);
    WS_NN_CHECK(ws_nn_activation_range(act, out, &p->act_min, &p->act_max));
    op->channels = w->scale_count > 1 ? (uint32_t)units : 0;
    op->macs = (uint64_t)batches * units * depth;
    return WS_OK;
}

ws_status_t ws_nn_eval_fully_connected(ws_nn_model_t *m, const ws_nn_op_t *op)
{
    const ws_nn_per_channel_quant_t quant = ws_nn_op_quant(m, op);
    const ws_nn_tensor_t *in = &m->tensors[op->inputs[0]];
    const ws_nn_tensor_t *w = &m->tensors[op->inputs[1]];
    const int32_t depth = w->dims[1];
    const int32_t *bias = op->inputs[2] >= 0 ? ws_nn_tensor_data(m, op->inputs[2]) : NULL;
    return ws_nn_fully_connected_s8(&op->p.fc, op->channels ? &quant : NULL,
                                    (int32_t)(in->bytes / (uint32_t)depth), depth,
                                    ws_nn_tensor_data(m, op->inputs[0]), w->dims[0],
                                    ws_nn_tensor_data(m, op->inputs[1]), bias,
                                    ws_nn_output_ptr(m, op));
}
