/* LOGISTIC and TANH, int8, as TFLM's reference_integer_ops (Logistic, Tanh with
 * gemmlowp's fixed-point logistic and tanh on Q4.27 inputs); they share their
 * validation and the rescaling of the input. */
#include "nn_fixedpoint.h"
#include "nn_op.h"

#define SIGMOID_INPUT_INTEGER_BITS 4

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

/* ---------------------------------------------------------------- operator */

static int is_power_of_two(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return (bits & 0xFFFFFFFFFFFFFULL) == 0;
}

static ws_status_t prepare_sigmoid(const ws_nn_op_view_t *v, ws_nn_op_t *op, int is_tanh)
{
    ws_nn_model_t *m = v->m;
    if (v->n_in != 1 || v->in[0] < 0) {
        return WS_ERR_NN_INDEX;
    }
    ws_nn_tensor_t *in = ws_nn_tensor(m, v->in[0]), *out = ws_nn_tensor(m, v->out);
    if (!ws_nn_is_activation(in, WS_NN_TYPE_INT8) || !ws_nn_is_activation(out, WS_NN_TYPE_INT8)) {
        return WS_ERR_NN_TYPE;
    }
    if (!ws_nn_same_dims(in, out)) {
        return WS_ERR_NN_SHAPE;
    }
    WS_NN_CHECK(ws_nn_check_activation_q(in));
    WS_NN_CHECK(ws_nn_check_activation_q(out));
    /* the spec fixes the output: logistic 1/256 and -128, tanh 1/128 and 0 */
    if (is_tanh ? (out->zero_point != 0 || out->scale != 1.0f / 128.0f)
                : (out->zero_point != -128 || out->scale != 1.0f / 256.0f)) {
        return WS_ERR_NN_QUANT;
    }
    double real = (double)in->scale * (double)(1 << (31 - 4));
    ws_nn_sigmoid_params_t *p = &op->p.sigmoid;
    ws_nn_quantize_multiplier(real, &p->input_multiplier, &p->input_left_shift);
    /* the reference rounds frexp's significand without QuantizeMultiplier's fix-up */
    if ((p->input_multiplier == (1 << 30) && !is_power_of_two(real)) || p->input_left_shift < 0 ||
        p->input_left_shift > 30) {
        return WS_ERR_NN_QUANT;
    }
    double radius = 15.0 * (double)(1LL << 27) / (double)(1LL << p->input_left_shift);
    p->input_range_radius = (int32_t)radius;
    p->input_zero_point = in->zero_point;
    return WS_OK;
}

ws_status_t ws_nn_prepare_logistic(const ws_nn_op_view_t *v, ws_nn_op_t *op)
{
    return prepare_sigmoid(v, op, 0);
}

ws_status_t ws_nn_prepare_tanh(const ws_nn_op_view_t *v, ws_nn_op_t *op)
{
    return prepare_sigmoid(v, op, 1);
}

ws_status_t ws_nn_eval_logistic(ws_nn_model_t *m, const ws_nn_op_t *op)
{
    return ws_nn_logistic_s8(&op->p.sigmoid, m->tensors[op->output].bytes,
                             ws_nn_tensor_data(m, op->inputs[0]), ws_nn_output_ptr(m, op));
}

ws_status_t ws_nn_eval_tanh(ws_nn_model_t *m, const ws_nn_op_t *op)
{
    return ws_nn_tanh_s8(&op->p.sigmoid, m->tensors[op->output].bytes,
                         ws_nn_tensor_data(m, op->inputs[0]), ws_nn_output_ptr(m, op));
}
