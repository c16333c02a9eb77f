/* PAD, int8 or int32: the output filled with the pad value (the output zero point),
 * then each input row copied to its place. */
#include "nn_op.h"

ws_status_t ws_nn_pad(const ws_nn_dims_t *in, const uint8_t *input, const int32_t before[4],
                      const ws_nn_dims_t *out, uint8_t *output, uint32_t elem, int32_t pad_value)
{
    if (!in || !input || !before || !out || !output || (elem != 1 && elem != 4)) {
        return WS_ERR_ARG;
    }
    const size_t total = (size_t)out->n * out->h * out->w * out->c;
    for (size_t i = 0; i < total; ++i) {
        if (elem == 1) {
            output[i] = (uint8_t)(int8_t)pad_value;
        } else {
            memcpy(output + 4 * i, &pad_value, 4);
        }
    }
    for (int32_t a = 0; a < in->n; ++a) {
        for (int32_t b = 0; b < in->h; ++b) {
            for (int32_t c = 0; c < in->w; ++c) {
                memcpy(output + elem * ws_nn_offset4(out, a + before[0], b + before[1],
                                                     c + before[2], before[3]),
                       input + elem * ws_nn_offset4(in, a, b, c, 0), (size_t)elem * in->c);
            }
        }
    }
    return WS_OK;
}

/* ---------------------------------------------------------------- operator */

ws_status_t ws_nn_prepare_pad(const ws_nn_op_view_t *v, ws_nn_op_t *op)
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
    WS_NN_CHECK(ws_nn_const_ints(m, v->in[1], (uint32_t)(2 * r), a));
    for (int32_t i = 0; i < r; ++i) {
        if (a[2 * i] < 0 || a[2 * i + 1] < 0 || a[2 * i] > WS_NN_MAX_DIM ||
            a[2 * i + 1] > WS_NN_MAX_DIM ||
            (int64_t)din[off + i] + a[2 * i] + a[2 * i + 1] != dout[off + i]) {
            return WS_ERR_NN_SHAPE;
        }
        p->a[off + i] = a[2 * i];
        p->b[off + i] = a[2 * i + 1];
    }
    p->value = out->scale_count ? out->zero_point : 0;
    return WS_OK;
}

ws_status_t ws_nn_eval_pad(ws_nn_model_t *m, const ws_nn_op_t *op)
{
    const ws_nn_tensor_t *in = &m->tensors[op->inputs[0]];
    const ws_nn_dims_t di = ws_nn_dims4_of(in), dout = ws_nn_dims4_of(&m->tensors[op->output]);
    return ws_nn_pad(&di, ws_nn_tensor_data(m, op->inputs[0]), op->p.shape.a, &dout,
                     ws_nn_output_ptr(m, op), (uint32_t)ws_nn_element_size(in->type),
                     op->p.shape.value);
}
