/* AVERAGE_POOL_2D and MAX_POOL_2D, int8: TFLM's reference_integer_ops pooling.
 * Input and output share scale and zero point (checked when the model loads). */
#include "nn_quant.h"
#include "nn_op.h"

static ws_status_t pool(const ws_nn_pool_params_t *params, const ws_nn_dims_t *in,
                        const int8_t *input, const ws_nn_dims_t *out, int8_t *output, int is_max)
{
    if (!params || !in || !input || !out || !output || in->c != out->c) {
        return WS_ERR_ARG;
    }
    for (int32_t b = 0; b < in->n; ++b) {
        for (int32_t oy = 0; oy < out->h; ++oy) {
            for (int32_t ox = 0; ox < out->w; ++ox) {
                const int32_t y0 = oy * params->stride_h - params->pad_h;
                const int32_t x0 = ox * params->stride_w - params->pad_w;
                const int32_t fy_start = y0 < 0 ? -y0 : 0;
                const int32_t fx_start = x0 < 0 ? -x0 : 0;
                const int32_t fy_end = params->filter_h < in->h - y0 ? params->filter_h : in->h - y0;
                const int32_t fx_end = params->filter_w < in->w - x0 ? params->filter_w : in->w - x0;
                for (int32_t c = 0; c < in->c; ++c) {
                    int32_t acc = is_max ? -128 : 0;
                    int32_t count = 0;
                    for (int32_t fy = fy_start; fy < fy_end; ++fy) {
                        for (int32_t fx = fx_start; fx < fx_end; ++fx) {
                            int32_t v = input[(((size_t)b * in->h + y0 + fy) * in->w + x0 + fx) * in->c + c];
                            if (is_max) {
                                acc = v > acc ? v : acc;
                            } else {
                                acc = ws_nn_add_wrap(acc, v);
                            }
                            ++count;
                        }
                    }
                    if (count == 0) {
                        return WS_ERR_NN_SHAPE; /* the reference fails the same way */
                    }
                    if (!is_max) {
                        acc = acc > 0 ? ws_nn_add_wrap(acc, count / 2) / count
                                    : ws_nn_add_wrap(acc, -(count / 2)) / count;
                    }
                    output[(((size_t)b * out->h + oy) * out->w + ox) * out->c + c] =
                        (int8_t)ws_nn_clamp(acc, params->act_min, params->act_max);
                }
            }
        }
    }
    return WS_OK;
}

ws_status_t ws_nn_avgpool_s8(const ws_nn_pool_params_t *params, const ws_nn_dims_t *input_dims,
                             const int8_t *input, const ws_nn_dims_t *output_dims, int8_t *output)
{
    return pool(params, input_dims, input, output_dims, output, 0);
}

#if defined(WS_NN_DSP) && WS_NN_DSP
#include <arm_acle.h>
#include <string.h>

/* Optimised MAX_POOL_2D: four channels per word, SSUB8 sets a GE flag per byte where
 * the new value is not below the maximum and SEL takes those bytes (3 instructions per
 * tap of four channels); the activation clamp the same way. Same bytes as the
 * reference: the maximum over the valid taps (at least one), then the clamp. */
static inline uint32_t max4(uint32_t a, uint32_t b)
{
    uint32_t t, r; /* one asm block: SEL reads the GE flags SSUB8 sets */
    __asm__("ssub8 %[t], %[a], %[b]\n\t"
            "sel %[r], %[a], %[b]"
            : [t] "=&r"(t), [r] "=r"(r)
            : [a] "r"(a), [b] "r"(b));
    (void)t;
    return r;
}

static inline uint32_t min4(uint32_t a, uint32_t b)
{
    uint32_t t, r; /* GE[i] = a[i] >= b[i]: take b there */
    __asm__("ssub8 %[t], %[a], %[b]\n\t"
            "sel %[r], %[b], %[a]"
            : [t] "=&r"(t), [r] "=r"(r)
            : [a] "r"(a), [b] "r"(b));
    (void)t;
    return r;
}

