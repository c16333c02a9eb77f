/* The interpreter: validates a TFLite flatbuffer completely, plans its activation
 * tensors into one arena and runs the int8 kernels. Nothing is read from the file
 * that has not been bounds- and alignment-checked by ws_nn_load(). */
#include <string.h>

#include "flatbuffer.h"
#include "nn_quant.h"
#include "ws_nn.h"

/* Builtin operator codes of the TFLite schema. */
enum {
    OP_ADD = 0,
    OP_AVERAGE_POOL_2D = 1,
    OP_CONCATENATION = 2,
    OP_LOGISTIC = 14,
    OP_MUL = 18,
    OP_TANH = 28,
    OP_PAD = 34,
    OP_TRANSPOSE = 39,
    OP_MEAN = 40,
    OP_STRIDED_SLICE = 45,
    OP_SLICE = 65,
    OP_CONV_2D = 3,
    OP_DEPTHWISE_CONV_2D = 4,
    OP_DEQUANTIZE = 6,
    OP_FULLY_CONNECTED = 9,
    OP_MAX_POOL_2D = 17,
    OP_RESHAPE = 22,
    OP_SOFTMAX = 25,
    OP_QUANTIZE = 114
};

/* BuiltinOptions union types. */
enum {
    OPT_CONV = 1,
    OPT_DEPTHWISE = 2,
    OPT_POOL = 5,
    OPT_FC = 8,
    OPT_SOFTMAX = 9,
    OPT_CONCAT = 10,
    OPT_ADD = 11,
    OPT_MUL = 21,
    OPT_REDUCER = 27,
    OPT_STRIDED_SLICE = 32
};

#define MAX_CODES 64
#define MAX_DIM 16777216
#define ADD_LEFT_SHIFT 20

typedef struct {
    int32_t builtin;
    int32_t version;
} opcode_t;

static const struct {
    int32_t builtin;
    int32_t max_version;
} SUPPORTED[] = {
    {OP_ADD, 4},          {OP_AVERAGE_POOL_2D, 3}, {OP_CONV_2D, 6},     {OP_DEPTHWISE_CONV_2D, 6},
    {OP_DEQUANTIZE, 5},   {OP_FULLY_CONNECTED, 11}, {OP_MAX_POOL_2D, 3}, {OP_RESHAPE, 2},
    {OP_QUANTIZE, 3},     {OP_SOFTMAX, 3},        {OP_MUL, 5},         {OP_LOGISTIC, 3},
    {OP_TANH, 3},         {OP_MEAN, 3},           {OP_PAD, 4},         {OP_TRANSPOSE, 6},
    {OP_SLICE, 6},        {OP_CONCATENATION, 4},  {OP_STRIDED_SLICE, 6},
};

typedef struct {
    ws_fb_t fb;
    ws_nn_model_t *m;
    opcode_t codes[MAX_CODES];
    uint32_t n_codes;
    ws_fb_vector_t buffers;
} loader_t;

#define CHECK(expr)                  \
    do {                             \
        ws_status_t st_ = (expr);    \
        if (st_ != WS_OK) {          \
            return st_;              \
        }                            \
    } while (0)

size_t ws_nn_model_struct_size(void)
{
    return sizeof(ws_nn_model_t);
}

static float read_float(const ws_nn_model_t *m, uint32_t pos)
{
    float f;
    memcpy(&f, m->file + pos, sizeof f);
    return f;
}

static float tensor_scale(const ws_nn_model_t *m, const ws_nn_tensor_t *t, uint32_t i)
{
    return read_float(m, t->scale_pos + 4 * (t->scale_count > 1 ? i : 0));
}

static int element_size(uint8_t type)
{
    return type == WS_NN_TYPE_INT8 ? 1 : 4;
}

static int scale_ok(float s)
{
    /* positive, finite and within the range where every multiplier stays representable */
    return s >= 1e-20f && s <= 1e20f;
}

/* ---------------------------------------------------------------- tensors */

static ws_status_t load_quantization(loader_t *L, const ws_fb_table_t *tt, ws_nn_tensor_t *t)
{
    ws_fb_table_t q;
    int present;
    CHECK(ws_fb_subtable(&L->fb, tt, 4, &q, &present));
    t->scale_pos = 0;
    t->scale_count = 0;
    t->scale = 0.0f;
    t->zero_point = 0;
    t->quantized_dimension = 0;
    if (!present) {
        return WS_OK;
    }
    int64_t details, qdim;
    CHECK(ws_fb_scalar(&L->fb, &q, 4, 1, 0, &details));
    if (details != 0) {
        return WS_ERR_NN_QUANT;
    }
    ws_fb_vector_t scales, zps;
    CHECK(ws_fb_vector(&L->fb, &q, 2, 4, &scales));
    CHECK(ws_fb_vector(&L->fb, &q, 3, 8, &zps));
    CHECK(ws_fb_scalar(&L->fb, &q, 6, 4, 0, &qdim));
    if (scales.count == 0) {
        return zps.count == 0 ? WS_OK : WS_ERR_NN_QUANT;
    }
    if (zps.count != scales.count || qdim < 0 || qdim >= WS_NN_MAX_DIMS) {
        return WS_ERR_NN_QUANT;
    }
    for (uint32_t i = 0; i < scales.count; ++i) {
        float s = read_float(L->m, scales.pos + 4 * i);
        if (!scale_ok(s)) {
            return WS_ERR_NN_QUANT;
        }
        int64_t zp = (int64_t)(ws_fb_u32(&L->fb, zps.pos + 8 * i) |
                               ((uint64_t)ws_fb_u32(&L->fb, zps.pos + 8 * i + 4) << 32));
        if (t->type == WS_NN_TYPE_INT8 ? (zp < -128 || zp > 127) : zp != 0) {
            return WS_ERR_NN_QUANT;
        }
        if (i == 0) {
            t->zero_point = (int32_t)zp;
        } else if (zp != t->zero_point) {
            return WS_ERR_NN_QUANT; /* per-channel zero points are all 0 in int8 TFLite */
        }
    }
    if (scales.count > 1 && ((int32_t)qdim >= t->rank || (uint32_t)t->dims[qdim] != scales.count)) {
        return WS_ERR_NN_QUANT;
    }
    t->scale_pos = scales.pos;
    t->scale_count = scales.count;
    t->scale = read_float(L->m, scales.pos);
    t->quantized_dimension = (int32_t)qdim;
    return WS_OK;
}

static ws_status_t load_tensor(loader_t *L, const ws_fb_table_t *tt, ws_nn_tensor_t *t)
{
    ws_fb_vector_t shape;
    int64_t type, buffer, is_variable;
    uint32_t sparsity;
    memset(t, 0, sizeof *t);
    t->arena_offset = -1;
    t->first_op = -1;
    t->last_op = -1;
    CHECK(ws_fb_vector(&L->fb, tt, 0, 4, &shape));
    if (shape.count > WS_NN_MAX_DIMS) {
        return WS_ERR_NN_LIMIT;
    }
    t->rank = (uint8_t)shape.count;
    uint64_t elements = 1;
    for (uint32_t i = 0; i < shape.count; ++i) {
        int32_t d = (int32_t)ws_fb_u32(&L->fb, shape.pos + 4 * i);
        if (d < 1 || d > MAX_DIM) {
            return WS_ERR_NN_SHAPE;
        }
        t->dims[i] = d;
        elements *= (uint64_t)d;
        if (elements > WS_NN_MAX_TENSOR_BYTES) {
            return WS_ERR_NN_SHAPE;
        }
    }
    CHECK(ws_fb_scalar(&L->fb, tt, 1, 1, 0, &type));
    if (type != WS_NN_TYPE_INT8 && type != WS_NN_TYPE_INT32 && type != WS_NN_TYPE_FLOAT32) {
        return WS_ERR_NN_TYPE;
    }
    t->type = (uint8_t)type;
    if (elements * (uint64_t)element_size(t->type) > WS_NN_MAX_TENSOR_BYTES) {
        return WS_ERR_NN_SHAPE;
    }
    t->bytes = (uint32_t)(elements * (uint64_t)element_size(t->type));
    CHECK(ws_fb_scalar(&L->fb, tt, 5, 1, 0, &is_variable));
    CHECK(ws_fb_field(&L->fb, tt, 6, 4, &sparsity));
    if (is_variable != 0 || sparsity != 0) {
        return WS_ERR_NN_SCHEMA; /* variable and sparse tensors are not supported */
    }
    CHECK(ws_fb_scalar(&L->fb, tt, 2, 4, 0, &buffer));
    uint32_t buffer_index = (uint32_t)buffer;
    if (buffer_index >= L->buffers.count) {
        return WS_ERR_NN_INDEX;
    }
    ws_fb_table_t bt;
    ws_fb_vector_t data;
    int64_t ext_offset, ext_size;
    CHECK(ws_fb_vector_table(&L->fb, &L->buffers, buffer_index, &bt));
    CHECK(ws_fb_vector(&L->fb, &bt, 0, 1, &data));
    CHECK(ws_fb_scalar(&L->fb, &bt, 1, 8, 0, &ext_offset));
    CHECK(ws_fb_scalar(&L->fb, &bt, 2, 8, 0, &ext_size));
    if (ext_offset != 0 || ext_size != 0) {
        return WS_ERR_NN_SCHEMA; /* buffers outside the flatbuffer (>2 GB models) */
    }
    if (data.count > 0) {
        if (data.count != t->bytes) {
            return WS_ERR_NN_BUFFER;
        }
        /* read in place: aligned for the element type (our writer and the TFLite
         * converter align to 16; Python flatbuffers writers such as
         * ai-edge-quantizer's only to 4) */
        if (((uintptr_t)(L->m->file + data.pos)) % (uintptr_t)element_size(t->type) != 0) {
            return WS_ERR_NN_ALIGN;
        }
        t->data_pos = data.pos;
    }
    return load_quantization(L, tt, t);
}

