/* Helpers the operators' prepare functions share: option reading, operand checks and
 * the quantization checks of the TFLite spec (see nn_op.h). */
#include "nn_op.h"

ws_status_t ws_nn_activation_range(int64_t act, const ws_nn_tensor_t *out, int32_t *lo, int32_t *hi)
{
    float bounds[2];
    int32_t q[2];
    *lo = -128;
    *hi = 127;
    switch (act) {
    case 0:
        return WS_OK;
    case 1: bounds[0] = 0.0f; bounds[1] = -1.0f; break; /* -1: no upper bound */
    case 2: bounds[0] = -1.0f; bounds[1] = 1.0f; break;
    case 3: bounds[0] = 0.0f; bounds[1] = 6.0f; break;
    default:
        return WS_ERR_NN_OPTIONS;
    }
    for (int i = 0; i < 2; ++i) {
        float v = bounds[i] / out->scale; /* in float, as TFLM's Quantize lambda */
        if (v > 1e9f) {
            v = 1e9f;
        } else if (v < -1e9f) {
            v = -1e9f;
        }
        double d = (double)v;
        int32_t r = (int32_t)d;
        double frac = d - (double)r;
        r += frac >= 0.5 ? 1 : (frac <= -0.5 ? -1 : 0);
        q[i] = out->zero_point + r;
    }
    *lo = q[0] > -128 ? q[0] : -128;
    if (act != 1) {
        *hi = q[1] < 127 ? q[1] : 127;
    }
    return WS_OK;
}

ws_status_t ws_nn_padded_size(int64_t padding, int32_t in, int32_t filter, int32_t stride,
                               int32_t dilation, int32_t *out, int32_t *pad)
{
    int64_t effective = (int64_t)(filter - 1) * dilation + 1;
    int64_t size;
    if (padding == 0) {
        size = ((int64_t)in + stride - 1) / stride;
    } else if (padding == 1) {
        size = ((int64_t)in + stride - effective) / stride;
    } else {
        return WS_ERR_NN_OPTIONS;
    }
    if (size < 1 || effective > WS_NN_MAX_DIM) {
        return WS_ERR_NN_SHAPE;
    }
    int64_t total = (size - 1) * stride + effective - in;
    *pad = (int32_t)(total > 0 ? total / 2 : 0);
    *out = (int32_t)size;
    return WS_OK;
}

ws_status_t ws_nn_op_option(const ws_nn_op_view_t *v, uint32_t id, uint32_t width, int64_t fallback,
                            int64_t *value)
{
    if (!v->has_options) {
        *value = fallback;
        return WS_OK;
    }
    return ws_fb_scalar(v->fb, &v->options, id, width, fallback, value);
}

int ws_nn_is_activation(const ws_nn_tensor_t *t, uint8_t type)
{
    return t->type == type && t->data_pos == 0;
}

int ws_nn_same_dims(const ws_nn_tensor_t *a, const ws_nn_tensor_t *b)
{
    if (a->rank != b->rank) {
        return 0;
    }
    for (int i = 0; i < a->rank; ++i) {
        if (a->dims[i] != b->dims[i]) {
            return 0;
        }
    }
    return 1;
}

int ws_nn_same_quant(const ws_nn_tensor_t *a, const ws_nn_tensor_t *b)
{
    return a->scale_count == b->scale_count &&
           (a->scale_count == 0 || (a->scale == b->scale && a->zero_point == b->zero_point));
}

ws_status_t ws_nn_check_activation_q(const ws_nn_tensor_t *t)
{
    return t->scale_count == 1 ? WS_OK : WS_ERR_NN_QUANT;
}

/* Weights: symmetric int8, one scale or one per channel along `qdim`. */
ws_status_t ws_nn_check_weights(const ws_nn_tensor_t *w, int32_t qdim, int32_t channels)
{
    if (w->type != WS_NN_TYPE_INT8 || w->data_pos == 0) {
        return WS_ERR_NN_TYPE;
    }
    if (w->scale_count == 0 || w->zero_point != 0) {
        return WS_ERR_NN_QUANT;
    }
    if (w->scale_count > 1 &&
        (w->quantized_dimension != qdim || (int32_t)w->scale_count != channels)) {
        return WS_ERR_NN_QUANT;
    }
    return WS_OK;
}

