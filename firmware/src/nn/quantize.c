/* QUANTIZE (float32 -> int8) as TFLM's reference: divides in float and rounds half
 * away from zero. DEQUANTIZE (dequantize.c) shares its validation. */
#include "nn_quant.h"
#include "nn_op.h"

ws_status_t ws_nn_quantize_f32_s8(float scale, int32_t zero_point, uint32_t count,
                                  const float *input, int8_t *output)
{
    if (!input || !output || !(scale > 0.0f)) {
        return WS_ERR_ARG;
    }
    for (uint32_t i = 0; i < count; ++i) {
        float q = input[i] / scale;
        int32_t v;
        if (!(q == q)) {
            v = -128; /* NaN */
        } else if (q >= 1e9f) {
            v = 127;
        } else if (q <= -1e9f) {
            v = -128;
        } else {
            double d = (double)q;
            int32_t t = (int32_t)d; /* truncates toward zero */
            double frac = d - (double)t;
            if (frac >= 0.5) {
                t += 1;
            } else if (frac <= -0.5) {
                t -= 1;
            }
            v = ws_nn_clamp(t + zero_point, -128, 127);
        }
        output[i] = (int8_t)v;
    }
    return WS_OK;
}

/* ---------------------------------------------------------------- operator */

/* QUANTIZE (float32 -> int8) or DEQUANTIZE (int8 -> float32): same shape, the int8
 * side quantized per tensor. */
ws_status_t ws_nn_prepare_quantize_s8(const ws_nn_op_view_t *v, int dequantize)
{
    ws_nn_model_t *m = v->m;
    if (v->n_in != 1 || v->in[0] < 0) {
        return WS_ERR_NN_INDEX;
    }
    ws_nn_tensor_t *in = ws_nn_tensor(m, v->in[0]), *out = ws_nn_tensor(m, v->out);
    uint8_t from = dequantize ? WS_NN_TYPE_INT8 : WS_NN_TYPE_FLOAT32;
    uint8_t to = dequantize ? WS_NN_TYPE_FLOAT32 : WS_NN_TYPE_INT8;
    if (!ws_nn_is_activation(in, from) || !ws_nn_is_activation(out, to)) {
        return WS_ERR_NN_TYPE;
    }
    if (!ws_nn_same_dims(in, out)) {
        return WS_ERR_NN_SHAPE;
    }
    return ws_nn_check_activation_q(dequantize ? in : out);
}

ws_status_t ws_nn_prepare_quantize(const ws_nn_op_view_t *v, ws_nn_op_t *op)
{
    (void)op;
    return ws_nn_prepare_quantize_s8(v, 0);
}

ws_status_t ws_nn_eval_quantize(ws_nn_model_t *m, const ws_nn_op_t *op)
{
    const ws_nn_tensor_t *out = &m->tensors[op->output];
    return ws_nn_quantize_f32_s8(out->scale, out->zero_point, out->bytes,
                                 ws_nn_tensor_data(m, op->inputs[0]), ws_nn_output_ptr(m, op));
}