/* ---------------------------------------------------------------- operators */

static ws_status_t activation_range(int64_t act, const ws_nn_tensor_t *out, int32_t *lo, int32_t *hi)
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

static ws_status_t padded_size(int64_t padding, int32_t in, int32_t filter, int32_t stride,
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
    if (size < 1 || effective > MAX_DIM) {
        return WS_ERR_NN_SHAPE;
    }
    int64_t total = (size - 1) * stride + effective - in;
    *pad = (int32_t)(total > 0 ? total / 2 : 0);
    *out = (int32_t)size;
    return WS_OK;
}

typedef struct {
    int32_t builtin;
    ws_fb_table_t options;
    int has_options;
    int64_t options_type;
    int32_t n_in;
    int32_t in[WS_NN_MAX_OP_INPUTS];
    int32_t out;
} op_view_t;

static ws_status_t options_field(loader_t *L, const op_view_t *v, uint32_t id, uint32_t width,
                                 int64_t fallback, int64_t *value)
{
    if (!v->has_options) {
        *value = fallback;
        return WS_OK;
    }
    return ws_fb_scalar(&L->fb, &v->options, id, width, fallback, value);
}

static ws_nn_tensor_t *T(ws_nn_model_t *m, int32_t index)
{
    return &m->tensors[index];
}

static int is_activation(const ws_nn_tensor_t *t, uint8_t type)
{
    return t->type == type && t->data_pos == 0;
}

static int same_dims(const ws_nn_tensor_t *a, const ws_nn_tensor_t *b)
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

static ws_status_t check_activation_q(const ws_nn_tensor_t *t)
{
    return t->scale_count == 1 ? WS_OK : WS_ERR_NN_QUANT;
}

/* Weights: symmetric int8, one scale or one per channel along `qdim`. */
static ws_status_t check_weights(const ws_nn_tensor_t *w, int32_t qdim, int32_t channels)
{
    if (w->type != WS_NN_TYPE_INT8 || w->data_pos == 0) {
        return WS_ERR_NN_TYPE;
    }
    if (w->scale_count == 0 || w->zero_point != 0) {
        return WS_ERR_NN_QUANT;
    }
    if (w->scale_count > 1 && (w->quantized_dimension != qdim || (int32_t)w->scale_count != channels)) {
        return WS_ERR_NN_QUANT;
    }
    return WS_OK;
}

static ws_status_t check_bias(const ws_nn_model_t *m, int32_t index, const ws_nn_tensor_t *in,
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
        double expected = (double)in->scale * (double)tensor_scale(m, w, (uint32_t)c);
        double got = (double)tensor_scale(m, b, (uint32_t)c);
        double diff = got > expected ? got - expected : expected - got;
        if (diff > 1e-3 * expected) {
            return WS_ERR_NN_QUANT; /* bias scale must be input scale x weight scale */
        }
    }
    return WS_OK;
}

static ws_status_t check_multiplier(double real)
{
    /* a multiplier the reference can represent without its shift saturating */
    return (real > 1e-30 && real < 1e9) ? WS_OK : WS_ERR_NN_QUANT;
}

static ws_status_t prepare_conv(loader_t *L, op_view_t *v, ws_nn_op_t *op, int depthwise)
{
    ws_nn_model_t *m = L->m;
    if (v->n_in < 2 || v->n_in > 3 || v->in[0] < 0 || v->in[1] < 0) {
        return WS_ERR_NN_INDEX;
    }
    if (!v->has_options || v->options_type != (depthwise ? OPT_DEPTHWISE : OPT_CONV)) {
        return WS_ERR_NN_OPTIONS;
    }
    ws_nn_tensor_t *in = T(m, v->in[0]), *w = T(m, v->in[1]), *out = T(m, v->out);
    if (!is_activation(in, WS_NN_TYPE_INT8) || !is_activation(out, WS_NN_TYPE_INT8)) {
        return WS_ERR_NN_TYPE;
    }
    if (in->rank != 4 || w->rank != 4 || out->rank != 4) {
        return WS_ERR_NN_SHAPE;
    }
    CHECK(check_activation_q(in));
    CHECK(check_activation_q(out));
    int64_t padding, sw, sh, act, dw, dh, mult = 1;
    uint32_t base = depthwise ? 1 : 0;
    CHECK(options_field(L, v, 0, 1, 0, &padding));
    CHECK(options_field(L, v, 1, 4, 0, &sw));
    CHECK(options_field(L, v, 2, 4, 0, &sh));
    if (depthwise) {
        CHECK(options_field(L, v, 3, 4, 0, &mult));
    }
    CHECK(options_field(L, v, 3 + base, 1, 0, &act));
    CHECK(options_field(L, v, 4 + base, 4, 1, &dw));
    CHECK(options_field(L, v, 5 + base, 4, 1, &dh));
    if (sw < 1 || sh < 1 || dw < 1 || dh < 1 || sw > 4096 || sh > 4096 || dw > 4096 || dh > 4096 ||
        mult < 1 || mult > 4096) {
        return WS_ERR_NN_OPTIONS;
    }
    int32_t channels;
    if (depthwise) {
        channels = w->dims[3];
        if (w->dims[0] != 1 || (int64_t)in->dims[3] * mult != channels) {
            return WS_ERR_NN_SHAPE;
        }
        CHECK(check_weights(w, 3, channels));
    } else {
        channels = w->dims[0];
        if (w->dims[3] != in->dims[3]) {
            return WS_ERR_NN_SHAPE; /* grouped convolutions are not supported */
        }
        CHECK(check_weights(w, 0, channels));
    }
    int32_t out_h, out_w, pad_h, pad_w;
    CHECK(padded_size(padding, in->dims[1], depthwise ? w->dims[1] : w->dims[1], (int32_t)sh,
                      (int32_t)dh, &out_h, &pad_h));
    CHECK(padded_size(padding, in->dims[2], w->dims[2], (int32_t)sw, (int32_t)dw, &out_w, &pad_w));
    if (out->dims[0] != in->dims[0] || out->dims[1] != out_h || out->dims[2] != out_w ||
        out->dims[3] != channels) {
        return WS_ERR_NN_SHAPE;
    }
    int32_t bias = v->n_in == 3 ? v->in[2] : -1;
    CHECK(check_bias(m, bias, in, w, channels));
    for (int32_t c = 0; c < channels; ++c) {
        CHECK(check_multiplier((double)in->scale * (double)tensor_scale(m, w, (uint32_t)c) /
                               (double)out->scale));
    }
    ws_nn_conv_params_t *p = &op->p.conv;
    p->input_offset = -in->zero_point;
    p->output_offset = out->zero_point;
    p->stride_h = (int32_t)sh;
    p->stride_w = (int32_t)sw;
    p->dilation_h = (int32_t)dh;
    p->dilation_w = (int32_t)dw;
    p->pad_h = pad_h;
    p->pad_w = pad_w;
    p->depth_multiplier = (int32_t)mult;
    CHECK(activation_range(act, out, &p->act_min, &p->act_max));
    op->channels = (uint32_t)channels;
    op->inputs[2] = (int16_t)bias;
    uint64_t per_output = depthwise ? (uint64_t)w->dims[1] * w->dims[2]
                                    : (uint64_t)w->dims[1] * w->dims[2] * w->dims[3];
    op->macs = (uint64_t)out->dims[0] * out_h * out_w * channels * per_output;
    m->macs += op->macs;
    return WS_OK;
}

static ws_status_t prepare_fc(loader_t *L, op_view_t *v, ws_nn_op_t *op)
{
    ws_nn_model_t *m = L->m;
    if (v->n_in < 2 || v->n_in > 3 || v->in[0] < 0 || v->in[1] < 0) {
        return WS_ERR_NN_INDEX;
    }
    if (v->has_options && v->options_type != OPT_FC) {
        return WS_ERR_NN_OPTIONS;
    }
    ws_nn_tensor_t *in = T(m, v->in[0]), *w = T(m, v->in[1]), *out = T(m, v->out);
    if (!is_activation(in, WS_NN_TYPE_INT8) || !is_activation(out, WS_NN_TYPE_INT8)) {
        return WS_ERR_NN_TYPE;
    }
    CHECK(check_activation_q(in));
    CHECK(check_activation_q(out));
    if (w->rank != 2 || in->rank < 1 || out->rank < 1) {
        return WS_ERR_NN_SHAPE;
    }
    int32_t units = w->dims[0], depth = w->dims[1];
    CHECK(check_weights(w, 0, units));
    int64_t act, format, keep;
    CHECK(options_field(L, v, 0, 1, 0, &act));
    CHECK(options_field(L, v, 1, 1, 0, &format));
    CHECK(options_field(L, v, 2, 1, 0, &keep));
    if (format != 0) {
        return WS_ERR_NN_OPTIONS;
    }
    uint32_t in_elements = in->bytes;
    if (in_elements % (uint32_t)depth != 0) {
        return WS_ERR_NN_SHAPE;
    }
    uint32_t batches = in_elements / (uint32_t)depth;
    if (out->dims[out->rank - 1] != units || out->bytes != batches * (uint32_t)units) {
        return WS_ERR_NN_SHAPE;
    }
    int32_t bias = v->n_in == 3 ? v->in[2] : -1;
    CHECK(check_bias(m, bias, in, w, units));
    for (int32_t c = 0; c < units; ++c) {
        CHECK(check_multiplier((double)in->scale * (double)tensor_scale(m, w, (uint32_t)c) /
                               (double)out->scale));
    }
    ws_nn_fc_params_t *p = &op->p.fc;
    p->input_offset = -in->zero_point;
    p->output_offset = out->zero_point;
    ws_nn_quantize_multiplier((double)in->scale * (double)w->scale / (double)out->scale,
                              &p->multiplier, &p->shift);
    CHECK(activation_range(act, out, &p->act_min, &p->act_max));
    op->channels = w->scale_count > 1 ? (uint32_t)units : 0;
    op->inputs[2] = (int16_t)bias;
    op->macs = (uint64_t)batches * units * depth;
    m->macs += op->macs;
    return WS_OK;
}

