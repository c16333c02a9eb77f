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

static inline int32_t ws_nn_mbqm_ref(int32_t x, int32_t multiplier, int32_t shift)
{
    int32_t left = shift > 0 ? shift : 0;
    int32_t right = shift > 0 ? 0 : -shift;
    /* The reference multiplies by (1 << left) in int32; done unsigned here so an
     * overflow wraps as it does on the reference's targets instead of being UB. */
    int32_t shifted = (int32_t)((uint32_t)x << left);
    return ws_nn_rounding_divide_by_pot(ws_nn_srdhm(shifted, multiplier), right);
}

/* The same function with one 64-bit multiply-accumulate (SMLAL on the M4) and no
 * division or sign-dependent nudge:
 *  - SaturatingRoundingDoublingHighMul: for a product p, trunc((p + nudge) / 2^31)
 *    with nudge = 2^30 (p >= 0) or 1 - 2^30 (p < 0) equals floor((p + 2^30) / 2^31),
 *    i.e. (p + 2^30) >> 31, for every p (for p = -q < 0 both are
 *    -floor((q + 2^30 - 1) / 2^31)); the one saturating case (both operands
 *    INT32_MIN) takes the reference path.
 *  - RoundingDivideByPOT: unchanged (mask, threshold with the sign bit added).
 * tests/test_nn_quant.c compares it with ws_nn_mbqm_ref on both builds. */
static inline int32_t ws_nn_mbqm_fast(int32_t x, int32_t multiplier, int32_t shift)
{
    if (multiplier == INT32_MIN) {
        return ws_nn_mbqm_ref(x, multiplier, shift);
    }
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    const int32_t shifted = (int32_t)((uint32_t)x << left);
    const int64_t p = (int64_t)shifted * multiplier + (1LL << 30);
    const int32_t h = (int32_t)(p >> 31); /* |p| < 2^62: fits after the shift */
    const int32_t mask = (int32_t)((1u << right) - 1u);
    const int32_t threshold = (mask >> 1) + (int32_t)((uint32_t)h >> 31);
    return (h >> right) + ((h & mask) > threshold ? 1 : 0);
}

/* MultiplyByQuantizedMultiplier: the reference form in the portable build, the
 * equivalent single-multiply form in the optimised (WS_NN_DSP) build. */
#if defined(WS_NN_DSP) && WS_NN_DSP
#define ws_nn_mbqm ws_nn_mbqm_fast
#else
#define ws_nn_mbqm ws_nn_mbqm_ref
#endif

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

/* Requantize an accumulator to int8: multiplier and shift, output zero point, clamp. */
static inline int8_t ws_nn_requant_s8(int32_t acc, int32_t multiplier, int32_t shift,
                                      int32_t output_offset, int32_t act_min, int32_t act_max)
{
    return (int8_t)ws_nn_clamp(ws_nn_add_wrap(ws_nn_mbqm(acc, multiplier, shift), output_offset),
                               act_min, act_max);
}

/* MultiplyByQuantizedMultiplier with everything that depends on the multiplier and
 * shift prepared once (per channel or per operator), for the optimised kernels.
 * ws_nn_rq_apply equals ws_nn_mbqm_ref for every x provided the multiplier is not
 * INT32_MIN (check with ws_nn_rq_ok; ws_nn_quantize_multiplier never makes it). */
typedef struct {
    int32_t multiplier;
    int32_t left, right;
    int32_t mask, threshold; /* of the rounding shift; threshold before the sign bit */
} ws_nn_rq_t;

static inline ws_nn_rq_t ws_nn_rq_make(int32_t multiplier, int32_t shift)
{
    ws_nn_rq_t r;
    r.multiplier = multiplier;
    r.left = shift > 0 ? shift : 0;
    r.right = shift > 0 ? 0 : -shift;
    r.mask = (int32_t)((1u << r.right) - 1u);
    r.threshold = r.mask >> 1;
    return r;
}

static inline int ws_nn_rq_ok(const int32_t *multipliers, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) {
        if (multipliers[i] == INT32_MIN) {
            return 0;
        }
    }
    return 1;
}

static inline __attribute__((always_inline)) int32_t ws_nn_rq_apply(int32_t x, int32_t multiplier,
                                                                     int32_t left, int32_t right,
                                                                     int32_t mask, int32_t threshold)
{
    const int32_t shifted = (int32_t)((uint32_t)x << left);
    const int64_t p = (int64_t)shifted * multiplier + (1LL << 30);
    const int32_t h = (int32_t)(p >> 31);
    const int32_t t = threshold + (int32_t)((uint32_t)h >> 31);
    return (h >> right) + ((h & mask) > t ? 1 : 0);
}

#define WS_NN_RQ(x, r) ws_nn_rq_apply((x), (r).multiplier, (r).left, (r).right, (r).mask, (r).threshold)