static ws_status_t maxpool_dsp(const ws_nn_pool_params_t *params, const ws_nn_dims_t *in,
                               const int8_t *input, const ws_nn_dims_t *out, int8_t *output)
{
    const uint32_t lo4 = (uint32_t)(uint8_t)params->act_min * 0x01010101u;
    const uint32_t hi4 = (uint32_t)(uint8_t)params->act_max * 0x01010101u;
    const int clamp = params->act_min > -128 || params->act_max < 127;
    const int32_t c = in->c;
    for (int32_t b = 0; b < in->n; ++b) {
        for (int32_t oy = 0; oy < out->h; ++oy) {
            for (int32_t ox = 0; ox < out->w; ++ox) {
                const int32_t y0 = oy * params->stride_h - params->pad_h;
                const int32_t x0 = ox * params->stride_w - params->pad_w;
                const int32_t fy_start = y0 < 0 ? -y0 : 0;
                const int32_t fx_start = x0 < 0 ? -x0 : 0;
                const int32_t fy_end = params->filter_h < in->h - y0 ? params->filter_h : in->h - y0;
                const int32_t fx_end = params->filter_w < in->w - x0 ? params->filter_w : in->w - x0;
                if (fy_end <= fy_start || fx_end <= fx_start) {
                    return WS_ERR_NN_SHAPE; /* no valid tap: the reference fails the same way */
                }
                int8_t *o = output + (((size_t)b * out->h + oy) * out->w + ox) * c;
                int32_t ch = 0;
                for (; ch + 4 <= c; ch += 4) {
                    uint32_t m = 0x80808080u; /* -128 in every byte */
                    for (int32_t fy = fy_start; fy < fy_end; ++fy) {
                        const int8_t *p = input + (((size_t)b * in->h + y0 + fy) * in->w + x0 + fx_start) * c + ch;
                        for (int32_t fx = fx_start; fx < fx_end; ++fx, p += c) {
                            uint32_t w;
                            memcpy(&w, p, sizeof w);
                            m = max4(w, m);
                        }
                    }
                    if (clamp) {
                        m = max4(m, lo4);
                        m = min4(m, hi4);
                    }
                    memcpy(o + ch, &m, sizeof m);
                }
                for (; ch < c; ++ch) {
                    int32_t acc = -128;
                    for (int32_t fy = fy_start; fy < fy_end; ++fy) {
                        for (int32_t fx = fx_start; fx < fx_end; ++fx) {
                            const int32_t v =
                                input[(((size_t)b * in->h + y0 + fy) * in->w + x0 + fx) * c + ch];
                            acc = v > acc ? v : acc;
                        }
                    }
                    o[ch] = (int8_t)ws_nn_clamp(acc, params->act_min, params->act_max);
                }
            }
        }
    }
    return WS_OK;
}
#endif

ws_status_t ws_nn_maxpool_s8(const ws_nn_pool_params_t *params, const ws_nn_dims_t *input_dims,
                             const int8_t *input, const ws_nn_dims_t *output_dims, int8_t *output)
{
#if defined(WS_NN_DSP) && WS_NN_DSP
    if (params && input_dims && input && output_dims && output && input_dims->c == output_dims->c) {
        return maxpool_dsp(params, input_dims, input, output_dims, output);
    }
#endif
    return pool(params, input_dims, input, output_dims, output, 1);
}

/* ---------------------------------------------------------------- operator */

