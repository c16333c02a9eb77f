/* DEQUANTIZE (int8 -> float32) as TFLM's reference: multiplies in double and narrows
 * to float. */
#include "nn_op.h"

ws_status_t ws_nn_dequantize_s8_f32(float scale, int32_t zero_point, uint32_t count,
                                    const int8_t *input, float *output)
{
    if (!input || !output) {
        return WS_ERR_ARG;
    }
    for (uint32_t i = 0; i < count; ++i) {
        output[i] = (float)((double)scale * (double)((int32_t)input[i] - zero_point));
    }
    return WS_OK;
}

/* ---------------------------------------------------------------- operator */

ws_status_t ws_nn_prepare_dequantize(const ws_nn_op_view_t *v, ws_nn_op_t *op)
{
    (void)op;
    return ws_nn_prepare_quantize_s8(v, 1);
}

ws_status_t ws_nn_eval_dequantize(ws_nn_model_t *m, const ws_nn_op_t *op)
{
    const ws_nn_tensor_t *in = &m->tensors[op->inputs[0]];
    return ws_nn_dequantize_s8_f32(in->scale, in->zero_point, in->bytes,
                                   ws_nn_tensor_data(m, op->inputs[0]), ws_nn_output_ptr(m, op));
}
