/* The operator interface of the interpreter, as TFLM's kernel registrations: each
 * operator file (conv.c, add.c, ...) defines a prepare function, run once per operator
 * by ws_nn_load() to validate its tensors and options and fill ws_nn_op_t.p, and an
 * eval function, run by ws_nn_invoke(). op_table.c lists them, one row per builtin
 * code. Also the helpers the prepare and eval functions share (op_util.c) and the
 * memory planner's entry point (memory_planner.c). Internal to firmware/src/nn. */
#ifndef WS_NN_OP_H
#define WS_NN_OP_H

#include <string.h>

#include "flatbuffer.h"
#include "ws_bytes.h"
#include "ws_nn.h"

#define WS_NN_MAX_DIM 16777216 /* largest accepted dimension, filter or padding */

/* BuiltinOptions union types. */
enum {
    WS_NN_OPT_CONV = 1,
    WS_NN_OPT_DEPTHWISE = 2,
    WS_NN_OPT_POOL = 5,
    WS_NN_OPT_FC = 8,
    WS_NN_OPT_SOFTMAX = 9,
    WS_NN_OPT_CONCAT = 10,
    WS_NN_OPT_ADD = 11,
    WS_NN_OPT_MUL = 21,
    WS_NN_OPT_REDUCER = 27,
    WS_NN_OPT_STRIDED_SLICE = 32
};

#define WS_NN_CHECK(expr)             \
    do {                              \
        ws_status_t st_ = (expr);     \
        if (st_ != WS_OK) {           \
            return st_;               \
        }                             \
    } while (0)

/* An operator's own parameters: a struct private to its file, kept in ws_nn_op_t.p
 * (WS_NN_OP_DATA_FITS checks, at compile time, that it fits). */
#define WS_NN_OP_DATA(op, type) ((type *)(void *)(op)->p.data)
#define WS_NN_OP_DATA_CONST(op, type) ((const type *)(const void *)(op)->p.data)
#define WS_NN_OP_DATA_FITS(type) \
    typedef char ws_nn_op_data_fits_##type[sizeof(type) <= sizeof(((ws_nn_op_t *)0)->p) ? 1 : -1]

/* One operator as the model reader found it, for its prepare function: the operand
 * tensor indices (-1 for an absent optional input) and the options table. */
typedef struct {
    const ws_fb_t *fb;
    ws_nn_model_t *m;
    int32_t builtin;
    ws_fb_table_t options;
    int has_options;
    int64_t options_type;
    int32_t n_in;
    int32_t in[WS_NN_MAX_OP_INPUTS];
    int32_t out;
} ws_nn_op_view_t;

/* prepare: validate, fill op->p (and op->channels for per-channel requantization,
 * op->macs); eval: run the operator on the bound arena. */
typedef ws_status_t (*ws_nn_prepare_fn)(const ws_nn_op_view_t *v, ws_nn_op_t *op);
typedef ws_status_t (*ws_nn_eval_fn)(ws_nn_model_t *m, const ws_nn_op_t *op);
/* In-place planning (optional): the input tensor whose bytes the output may share,
 * at output = input + *delta, or -1; see memory_planner.c. */
typedef int32_t (*ws_nn_in_place_fn)(const ws_nn_model_t *m, const ws_nn_op_t *op,
                                     uint32_t op_index, const int8_t *paired, int32_t *delta);

typedef struct {
    int32_t builtin;
    int32_t max_version;
    ws_nn_prepare_fn prepare;
    ws_nn_eval_fn eval;
    ws_nn_in_place_fn in_place;
} ws_nn_op_reg_t;

/* op_table.c: the registered operators; row index -> ws_nn_op_t.kind. */
extern const ws_nn_op_reg_t ws_nn_op_table[];
extern const uint32_t ws_nn_op_table_size;

/* Each operator's prepare and eval (one line per operator file). */
#define WS_NN_DECLARE_OP(name)                                                         \
    ws_status_t ws_nn_prepare_##name(const ws_nn_op_view_t *v, ws_nn_op_t *op);        \
    ws_status_t ws_nn_eval_##name(ws_nn_model_t *m, const ws_nn_op_t *op)