/* AVERAGE_POOL_2D and MAX_POOL_2D share their validation. */
static ws_status_t prepare_pool(const ws_nn_op_view_t *v, ws_nn_op_t *op)
{
    ws_nn_model_t *m = v->m;
    if (v->n_in != 1 || v->in[0] < 0) {
        return WS_ERR_NN_INDEX;
    }
    if (!v->has_options || v->options_type != WS_NN_OPT_POOL) {
        return WS_ERR_NN_OPTIONS;
    }
    ws_nn_tensor_t *in = ws_nn_tensor(m, v->in[0]), *out = ws_nn_tensor(m, v->out);
    if (!ws_nn_is_activation(in, WS_NN_TYPE_INT8) || !ws_nn_is_activation(out, WS_NN_TYPE_INT8)) {
        return WS_ERR_NN_TYPE;
    }
    if (in->rank != 4 || out->rank != 4) {
        return WS_ERR_NN_SHAPE;
    }
    WS_NN_CHECK(ws_nn_check_activation_q(in));
    WS_NN_CHECK(ws_nn_check_activation_q(out));
    if (in->scale != out->scale || in->zero_point != out->zero_point) {
        return WS_ERR_NN_QUANT;
    }
    int64_t padding, sw, sh, fw, fh, act;
    WS_NN_CHECK(ws_nn_op_option(v, 0, 1, 0, &padding));
    WS_NN_CHECK(ws_nn_op_option(v, 1, 4, 0, &sw));
    WS_NN_CHECK(ws_nn_op_option(v, 2, 4, 0, &sh));
    WS_NN_CHECK(ws_nn_op_option(v, 3, 4, 0, &fw));
    WS_NN_CHECK(ws_nn_op_option(v, 4, 4, 0, &fh));
    WS_NN_CHECK(ws_nn_op_option(v, 5, 1, 0, &act));
    if (sw < 1 || sh < 1 || fw < 1 || fh < 1 || sw > 4096 || sh > 4096 || fw > WS_NN_MAX_DIM ||
        fh > WS_NN_MAX_DIM) {
        return WS_ERR_NN_OPTIONS;
    }
    ws_nn_pool_params_t *p = &op->p.pool;
    int32_t out_h, out_w;
    WS_NN_CHECK(
        ws_nn_padded_size(padding, in->dims[1], (int32_t)fh, (int32_t)sh, 1, &out_h, &p->pad_h));
    WS_NN_CHECK(
        ws_nn_padded_size(padding, in->dims[2], (int32_t)fw, (int32_t)sw, 1, &out_w, &p->pad_w));
    if (out->dims[0] != in->dims[0] || out->dims[1] != out_h || out->dims[2] != out_w ||
        out->dims[3] != in->dims[3]) {
        return WS_ERR_NN_SHAPE;
    }
    /* every window must overlap the input, or the reference kernel fails at run time */
    if ((int64_t)p->pad_h >= fh || (int64_t)p->pad_w >= fw) {
        return WS_ERR_NN_SHAPE;
    }
    p->stride_h = (int32_t)sh;
    p->stride_w = (int32_t)sw;
    p->filter_h = (int32_t)fh;
    p->filter_w = (int32_t)fw;
    WS_NN_CHECK(ws_nn_activation_range(act, out, &p->act_min, &p->act_max));
    return WS_OK;
}

ws_status_t ws_nn_prepare_avg_pool_2d(const ws_nn_op_view_t *v, ws_nn_op_t *op)
{
    return prepare_pool(v, op);
}

ws_status_t ws_nn_prepare_max_pool_2d(const ws_nn_op_view_t *v, ws_nn_op_t *op)
{
    return prepare_pool(v, op);
}

ws_status_t ws_nn_eval_avg_pool_2d(ws_nn_model_t *m, const ws_nn_op_t *op)
{
    const ws_nn_dims_t di = ws_nn_dims_of(&m->tensors[op->inputs[0]]);
    const ws_nn_dims_t dout = ws_nn_dims_of(&m->tensors[op->output]);
    return ws_nn_avgpool_s8(&op->p.pool, &di, ws_nn_tensor_data(m, op->inputs[0]), &dout,
                            ws_nn_output_ptr(m, op));
}

ws_status_t ws_nn_eval_max_pool_2d(ws_nn_model_t *m, const ws_nn_op_t *op)
{
    const ws_nn_dims_t di = ws_nn_dims_of(&m->tensors[op->inputs[0]]);
    const ws_nn_dims_t dout = ws_nn_dims_of(&m->tensors[op->output]);
    return ws_nn_maxpool_s8(&op->p.pool, &di, ws_nn_tensor_data(m, op->inputs[0]), &dout,
                            ws_nn_output_ptr(m, op));
}
