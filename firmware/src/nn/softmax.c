/* SOFTMAX, int8 in and out (output scale 1/256, zero point -128): TFLM's reference
 * quantized softmax, built on gemmlowp's fixed-point exp and reciprocal. Fixed-point
 * values below are raw int32 with the number of integer bits in each name's comment. */
#include "nn_fixedpoint.h"
#include "ws_nn.h"

#define SCALED_DIFF_INTEGER_BITS 5 /* input differences: Q5.26 */
#define ACCUM_INTEGER_BITS 12      /* sum of exps: Q12.19 */

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
                    ws_nn_rounding_divide_by_pot(exp_on_negative_values(rescaled, SCALED_DIFF_INTEGER_BITS), ACCUM_INTEGER_BITS));
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
                const int32_t exp_in_0 = exp_on_negative_values(rescaled, SCALED_DIFF_INTEGER_BITS);
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
