/* SOFTMAX, int8 in and out (output scale 1/256, zero point -128): TFLM's reference
 * quantized softmax, built on gemmlowp's fixed-point exp and reciprocal. Fixed-point
 * values below are raw int32 with the number of integer bits in each name's comment. */
#include "nn_quant.h"
#include "ws_nn.h"

#define SCALED_DIFF_INTEGER_BITS 5 /* input differences: Q5.26 */
#define ACCUM_INTEGER_BITS 12      /* sum of exps: Q12.19 */

/* gemmlowp's SaturatingRoundingMultiplyByPOT with a positive exponent */
static int32_t saturating_shift_left(int32_t x, int exponent)
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
static int32_t exp_on_interval_minus_quarter_to_zero(int32_t a)
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

/* exp(a) for a <= 0; a in Q5.26, result with 0 integer bits */
static int32_t exp_on_negative_values(int32_t a)
{
    static const int32_t multipliers[7] = {1672461947, 1302514674, 790015084, 290630308,
                                           39332535,   720401,     242};
    const int fractional_bits = 31 - SCALED_DIFF_INTEGER_BITS;
    const int32_t one_quarter = 1 << (fractional_bits - 2);
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod_quarter_minus_quarter = (a & mask) - one_quarter;
    int32_t result = exp_on_interval_minus_quarter_to_zero(
        saturating_shift_left(a_mod_quarter_minus_quarter, SCALED_DIFF_INTEGER_BITS));
    const int32_t remainder = a_mod_quarter_minus_quarter - a;
    for (int exponent = -2; exponent <= 4; ++exponent) {
        if (remainder & (1 << (fractional_bits + exponent))) {
            result = ws_nn_srdhm(result, multipliers[exponent + 2]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + x) for x in [0, 1), 0 integer bits in and out: Newton-Raphson in Q2.29 */
static int32_t one_over_one_plus_x(int32_t a)
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
    return saturating_shift_left(x, 1);
}

static int count_leading_zeros(uint32_t x)
{
    int n = 0;
    if (x == 0) {
        return 32;
    }
    while (!(x & 0x80000000u)) {
        x <<= 1;
        ++n;
    }
    return n;
}

ws_status_t ws_nn_softmax_s8(const ws_nn_softmax_params_t *params, int32_t rows, int32_t row_size,
                             const int8_t *input, int8_t *output)
{
    if (!params || !input || !output || rows < 0 || row_size < 1) {
        return WS_ERR_ARG;
    }
    for (int32_t r = 0; r < rows; ++r) {
        const int8_t *in = input + (size_t)r * row_size;
        int8_t *out = output + (size_t)r * row_size;
        int32_t max_in_row = -128;
        for (int32_t c = 0; c < row_size; ++c) {
            max_in_row = in[c] > max_in_row ? in[c] : max_in_row;
        }
        int32_t sum_of_exps = 0; /* Q12.19 */
        for (int32_t c = 0; c < row_size; ++c) {
            const int32_t diff = (int32_t)in[c] - max_in_row;
            if (diff >= params->diff_min) {
                const int32_t rescaled = ws_nn_srdhm(diff * (1 << params->input_left_shift),
                                                     params->input_multiplier);
                sum_of_exps = ws_nn_add_wrap(
                    sum_of_exps,
                    ws_nn_rounding_divide_by_pot(exp_on_negative_values(rescaled), ACCUM_INTEGER_BITS));
            }
        }
        const int headroom_plus_one = count_leading_zeros((uint32_t)sum_of_exps);
        const int num_bits_over_unit = ACCUM_INTEGER_BITS - headroom_plus_one;
        const int32_t shifted_sum_minus_one =
            (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - (1u << 31));
        const int32_t shifted_scale = one_over_one_plus_x(shifted_sum_minus_one);
        for (int32_t c = 0; c < row_size; ++c) {
            const int32_t diff = (int32_t)in[c] - max_in_row;
            if (diff >= params->diff_min) {
                const int32_t rescaled = ws_nn_srdhm(diff * (1 << params->input_left_shift),
                                                     params->input_multiplier);
                const int32_t exp_in_0 = exp_on_negative_values(rescaled);
                const int32_t unsat = ws_nn_rounding_divide_by_pot(
                    ws_nn_srdhm(shifted_scale, exp_in_0), num_bits_over_unit + 31 - 8);
                out[c] = (int8_t)ws_nn_clamp(unsat - 128, -128, 127);
            } else {
                out[c] = -128;
            }
        }
    }
    return WS_OK;
}
