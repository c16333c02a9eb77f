/* ADD, int8, same shapes: TFLM's reference_integer_ops::AddElementwise. */
#include "nn_quant.h"
#include "ws_nn.h"

ws_status_t ws_nn_add_s8(const ws_nn_add_params_t *params, uint32_t count, const int8_t *input1,
                         const int8_t *input2, int8_t *output)
{
    if (!params || !input1 || !input2 || !output) {
        return WS_ERR_ARG;
    }
    for (uint32_t i = 0; i < count; ++i) {
        const int32_t v1 = params->input1_offset + input1[i];
        const int32_t v2 = params->input2_offset + input2[i];
        const int32_t s1 = ws_nn_mbqm(v1 * (1 << params->left_shift), params->input1_multiplier,
                                      params->input1_shift);
        const int32_t s2 = ws_nn_mbqm(v2 * (1 << params->left_shift), params->input2_multiplier,
                                      params->input2_shift);
        int32_t out = ws_nn_mbqm(ws_nn_add_wrap(s1, s2), params->output_multiplier, params->output_shift);
        out = ws_nn_add_wrap(out, params->output_offset);
        output[i] = (int8_t)ws_nn_clamp(out, params->act_min, params->act_max);
    }
    return WS_OK;
}
