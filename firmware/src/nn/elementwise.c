/* MUL, LOGISTIC and TANH, int8, as TFLM's reference_integer_ops (MulElementwise,
 * Logistic, Tanh with gemmlowp's fixed-point logistic and tanh on Q4.27 inputs). */
#include "nn_fixedpoint.h"
#include "ws_nn.h"

#define SIGMOID_INPUT_INTEGER_BITS 4

ws_status_t ws_nn_mul_s8(const ws_nn_mul_params_t *params, uint32_t count, const int8_t *input1,
                         const int8_t *input2, int8_t *output)
{
    if (!params || !input1 || !input2 || !output) {
        return WS_ERR_ARG;
    }
    for (uint32_t i = 0; i < count; ++i) {
        const int32_t v1 = params->input1_offset + input1[i];
        const int32_t v2 = params->input2_offset + input2[i];
        int32_t out = ws_nn_mbqm(v1 * v2, params->output_multiplier, params->output_shift);
        out = ws_nn_add_wrap(out, params->output_offset);
        output[i] = (int8_t)ws_nn_clamp(out, params->act_min, params->act_max);
    }
    return WS_OK;
}

/* input - zero point, rescaled to Q4.27; 0 saturated low, 1 saturated high, 2 in range */
static int sigmoid_input(const ws_nn_sigmoid_params_t *p, int8_t value, int32_t *q4)
{
    const int32_t input = (int32_t)value - p->input_zero_point;
    if (input <= -p->input_range_radius) {
        return 0;
    }
    if (input >= p->input_range_radius) {
        return 1;
    }
    *q4 = ws_nn_mbqm(input, p->input_multiplier, p->input_left_shift);
    return 2;
}

ws_status_t ws_nn_logistic_s8(const ws_nn_sigmoid_params_t *params, uint32_t count,
                              const int8_t *input, int8_t *output)
{
    if (!params || !input || !output) {
        return WS_ERR_ARG;
    }
    for (uint32_t i = 0; i < count; ++i) {
        int32_t a = 0;
        int where = sigmoid_input(params, input[i], &a);
        if (where != 2) {
            output[i] = where ? 127 : -128;
            continue;
        }
        int32_t result; /* Q0.31 */
        if (a == 0) {
            result = 1 << 30;
        } else {
            const int32_t abs_a = a > 0 ? a : -a;
            const int32_t positive =
                one_over_one_plus_x(exp_on_negative_values(-abs_a, SIGMOID_INPUT_INTEGER_BITS));
            result = a > 0 ? positive : INT32_MAX - positive;
        }
        int32_t out = ws_nn_rounding_divide_by_pot(result, 31 - 8) - 128;
        output[i] = (int8_t)ws_nn_clamp(out, -128, 127);
    }
    return WS_OK;
}

ws_status_t ws_nn_tanh_s8(const ws_nn_sigmoid_params_t *params, uint32_t count, const int8_t *input,
                          int8_t *output)
{
    if (!params || !input || !output) {
        return WS_ERR_ARG;
    }
    for (uint32_t i = 0; i < count; ++i) {
        int32_t a = 0;
        int where = sigmoid_input(params, input[i], &a);
        if (where != 2) {
            output[i] = where ? 127 : -128;
            continue;
        }
        int32_t result = 0; /* Q0.31 */
        if (a != 0) {
            const int32_t n = a < 0 ? a : -a; /* -|a| */
            /* exp(2n): the same raw value read with one more integer bit */
            const int32_t t = one_minus_x_over_one_plus_x(
                exp_on_negative_values(n, SIGMOID_INPUT_INTEGER_BITS + 1));
            result = a < 0 ? -t : t;
        }
        int32_t out = ws_nn_rounding_divide_by_pot(result, 31 - 7);
        output[i] = (int8_t)ws_nn_clamp(out, -128, 127);
    }
    return WS_OK;
}
