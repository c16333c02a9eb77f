/* The int8 interpreter: runs a TFLite flatbuffer in place (zero-copy, from flash).
 *
 * ws_nn_load() validates the whole file before anything runs (offsets, sizes,
 * alignment, types, shapes, operator versions, quantization) and plans every
 * activation tensor into one caller-supplied arena; ws_nn_arena_size() is then
 * the exact number of bytes needed. ws_nn_set_arena() binds the arena and
 * precomputes per-channel requantization multipliers into it; ws_nn_invoke()
 * runs the graph. Kernels follow the TFLite quantization spec as TFLM's reference
 * kernels do, so outputs are bit-exact with TFLM. No malloc anywhere.
 * Supported operators and status codes: docs/interpreter.md. */
#ifndef WS_NN_H
#define WS_NN_H

#include <stddef.h>
#include <stdint.h>

#include "ws_status.h"

/* cdef-begin */
#define WS_NN_MAX_TENSORS 128
#define WS_NN_MAX_OPS 64
#define WS_NN_MAX_DIMS 4
#define WS_NN_MAX_IO 4
#define WS_NN_ARENA_ALIGN 16
#define WS_NN_MAX_TENSOR_BYTES 16777216

/* TFLite TensorType values we accept. */
#define WS_NN_TYPE_FLOAT32 0
#define WS_NN_TYPE_INT32 2
#define WS_NN_TYPE_INT8 9

typedef struct {
    int32_t type; /* WS_NN_TYPE_* */
    int32_t rank;
    int32_t dims[4];
    uint32_t bytes;
    float scale;
    int32_t zero_point;
} ws_nn_tensor_desc_t;

typedef struct ws_nn_model ws_nn_model_t;

/* sizeof(ws_nn_model_t), for callers that only see the declaration (Python). */
size_t ws_nn_model_struct_size(void);
ws_status_t ws_nn_load(ws_nn_model_t *model, const uint8_t *data, size_t size);
size_t ws_nn_arena_size(const ws_nn_model_t *model);
/* The arena's parts (their sum is ws_nn_arena_size): planned activations, per-channel
 * requantization, kernel scratch. All 0 before a successful load. */
void ws_nn_arena_parts(const ws_nn_model_t *model, uint32_t *activations, uint32_t *requant,
                       uint32_t *scratch);
ws_status_t ws_nn_set_arena(ws_nn_model_t *model, uint8_t *arena, size_t size);
ws_status_t ws_nn_invoke(ws_nn_model_t *model);
/* Runs operator `index` alone (ops run in order make one invoke): per-operator timing. */
ws_status_t ws_nn_invoke_op(ws_nn_model_t *model, uint32_t index);
uint32_t ws_nn_input_count(const ws_nn_model_t *model);
uint32_t ws_nn_output_count(const ws_nn_model_t *model);
ws_status_t ws_nn_input_desc(const ws_nn_model_t *model, uint32_t index, ws_nn_tensor_desc_t *out);
ws_status_t ws_nn_output_desc(const ws_nn_model_t *model, uint32_t index, ws_nn_tensor_desc_t *out);
/* Where to write input `index` / read output `index`; NULL before ws_nn_set_arena. */
void *ws_nn_input_data(ws_nn_model_t *model, uint32_t index);
const void *ws_nn_output_data(const ws_nn_model_t *model, uint32_t index);
uint64_t ws_nn_macs(const ws_nn_model_t *model);
/* Multiply-accumulates of operator `index` (0 for operators without any). */
uint64_t ws_nn_op_macs(const ws_nn_model_t *model, uint32_t index);
uint32_t ws_nn_op_count(const ws_nn_model_t *model);
/* Builtin code of operator `index` (-1 if out of range); where validation stopped. */
int32_t ws_nn_op_code(const ws_nn_model_t *model, uint32_t index);
int32_t ws_nn_failed_op(const ws_nn_model_t *model);

/* ---- kernels (CMSIS-NN style: caller-owned scratch, NHWC int8) ---- */
typedef struct {
    int32_t n, h, w, c;
} ws_nn_dims_t;

typedef struct {
    const int32_t *multiplier; /* one per output channel */
    const int32_t *shift;
} ws_nn_per_channel_quant_t;

typedef struct {
    int32_t input_offset; /* -input zero point */
    int32_t output_offset; /* output zero point */
    int32_t stride_h, stride_w;
    int32_t pad_h, pad_w;
    int32_t dilation_h, dilation_w;
    int32_t depth_multiplier; /* depthwise only */
    int32_t act_min, act_max;
} ws_nn_conv_params_t;

typedef struct {
    int32_t stride_h, stride_w;
    int32_t pad_h, pad_w;
    int32_t filter_h, filter_w;
    int32_t act_min, act_max;
} ws_nn_pool_params_t;

