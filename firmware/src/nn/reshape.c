/* RESHAPE: the same bytes under another shape. The memory planner places the output
 * on its input (ws_nn_in_place_alias), so the copy only runs when the input is a
 * graph output and cannot be shared. */
#include "nn_op.h"

ws_status_t ws_nn_prepare_reshape(const ws_nn_op_view_t *v, ws_nn_op_t *op)
{
    ws_nn_model_t *m = v->m;
    (void)op;
    if (v->n_in < 1 || v->n_in > 2 || v->in[0] < 0) {
        return WS_ERR_NN_INDEX;
    }
    ws_nn_tensor_t *in = ws_nn_tensor(m, v->in[0]), *out = ws_nn_tensor(m, v->out);
    if (v->n_in == 2 && v->in[1] >= 0 && ws_nn_tensor(m, v->in[1])->type != WS_NN_TYPE_INT32) {
        return WS_ERR_NN_TYPE;
    }
    if (in->type != out->type || !ws_nn_is_activation(out, out->type) || in->data_pos != 0) {
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

ws_status_t ws_nn_eval_reshape(ws_nn_model_t *m, const ws_nn_op_t *op)
{
    const void *x = ws_nn_tensor_data(m, op->inputs[0]);
    void *y = ws_nn_output_ptr(m, op);
    if (y != x) { /* planned in place unless its input is a graph output */
        memmove(y, x, m->tensors[op->output].bytes);
    }
    return WS_OK;
}