WS_NN_DECLARE_OP(add);
WS_NN_DECLARE_OP(avg_pool_2d);
WS_NN_DECLARE_OP(concatenation);
WS_NN_DECLARE_OP(conv_2d);
WS_NN_DECLARE_OP(depthwise_conv_2d);
WS_NN_DECLARE_OP(dequantize);
WS_NN_DECLARE_OP(fully_connected);
WS_NN_DECLARE_OP(leaky_relu);
WS_NN_DECLARE_OP(logistic);
WS_NN_DECLARE_OP(max_pool_2d);
WS_NN_DECLARE_OP(mean);
WS_NN_DECLARE_OP(mul);
WS_NN_DECLARE_OP(pad);
WS_NN_DECLARE_OP(quantize);
WS_NN_DECLARE_OP(reshape);
WS_NN_DECLARE_OP(slice);
WS_NN_DECLARE_OP(softmax);
WS_NN_DECLARE_OP(strided_slice);
WS_NN_DECLARE_OP(tanh);
WS_NN_DECLARE_OP(transpose);

/* Shared by two operators each: CONV_2D and DEPTHWISE_CONV_2D (conv.c), QUANTIZE and
 * DEQUANTIZE (quantize.c); the depthwise convolution's in-place rule. */
ws_status_t ws_nn_prepare_conv_s8(const ws_nn_op_view_t *v, ws_nn_op_t *op, int depthwise);
ws_status_t ws_nn_prepare_quantize_s8(const ws_nn_op_view_t *v, int dequantize);
int32_t ws_nn_in_place_depthwise_conv_2d(const ws_nn_model_t *m, const ws_nn_op_t *op,
                                         uint32_t op_index, const int8_t *paired, int32_t *delta);

/* memory_planner.c: in-place pairs, then the arena plan; computed once, at load. */
int ws_nn_pair_ok(const ws_nn_model_t *m, int32_t in, int32_t out, const int8_t *paired,
                  uint32_t op_index, int needs_last_use);
int32_t ws_nn_in_place_alias(const ws_nn_model_t *m, const ws_nn_op_t *op, uint32_t op_index,
                             const int8_t *paired, int32_t *delta);
int32_t ws_nn_in_place_elementwise(const ws_nn_model_t *m, const ws_nn_op_t *op,
                                   uint32_t op_index, const int8_t *paired, int32_t *delta);
void ws_nn_plan(ws_nn_model_t *m);

/* ---- tensors */

