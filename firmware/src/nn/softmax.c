/* SOFTMAX, int8 in and out (output scale 1/256, zero point -128): TFLM's reference
 * quantized softmax, built on gemmlowp's fixed-point exp and reciprocal. Fixed-point
 * values below are raw int32 with the number of integer bits in each name's comment. */
#include "nn_fixedpoint.h"
#include "nn_op.h"

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

/* ---------------------------------------------------------------- operator */

ws_status_t ws_nn_prepare_softmax(const ws_nn_op_view_t *v, ws_nn_op_t *op)
{
    ws_nn_model_t *m = v->m;
    if (v->n_in != 1 || v->in[0] < 0) {
        return WS_ERR_NN_INDEX;
    }
    if (!v->has_options || v->options_type != WS_NN_OPT_SOFTMAX) {
        return WS_ERR_NN_OPTIONS;
    }
    ws_nn_tensor_t *in = ws_nn_tensor(m, v->in[0]), *out = ws_nn_tensor(m, v->out);
    if (!ws_nn_is_activation(in, WS_NN_TYPE_INT8) || !ws_nn_is_activation(out, WS_NN_TYPE_INT8)) {
        return WS_ERR_NN_TYPE;
    }
    if (!ws_nn_same_dims(in, out) || in->rank < 1) {
        return WS_ERR_NN_SHAPE;
    }
    WS_NN_CHECK(ws_nn_check_activation_q(in));
    WS_NN_CHECK(ws_nn_check_activation_q(out));
    if (out->zero_point != -128 || out->scale != 1.0f / 256.0f) {
        return WS_ERR_NN_QUANT; /* the int8 softmax output is fixed at 1/256, -128 */
    }
    int64_t beta_bits;
    WS_NN_CHECK(ws_nn_op_option(v, 0, 4, 0, &beta_bits));
    uint32_t raw = (uint32_t)beta_bits;
    float beta;
    memcpy(&beta, &raw, sizeof beta);
    if (!(beta > 0.0f) || beta > 1e6f) {
        return WS_ERR_NN_OPTIONS;
    }
    double real = (double)beta * (double)in->scale * (double)(1 << (31 - 5));
    if (real > 2147483647.0) {
        real = 2147483647.0;
    }
    if (!(real > 1.0)) {
        return WS_ERR_NN_QUANT; /* the reference needs a multiplier above one */
    }
    ws_nn_softmax_params_t *p = &op->p.softmax;
    ws_nn_quantize_multiplier(real, &p->input_multiplier, &p->input_left_shift);
    double radius = 31.0 * (double)(1LL << 26) / (double)(1LL << p->input_left_shift);
    p->diff_min = -(int32_t)radius; /* floor of a positive value */
    return WS_OK;
}

ws_status_t ws_nn_eval_softmax(ws_nn_model_t *m, const ws_nn_op_t *op)
{
    const ws_nn_tensor_t *in = &m->tensors[op->inputs[0]];
    const int32_t depth = in->dims[in->rank - 1];
    return ws_nn_softmax_s8(&op->p.softmax, (int32_t)(in->bytes / (uint32_t)depth), depth,
                            ws_nn_tensor_data(m, op->inputs[0]), ws_nn_output_ptr(m, op));
}
