/* MUL, int8, as TFLM's reference_integer_ops MulElementwise (no broadcasting). */
#include "nn_fixedpoint.h"
#include "nn_op.h"

ws_status_t ws_nn_mul_s8(const ws_nn_mul_params_t *params, uint32_t count, const int8_t *input1,
                         const int8_t *input2, int8_t *output)
{
    if (!params || !input1 || !input2 || !output) {
        return WS_ERR_ARG;
    }
    for (uint32_t i = 0; i < count; ++i) {
        const int32_t v1 = params->input1_offset + input1[i];
        const int32_t v2 = params->input2_offset + input2[i];
        int32_t out = ws_nn_mbqm(v1 * v2, params->output_multiplier, params->output_shift);
        out = ws_nn_add_wrap(out, params->output_offset);
        output[i] = (int8_t)ws_nn_clamp(out, params->act_min, params->act_max);
    }
    return WS_OK;
}

/* ---------------------------------------------------------------- operator */

ws_status_t ws_nn_prepare_mul(const ws_nn_op_view_t *v, ws_nn_op_t *op)
{
    ws_nn_tensor_t *a, *b, *out;
    int64_t act;
    WS_NN_CHECK(ws_nn_check_elementwise(v, WS_NN_OPT_MUL, &a, &b, &out, &act));
    double real = (double)a->scale * (double)b->scale / (double)out->scale;
    WS_NN_CHECK(ws_nn_check_multiplier(real));
    ws_nn_mul_params_t *p = &op->p.mul;
    p->input1_offset = -a->zero_point;
    p->input2_offset = -b->zero_point;
    p->output_offset = out->zero_point;
    ws_nn_quantize_multiplier(real, &p->output_multiplier, &p->output_shift);
    WS_NN_CHECK(ws_nn_activation_range(act, out, &p->act_min, &p->act_max));
    return WS_OK;
}

ws_status_t ws_nn_eval_mul(ws_nn_model_t *m, const ws_nn_op_t *op)
{
    return ws_nn_mul_s8(&op->p.mul, m->tensors[op->output].bytes,
                        ws_nn_tensor_data(m, op->inputs[0]), ws_nn_tensor_data(m, op->inputs[1]),
                        ws_nn_output_ptr(m, op));
}
