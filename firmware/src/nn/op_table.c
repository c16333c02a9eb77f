/* The operator table: one row per supported builtin operator, as TFLM's op resolver:
 * the builtin code (BuiltinOperator of the TFLite schema), the highest accepted
 * version, the operator's name (its ws_nn_prepare_<name> and ws_nn_eval_<name>,
 * nn_op.h), and the in-place rule the memory planner may use (NULL: the output gets
 * its own bytes).
 * Adding an operator: its file (prepare + eval), one row here, one WS_NN_DECLARE_OP
 * line in nn_op.h. */
#include "nn_op.h"

#define WS_NN_OP_ROW(code, version, name, in_place) \
    {code, version, ws_nn_prepare_##name, ws_nn_eval_##name, in_place}

const ws_nn_op_reg_t ws_nn_op_table[] = {
    WS_NN_OP_ROW(0, 4, add, ws_nn_in_place_elementwise),
    WS_NN_OP_ROW(1, 3, avg_pool_2d, NULL),
    WS_NN_OP_ROW(2, 4, concatenation, NULL),
    WS_NN_OP_ROW(3, 6, conv_2d, NULL),
    WS_NN_OP_ROW(4, 6, depthwise_conv_2d, ws_nn_in_place_depthwise_conv_2d),
    WS_NN_OP_ROW(6, 5, dequantize, NULL),
    WS_NN_OP_ROW(9, 11, fully_connected, NULL),
    WS_NN_OP_ROW(14, 3, logistic, ws_nn_in_place_elementwise),
    WS_NN_OP_ROW(17, 3, max_pool_2d, NULL),
    WS_NN_OP_ROW(18, 5, mul, ws_nn_in_place_elementwise),
    WS_NN_OP_ROW(22, 2, reshape, ws_nn_in_place_alias),
    WS_NN_OP_ROW(25, 3, softmax, NULL),
    WS_NN_OP_ROW(28, 3, tanh, ws_nn_in_place_elementwise),
    WS_NN_OP_ROW(34, 4, pad, NULL),
    WS_NN_OP_ROW(39, 6, transpose, NULL),
    WS_NN_OP_ROW(40, 3, mean, NULL),
    WS_NN_OP_ROW(45, 6, strided_slice, NULL),
    WS_NN_OP_ROW(65, 6, slice, NULL),
    WS_NN_OP_ROW(98, 2, leaky_relu, ws_nn_in_place_elementwise),
    WS_NN_OP_ROW(114, 3, quantize, NULL),
};

const uint32_t ws_nn_op_table_size = sizeof ws_nn_op_table / sizeof ws_nn_op_table[0];