typedef struct {
    int32_t input_offset, output_offset;
    int32_t multiplier, shift;
    int32_t act_min, act_max;
} ws_nn_fc_params_t;

typedef struct {
    int32_t input1_offset, input2_offset, output_offset;
    int32_t left_shift;
    int32_t input1_multiplier, input1_shift;
    int32_t input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
} ws_nn_add_params_t;

typedef struct {
    int32_t input_multiplier, input_left_shift, diff_min;
} ws_nn_softmax_params_t;

typedef struct {
    int32_t input1_offset, input2_offset, output_offset;
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
} ws_nn_mul_params_t;

/* LOGISTIC and TANH: input rescaled to Q4.27 fixed point */
typedef struct {
    int32_t input_zero_point, input_range_radius;
    int32_t input_multiplier, input_left_shift;
} ws_nn_sigmoid_params_t;

typedef struct {
    int32_t input_zero_point, output_zero_point;
    int32_t multiplier, shift; /* input/output scale with 1/count folded in, as TFLM does */
    int32_t reduce[4];         /* 1 for each reduced axis of the 4-D input */
} ws_nn_mean_params_t;

/* filter: [out_c, fh, fw, in_c]; bias may be NULL. */
ws_status_t ws_nn_conv_s8(const ws_nn_conv_params_t *params, const ws_nn_per_channel_quant_t *quant,
                          const ws_nn_dims_t *input_dims, const int8_t *input,
                          const ws_nn_dims_t *filter_dims, const int8_t *filter, const int32_t *bias,
                          const ws_nn_dims_t *output_dims, int8_t *output, void *scratch);
size_t ws_nn_conv_s8_scratch_size(const ws_nn_dims_t *input_dims, const ws_nn_dims_t *filter_dims);
/* filter: [1, fh, fw, out_c] with out_c = in_c * depth_multiplier. */
ws_status_t ws_nn_depthwise_conv_s8(const ws_nn_conv_params_t *params,
                                    const ws_nn_per_channel_quant_t *quant,
                                    const ws_nn_dims_t *input_dims, const int8_t *input,
                                    const ws_nn_dims_t *filter_dims, const int8_t *filter,
                                    const int32_t *bias, const ws_nn_dims_t *output_dims,
                                    int8_t *output, void *scratch);
size_t ws_nn_depthwise_conv_s8_scratch_size(const ws_nn_dims_t *input_dims,
                                            const ws_nn_dims_t *filter_dims);
/* Per-tensor (quant NULL: params->multiplier/shift) or per-channel weights [out, in]. */
ws_status_t ws_nn_fully_connected_s8(const ws_nn_fc_params_t *params,
                                     const ws_nn_per_channel_quant_t *quant, int32_t batches,
                                     int32_t in_features, const int8_t *input, int32_t out_features,
                                     const int8_t *filter, const int32_t *bias, int8_t *output);
size_t ws_nn_fully_connected_s8_scratch_size(int32_t in_features);
ws_status_t ws_nn_avgpool_s8(const ws_nn_pool_params_t *params, const ws_nn_dims_t *input_dims,
                             const int8_t *input, const ws_nn_dims_t *output_dims, int8_t *output);
ws_status_t ws_nn_maxpool_s8(const ws_nn_pool_params_t *params, const ws_nn_dims_t *input_dims,
                             const int8_t *input, const ws_nn_dims_t *output_dims, int8_t *output);
ws_status_t ws_nn_add_s8(const ws_nn_add_params_t *params, uint32_t count, const int8_t *input1,
                         const int8_t *input2, int8_t *output);
ws_status_t ws_nn_softmax_s8(const ws_nn_softmax_params_t *params, int32_t rows, int32_t row_size,
                             const int8_t *input, int8_t *output);
ws_status_t ws_nn_mul_s8(const ws_nn_mul_params_t *params, uint32_t count, const int8_t *input1,
                         const int8_t *input2, int8_t *output);
ws_status_t ws_nn_logistic_s8(const ws_nn_sigmoid_params_t *params, uint32_t count,
                              const int8_t *input, int8_t *output);
ws_status_t ws_nn_tanh_s8(const ws_nn_sigmoid_params_t *params, uint32_t count, const int8_t *input,
                          int8_t *output);
/* MEAN over the axes marked in params->reduce of a 4-D tensor */
ws_status_t ws_nn_mean_s8(const ws_nn_mean_params_t *params, const ws_nn_dims_t *input_dims,
                          const int8_t *input, int8_t *output);
/* Data movement on 4-D tensors of `elem`-byte elements */
ws_status_t ws_nn_pad(const ws_nn_dims_t *input_dims, const uint8_t *input, const int32_t before[4],
                      const ws_nn_dims_t *output_dims, uint8_t *output, uint32_t elem,
                      int32_t pad_value);