ws_status_t ws_nn_check_bias(const ws_nn_model_t *m, int32_t index, const ws_nn_tensor_t *in,
                              const ws_nn_tensor_t *w, int32_t channels)
{
    if (index < 0) {
        return WS_OK;
    }
    const ws_nn_tensor_t *b = &m->tensors[index];
    if (b->type != WS_NN_TYPE_INT32 || b->data_pos == 0) {
        return WS_ERR_NN_TYPE;
    }
    if (b->rank != 1 || b->dims[0] != channels) {
        return WS_ERR_NN_SHAPE;
    }
    if (b->scale_count == 0) {
        return WS_OK; /* the reference kernels never read the bias scale */
    }
    if (b->zero_point != 0 || (b->scale_count != 1 && (int32_t)b->scale_count != channels)) {
        return WS_ERR_NN_QUANT;
    }
    for (int32_t c = 0; c < channels; ++c) {
        double expected = (double)in->scale * (double)ws_nn_tensor_scale(m, w, (uint32_t)c);
        double got = (double)ws_nn_tensor_scale(m, b, (uint32_t)c);
        double diff = got > expected ? got - expected : expected - got;
        if (diff > 1e-3 * expected) {
            return WS_ERR_NN_QUANT; /* bias scale must be input scale x weight scale */
        }
    }
    return WS_OK;
}

ws_status_t ws_nn_check_multiplier(double real)
{
    /* a multiplier the reference can represent without its shift saturating */
    return (real > 1e-30 && real < 1e9) ? WS_OK : WS_ERR_NN_QUANT;
}

/* A constant int32 vector operand of exactly `count` elements. */
ws_status_t ws_nn_const_ints(const ws_nn_model_t *m, int32_t index, uint32_t count, int32_t *out)
{
    if (index < 0) {
        return WS_ERR_NN_INDEX;
    }
    const ws_nn_tensor_t *t = &m->tensors[index];
    if (t->type != WS_NN_TYPE_INT32 || t->data_pos == 0) {
        return WS_ERR_NN_TYPE;
    }
    if (t->bytes != 4 * count) {
        return WS_ERR_NN_SHAPE;
    }
    for (uint32_t i = 0; i < count; ++i) {
        out[i] = ws_get_i32(m->file + t->data_pos + 4 * i);
    }
    return WS_OK;
}

/* The operand checks ADD and MUL share: two int8 inputs shaped like the int8 output (no
 * broadcasting), activation quantization on all three, and the fused activation. */
ws_status_t ws_nn_check_elementwise(const ws_nn_op_view_t *v, int options_type, ws_nn_tensor_t **a,
                                    ws_nn_tensor_t **b, ws_nn_tensor_t **out, int64_t *act)
{
    ws_nn_model_t *m = v->m;
    if (v->n_in != 2 || v->in[0] < 0 || v->in[1] < 0) {
        return WS_ERR_NN_INDEX;
    }
    if (v->has_options && v->options_type != options_type) {
        return WS_ERR_NN_OPTIONS;
    }
    *a = ws_nn_tensor(m, v->in[0]);
    *b = ws_nn_tensor(m, v->in[1]);
    *out = ws_nn_tensor(m, v->out);
    if ((*a)->type != WS_NN_TYPE_INT8 || (*b)->type != WS_NN_TYPE_INT8 ||
        !ws_nn_is_activation(*out, WS_NN_TYPE_INT8)) {
        return WS_ERR_NN_TYPE;
    }
    if (!ws_nn_same_dims(*a, *b) || !ws_nn_same_dims(*a, *out)) {
        return WS_ERR_NN_SHAPE; /* broadcasting is not supported */
    }
    WS_NN_CHECK(ws_nn_check_activation_q(*a));
    WS_NN_CHECK(ws_nn_check_activation_q(*b));
    WS_NN_CHECK(ws_nn_check_activation_q(*out));
    return ws_nn_op_option(v, 0, 1, 0, act);
}

ws_status_t ws_nn_check_movement(const ws_nn_op_view_t *v, int32_t inputs, ws_nn_tensor_t **in,
                                 ws_nn_tensor_t **out)
{
    ws_nn_model_t *m = v->m;
    if (v->n_in != inputs || v->in[0] < 0) {
        return WS_ERR_NN_INDEX;
    }
    *in = ws_nn_tensor(m, v->in[0]);
    *out = ws_nn_tensor(m, v->out);
    if ((*in)->type != (*out)->type || (*in)->type == WS_NN_TYPE_FLOAT32 ||
        !ws_nn_is_activation(*out, (*out)->type) || (*in)->data_pos != 0) {
        return WS_ERR_NN_TYPE;
    }
    if ((*in)->rank < 1 || (*in)->rank != (*out)->rank) {
        return WS_ERR_NN_SHAPE;
    }
    if (!ws_nn_same_quant(*in, *out)) {
        return WS_ERR_NN_QUANT;
    }
    return WS_OK;
}
