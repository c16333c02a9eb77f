/* STRIDED_SLICE, int8 or int32: element (start + i * stride) per axis while before stop
 * (after it for negative strides). */
#include "nn_op.h"

static int in_range(int32_t i, int32_t stop, int32_t stride)
{
    return stride > 0 ? i < stop : i > stop;
}

ws_status_t ws_nn_strided_slice(const ws_nn_dims_t *in, const uint8_t *input,
                                const int32_t start[4], const int32_t stop[4],
                                const int32_t stride[4], uint8_t *output, uint32_t elem)
{
    if (!in || !input || !start || !stop || !stride || !output) {
        return WS_ERR_ARG;
    }
    for (int k = 0; k < 4; ++k) {
        if (stride[k] == 0) {
            return WS_ERR_ARG;
        }
    }
    size_t o = 0;
    for (int32_t a = start[0]; in_range(a, stop[0], stride[0]); a += stride[0]) {
        for (int32_t b = start[1]; in_range(b, stop[1], stride[1]); b += stride[1]) {
            for (int32_t c = start[2]; in_range(c, stop[2], stride[2]); c += stride[2]) {
                for (int32_t d = start[3]; in_range(d, stop[3], stride[3]); d += stride[3]) {
                    memcpy(output + elem * o, input + elem * ws_nn_offset4(in, a, b, c, d), elem);
                    ++o;
                }
            }
        }
    }
    return WS_OK;
}

/* ---------------------------------------------------------------- operator */

static int32_t clamp_index(int64_t v, int32_t lo, int32_t hi)
{
    return (int32_t)(v < lo ? lo : (v > hi ? hi : v));
}

/* STRIDED_SLICE: TFLite's strided_slice_logic (StartForAxis/StopForAxis) without
 * ellipsis, new axes or offset. */
ws_status_t ws_nn_prepare_strided_slice(const ws_nn_op_view_t *v, ws_nn_op_t *op)
{
    ws_nn_model_t *m = v->m;
    if (v->n_in != 4 || v->in[0] < 0) {
        return WS_ERR_NN_INDEX;
    }
    if (!v->has_options || v->options_type != WS_NN_OPT_STRIDED_SLICE) {
        return WS_ERR_NN_OPTIONS;
    }
    ws_nn_tensor_t *in = ws_nn_tensor(m, v->in[0]), *out = ws_nn_tensor(m, v->out);
    if (in->type != out->type || in->type == WS_NN_TYPE_FLOAT32 ||
        !ws_nn_is_activation(out, out->type) || in->data_pos != 0) {
        return WS_ERR_NN_TYPE;
    }
    if (!ws_nn_same_quant(in, out)) {
        return WS_ERR_NN_QUANT;
    }
    int64_t begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_mask, offset;
    WS_NN_CHECK(ws_nn_op_option(v, 0, 4, 0, &begin_mask));
    WS_NN_CHECK(ws_nn_op_option(v, 1, 4, 0, &end_mask));
    WS_NN_CHECK(ws_nn_op_option(v, 2, 4, 0, &ellipsis_mask));
    WS_NN_CHECK(ws_nn_op_option(v, 3, 4, 0, &new_axis_mask));
    WS_NN_CHECK(ws_nn_op_option(v, 4, 4, 0, &shrink_mask));
    WS_NN_CHECK(ws_nn_op_option(v, 5, 1, 0, &offset));
    if (ellipsis_mask != 0 || new_axis_mask != 0 || offset != 0) {
        return WS_ERR_NN_OPTIONS;
    }
    int32_t r = in->rank, begin[4], end[4], strides[4], din[4];
    if (r < 1) {
        return WS_ERR_NN_SHAPE;
    }
    WS_NN_CHECK(ws_nn_const_ints(m, v->in[1], (uint32_t)r, begin));
    WS_NN_CHECK(ws_nn_const_ints(m, v->in[2], (uint32_t)r, end));
    WS_NN_CHECK(ws_nn_const_ints(m, v->in[3], (uint32_t)r, strides));
    int32_t off = ws_nn_dims4(in, din);
    ws_nn_shape_params_t *p = &op->p.shape;
    int32_t out_dims[4], out_rank = 0;
    for (int k = 0; k < 4; ++k) {
        p->a[k] = 0;
        p->b[k] = din[k];
        p->c[k] = 1;
    }
    for (int32_t i = 0; i < r; ++i) {
        const int32_t size = din[off + i], stride = strides[i];
        if (stride == 0 || stride < -WS_NN_MAX_DIM || stride > WS_NN_MAX_DIM) {
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

ws_status_t ws_nn_eval_strided_slice(ws_nn_model_t *m, const ws_nn_op_t *op)
{
    const ws_nn_tensor_t *in = &m->tensors[op->inputs[0]];
    const ws_nn_dims_t di = ws_nn_dims4_of(in);
    return ws_nn_strided_slice(&di, ws_nn_tensor_data(m, op->inputs[0]), op->p.shape.a,
                               op->p.shape.b, op->p.shape.c, ws_nn_output_ptr(m, op),
                               (uint32_t)ws_nn_element_size(in->type));
}
