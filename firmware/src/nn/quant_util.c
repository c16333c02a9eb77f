/* TFLite's QuantizeMultiplier without libm: the significand and exponent of a
 * double are read from its bits (frexp), then rounded half away from zero (round). */
#include <string.h>

#include "nn_quant.h"
#include "ws_nn.h"

void ws_nn_quantize_multiplier(double real_multiplier, int32_t *multiplier, int32_t *shift)
{
    uint64_t bits;
    memcpy(&bits, &real_multiplier, sizeof bits);
    int32_t exponent = (int32_t)((bits >> 52) & 0x7FF);
    if (real_multiplier <= 0.0 || exponent == 0 || exponent == 0x7FF) {
        /* zero, negative, subnormal, inf or NaN: validation never lets these through */
        *multiplier = 0;
        *shift = 0;
        return;
    }
    /* frexp: real = q * 2^e with q in [0.5, 1) */
    int32_t e = exponent - 1022;
    uint64_t q_bits = (bits & ~(0x7FFULL << 52)) | (1022ULL << 52);
    double q;
    memcpy(&q, &q_bits, sizeof q);
    double scaled = q * 2147483648.0; /* exact: a power-of-two scaling */
    int64_t q_fixed = (int64_t)scaled;
    if (scaled - (double)q_fixed >= 0.5) {
        q_fixed += 1;
    }
    if (q_fixed == (1LL << 31)) {
        q_fixed /= 2;
        e += 1;
    }
    if (e < -31) {
        e = 0;
        q_fixed = 0;
    }
    if (e > 30) {
        e = 30;
        q_fixed = (1LL << 31) - 1;
    }
    *multiplier = (int32_t)q_fixed;
    *shift = e;
}

int32_t ws_nn_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift)
{
    return ws_nn_mbqm(x, multiplier, shift);
}
