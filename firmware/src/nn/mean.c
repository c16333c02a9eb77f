/* MEAN, int8, over any set of axes: TFLM's reference QuantizedMeanOrSum. The raw
 * int8 values are summed in int32, the zero point times the count is subtracted,
 * and one requantization with 1/count folded into the multiplier gives the output. */
#include "nn_quant.h"
#include "ws_nn.h"

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
