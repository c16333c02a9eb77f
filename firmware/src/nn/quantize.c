/* QUANTIZE (float32 -> int8) and DEQUANTIZE (int8 -> float32) as TFLM's reference:
 * quantize divides in float and rounds half away from zero; dequantize multiplies
 * in double and narrows to float. */
#include "nn_quant.h"
#include "ws_nn.h"

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
