/* PAD, TRANSPOSE, SLICE, STRIDED_SLICE and CONCATENATION: byte movement on 4-D tensors (shapes of
 * lower rank are extended with leading 1s by the interpreter). Quantization is
 * unchanged by all four, which the interpreter checks when the model loads. */
#include <string.h>

#include "ws_nn.h"

static size_t offset4(const ws_nn_dims_t *d, int32_t i0, int32_t i1, int32_t i2, int32_t i3)
{
    return (((size_t)i0 * d->h + i1) * d->w + i2) * d->c + i3;
}

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
                memcpy(output + elem * offset4(out, a + before[0], b + before[1], c + before[2],
                                               before[3]),
                       input + elem * offset4(in, a, b, c, 0), (size_t)elem * in->c);
            }
        }
    }
    return WS_OK;
}

ws_status_t ws_nn_transpose(const ws_nn_dims_t *in, const uint8_t *input, const int32_t perm[4],
                            const ws_nn_dims_t *out, uint8_t *output, uint32_t elem)
{
    if (!in || !input || !perm || !out || !output) {
        return WS_ERR_ARG;
    }
    const int32_t in_dims[4] = {in->n, in->h, in->w, in->c};
    int32_t idx[4]; /* output index */
    int32_t src[4];
    size_t o = 0;
    for (idx[0] = 0; idx[0] < out->n; ++idx[0]) {
        for (idx[1] = 0; idx[1] < out->h; ++idx[1]) {
            for (idx[2] = 0; idx[2] < out->w; ++idx[2]) {
                for (idx[3] = 0; idx[3] < out->c; ++idx[3]) {
                    for (int k = 0; k < 4; ++k) {
                        src[perm[k]] = idx[k];
                    }
                    size_t s = (((size_t)src[0] * in_dims[1] + src[1]) * in_dims[2] + src[2]) *
                                   in_dims[3] + src[3];
                    memcpy(output + elem * o, input + elem * s, elem);
                    ++o;
                }
            }
        }
    }
    return WS_OK;
}

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
                const size_t s = offset4(in, a + begin[0], b + begin[1], c + begin[2], begin[3]);
                memcpy(output + elem * o, input + elem * s, (size_t)elem * run);
                o += run;
            }
        }
    }
    return WS_OK;
}

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
                    memcpy(output + elem * o, input + elem * offset4(in, a, b, c, d), elem);
                    ++o;
                }
            }
        }
    }
    return WS_OK;
}
