/* Fixed-point arithmetic of the TFLite quantization spec, as TFLM's reference
 * kernels use it (gemmlowp's rounding doubling high multiply and rounding shift). */
#ifndef WS_NN_QUANT_H
#define WS_NN_QUANT_H

#include <stdint.h>

static inline int32_t ws_nn_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    int64_t ab = (int64_t)a * (int64_t)b;
    int64_t nudge = ab >= 0 ? (1LL << 30) : (1 - (1LL << 30));
    /* C99 division truncates toward zero, as the reference requires. */
    return (int32_t)((ab + nudge) / (1LL << 31));
}

static inline int32_t ws_nn_rounding_divide_by_pot(int32_t x, int32_t exponent)
{
    int32_t mask = (int32_t)((1LL << exponent) - 1);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    /* arithmetic shift of a negative value: what every supported compiler does */
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

static inline int32_t ws_nn_mbqm(int32_t x, int32_t multiplier, int32_t shift)
{
    int32_t left = shift > 0 ? shift : 0;
    int32_t right = shift > 0 ? 0 : -shift;
    /* The reference multiplies by (1 << left) in int32; done unsigned here so an
     * overflow wraps as it does on the reference's targets instead of being UB. */
    int32_t shifted = (int32_t)((uint32_t)x << left);
    return ws_nn_rounding_divide_by_pot(ws_nn_srdhm(shifted, multiplier), right);
}

/* int32 addition that wraps like the reference's int32 accumulators do on every
 * target we compare against, without the undefined behaviour of signed overflow. */
static inline int32_t ws_nn_add_wrap(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

static inline int32_t ws_nn_clamp(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

#endif