ws_status_t ws_nn_transpose(const ws_nn_dims_t *input_dims, const uint8_t *input,
                            const int32_t perm[4], const ws_nn_dims_t *output_dims, uint8_t *output,
                            uint32_t elem);
ws_status_t ws_nn_slice(const ws_nn_dims_t *input_dims, const uint8_t *input, const int32_t begin[4],
                        const ws_nn_dims_t *output_dims, uint8_t *output, uint32_t elem);
/* Element (start + i * stride) per axis while before stop (after it for negative strides) */
ws_status_t ws_nn_strided_slice(const ws_nn_dims_t *input_dims, const uint8_t *input,
                                const int32_t start[4], const int32_t stop[4],
                                const int32_t stride[4], uint8_t *output, uint32_t elem);
/* Copies `input` ([outer, axis_size, inner] elements) into its place of the concatenation */
ws_status_t ws_nn_concat_part(uint32_t outer, uint32_t axis_size, uint32_t inner,
                              uint32_t output_axis_size, uint32_t axis_offset, const uint8_t *input,
                              uint8_t *output, uint32_t elem);
ws_status_t ws_nn_quantize_f32_s8(float scale, int32_t zero_point, uint32_t count,
                                  const float *input, int8_t *output);
ws_status_t ws_nn_dequantize_s8_f32(float scale, int32_t zero_point, uint32_t count,
                                    const int8_t *input, float *output);

/* TFLite's QuantizeMultiplier: real multiplier -> Q31 significand and shift. */
void ws_nn_quantize_multiplier(double real_multiplier, int32_t *multiplier, int32_t *shift);
int32_t ws_nn_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift);
/* cdef-end */

/* The model: one fixed-size struct the caller owns (static or on the stack). */
typedef struct {
    uint32_t data_pos;   /* file offset of constant data; 0 if none */
    int32_t arena_offset; /* planned offset; -1 for constants */
    uint32_t bytes;
    int32_t dims[WS_NN_MAX_DIMS];
    uint8_t rank;
    uint8_t type;
    uint8_t is_input;
    uint8_t written;
    uint32_t scale_pos;  /* file offset of the float scale vector elements; 0 if none */
    uint32_t scale_count;
    int32_t quantized_dimension;
    float scale;         /* first scale */
    int32_t zero_point;  /* first zero point */
    int16_t first_op, last_op;
} ws_nn_tensor_t;

typedef struct {
    int32_t a[4], b[4]; /* pad: before/after; transpose: perm; slice: begin; concat: axis;
                           strided slice: start/stop */
    int32_t c[4];       /* strided slice: strides */
    int32_t value;      /* pad value */
} ws_nn_shape_params_t;

#define WS_NN_MAX_OP_INPUTS 8
#define WS_NN_OP_DATA_WORDS 13 /* room for an operator's own parameters (nn_op.h) */

typedef struct {
    uint8_t kind; /* row of the operator table (firmware/src/nn/op_table.c) */
    uint8_t n_inputs;
    int16_t inputs[WS_NN_MAX_OP_INPUTS];
    int16_t output;
    int32_t builtin;
    uint32_t persistent_offset; /* per-channel multipliers and shifts */
    uint32_t channels;
    uint64_t macs;
    union {
        ws_nn_conv_params_t conv;
        ws_nn_pool_params_t pool;
        ws_nn_fc_params_t fc;
        ws_nn_add_params_t add;
        ws_nn_softmax_params_t softmax;
        ws_nn_mul_params_t mul;
        ws_nn_sigmoid_params_t sigmoid;
        ws_nn_mean_params_t mean;
        ws_nn_shape_params_t shape;
        int32_t data[WS_NN_OP_DATA_WORDS]; /* a struct private to the operator's file */
    } p;
    uint8_t fused_activation;
} ws_nn_op_t;

struct ws_nn_model {
    const uint8_t *file;
    uint32_t size;
    uint16_t n_tensors, n_ops;
    uint8_t n_inputs, n_outputs, ready, loaded;
    int16_t inputs[WS_NN_MAX_IO];
    int16_t outputs[WS_NN_MAX_IO];
    int32_t failed_op;
    uint32_t tensor_bytes;     /* planned activation region */
    uint32_t persistent_bytes; /* multipliers/shifts after it */
    uint32_t scratch_bytes;    /* largest kernel scratch, last */
    uint8_t *arena;
    uint64_t macs;
    ws_nn_tensor_t tensors[WS_NN_MAX_TENSORS];
    ws_nn_op_t ops[WS_NN_MAX_OPS];
};

#endif