static ws_status_t prepare_pool(loader_t *L, op_view_t *v, ws_nn_op_t *op)
{
    ws_nn_model_t *m = L->m;
    if (v->n_in != 1 || v->in[0] < 0) {
        return WS_ERR_NN_INDEX;
    }
    if (!v->has_options || v->options_type != OPT_POOL) {
        return WS_ERR_NN_OPTIONS;
    }
    ws_nn_tensor_t *in = T(m, v->in[0]), *out = T(m, v->out);
    if (!is_activation(in, WS_NN_TYPE_INT8) || !is_activation(out, WS_NN_TYPE_INT8)) {
        return WS_ERR_NN_TYPE;
    }
    if (in->rank != 4 || out->rank != 4) {
        return WS_ERR_NN_SHAPE;
    }
    CHECK(check_activation_q(in));
    CHECK(check_activation_q(out));
    if (in->scale != out->scale || in->zero_point != out->zero_point) {
        return WS_ERR_NN_QUANT;
    }
    int64_t padding, sw, sh, fw, fh, act;
    CHECK(options_field(L, v, 0, 1, 0, &padding));
    CHECK(options_field(L, v, 1, 4, 0, &sw));
    CHECK(options_field(L, v, 2, 4, 0, &sh));
    CHECK(options_field(L, v, 3, 4, 0, &fw));
    CHECK(options_field(L, v, 4, 4, 0, &fh));
    CHECK(options_field(L, v, 5, 1, 0, &act));
    if (sw < 1 || sh < 1 || fw < 1 || fh < 1 || sw > 4096 || sh > 4096 || fw > MAX_DIM ||
        fh > MAX_DIM) {
        return WS_ERR_NN_OPTIONS;
    }
    ws_nn_pool_params_t *p = &op->p.pool;
    int32_t out_h, out_w;
    CHECK(padded_size(padding, in->dims[1], (int32_t)fh, (int32_t)sh, 1, &out_h, &p->pad_h));
    CHECK(padded_size(padding, in->dims[2], (int32_t)fw, (int32_t)sw, 1, &out_w, &p->pad_w));
    if (out->dims[0] != in->dims[0] || out->dims[1] != out_h || out->dims[2] != out_w ||
        out->dims[3] != in->dims[3]) {
        return WS_ERR_NN_SHAPE;
    }
    /* every window must overlap the input, or the reference kernel fails at run time */
    if ((int64_t)p->pad_h >= fh || (int64_t)p->pad_w >= fw) {
        return WS_ERR_NN_SHAPE;
    }
    p->stride_h = (int32_t)sh;
    p->stride_w = (int32_t)sw;
    p->filter_h = (int32_t)fh;
    p->filter_w = (int32_t)fw;
    CHECK(activation_range(act, out, &p->act_min, &p->act_max));
    return WS_OK;
}

/* The operand checks ADD and MUL share: two int8 inputs shaped like the int8 output (no
 * broadcasting), activation quantization on all three, and the fused activation. */
static ws_status_t check_elementwise(loader_t *L, op_view_t *v, int options_type,
                                     ws_nn_tensor_t **a, ws_nn_tensor_t **b,
                                     ws_nn_tensor_t **out, int64_t *act)
{
    ws_nn_model_t *m = L->m;
    if (v->n_in != 2 || v->in[0] < 0 || v->in[1] < 0) {
        return WS_ERR_NN_INDEX;
    }
    if (v->has_options && v->options_type != options_type) {
        return WS_ERR_NN_OPTIONS;
    }
    *a = T(m, v->in[0]);
    *b = T(m, v->in[1]);
    *out = T(m, v->out);
    if ((*a)->type != WS_NN_TYPE_INT8 || (*b)->type != WS_NN_TYPE_INT8 ||
        !is_activation(*out, WS_NN_TYPE_INT8)) {
        return WS_ERR_NN_TYPE;
    }
    if (!same_dims(*a, *b) || !same_dims(*a, *out)) {
        return WS_ERR_NN_SHAPE; /* broadcasting is not supported */
    }
    CHECK(check_activation_q(*a));
    CHECK(check_activation_q(*b));
    CHECK(check_activation_q(*out));
    return options_field(L, v, 0, 1, 0, act);
}

static ws_status_t prepare_add(loader_t *L, op_view_t *v, ws_nn_op_t *op)
{
    ws_nn_tensor_t *a, *b, *out;
    int64_t act;
    CHECK(check_elementwise(L, v, OPT_ADD, &a, &b, &out, &act));
    ws_nn_add_params_t *p = &op->p.add;
    double twice_max = 2.0 * (double)(a->scale > b->scale ? a->scale : b->scale);
    double real_out = twice_max / ((double)(1 << ADD_LEFT_SHIFT) * (double)out->scale);
    if (!(real_out < 1.0)) {
        return WS_ERR_NN_QUANT; /* the reference requires a multiplier below one */
    }
    CHECK(check_multiplier(real_out));
    p->left_shift = ADD_LEFT_SHIFT;
    p->input1_offset = -a->zero_point;
    p->input2_offset = -b->zero_point;
    p->output_offset = out->zero_point;
    ws_nn_quantize_multiplier((double)a->scale / twice_max, &p->input1_multiplier, &p->input1_shift);
    ws_nn_quantize_multiplier((double)b->scale / twice_max, &p->input2_multiplier, &p->input2_shift);
    ws_nn_quantize_multiplier(real_out, &p->output_multiplier, &p->output_shift);
    CHECK(activation_range(act, out, &p->act_min, &p->act_max));
    return WS_OK;
}

static ws_status_t prepare_reshape(loader_t *L, op_view_t *v)
{
    ws_nn_model_t *m = L->m;
    if (v->n_in < 1 || v->n_in > 2 || v->in[0] < 0) {
        return WS_ERR_NN_INDEX;
    }
    ws_nn_tensor_t *in = T(m, v->in[0]), *out = T(m, v->out);
    if (v->n_in == 2 && v->in[1] >= 0 && T(m, v->in[1])->type != WS_NN_TYPE_INT32) {
        return WS_ERR_NN_TYPE;
    }
    if (in->type != out->type || !is_activation(out, out->type) || in->data_pos != 0) {
        return WS_ERR_NN_TYPE;
    }
    if (in->bytes != out->bytes) {
        return WS_ERR_NN_SHAPE;
    }
    if (in->scale_count != out->scale_count ||
        (in->scale_count && (in->scale != out->scale || in->zero_point != out->zero_point))) {
        return WS_ERR_NN_QUANT;
    }
    return WS_OK;
}

static ws_status_t prepare_softmax(loader_t *L, op_view_t *v, ws_nn_op_t *op)
{
    ws_nn_model_t *m = L->m;
    if (v->n_in != 1 || v->in[0] < 0) {
        return WS_ERR_NN_INDEX;
    }
    if (!v->has_options || v->options_type != OPT_SOFTMAX) {
        return WS_ERR_NN_OPTIONS;
    }
    ws_nn_tensor_t *in = T(m, v->in[0]), *out = T(m, v->out);
    if (!is_activation(in, WS_NN_TYPE_INT8) || !is_activation(out, WS_NN_TYPE_INT8)) {
        return WS_ERR_NN_TYPE;
    }
    if (!same_dims(in, out) || in->rank < 1) {
        return WS_ERR_NN_SHAPE;
    }
    CHECK(check_activation_q(in));
    CHECK(check_activation_q(out));
    if (out->zero_point != -128 || out->scale != 1.0f / 256.0f) {
        return WS_ERR_NN_QUANT; /* the int8 softmax output is fixed at 1/256, -128 */
    }
    int64_t beta_bits;
    CHECK(options_field(L, v, 0, 4, 0, &beta_bits));
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

/* ---- helpers for the shape and elementwise operators */

static int same_quant(const ws_nn_tensor_t *a, const ws_nn_tensor_t *b)
{
    return a->scale_count == b->scale_count &&
           (a->scale_count == 0 || (a->scale == b->scale && a->zero_point == b->zero_point));
}

/* dims extended to 4 with leading 1s; returns the offset of the first real axis */
static int32_t dims4_of(const ws_nn_tensor_t *t, int32_t d[4])
{
    int32_t off = 4 - t->rank;
    for (int i = 0; i < 4; ++i) {
        d[i] = i < off ? 1 : t->dims[i - off];
    }
    return off;
}

/* A constant int32 vector operand of exactly `count` elements. */
static ws_status_t const_ints(const ws_nn_model_t *m, int32_t index, uint32_t count, int32_t *out)
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
        memcpy(&out[i], m->file + t->data_pos + 4 * i, 4);
    }
    return WS_OK;
}

static int is_power_of_two(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return (bits & 0xFFFFFFFFFFFFFULL) == 0;
}

static ws_status_t prepare_mul(loader_t *L, op_view_t *v, ws_nn_op_t *op)
{
    ws_nn_tensor_t *a, *b, *out;
    int64_t act;
    CHECK(check_elementwise(L, v, OPT_MUL, &a, &b, &out, &act));
    double real = (double)a->scale * (double)b->scale / (double)out->scale;
    CHECK(check_multiplier(real));
    ws_nn_mul_params_t *p = &op->p.mul;
    p->input1_offset = -a->zero_point;
    p->input2_offset = -b->zero_point;
    p->output_offset = out->zero_point;
    ws_nn_quantize_multiplier(real, &p->output_multiplier, &p->output_shift);
    CHECK(activation_range(act, out, &p->act_min, &p->act_max));
    return WS_OK;
}

