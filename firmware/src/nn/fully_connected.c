/* FULLY_CONNECTED, int8: TFLM's reference_integer_ops::FullyConnected (per-tensor)
 * and FullyConnectedPerChannel. Weight zero point is 0 (symmetric). */
#include "nn_dot.h"
#include "nn_quant.h"
#include "ws_nn.h"

size_t ws_nn_fully_connected_s8_scratch_size(int32_t in_features)
{
    (void)in_features;
    return 0;
}

ws_status_t ws_nn_fully_connected_s8(const ws_nn_fc_params_t *params,
                                     const ws_nn_per_channel_quant_t *quant, int32_t batches,
                                     int32_t in_features, const int8_t *input, int32_t out_features,
                                     const int8_t *filter, const int32_t *bias, int8_t *output)
{
    if (!params || !input || !filter || !output || batches < 0 || in_features < 0 ||
        out_features < 0) {
        return WS_ERR_ARG;
    }
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
