/* TRANSPOSE, int8 or int32, of a tensor of rank up to 4. */
#include "nn_op.h"

ws_status_t ws_nn_transpose(const ws_nn_dims_t *in, const uint8_t *input, const int32_t perm[4],
                            const ws_nn_dims_t *out, uint8_t *output, uint32_t elem)
{
    if (!in || !input || !perm || !out || !output) {
        return WS_ERR_ARG;
    }
    const int32_t in_dims[4] = {in->n, in->h, in->w, in->c};
    /* the input's element stride along each output axis */
    size_t in_stride[4], st[4];
    in_stride[3] = 1;
    for (int k = 2; k >= 0; --k) {
        in_stride[k] = in_stride[k + 1] * (size_t)in_dims[k + 1];
    }
    for (int k = 0; k < 4; ++k) {
        st[k] = in_stride[perm[k]];
    }
    const size_t n3 = (size_t)out->c;
    uint8_t *o = output;
    for (int32_t i0 = 0; i0 < out->n; ++i0) {
        for (int32_t i1 = 0; i1 < out->h; ++i1) {
            for (int32_t i2 = 0; i2 < out->w; ++i2) {
                const size_t base = (size_t)i0 * st[0] + (size_t)i1 * st[1] + (size_t)i2 * st[2];
                const uint8_t *p = input + elem * base;
                if (st[3] == 1) { /* the innermost axis stays innermost: one row */
                    memcpy(o, p, elem * n3);
                    o += elem * n3;
                } else if (elem == 1) { /* int8: a strided gather */
                    const size_t step = st[3];
                    for (size_t j = 0; j < n3; ++j, p += step) {
                        *o++ = *p;
                    }
                } else {
                    const size_t step = elem * st[3];
                    for (size_t j = 0; j < n3; ++j, p += step, o += elem) {
                        memcpy(o, p, elem);
                    }
                }
            }
        }
    }
    return WS_OK;
}

/* ---------------------------------------------------------------- operator */

ws_status_t ws_nn_prepare_transpose(const ws_nn_op_view_t *v, ws_nn_op_t *op)
{
    ws_nn_tensor_t *in, *out;
    WS_NN_CHECK(ws_nn_check_movement(v, 2, &in, &out));
    ws_nn_model_t *m = v->m;
    ws_nn_shape_params_t *p = &op->p.shape;
    int32_t din[4], dout[4], a[8];
    int32_t off = ws_nn_dims4(in, din);
    int32_t r = in->rank;
    ws_nn_dims4(out, dout);
    for (int i = 0; i < 4; ++i) {
        p->a[i] = 0;
        p->b[i] = 0;
    }
    WS_NN_CHECK(ws_nn_const_ints(m, v->in[1], (uint32_t)r, a));
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
    return WS_OK;
}

ws_status_t ws_nn_eval_transpose(ws_nn_model_t *m, const ws_nn_op_t *op)
{
    const ws_nn_tensor_t *in = &m->tensors[op->inputs[0]];
    const ws_nn_dims_t di = ws_nn_dims4_of(in), dout = ws_nn_dims4_of(&m->tensors[op->output]);
    return ws_nn_transpose(&di, ws_nn_tensor_data(m, op->inputs[0]), op->p.shape.a, &dout,
                           ws_nn_output_ptr(m, op), (uint32_t)ws_nn_element_size(in->type));
}
