/* LEAKY_RELU, int8, as TFLM's reference QuantizeLeakyRelu: x - input zero point,
 * requantized by input/output scale where it is >= 0 and by alpha * input/output
 * scale where it is negative (both multipliers computed in double, as TFLM's
 * Prepare does), plus the output zero point, clamped to int8. */
#include "nn_quant.h"
#include "nn_op.h"

#define LEAKY_RELU_OPTIONS 75 /* BuiltinOptions: LeakyReluOptions { alpha: float } */

typedef struct {
    int32_t input_zero_point, output_zero_point;
    int32_t identity_multiplier, identity_shift;
    int32_t alpha_multiplier, alpha_shift;
} ws_nn_leaky_relu_params_t;

WS_NN_OP_DATA_FITS(ws_nn_leaky_relu_params_t);

static ws_status_t ws_nn_leaky_relu_s8(const ws_nn_leaky_relu_params_t *p, uint32_t count,
                                       const int8_t *input, int8_t *output)
{
    if (!input || !output) {
        return WS_ERR_ARG;
    }
    for (uint32_t i = 0; i < count; ++i) {
        const int32_t x = (int32_t)input[i] - p->input_zero_point;
        const int32_t y = x >= 0 ? ws_nn_mbqm(x, p->identity_multiplier, p->identity_shift)
                                 : ws_nn_mbqm(x, p->alpha_multiplier, p->alpha_shift);
        output[i] = (int8_t)ws_nn_clamp(ws_nn_add_wrap(p->output_zero_point, y), -128, 127);
    }
    return WS_OK;
}

/* ---------------------------------------------------------------- operator */

ws_status_t ws_nn_prepare_leaky_relu(const ws_nn_op_view_t *v, ws_nn_op_t *op)
{
    ws_nn_model_t *m = v->m;
    if (v->n_in != 1 || v->in[0] < 0) {
        return WS_ERR_NN_INDEX;
    }
    if (!v->has_options || v->options_type != LEAKY_RELU_OPTIONS) {
        return WS_ERR_NN_OPTIONS;
    }
    ws_nn_tensor_t *in = ws_nn_tensor(m, v->in[0]), *out = ws_nn_tensor(m, v->out);
    if (!ws_nn_is_activation(in, WS_NN_TYPE_INT8) || !ws_nn_is_activation(out, WS_NN_TYPE_INT8)) {
        return WS_ERR_NN_TYPE;
    }
    if (!ws_nn_same_dims(in, out)) {
        return WS_ERR_NN_SHAPE;
    }
    WS_NN_CHECK(ws_nn_check_activation_q(in));
    WS_NN_CHECK(ws_nn_check_activation_q(out));
    int64_t alpha_bits;
    WS_NN_CHECK(ws_nn_op_option(v, 0, 4, 0, &alpha_bits));
    const uint32_t raw = (uint32_t)alpha_bits;
    float alpha;
    memcpy(&alpha, &raw, sizeof alpha);
    if (!(alpha > 0.0f) || alpha > 1e6f) {
        return WS_ERR_NN_OPTIONS; /* alpha 0 is a RELU; negative or huge slopes left out */
    }
    const double identity = (double)in->scale / (double)out->scale;
    const double sloped = (double)in->scale * (double)alpha / (double)out->scale;
    WS_NN_CHECK(ws_nn_check_multiplier(identity));
    WS_NN_CHECK(ws_nn_check_multiplier(sloped));
    ws_nn_leaky_relu_params_t *p = WS_NN_OP_DATA(op, ws_nn_leaky_relu_params_t);
    p->input_zero_point = in->zero_point;
    p->output_zero_point = out->zero_point;
    ws_nn_quantize_multiplier(identity, &p->identity_multiplier, &p->identity_shift);
    ws_nn_quantize_multiplier(sloped, &p->alpha_multiplier, &p->alpha_shift);
    return WS_OK;
}

ws_status_t ws_nn_eval_leaky_relu(ws_nn_model_t *m, const ws_nn_op_t *op)
{
    return ws_nn_leaky_relu_s8(WS_NN_OP_DATA_CONST(op, ws_nn_leaky_relu_params_t),
                               m->tensors[op->output].bytes, ws_nn_tensor_data(m, op->inputs[0]),
                               ws_nn_output_ptr(m, op));
}