static inline float ws_nn_read_float(const ws_nn_model_t *m, uint32_t pos)
{
    const uint32_t bits = ws_get_u32(m->file + pos);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* scale of channel i (the one scale of a per-tensor quantized tensor) */
static inline float ws_nn_tensor_scale(const ws_nn_model_t *m, const ws_nn_tensor_t *t, uint32_t i)
{
    return ws_nn_read_float(m, t->scale_pos + 4 * (t->scale_count > 1 ? i : 0));
}

static inline int ws_nn_element_size(uint8_t type)
{
    return type == WS_NN_TYPE_INT8 ? 1 : 4;
}

static inline ws_nn_tensor_t *ws_nn_tensor(ws_nn_model_t *m, int32_t index)
{
    return &m->tensors[index];
}

/* A tensor's bytes: in the file (constants) or in the arena (activations). */
static inline const void *ws_nn_tensor_data(const ws_nn_model_t *m, int32_t index)
{
    const ws_nn_tensor_t *t = &m->tensors[index];
    if (t->data_pos != 0) {
        return m->file + t->data_pos;
    }
    return m->arena + t->arena_offset;
}

static inline void *ws_nn_output_ptr(const ws_nn_model_t *m, const ws_nn_op_t *op)
{
    return (void *)(uintptr_t)ws_nn_tensor_data(m, op->output);
}

static inline ws_nn_dims_t ws_nn_dims_of(const ws_nn_tensor_t *t)
{
    ws_nn_dims_t d = {t->dims[0], t->dims[1], t->dims[2], t->dims[3]};
    return d;
}

/* dims extended to 4 with leading 1s; returns the offset of the first real axis */
static inline int32_t ws_nn_dims4(const ws_nn_tensor_t *t, int32_t d[4])
{
    int32_t off = 4 - t->rank;
    for (int i = 0; i < 4; ++i) {
        d[i] = i < off ? 1 : t->dims[i - off];
    }
    return off;
}

static inline ws_nn_dims_t ws_nn_dims4_of(const ws_nn_tensor_t *t)
{
    int32_t d[4];
    ws_nn_dims4(t, d);
    ws_nn_dims_t r = {d[0], d[1], d[2], d[3]};
    return r;
}

/* element offset in a 4-D NHWC tensor */
static inline size_t ws_nn_offset4(const ws_nn_dims_t *d, int32_t i0, int32_t i1, int32_t i2,
                                   int32_t i3)
{
    return (((size_t)i0 * d->h + i1) * d->w + i2) * d->c + i3;
}

/* The per-channel multipliers and shifts ws_nn_set_arena() wrote for this operator. */
static inline ws_nn_per_channel_quant_t ws_nn_op_quant(const ws_nn_model_t *m, const ws_nn_op_t *op)
{
    ws_nn_per_channel_quant_t q = {NULL, NULL};
    if (op->channels) {
        q.multiplier = (const int32_t *)(const void *)(m->arena + m->tensor_bytes +
                                                       op->persistent_offset);
        q.shift = q.multiplier + op->channels;
    }
    return q;
}

/* ---- prepare helpers (op_util.c) */

ws_status_t ws_nn_op_option(const ws_nn_op_view_t *v, uint32_t id, uint32_t width, int64_t fallback,
                            int64_t *value);
int ws_nn_is_activation(const ws_nn_tensor_t *t, uint8_t type);
int ws_nn_same_dims(const ws_nn_tensor_t *a, const ws_nn_tensor_t *b);
int ws_nn_same_quant(const ws_nn_tensor_t *a, const ws_nn_tensor_t *b);
ws_status_t ws_nn_check_activation_q(const ws_nn_tensor_t *t);
/* Weights: symmetric int8, one scale or one per channel along `qdim`. */
ws_status_t ws_nn_check_weights(const ws_nn_tensor_t *w, int32_t qdim, int32_t channels);
ws_status_t ws_nn_check_bias(const ws_nn_model_t *m, int32_t index, const ws_nn_tensor_t *in,
                             const ws_nn_tensor_t *w, int32_t channels);
/* a multiplier the reference can represent without its shift saturating */
ws_status_t ws_nn_check_multiplier(double real);
/* The fused activation's clamp, quantized as TFLM does. */
ws_status_t ws_nn_activation_range(int64_t act, const ws_nn_tensor_t *out, int32_t *lo,
                                   int32_t *hi);
/* Output size and leading padding of one spatial axis (padding 0 SAME, 1 VALID). */
ws_status_t ws_nn_padded_size(int64_t padding, int32_t in, int32_t filter, int32_t stride,
                              int32_t dilation, int32_t *out, int32_t *pad);
/* A constant int32 vector operand of exactly `count` elements. */
ws_status_t ws_nn_const_ints(const ws_nn_model_t *m, int32_t index, uint32_t count, int32_t *out);
/* ADD and MUL: two int8 inputs shaped like the int8 output (no broadcasting),
 * activation quantization on all three, and the fused activation. */
ws_status_t ws_nn_check_elementwise(const ws_nn_op_view_t *v, int options_type, ws_nn_tensor_t **a,
                                    ws_nn_tensor_t **b, ws_nn_tensor_t **out, int64_t *act);
/* PAD, TRANSPOSE, SLICE: `inputs` operands, one data input of the output's type and
 * quantization (int8 or int32), the same rank. */
ws_status_t ws_nn_check_movement(const ws_nn_op_view_t *v, int32_t inputs, ws_nn_tensor_t **in,
                                 ws_nn_tensor_t **out);

#endif