#if defined(WS_NN_DSP) && WS_NN_DSP
/* Requantisation of a value known to be small, |x| < 2^29, for a multiplier whose shift
 * is a right shift (shift <= -1; a real multiplier below 0.5, as conv and depthwise
 * layers have): the kernels prove |x| < 2^29 per channel from a bound on the
 * accumulator. Exactly ws_nn_mbqm_ref's result, plus the output offset:
 *  - 2x cannot wrap, and SMMULR (2x * m + 2^31) >> 32 = (x * m + 2^30) >> 31 is the
 *    reference's SaturatingRoundingDoublingHighMul (see ws_nn_mbqm_fast; x is never
 *    INT32_MIN, so no saturation);
 *  - RoundingDivideByPOT(h, r), round half away from zero, is
 *    floor((h - (h < 0) + 2^(r-1)) / 2^r) = (((h - (h < 0)) >> (r - 1)) + 1) >> 1,
 *    and adding 2 * offset before the last shift adds the output offset exactly, so
 *    SSAT's own shift operand finishes it: six instructions with the int8 clamp. */
typedef struct {
    int32_t multiplier, rm1; /* right shift - 1 */
    int ok;                  /* shift <= -1: this form applies */
} ws_nn_rqs_t;

#define WS_NN_RQS_LIMIT (1 << 29) /* |x| must stay below */

static inline ws_nn_rqs_t ws_nn_rqs_make(int32_t multiplier, int32_t shift)
{
    ws_nn_rqs_t r;
    r.multiplier = multiplier;
    r.ok = shift <= -1 && shift >= -31;
    r.rm1 = r.ok ? -shift - 1 : 0;
    return r;
}

/* clamp(mbqm(x) + offset, -128, 127); k = 1 + 2 * offset */
static inline __attribute__((always_inline)) int32_t ws_nn_rqs_ssat8(int32_t x, int32_t m,
                                                                      int32_t rm1, int32_t k)
{
    int32_t t;
    __asm__("add %[t], %[x], %[x]\n\t"
            "smmulr %[t], %[t], %[m]\n\t"
            "sub %[t], %[t], %[t], lsr #31\n\t"
            "asr %[t], %[t], %[rm1]\n\t"
            "add %[t], %[t], %[k]\n\t"
            "ssat %[t], #8, %[t], asr #1"
            : [t] "=&r"(t)
            : [x] "r"(x), [m] "r"(m), [rm1] "r"(rm1), [k] "r"(k));
    return t;
}

/* mbqm(x) + offset (no clamp); k = 1 + 2 * offset */
static inline __attribute__((always_inline)) int32_t ws_nn_rqs_off(int32_t x, int32_t m,
                                                                    int32_t rm1, int32_t k)
{
    int32_t t;
    __asm__("add %[t], %[x], %[x]\n\t"
            "smmulr %[t], %[t], %[m]\n\t"
            "sub %[t], %[t], %[t], lsr #31\n\t"
            "asr %[t], %[t], %[rm1]\n\t"
            "add %[t], %[t], %[k]\n\t"
            "asr %[t], %[t], #1"
            : [t] "=&r"(t)
            : [x] "r"(x), [m] "r"(m), [rm1] "r"(rm1), [k] "r"(k));
    return t;
}

/* The same for any shift <= 0 (right = 0 included) and |x| < 2^29: the rounding term
 * and its sign correction come from parameters (half = 2^(right-1) or 0; nsh = 31, or
 * 32 to shift the sign out when right = 0). Returns mbqm(x) without offset. */
typedef struct {
    int32_t multiplier, half, nsh, right;
    int ok; /* shift <= 0 */
} ws_nn_rqg_t;

static inline ws_nn_rqg_t ws_nn_rqg_make(int32_t multiplier, int32_t shift)
{
    ws_nn_rqg_t r;
    r.multiplier = multiplier;
    r.ok = shift <= 0 && shift >= -31;
    r.right = r.ok ? -shift : 0;
    r.half = r.right > 0 ? (int32_t)(1u << (r.right - 1)) : 0;
    r.nsh = r.right > 0 ? 31 : 32;
    return r;
}

static inline __attribute__((always_inline)) int32_t ws_nn_rqg_apply(int32_t x, const ws_nn_rqg_t *r)
{
    int32_t t, u, v;
    __asm__("add %[t], %[x], %[x]\n\t"
            "smmulr %[t], %[t], %[m]\n\t"
            "add %[u], %[t], %[half]\n\t"
            "lsr %[v], %[t], %[nsh]\n\t"
            "sub %[u], %[u], %[v]\n\t"
            "asr %[u], %[u], %[right]"
            : [t] "=&r"(t), [u] "=&r"(u), [v] "=&r"(v)
            : [x] "r"(x), [m] "r"(r->multiplier), [half] "r"(r->half), [nsh] "r"(r->nsh),
              [right] "r"(r->right));
    return u;
}

/* Bound on |bias + sum f * x| over x in [-x_max, x_max]: |bias| + x_max * sum |f|. */
static inline uint64_t ws_nn_acc_bound(int32_t bias, uint64_t abs_filter_sum, uint32_t x_max)
{
    const uint64_t b = bias < 0 ? (uint64_t)(-(int64_t)bias) : (uint64_t)bias;
    return b + abs_filter_sum * x_max;
}
#endif

#endif
