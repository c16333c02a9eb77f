/* The operator table: one row per supported builtin operator, as TFLM's op resolver.
 * builtin code, highest accepted version, prepare and eval (nn_op.h), and the
 * in-place rule the memory planner may use (NULL: the output gets its own bytes).
 * Adding an operator: its file (prepare + eval), one row here, one WS_NN_DECLARE_OP
 * line in nn_op.h. */
#include "nn_op.h"

#define WS_NN_OP_ROW(code, version, name, in_place) \
    {code, version, ws_nn_prepare_##name, ws_nn_eval_##name, in_place}

const ws_nn_op_reg_t ws_nn_op_table[] = {
    WS_NN_OP_ROW(WS_NN_OP_ADD, 4, add, ws_nn_in_place_elementwise),
    WS_NN_OP_ROW(WS_NN_OP_AVERAGE_POOL_2D, 3, avg_pool_2d, NULL),
    WS_NN_OP_ROW(WS_NN_OP_CONV_2D, 6, conv_2d, NULL),
    WS_NN_OP_ROW(WS_NN_OP_DEPTHWISE_CONV_2D, 6, depthwise_conv_2d, ws_nn_in_place_depthwise_conv_2d),
    WS_NN_OP_ROW(WS_NN_OP_DEQUANTIZE, 5, dequantize, NULL),
    WS_NN_OP_ROW(WS_NN_OP_FULLY_CONNECTED, 11, fully_connected, NULL),
    WS_NN_OP_ROW(WS_NN_OP_MAX_POOL_2D, 3, max_pool_2d, NULL),
    WS_NN_OP_ROW(WS_NN_OP_RESHAPE, 2, reshape, ws_nn_in_place_alias),
    WS_NN_OP_ROW(WS_NN_OP_QUANTIZE, 3, quantize, NULL),
    WS_NN_OP_ROW(WS_NN_OP_SOFTMAX, 3, softmax, NULL),
    WS_NN_OP_ROW(WS_NN_OP_MUL, 5, mul, ws_nn_in_place_elementwise),
    WS_NN_OP_ROW(WS_NN_OP_LOGISTIC, 3, logistic, ws_nn_in_place_elementwise),
    WS_NN_OP_ROW(WS_NN_OP_TANH, 3, tanh, ws_nn_in_place_elementwise),
    WS_NN_OP_ROW(WS_NN_OP_MEAN, 3, mean, NULL),
    WS_NN_OP_ROW(WS_NN_OP_PAD, 4, pad, NULL),
    WS_NN_OP_ROW(WS_NN_OP_TRANSPOSE, 6, transpose, NULL),
    WS_NN_OP_ROW(WS_NN_OP_SLICE, 6, slice, NULL),
    WS_NN_OP_ROW(WS_NN_OP_CONCATENATION, 4, concatenation, NULL),
    WS_NN_OP_ROW(WS_NN_OP_STRIDED_SLICE, 6, strided_slice, NULL),
};

const uint32_t ws_nn_op_table_size = sizeof ws_nn_op_table / sizeof ws_nn_op_table[0];