static ws_status_t prepare_sigmoid(loader_t *L, op_view_t *v, ws_nn_op_t *op, int is_tanh)
{
    ws_nn_model_t *m = L->m;
    if (v->n_in != 1 || v->in[0] < 0) {
        return WS_ERR_NN_INDEX;
    }
    ws_nn_tensor_t *in = T(m, v->in[0]), *out = T(m, v->out);
    if (!is_activation(in, WS_NN_TYPE_INT8) || !is_activation(out, WS_NN_TYPE_INT8)) {
        return WS_ERR_NN_TYPE;
    }
    if (!same_dims(in, out)) {
        return WS_ERR_NN_SHAPE;
    }
    CHECK(check_activation_q(in));
    CHECK(check_activation_q(out));
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

static ws_status_t prepare_mean(loader_t *L, op_view_t *v, ws_nn_op_t *op)
{
    ws_nn_model_t *m = L->m;
    if (v->n_in != 2 || v->in[0] < 0 || v->in[1] < 0) {
        return WS_ERR_NN_INDEX;
    }
    if (v->has_options && v->options_type != OPT_REDUCER) {
        return WS_ERR_NN_OPTIONS;
    }
    ws_nn_tensor_t *in = T(m, v->in[0]), *out = T(m, v->out), *axes_t = T(m, v->in[1]);
    if (!is_activation(in, WS_NN_TYPE_INT8) || !is_activation(out, WS_NN_TYPE_INT8)) {
        return WS_ERR_NN_TYPE;
    }
    CHECK(check_activation_q(in));
    CHECK(check_activation_q(out));
    if (in->rank < 1 || axes_t->bytes < 4 || axes_t->bytes > 16) {
        return WS_ERR_NN_SHAPE;
    }
    uint32_t n_axes = axes_t->bytes / 4;
    int32_t axes[4], din[4];
    CHECK(const_ints(m, v->in[1], n_axes, axes));
    int32_t off = dims4_of(in, din);
    ws_nn_mean_params_t *p = &op->p.mean;
    for (int k = 0; k < 4; ++k) {
        p->reduce[k] = 0;
    }
    for (uint32_t i = 0; i < n_axes; ++i) {
        int32_t a = axes[i] < 0 ? axes[i] + in->rank : axes[i];
        if (a < 0 || a >= in->rank) {
            return WS_ERR_NN_OPTIONS;
        }
        p->reduce[off + a] = 1;
    }
    int64_t keep;
    CHECK(options_field(L, v, 0, 1, 0, &keep));
    uint32_t kept = 1, count = 1, reduced_axes = 0;
    for (int k = 0; k < 4; ++k) {
        kept *= p->reduce[k] ? 1u : (uint32_t)din[k];
        count *= p->reduce[k] ? (uint32_t)din[k] : 1u;
        reduced_axes += (uint32_t)p->reduce[k];
    }
    int32_t want_rank = keep ? in->rank : in->rank - (int32_t)reduced_axes;
    if (out->bytes != kept || (want_rank > 0 && out->rank != want_rank)) {
        return WS_ERR_NN_SHAPE;
    }
    if (keep) {
        for (int32_t i = 0; i < in->rank; ++i) {
            if (out->dims[i] != (p->reduce[off + i] ? 1 : in->dims[i])) {
                return WS_ERR_NN_SHAPE;
            }
        }
    }
    double real = (double)in->scale / (double)out->scale;
    CHECK(check_multiplier(real));
    ws_nn_quantize_multiplier(real, &p->multiplier, &p->shift);
    if (p->shift < -31) {
        return WS_ERR_NN_QUANT;
    }
    /* fold 1/count into the multiplier exactly as the reference does */
    int32_t fold = 0;
    while ((1ULL << (fold + 1)) <= count) {
        ++fold;
    }
    fold = fold < 32 ? fold : 32;
    fold = fold < 31 + p->shift ? fold : 31 + p->shift;
    p->multiplier = (int32_t)((int64_t)((uint64_t)(int64_t)p->multiplier << fold) / (int64_t)count);
    p->shift -= fold;
    p->input_zero_point = in->zero_point;
    p->output_zero_point = out->zero_point;
    return WS_OK;
}

/* PAD, TRANSPOSE, SLICE: one data input, constant int32 parameters, same quantization */
static ws_status_t prepare_movement(loader_t *L, op_view_t *v, ws_nn_op_t *op)
{
    ws_nn_model_t *m = L->m;
    int32_t want = v->builtin == OP_SLICE ? 3 : 2;
    if (v->n_in != want || v->in[0] < 0) {
        return WS_ERR_NN_INDEX;
    }
    ws_nn_tensor_t *in = T(m, v->in[0]), *out = T(m, v->out);
    if (in->type != out->type || in->type == WS_NN_TYPE_FLOAT32 || !is_activation(out, out->type) ||
        in->data_pos != 0) {
        return WS_ERR_NN_TYPE;
    }
    if (in->rank < 1 || in->rank != out->rank) {
        return WS_ERR_NN_SHAPE;
    }
    if (!same_quant(in, out)) {
        return WS_ERR_NN_QUANT;
    }
    ws_nn_shape_params_t *p = &op->p.shape;
    int32_t din[4], dout[4], a[8], b[4];
    int32_t off = dims4_of(in, din);
    int32_t r = in->rank;
    dims4_of(out, dout);
    for (int i = 0; i < 4; ++i) {
        p->a[i] = 0;
        p->b[i] = 0;
    }
    if (v->builtin == OP_PAD) {
        CHECK(const_ints(m, v->in[1], (uint32_t)(2 * r), a));
        for (int32_t i = 0; i < r; ++i) {
            if (a[2 * i] < 0 || a[2 * i + 1] < 0 || a[2 * i] > MAX_DIM || a[2 * i + 1] > MAX_DIM ||
                (int64_t)din[off + i] + a[2 * i] + a[2 * i + 1] != dout[off + i]) {
                return WS_ERR_NN_SHAPE;
            }
            p->a[off + i] = a[2 * i];
            p->b[off + i] = a[2 * i + 1];
        }
        p->value = out->scale_count ? out->zero_point : 0;
    } else if (v->builtin == OP_TRANSPOSE) {
        CHECK(const_ints(m, v->in[1], (uint32_t)r, a));
        uint32_t seen = 0;
        for (int32_t i = 0; i < off; ++i) {
            p->a[i] = i;
        }
        for (int32_t i = 0; i < r; ++i) {
            if (a[i] < 0 || a[i] >= r || (seen & (1u << a[i]))) {
                return WS_ERR_NN_OPTIONS;
            }
            seen |= 1u << a[i];
            p->a[off + i] = a[i] + off;
            if (dout[off + i] != din[off + a[i]]) {
                return WS_ERR_NN_SHAPE;
            }
        }
    } else {
        CHECK(const_ints(m, v->in[1], (uint32_t)r, a));
        CHECK(const_ints(m, v->in[2], (uint32_t)r, b));
        for (int32_t i = 0; i < r; ++i) {
            int32_t size = b[i] == -1 ? din[off + i] - a[i] : b[i];
            if (a[i] < 0 || size < 1 || a[i] > din[off + i] - size || size != dout[off + i]) {
                return WS_ERR_NN_SHAPE;
            }
            p->a[off + i] = a[i];
        }
    }
    return WS_OK;
}

static int32_t clamp_index(int64_t v, int32_t lo, int32_t hi)
{
    return (int32_t)(v < lo ? lo : (v > hi ? hi : v));
}

/* STRIDED_SLICE: TFLite's strided_slice_logic (StartForAxis/StopForAxis) without
 * ellipsis, new axes or offset. */
static ws_status_t prepare_strided_slice(loader_t *L, op_view_t *v, ws_nn_op_t *op)
{
    ws_nn_model_t *m = L->m;
    if (v->n_in != 4 || v->in[0] < 0) {
        return WS_ERR_NN_INDEX;
    }
    if (!v->has_options || v->options_type != OPT_STRIDED_SLICE) {
        return WS_ERR_NN_OPTIONS;
    }
    ws_nn_tensor_t *in = T(m, v->in[0]), *out = T(m, v->out);
    if (in->type != out->type || in->type == WS_NN_TYPE_FLOAT32 || !is_activation(out, out->type) ||
        in->data_pos != 0) {
        return WS_ERR_NN_TYPE;
    }
    if (!same_quant(in, out)) {
        return WS_ERR_NN_QUANT;
    }
    int64_t begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_mask, offset;
    CHECK(options_field(L, v, 0, 4, 0, &begin_mask));
    CHECK(options_field(L, v, 1, 4, 0, &end_mask));
    CHECK(options_field(L, v, 2, 4, 0, &ellipsis_mask));
    CHECK(options_field(L, v, 3, 4, 0, &new_axis_mask));
    CHECK(options_field(L, v, 4, 4, 0, &shrink_mask));
    CHECK(options_field(L, v, 5, 1, 0, &offset));
    if (ellipsis_mask != 0 || new_axis_mask != 0 || offset != 0) {
        return WS_ERR_NN_OPTIONS;
    }
    int32_t r = in->rank, begin[4], end[4], strides[4], din[4];
    if (r < 1) {
        return WS_ERR_NN_SHAPE;
    }
    CHECK(const_ints(m, v->in[1], (uint32_t)r, begin));
    CHECK(const_ints(m, v->in[2], (uint32_t)r, end));
    CHECK(const_ints(m, v->in[3], (uint32_t)r, strides));
    int32_t off = dims4_of(in, din);
    ws_nn_shape_params_t *p = &op->p.shape;
    int32_t out_dims[4], out_rank = 0;
    for (int k = 0; k < 4; ++k) {
        p->a[k] = 0;
        p->b[k] = din[k];
        p->c[k] = 1;
    }
    for (int32_t i = 0; i < r; ++i) {
        const int32_t size = din[off + i], stride = strides[i];
        if (stride == 0 || stride < -MAX_DIM || stride > MAX_DIM) {
            return WS_ERR_NN_OPTIONS;
        }
        int64_t start = begin[i];
        if (begin_mask & (1LL << i)) {
            start = stride > 0 ? INT32_MIN : INT32_MAX;
        }
        if (start < 0) {
            start += size;
        }
        start = stride > 0 ? clamp_index(start, 0, size) : clamp_index(start, -1, size - 1);
        int64_t stop;
        const int shrink = (shrink_mask & (1LL << i)) != 0;
        if (shrink) {
            if (stride < 0) {
                return WS_ERR_NN_OPTIONS; /* not a case converters emit; left out */
            }
            stop = start + 1;
        } else {
            stop = end[i];
            if (end_mask & (1LL << i)) {
                stop = stride > 0 ? INT32_MAX : INT32_MIN;
            }
            if (stop < 0) {
                stop += size;
            }
            stop = stride > 0 ? clamp_index(stop, 0, size) : clamp_index(stop, -1, size - 1);
        }
        int64_t count = stride > 0 ? (stop - start + stride - 1) / stride
                                   : (start - stop + (-stride) - 1) / (-stride);
        if (count < 1) {
            return WS_ERR_NN_SHAPE; /* empty outputs are not supported */
        }
        p->a[off + i] = (int32_t)start;
        p->b[off + i] = (int32_t)stop;
        p->c[off + i] = stride;
        if (!shrink) {
            out_dims[out_rank++] = (int32_t)count;
        } else if (count != 1) {
            return WS_ERR_NN_SHAPE;
        }
    }
    if (out_rank == 0) {
        out_dims[out_rank++] = 1;
    }
    if (out->rank != out_rank && !(out->rank == 0 && out_rank == 1)) {
        return WS_ERR_NN_SHAPE;
    }
    for (int32_t i = 0; i < out->rank; ++i) {
        if (out->dims[i] != out_dims[i]) {
            return WS_ERR_NN_SHAPE;
        }
    }
    return WS_OK;
}

static ws_status_t prepare_concat(loader_t *L, op_view_t *v, ws_nn_op_t *op)
{
    ws_nn_model_t *m = L->m;
    if (v->n_in < 1) {
        return WS_ERR_NN_INDEX;
    }
    if (!v->has_options || v->options_type != OPT_CONCAT) {
        return WS_ERR_NN_OPTIONS;
    }
    ws_nn_tensor_t *out = T(m, v->out);
    if (!is_activation(out, WS_NN_TYPE_INT8)) {
        return WS_ERR_NN_TYPE;
    }
    int64_t axis, act;
    CHECK(options_field(L, v, 0, 4, 0, &axis));
    CHECK(options_field(L, v, 1, 1, 0, &act));
    if (act != 0) {
        return WS_ERR_NN_OPTIONS;
    }
    if (axis < 0) {
        axis += out->rank;
    }
    if (axis < 0 || axis >= out->rank) {
        return WS_ERR_NN_OPTIONS;
    }
    int64_t total = 0;
    for (int32_t i = 0; i < v->n_in; ++i) {
        if (v->in[i] < 0) {
            return WS_ERR_NN_INDEX;
        }
        ws_nn_tensor_t *t = T(m, v->in[i]);
        if (t->type != WS_NN_TYPE_INT8) {
            return WS_ERR_NN_TYPE;
        }
        if (t->rank != out->rank) {
            return WS_ERR_NN_SHAPE;
        }
        for (int32_t d = 0; d < out->rank; ++d) {
            if (d != axis && t->dims[d] != out->dims[d]) {
                return WS_ERR_NN_SHAPE;
            }
        }
        if (!same_quant(t, out) || t->scale_count != 1) {
            return WS_ERR_NN_QUANT; /* TFLM's int8 concatenation does not requantize */
        }
        total += t->dims[axis];
    }
    if (total != out->dims[axis]) {
        return WS_ERR_NN_SHAPE;
    }
    op->p.shape.a[0] = (int32_t)axis;
    return WS_OK;
}

static ws_status_t prepare_quantize(loader_t *L, op_view_t *v, int dequantize)
{
    ws_nn_model_t *m = L->m;
    if (v->n_in != 1 || v->in[0] < 0) {
        return WS_ERR_NN_INDEX;
    }
    ws_nn_tensor_t *in = T(m, v->in[0]), *out = T(m, v->out);
    uint8_t from = dequantize ? WS_NN_TYPE_INT8 : WS_NN_TYPE_FLOAT32;
    uint8_t to = dequantize ? WS_NN_TYPE_FLOAT32 : WS_NN_TYPE_INT8;
    if (!is_activation(in, from) || !is_activation(out, to)) {
        return WS_ERR_NN_TYPE;
    }
    if (!same_dims(in, out)) {
        return WS_ERR_NN_SHAPE;
    }
    return check_activation_q(dequantize ? in : out);
}

static ws_status_t load_operator(loader_t *L, const ws_fb_table_t *ot, uint32_t index)
{
    ws_nn_model_t *m = L->m;
    ws_nn_op_t *op = &m->ops[index];
    op_view_t v;
    int64_t opcode_index;
    memset(op, 0, sizeof *op);
    memset(&v, 0, sizeof v);
    CHECK(ws_fb_scalar(&L->fb, ot, 0, 4, 0, &opcode_index));
    if ((uint32_t)opcode_index >= L->n_codes) {
        return WS_ERR_NN_INDEX;
    }
    v.builtin = L->codes[(uint32_t)opcode_index].builtin;
    op->builtin = v.builtin;
    ws_fb_vector_t ins, outs;
    CHECK(ws_fb_vector(&L->fb, ot, 1, 4, &ins));
    CHECK(ws_fb_vector(&L->fb, ot, 2, 4, &outs));
    if (ins.count > WS_NN_MAX_OP_INPUTS || outs.count != 1) {
        return WS_ERR_NN_INDEX;
    }
    v.n_in = (int32_t)ins.count;
    for (uint32_t i = 0; i < ins.count; ++i) {
        int32_t t = (int32_t)ws_fb_u32(&L->fb, ins.pos + 4 * i);
        if (t < -1 || t >= m->n_tensors) {
            return WS_ERR_NN_INDEX;
        }
        v.in[i] = t;
    }
    v.out = (int32_t)ws_fb_u32(&L->fb, outs.pos);
    if (v.out < 0 || v.out >= m->n_tensors) {
        return WS_ERR_NN_INDEX;
    }
    CHECK(ws_fb_scalar(&L->fb, ot, 3, 1, 0, &v.options_type));
    v.options_type &= 0xFF;
    CHECK(ws_fb_subtable(&L->fb, ot, 4, &v.options, &v.has_options));
    /* Graph order: inputs already written (or constant), the output written once. */
    for (int32_t i = 0; i < v.n_in; ++i) {
        if (v.in[i] < 0) {
            continue;
        }
        ws_nn_tensor_t *t = T(m, v.in[i]);
        if (t->data_pos == 0 && !t->written) {
            return WS_ERR_NN_GRAPH;
        }
    }
    ws_nn_tensor_t *out = T(m, v.out);
    if (out->written || out->data_pos != 0) {
        return WS_ERR_NN_GRAPH;
    }
    ws_status_t st;
    switch (v.builtin) {
    case OP_CONV_2D: st = prepare_conv(L, &v, op, 0); break;
    case OP_DEPTHWISE_CONV_2D: st = prepare_conv(L, &v, op, 1); break;
    case OP_FULLY_CONNECTED: st = prepare_fc(L, &v, op); break;
    case OP_AVERAGE_POOL_2D:
    case OP_MAX_POOL_2D: st = prepare_pool(L, &v, op); break;
    case OP_ADD: st = prepare_add(L, &v, op); break;
    case OP_RESHAPE: st = prepare_reshape(L, &v); break;
    case OP_SOFTMAX: st = prepare_softmax(L, &v, op); break;
    case OP_MUL: st = prepare_mul(L, &v, op); break;
    case OP_LOGISTIC: st = prepare_sigmoid(L, &v, op, 0); break;
    case OP_TANH: st = prepare_sigmoid(L, &v, op, 1); break;
    case OP_MEAN: st = prepare_mean(L, &v, op); break;
    case OP_PAD:
    case OP_TRANSPOSE:
    case OP_SLICE: st = prepare_movement(L, &v, op); break;
    case OP_CONCATENATION: st = prepare_concat(L, &v, op); break;
    case OP_STRIDED_SLICE: st = prepare_strided_slice(L, &v, op); break;
    case OP_QUANTIZE: st = prepare_quantize(L, &v, 0); break;
    case OP_DEQUANTIZE: st = prepare_quantize(L, &v, 1); break;
    default: st = WS_ERR_NN_OP; break;
    }
    if (st != WS_OK) {
        return st;
    }
    int16_t bias = op->inputs[2];
    op->n_inputs = (uint8_t)v.n_in;
    for (int32_t i = 0; i < WS_NN_MAX_OP_INPUTS; ++i) {
        op->inputs[i] = (int16_t)(i < v.n_in ? v.in[i] : -1);
    }
    if (v.builtin == OP_CONV_2D || v.builtin == OP_DEPTHWISE_CONV_2D ||
        v.builtin == OP_FULLY_CONNECTED) {
        op->inputs[2] = bias; /* -1 when the optional bias is absent */
    }
    op->output = (int16_t)v.out;
    out->written = 1;
    /* lifetimes: the op index at which each activation is first and last live */
    for (int32_t i = 0; i < v.n_in; ++i) {
        if (v.in[i] >= 0 && T(m, v.in[i])->data_pos == 0) {
            T(m, v.in[i])->last_op = (int16_t)index;
        }
    }
    out->first_op = (int16_t)index;
    out->last_op = (int16_t)index;
    return WS_OK;
}

/* ---------------------------------------------------------------- planning */

static uint32_t align_up(uint32_t v)
{
    return (v + WS_NN_ARENA_ALIGN - 1) & ~(uint32_t)(WS_NN_ARENA_ALIGN - 1);
}

/* In-place pairs: an operator's output placed at a fixed byte distance `delta` from
 * its input, the two allowed to overlap although their lifetimes touch (at that op):
 *  - RESHAPE: the same bytes (delta 0; the copy is then skipped);
 *  - ADD, MUL, LOGISTIC, TANH on int8: elementwise, each output element written after
 *    its inputs are read (delta 0) when the input's last use is this operator;
 *  - DEPTHWISE_CONV_2D, depth multiplier 1, no dilation, 1-D ([1, 1, W, C]), when the
 *    input's last use is this operator: output position x only needs input positions
 *    >= s*x - p, and every kernel writes output x (per channel) after reading its
 *    window, so output x may overwrite input position x + d (same channel: delta =
 *    d * C) for every d < s - p, the most negative future read being s(x+1) - p.
 *    delta is the largest such multiple of C that keeps 16-byte alignment.
 * A tensor is in at most one pair; graph outputs are never overwritten. */
static int pair_ok(const ws_nn_model_t *m, int32_t in, int32_t out, const int8_t *paired,
                   uint32_t op_index, int needs_last_use)
{
    const ws_nn_tensor_t *ti = &m->tensors[in];
    if (paired[in] || paired[out] || ti->data_pos != 0 || ti->first_op < 0) {
        return 0;
    }
    for (uint32_t k = 0; k < m->n_outputs; ++k) {
        if (m->outputs[k] == in) {
            return 0;
        }
    }
    return !needs_last_use || ti->last_op == (int16_t)op_index;
}

static void find_pairs(const ws_nn_model_t *m, int16_t partner[], int32_t delta[])
{
    int8_t paired[WS_NN_MAX_TENSORS];
    memset(paired, 0, sizeof paired);
    for (int32_t i = 0; i < m->n_tensors; ++i) {
        partner[i] = -1;
        delta[i] = 0;
    }
    for (uint32_t i = 0; i < m->n_ops; ++i) {
        const ws_nn_op_t *op = &m->ops[i];
        const int32_t out = op->output;
        const ws_nn_tensor_t *to = &m->tensors[out];
        int32_t in = -1, d = 0;
        if (op->builtin == OP_RESHAPE) {
            if (pair_ok(m, op->inputs[0], out, paired, i, 0)) {
                in = op->inputs[0];
            }
        } else if (op->builtin == OP_ADD || op->builtin == OP_MUL || op->builtin == OP_LOGISTIC ||
                   op->builtin == OP_TANH) {
            for (uint32_t k = 0; k < (op->builtin == OP_ADD || op->builtin == OP_MUL ? 2u : 1u); ++k) {
                const int32_t cand = op->inputs[k];
                if (in < 0 && m->tensors[cand].bytes == to->bytes && to->type == WS_NN_TYPE_INT8 &&
                    pair_ok(m, cand, out, paired, i, 1)) {
                    in = cand;
                }
            }
        } else if (op->builtin == OP_DEPTHWISE_CONV_2D) {
            const ws_nn_tensor_t *ti = &m->tensors[op->inputs[0]];
            const ws_nn_conv_params_t *p = &op->p.conv;
            const int32_t c = ti->dims[3];
            if (p->depth_multiplier == 1 && p->dilation_w == 1 && p->dilation_h == 1 &&
                ti->rank == 4 && ti->dims[0] == 1 && ti->dims[1] == 1 && to->dims[1] == 1 &&
                to->dims[3] == c && pair_ok(m, op->inputs[0], out, paired, i, 1)) {
                int32_t pos = p->stride_w - p->pad_w - 1; /* largest d with d < s - p */
                while (((pos * c) % WS_NN_ARENA_ALIGN) != 0) {
                    --pos;
                }
                in = op->inputs[0];
                d = pos * c;
            }
        }
        if (in >= 0) {
            paired[in] = paired[out] = 1;
            partner[in] = (int16_t)out;
            partner[out] = (int16_t)in;
            delta[out] = d;   /* out = in + d */
            delta[in] = -d;   /* in = out - d */
        }
    }
}

/* Does [offset, offset + bytes) during [first, last] overlap a placed tensor (other
 * than `skip`)? Returns the end of the first such tensor, or 0. */
static uint32_t conflict(const ws_nn_model_t *m, const uint8_t placed[], int32_t self, int32_t skip,
                         int64_t offset)
{
    const ws_nn_tensor_t *t = &m->tensors[self];
    const int64_t end = offset + align_up(t->bytes);
    for (int32_t j = 0; j < m->n_tensors; ++j) {
        const ws_nn_tensor_t *o = &m->tensors[j];
        if (!placed[j] || j == skip || o->last_op < t->first_op || o->first_op > t->last_op) {
            continue;
        }
        const int64_t o_start = o->arena_offset, o_end = o_start + align_up(o->bytes);
        if (offset < o_end && o_start < end) {
            return (uint32_t)o_end;
        }
    }
    return 0;
}

/* The order in which a strategy places tensors: larger key first. Strategies 0-3 are
 * classic orders; the others shuffle (a fixed pseudo-random order per strategy). */
static uint64_t plan_key(const ws_nn_tensor_t *t, int32_t index, int strategy)
{
    const uint64_t bytes = t->bytes, span = (uint64_t)(t->last_op - t->first_op + 1);
    switch (strategy) {
    case 0: return bytes;                                 /* largest first */
    case 1: return bytes * span;                          /* largest area first */
    case 2: return (span << 32) | bytes;                  /* longest-lived first */
    case 3: return ((uint64_t)(0x7FFF - t->first_op) << 32) | bytes; /* earliest first */
    default: {
        uint32_t h = (uint32_t)index * 2654435761u ^ (uint32_t)strategy * 2246822519u;
        h ^= h >> 15;
        h *= 2654435761u;
        h ^= h >> 13;
        return h;
    }
    }
}

#define PLAN_STRATEGIES 8

/* One strategy: tensors in plan_key order, each (with its in-place partner, if any)
 * at the lowest 16-byte-aligned offset where neither overlaps a placed tensor whose
 * lifetime overlaps its own (first fit). Returns the high-water mark. */
static uint32_t plan_with(ws_nn_model_t *m, int strategy, const int16_t partner[],
                          const int32_t delta[])
{
    uint8_t placed[WS_NN_MAX_TENSORS];
    uint32_t end = 0;
    memset(placed, 0, sizeof placed);
    for (;;) {
        int32_t pick = -1;
        uint64_t best = 0;
        for (int32_t i = 0; i < m->n_tensors; ++i) {
            ws_nn_tensor_t *t = &m->tensors[i];
            if (placed[i] || t->data_pos != 0 || t->first_op < 0) {
                continue;
            }
            const uint64_t key = plan_key(t, i, strategy);
            if (pick < 0 || key > best) {
                pick = i;
                best = key;
            }
        }
        if (pick < 0) {
            break;
        }
        const int32_t mate = partner[pick];
        const int32_t d = mate >= 0 ? delta[mate] : 0; /* mate = pick + d */
        /* the lowest offset where pick (and mate at offset + d) fit */
        int64_t offset = mate >= 0 && d < 0 ? -(int64_t)d : 0;
        for (int moved = 1; moved;) {
            moved = 0;
            uint32_t e = conflict(m, placed, pick, mate, offset);
            if (e) {
                offset = e;
                moved = 1;
                continue;
            }
            if (mate >= 0) {
                e = conflict(m, placed, mate, pick, offset + d);
                if (e) {
                    offset = (int64_t)e - d;
                    moved = 1;
                }
            }
        }
        m->tensors[pick].arena_offset = (int32_t)offset;
        placed[pick] = 1;
        if ((uint32_t)offset + align_up(m->tensors[pick].bytes) > end) {
            end = (uint32_t)offset + align_up(m->tensors[pick].bytes);
        }
        if (mate >= 0) {
            m->tensors[mate].arena_offset = (int32_t)(offset + d);
            placed[mate] = 1;
            if ((uint32_t)(offset + d) + align_up(m->tensors[mate].bytes) > end) {
                end = (uint32_t)(offset + d) + align_up(m->tensors[mate].bytes);
            }
        }
    }
    return end;
}

/* The plan: every strategy tried, the smallest kept. Computed once, at load. */
static void plan(ws_nn_model_t *m)
{
    int16_t partner[WS_NN_MAX_TENSORS];
    int32_t delta[WS_NN_MAX_TENSORS];
    find_pairs(m, partner, delta);
    int32_t live = 0;
    for (int32_t i = 0; i < m->n_tensors; ++i) {
        live += m->tensors[i].data_pos == 0 && m->tensors[i].first_op >= 0;
    }
    /* each try costs ~live^3 steps: the shuffled ones only for small graphs */
    const int strategies = live <= 40 ? PLAN_STRATEGIES : live <= 80 ? 6 : 4;
    int best = 0;
    uint32_t best_end = UINT32_MAX;
    for (int strategy = 0; strategy < strategies; ++strategy) {
        const uint32_t e = plan_with(m, strategy, partner, delta);
        if (e < best_end) {
            best_end = e;
            best = strategy;
        }
    }
    const uint32_t end = plan_with(m, best, partner, delta);
    m->tensor_bytes = end;
    uint32_t persistent = 0;
    for (uint32_t i = 0; i < m->n_ops; ++i) {
        ws_nn_op_t *op = &m->ops[i];
        op->persistent_offset = persistent;
        persistent += align_up(op->channels * 8u);
    }
    m->persistent_bytes = persistent;
    m->scratch_bytes = 0; /* the reference kernels need none */
}

/* ---------------------------------------------------------------- load */

static ws_status_t load(ws_nn_model_t *m, const uint8_t *data, size_t size)
{
    loader_t L;
    memset(&L, 0, sizeof L);
    L.m = m;
    L.fb.base = data;
    L.fb.size = (uint32_t)size;
    if (size < 8 || memcmp(data + 4, "TFL3", 4) != 0) {
        return WS_ERR_NN_FORMAT;
    }
    ws_fb_table_t root, graph;
    CHECK(ws_fb_root(&L.fb, &root));
    int64_t version;
    CHECK(ws_fb_scalar(&L.fb, &root, 0, 4, 0, &version));
    if (version != 3) {
        return WS_ERR_NN_SCHEMA;
    }
    ws_fb_vector_t codes, graphs, tensors, inputs, outputs, ops;
    CHECK(ws_fb_vector(&L.fb, &root, 1, 4, &codes));
    if (codes.count > MAX_CODES) {
        return WS_ERR_NN_LIMIT;
    }
    for (uint32_t i = 0; i < codes.count; ++i) {
        ws_fb_table_t ct;
        int64_t deprecated, builtin, op_version;
        CHECK(ws_fb_vector_table(&L.fb, &codes, i, &ct));
        CHECK(ws_fb_scalar(&L.fb, &ct, 0, 1, 0, &deprecated));
        CHECK(ws_fb_scalar(&L.fb, &ct, 3, 4, 0, &builtin));
        CHECK(ws_fb_scalar(&L.fb, &ct, 2, 4, 1, &op_version));
        L.codes[i].builtin = (int32_t)(deprecated > builtin ? deprecated : builtin);
        L.codes[i].version = (int32_t)op_version;
    }
    L.n_codes = codes.count;
    CHECK(ws_fb_vector(&L.fb, &root, 4, 4, &L.buffers));
    CHECK(ws_fb_vector(&L.fb, &root, 2, 4, &graphs));
    if (graphs.count != 1) {
        return WS_ERR_NN_SCHEMA;
    }
    CHECK(ws_fb_vector_table(&L.fb, &graphs, 0, &graph));
    CHECK(ws_fb_vector(&L.fb, &graph, 0, 4, &tensors));
    CHECK(ws_fb_vector(&L.fb, &graph, 1, 4, &inputs));
    CHECK(ws_fb_vector(&L.fb, &graph, 2, 4, &outputs));
    CHECK(ws_fb_vector(&L.fb, &graph, 3, 4, &ops));
    if (tensors.count > WS_NN_MAX_TENSORS || ops.count > WS_NN_MAX_OPS ||
        inputs.count > WS_NN_MAX_IO || outputs.count > WS_NN_MAX_IO) {
        return WS_ERR_NN_LIMIT;
    }
    if (inputs.count == 0 || outputs.count == 0 || ops.count == 0) {
        return WS_ERR_NN_SCHEMA;
    }
    m->n_tensors = (uint16_t)tensors.count;
    for (uint32_t i = 0; i < tensors.count; ++i) {
        ws_fb_table_t tt;
        CHECK(ws_fb_vector_table(&L.fb, &tensors, i, &tt));
        CHECK(load_tensor(&L, &tt, &m->tensors[i]));
    }
    m->n_inputs = (uint8_t)inputs.count;
    for (uint32_t i = 0; i < inputs.count; ++i) {
        int32_t t = (int32_t)ws_fb_u32(&L.fb, inputs.pos + 4 * i);
        if (t < 0 || t >= m->n_tensors) {
            return WS_ERR_NN_INDEX;
        }
        ws_nn_tensor_t *tensor = &m->tensors[t];
        if (tensor->data_pos != 0 || tensor->written) {
            return WS_ERR_NN_GRAPH;
        }
        tensor->written = 1;
        tensor->is_input = 1;
        tensor->first_op = 0;
        tensor->last_op = 0;
        m->inputs[i] = (int16_t)t;
    }
    m->n_ops = (uint16_t)ops.count;
    for (uint32_t i = 0; i < ops.count; ++i) {
        ws_fb_table_t ot;
        int64_t opcode_index;
        m->failed_op = (int32_t)i;
        CHECK(ws_fb_vector_table(&L.fb, &ops, i, &ot));
        CHECK(ws_fb_scalar(&L.fb, &ot, 0, 4, 0, &opcode_index));
        if ((uint64_t)opcode_index >= L.n_codes) {
            return WS_ERR_NN_INDEX;
        }
        const opcode_t *code = &L.codes[(uint32_t)opcode_index];
        ws_status_t known = WS_ERR_NN_OP;
        for (size_t k = 0; k < sizeof SUPPORTED / sizeof SUPPORTED[0]; ++k) {
            if (SUPPORTED[k].builtin == code->builtin) {
                known = (code->version >= 1 && code->version <= SUPPORTED[k].max_version)
                            ? WS_OK
                            : WS_ERR_NN_OP_VERSION;
            }
        }
        CHECK(known);
        CHECK(load_operator(&L, &ot, i));
    }
    m->failed_op = -1;
    m->n_outputs = (uint8_t)outputs.count;
    for (uint32_t i = 0; i < outputs.count; ++i) {
        int32_t t = (int32_t)ws_fb_u32(&L.fb, outputs.pos + 4 * i);
        if (t < 0 || t >= m->n_tensors) {
            return WS_ERR_NN_INDEX;
        }
        ws_nn_tensor_t *tensor = &m->tensors[t];
        if (!tensor->written || tensor->is_input || tensor->data_pos != 0) {
            return WS_ERR_NN_GRAPH;
        }
        tensor->last_op = (int16_t)m->n_ops; /* alive after the last operator */
        m->outputs[i] = (int16_t)t;
    }
    plan(m);
    return WS_OK;
}

ws_status_t ws_nn_load(ws_nn_model_t *model, const uint8_t *data, size_t size)
{
    if (!model || !data) {
        return WS_ERR_ARG;
    }
    memset(model, 0, sizeof *model);
    model->failed_op = -1;
    if (size > 0x7FFFFFF0u) {
        return WS_ERR_NN_LIMIT;
    }
    if (((uintptr_t)data) % 4 != 0) {
        return WS_ERR_NN_ALIGN;
    }
    model->file = data;
    model->size = (uint32_t)size;
    ws_status_t st = load(model, data, size);
    if (st != WS_OK) {
        int32_t failed = model->failed_op;
        memset(model, 0, sizeof *model);
        model->failed_op = failed;
        return st;
    }
    model->loaded = 1;
    return WS_OK;
}

size_t ws_nn_arena_size(const ws_nn_model_t *model)
{
    if (!model || !model->loaded) {
        return 0;
    }
    return (size_t)model->tensor_bytes + model->persistent_bytes + model->scratch_bytes;
}

void ws_nn_arena_parts(const ws_nn_model_t *model, uint32_t *activations, uint32_t *requant,
                       uint32_t *scratch)
{
    const int ok = model && model->loaded;
    if (activations) {
        *activations = ok ? model->tensor_bytes : 0;
    }
    if (requant) {
        *requant = ok ? model->persistent_bytes : 0;
    }
    if (scratch) {
        *scratch = ok ? model->scratch_bytes : 0;
    }
}

ws_status_t ws_nn_set_arena(ws_nn_model_t *model, uint8_t *arena, size_t size)
{
    if (!model || !arena) {
        return WS_ERR_ARG;
    }
    if (!model->loaded) {
        return WS_ERR_NN_NOT_READY;
    }
    if (((uintptr_t)arena) % WS_NN_ARENA_ALIGN != 0) {
        return WS_ERR_NN_ALIGN;
    }
    if (size < ws_nn_arena_size(model)) {
        return WS_ERR_NN_ARENA;
    }
    model->arena = arena;
    /* per-channel requantization, computed as TFLM's Prepare does */
    for (uint32_t i = 0; i < model->n_ops; ++i) {
        ws_nn_op_t *op = &model->ops[i];
        if (op->channels == 0) {
            continue;
        }
        const ws_nn_tensor_t *in = &model->tensors[op->inputs[0]];
        const ws_nn_tensor_t *w = &model->tensors[op->inputs[1]];
        const ws_nn_tensor_t *out = &model->tensors[op->output];
        int32_t *mult = (int32_t *)(void *)(arena + model->tensor_bytes + op->persistent_offset);
        int32_t *shift = mult + op->channels;
        for (uint32_t c = 0; c < op->channels; ++c) {
            double real = (double)in->scale * (double)tensor_scale(model, w, c) / (double)out->scale;
            ws_nn_quantize_multiplier(real, &mult[c], &shift[c]);
        }
    }
    model->ready = 1;
    return WS_OK;
}

/* ---------------------------------------------------------------- invoke */

static const void *tensor_data(const ws_nn_model_t *m, int32_t index)
{
    const ws_nn_tensor_t *t = &m->tensors[index];
    if (t->data_pos != 0) {
        return m->file + t->data_pos;
    }
    return m->arena + t->arena_offset;
}

static ws_nn_dims_t dims4(const ws_nn_tensor_t *t)
{
    ws_nn_dims_t d = {t->dims[0], t->dims[1], t->dims[2], t->dims[3]};
    return d;
}

static ws_status_t run_op(ws_nn_model_t *m, const ws_nn_op_t *op)
{
    const ws_nn_tensor_t *in = &m->tensors[op->inputs[0]];
    const ws_nn_tensor_t *out = &m->tensors[op->output];
    const void *x = tensor_data(m, op->inputs[0]);
    void *y = (void *)(uintptr_t)tensor_data(m, op->output);
    const int is_conv_like = op->builtin == OP_CONV_2D || op->builtin == OP_DEPTHWISE_CONV_2D ||
                             op->builtin == OP_FULLY_CONNECTED;
    const int32_t *bias = is_conv_like && op->inputs[2] >= 0
                              ? (const int32_t *)tensor_data(m, op->inputs[2])
                              : NULL;
    ws_nn_per_channel_quant_t quant = {NULL, NULL};
    if (op->channels) {
        quant.multiplier = (const int32_t *)(const void *)(m->arena + m->tensor_bytes + op->persistent_offset);
        quant.shift = quant.multiplier + op->channels;
    }
    switch (op->builtin) {
    case OP_CONV_2D:
    case OP_DEPTHWISE_CONV_2D: {
        const ws_nn_tensor_t *w = &m->tensors[op->inputs[1]];
        ws_nn_dims_t di = dims4(in), dw = dims4(w), dout = dims4(out);
        if (op->builtin == OP_CONV_2D) {
            return ws_nn_conv_s8(&op->p.conv, &quant, &di, x, &dw, tensor_data(m, op->inputs[1]),
                                 bias, &dout, y, NULL);
        }
        return ws_nn_depthwise_conv_s8(&op->p.conv, &quant, &di, x, &dw,
                                       tensor_data(m, op->inputs[1]), bias, &dout, y, NULL);
    }
    case OP_FULLY_CONNECTED: {
        const ws_nn_tensor_t *w = &m->tensors[op->inputs[1]];
        int32_t depth = w->dims[1];
        return ws_nn_fully_connected_s8(&op->p.fc, op->channels ? &quant : NULL,
                                        (int32_t)(in->bytes / (uint32_t)depth), depth, x,
                                        w->dims[0], tensor_data(m, op->inputs[1]), bias, y);
    }
    case OP_AVERAGE_POOL_2D:
    case OP_MAX_POOL_2D: {
        ws_nn_dims_t di = dims4(in), dout = dims4(out);
        return op->builtin == OP_MAX_POOL_2D ? ws_nn_maxpool_s8(&op->p.pool, &di, x, &dout, y)
                                             : ws_nn_avgpool_s8(&op->p.pool, &di, x, &dout, y);
    }
    case OP_ADD:
        return ws_nn_add_s8(&op->p.add, out->bytes, x, tensor_data(m, op->inputs[1]), y);
    case OP_RESHAPE:
        if (y != x) { /* planned in place unless its input is a graph output */
            memmove(y, x, out->bytes);
        }
        return WS_OK;
    case OP_SOFTMAX: {
        int32_t depth = in->dims[in->rank - 1];
        return ws_nn_softmax_s8(&op->p.softmax, (int32_t)(in->bytes / (uint32_t)depth), depth, x, y);
    }
    case OP_MUL:
        return ws_nn_mul_s8(&op->p.mul, out->bytes, x, tensor_data(m, op->inputs[1]), y);
    case OP_LOGISTIC:
        return ws_nn_logistic_s8(&op->p.sigmoid, out->bytes, x, y);
    case OP_TANH:
        return ws_nn_tanh_s8(&op->p.sigmoid, out->bytes, x, y);
    case OP_MEAN: {
        int32_t d[4];
        dims4_of(in, d);
        ws_nn_dims_t di = {d[0], d[1], d[2], d[3]};
        return ws_nn_mean_s8(&op->p.mean, &di, x, y);
    }
    case OP_PAD:
    case OP_TRANSPOSE:
    case OP_SLICE: {
        int32_t a[4], b[4];
        dims4_of(in, a);
        dims4_of(out, b);
        ws_nn_dims_t di = {a[0], a[1], a[2], a[3]}, dout = {b[0], b[1], b[2], b[3]};
        uint32_t elem = (uint32_t)element_size(in->type);
        if (op->builtin == OP_PAD) {
            return ws_nn_pad(&di, x, op->p.shape.a, &dout, y, elem, op->p.shape.value);
        }
        if (op->builtin == OP_TRANSPOSE) {
            return ws_nn_transpose(&di, x, op->p.shape.a, &dout, y, elem);
        }
        return ws_nn_slice(&di, x, op->p.shape.a, &dout, y, elem);
    }
    case OP_STRIDED_SLICE: {
        int32_t a[4];
        dims4_of(in, a);
        ws_nn_dims_t di = {a[0], a[1], a[2], a[3]};
        return ws_nn_strided_slice(&di, x, op->p.shape.a, op->p.shape.b, op->p.shape.c, y,
                                   (uint32_t)element_size(in->type));
    }
    case OP_CONCATENATION: {
        const int32_t axis = op->p.shape.a[0];
        uint32_t outer = 1, inner = 1, offset = 0;
        for (int32_t d = 0; d < axis; ++d) {
            outer *= (uint32_t)out->dims[d];
        }
        for (int32_t d = axis + 1; d < out->rank; ++d) {
            inner *= (uint32_t)out->dims[d];
        }
        for (uint32_t i = 0; i < op->n_inputs; ++i) {
            const ws_nn_tensor_t *t = &m->tensors[op->inputs[i]];
            ws_status_t st = ws_nn_concat_part(outer, (uint32_t)t->dims[axis], inner,
                                               (uint32_t)out->dims[axis], offset,
                                               tensor_data(m, op->inputs[i]), y, 1);
            if (st != WS_OK) {
                return st;
            }
            offset += (uint32_t)t->dims[axis];
        }
        return WS_OK;
    }
    case OP_QUANTIZE:
        return ws_nn_quantize_f32_s8(out->scale, out->zero_point, out->bytes, x, y);
    case OP_DEQUANTIZE:
        return ws_nn_dequantize_s8_f32(in->scale, in->zero_point, in->bytes, x, y);
    default:
        return WS_ERR_NN_OP;
    }
}

ws_status_t ws_nn_invoke(ws_nn_model_t *model)
{
    if (!model) {
        return WS_ERR_ARG;
    }
    if (!model->ready) {
        return WS_ERR_NN_NOT_READY;
    }
    for (uint32_t i = 0; i < model->n_ops; ++i) {
        ws_status_t st = run_op(model, &model->ops[i]);
        if (st != WS_OK) {
            return st;
        }
    }
    return WS_OK;
}

/* ---------------------------------------------------------------- queries */

ws_status_t ws_nn_invoke_op(ws_nn_model_t *model, uint32_t index)
{
    if (!model) {
        return WS_ERR_ARG;
    }
    if (!model->ready) {
        return WS_ERR_NN_NOT_READY;
    }
    if (index >= model->n_ops) {
        return WS_ERR_ARG;
    }
    return run_op(model, &model->ops[index]);
}

uint32_t ws_nn_input_count(const ws_nn_model_t *model)
{
    return model && model->loaded ? model->n_inputs : 0;
}

uint32_t ws_nn_output_count(const ws_nn_model_t *model)
{
    return model && model->loaded ? model->n_outputs : 0;
}

static ws_status_t describe(const ws_nn_model_t *m, int32_t index, ws_nn_tensor_desc_t *out)
{
    const ws_nn_tensor_t *t = &m->tensors[index];
    memset(out, 0, sizeof *out);
    out->type = t->type;
    out->rank = t->rank;
    for (int i = 0; i < t->rank; ++i) {
        out->dims[i] = t->dims[i];
    }
    out->bytes = t->bytes;
    out->scale = t->scale;
    out->zero_point = t->zero_point;
    return WS_OK;
}

ws_status_t ws_nn_input_desc(const ws_nn_model_t *model, uint32_t index, ws_nn_tensor_desc_t *out)
{
    if (!model || !out) {
        return WS_ERR_ARG;
    }
    if (!model->loaded) {
        return WS_ERR_NN_NOT_READY;
    }
    if (index >= model->n_inputs) {
        return WS_ERR_NN_INDEX;
    }
    return describe(model, model->inputs[index], out);
}

ws_status_t ws_nn_output_desc(const ws_nn_model_t *model, uint32_t index, ws_nn_tensor_desc_t *out)
{
    if (!model || !out) {
        return WS_ERR_ARG;
    }
    if (!model->loaded) {
        return WS_ERR_NN_NOT_READY;
    }
    if (index >= model->n_outputs) {
        return WS_ERR_NN_INDEX;
    }
    return describe(model, model->outputs[index], out);
}

void *ws_nn_input_data(ws_nn_model_t *model, uint32_t index)
{
    if (!model || !model->ready || index >= model->n_inputs) {
        return NULL;
    }
    return (void *)(uintptr_t)tensor_data(model, model->inputs[index]);
}

const void *ws_nn_output_data(const ws_nn_model_t *model, uint32_t index)
{
    if (!model || !model->ready || index >= model->n_outputs) {
        return NULL;
    }
    return tensor_data(model, model->outputs[index]);
}

uint64_t ws_nn_macs(const ws_nn_model_t *model)
{
    return model && model->loaded ? model->macs : 0;
}

uint64_t ws_nn_op_macs(const ws_nn_model_t *model, uint32_t index)
{
    return model && model->loaded && index < model->n_ops ? model->ops[index].macs : 0;
}

uint32_t ws_nn_op_count(const ws_nn_model_t *model)
{
    return model && model->loaded ? model->n_ops : 0;
}

int32_t ws_nn_op_code(const ws_nn_model_t *model, uint32_t index)
{
    if (!model || !model->loaded || index >= model->n_ops) {
        return -1;
    }
    return model->ops[index].builtin;
}

int32_t ws_nn_failed_op(const ws_nn_model_t *model)
{
    return model ? model->failed_op : -1;
}
