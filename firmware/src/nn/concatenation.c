/* CONCATENATION, int8, along one axis; TFLM's int8 kernel does not requantize, so the
 * inputs must share the output's quantization. */
#include "nn_op.h"

ws_status_t ws_nn_concat_part(uint32_t outer, uint32_t axis_size, uint32_t inner,
                              uint32_t output_axis_size, uint32_t axis_offset, const uint8_t *input,
                              uint8_t *output, uint32_t elem)
{
    if (!input || !output) {
        return WS_ERR_ARG;
    }
    const size_t chunk = (size_t)axis_size * inner * elem;
    for (uint32_t i = 0; i < outer; ++i) {
        memcpy(output + ((size_t)i * output_axis_size + axis_offset) * inner * elem,
               input + i * chunk, chunk);
    }
    return WS_OK;
}

/* ---------------------------------------------------------------- operator */

ws_status_t ws_nn_prepare_concatenation(const ws_nn_op_view_t *v, ws_nn_op_t *op)
{
    ws_nn_model_t *m = v->m;
    if (v->n_in < 1) {
        return WS_ERR_NN_INDEX;
    }
    if (!v->has_options || v->options_type != WS_NN_OPT_CONCAT) {
        return WS_ERR_NN_OPTIONS;
    }
    ws_nn_tensor_t *out = ws_nn_tensor(m, v->out);
    if (!ws_nn_is_activation(out, WS_NN_TYPE_INT8)) {
        return WS_ERR_NN_TYPE;
    }
    int64_t axis, act;
    WS_NN_CHECK(ws_nn_op_option(v, 0, 4, 0, &axis));
    WS_NN_CHECK(ws_nn_op_option(v, 1, 1, 0, &act));
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
        ws_nn_tensor_t *t = ws_nn_tensor(m, v->in[i]);
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
        if (!ws_nn_same_quant(t, out) || t->scale_count != 1) {
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

ws_status_t ws_nn_eval_concatenation(ws_nn_model_t *m, const ws_nn_op_t *op)
{
    const ws_nn_tensor_t *out = &m->tensors[op->output];
    uint8_t *y = ws_nn_output_ptr(m, op);
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
                                           ws_nn_tensor_data(m, op->inputs[i]), y, 1);
        if (st != WS_OK) {
            return st;
        }
        offset += (uint32_t)t->dims[axis];
    }
    return WS_OK;
}
