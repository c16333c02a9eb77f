/* SLICE, int8 or int32: constant begin and size (-1: to the end of the axis). */
#include "nn_op.h"

ws_status_t ws_nn_slice(const ws_nn_dims_t *in, const uint8_t *input, const int32_t begin[4],
                        const ws_nn_dims_t *out, uint8_t *output, uint32_t elem)
{
    if (!in || !input || !begin || !out || !output) {
        return WS_ERR_ARG;
    }
    size_t o = 0;
    /* whole channel rows are contiguous along w: one copy per (n, h) then */
    const int32_t rows = out->c == in->c ? 1 : out->w;
    const size_t run = (size_t)out->c * (out->c == in->c ? (size_t)out->w : 1u);
    for (int32_t a = 0; a < out->n; ++a) {
        for (int32_t b = 0; b < out->h; ++b) {
            for (int32_t c = 0; c < rows; ++c) {
                const size_t s =
                    ws_nn_offset4(in, a + begin[0], b + begin[1], c + begin[2], begin[3]);
                memcpy(output + elem * o, input + elem * s, (size_t)elem * run);
                o += run;
            }
        }
    }
    return WS_OK;
}

/* ---------------------------------------------------------------- operator */

ws_status_t ws_nn_prepare_slice(const ws_nn_op_view_t *v, ws_nn_op_t *op)
{
    ws_nn_tensor_t *in, *out;
    WS_NN_CHECK(ws_nn_check_movement(v, 3, &in, &out));
    ws_nn_model_t *m = v->m;
    ws_nn_shape_params_t *p = &op->p.shape;
    int32_t din[4], dout[4], a[8], b[4];
    int32_t off = ws_nn_dims4(in, din);
    int32_t r = in->rank;
    ws_nn_dims4(out, dout);
    for (int i = 0; i < 4; ++i) {
        p->a[i] = 0;
        p->b[i] = 0;
    }
    WS_NN_CHECK(ws_nn_const_ints(m, v->in[1], (uint32_t)r, a));
    WS_NN_CHECK(ws_nn_const_ints(m, v->in[2], (uint32_t)r, b));
    for (int32_t i = 0; i < r; ++i) {
        int32_t size = b[i] == -1 ? din[off + i] - a[i] : b[i];
        if (a[i] < 0 || size < 1 || a[i] > din[off + i] - size || size != dout[off + i]) {
            return WS_ERR_NN_SHAPE;
        }
        p->a[off + i] = a[i];
    }
    return WS_OK;
}

ws_status_t ws_nn_eval_slice(ws_nn_model_t *m, const ws_nn_op_t *op)
{
    const ws_nn_tensor_t *in = &m->tensors[op->inputs[0]];
    const ws_nn_dims_t di = ws_nn_dims4_of(in), dout = ws_nn_dims4_of(&m->tensors[op->output]);
    return ws_nn_slice(&di, ws_nn_tensor_data(m, op->inputs[0]), op->p.shape.a, &dout,
                       ws_nn_output_ptr(m, op), (uint32_t)ws_nn_element_size(in->type));
}
