/* gemmlowp's fixed-point transcendental functions, as TFLM's reference kernels use
 * them (softmax, logistic, tanh). Values are raw int32 fixed-point numbers. */
#ifndef WS_NN_FIXEDPOINT_H
#define WS_NN_FIXEDPOINT_H

#include "nn_quant.h"

/* gemmlowp's SaturatingRoundingMultiplyByPOT with a positive exponent */
static inline int32_t saturating_shift_left(int32_t x, int exponent)
{
    const int32_t threshold = (int32_t)((1LL << (31 - exponent)) - 1);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

/* exp(a) for a in [-1/4, 0), a and the result with 0 integer bits */
static inline int32_t exp_on_interval_minus_quarter_to_zero(int32_t a)
{
    const int32_t constant_term = 1895147668; /* exp(-1/8) */
    const int32_t one_third = 715827883;
    const int32_t x = a + (1 << 28); /* a + 1/8 */
    const int32_t x2 = ws_nn_srdhm(x, x);
    const int32_t x3 = ws_nn_srdhm(x2, x);
    const int32_t x4 = ws_nn_srdhm(x2, x2);
    const int32_t x4_over_4 = ws_nn_rounding_divide_by_pot(x4, 2);
    const int32_t poly =
        ws_nn_rounding_divide_by_pot(ws_nn_srdhm(x4_over_4 + x3, one_third) + x2, 1);
    return constant_term + ws_nn_srdhm(constant_term, x + poly);
}

/* exp(a) for a <= 0; a with `integer_bits` (<= 5) integer bits, result with 0 */
static inline int32_t exp_on_negative_values(int32_t a, int integer_bits)
{
    static const int32_t multipliers[7] = {1672461947, 1302514674, 790015084, 290630308,
                                           39332535,   720401,     242};
    const int fractional_bits = 31 - integer_bits;
    const int32_t one_quarter = 1 << (fractional_bits - 2);
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod_quarter_minus_quarter = (a & mask) - one_quarter;
    int32_t result = exp_on_interval_minus_quarter_to_zero(
        saturating_shift_left(a_mod_quarter_minus_quarter, integer_bits));
    const int32_t remainder = a_mod_quarter_minus_quarter - a;
    for (int exponent = -2; exponent < integer_bits; ++exponent) {
        if (remainder & (1 << (fractional_bits + exponent))) {
            result = ws_nn_srdhm(result, multipliers[exponent + 2]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

/* 2 / (1 + x) in Q2.29 for x in [0, 1) with 0 integer bits: Newton-Raphson */
static inline int32_t two_over_one_plus_x_q2(int32_t a)
{
    const int64_t sum = (int64_t)a + INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    const int32_t c48_over_17 = 1515870810;
    const int32_t cneg32_over_17 = -1010580540;
    const int32_t f2_one = 1 << 29;
    int32_t x = c48_over_17 + ws_nn_srdhm(half_denominator, cneg32_over_17);
    for (int i = 0; i < 3; ++i) {
        const int32_t half_denominator_times_x = ws_nn_srdhm(half_denominator, x);
        const int32_t one_minus = f2_one - half_denominator_times_x;
        x = x + saturating_shift_left(ws_nn_srdhm(x, one_minus), 2);
    }
    return x;
}

/* 1 / (1 + x), 0 integer bits in and out */
static inline int32_t one_over_one_plus_x(int32_t a)
{
    return saturating_shift_left(two_over_one_plus_x_q2(a), 1);
}

/* (1 - x) / (1 + x), 0 integer bits in and out */
static inline int32_t one_minus_x_over_one_plus_x(int32_t a)
{
    return saturating_shift_left(two_over_one_plus_x_q2(a) - (1 << 29), 2);
}

#endif
