/* CONV_2D, int8 per-channel: TFLM's reference_integer_ops::ConvPerChannel. A 1-D
 * convolution is the height-1 case. No scratch: the reference needs none. */
#include "nn_dot.h"
#include "nn_quant.h"
#include "ws_nn.h"

size_t ws_nn_conv_s8_scratch_size(const ws_nn_dims_t *input_dims, const ws_nn_dims_t *filter_dims)
{
    (void)input_dims;
    (void)filter_dims;
    return 0;
}

#if defined(WS_NN_DSP) && WS_NN_DSP
/* Optimised build, dilation 1. Each output row splits into interior positions, whose
 * filter window lies wholly inside the input horizontally, and the edges. Interior
 * outputs are made two output channels x two positions at a time (ws_nn_dot_2x2_s8:
 * each loaded filter and input word is used twice) with the input offset folded into
 * the bias: sum f * (x + offset) = sum f * x + offset * sum f, the filter sum taken
 * over the rows valid at this output row. Edge outputs and an odd last channel or
 * position use the one-output dot product with the offset. All sums are int32 with
 * wrap-around, which is associative, so the bytes equal the reference's. */
typedef struct {
    const ws_nn_conv_params_t *p;
    const ws_nn_per_channel_quant_t *q;
    const int8_t *input, *filter;
    const int32_t *bias;
    int8_t *output;
    int32_t in_h, in_w, in_c, f_h, f_w, out_h, out_w, out_c;
} conv_ctx_t;

/* One output (b, oy, ox, oc) over its valid taps, offset applied per tap. */
static void conv_one(const conv_ctx_t *c, int32_t b, int32_t oy, int32_t ox, int32_t oc)
{
    const ws_nn_conv_params_t *p = c->p;
    const int32_t in_y0 = oy * p->stride_h - p->pad_h, in_x0 = ox * p->stride_w - p->pad_w;
    const int32_t fy_lo = in_y0 < 0 ? -in_y0 : 0;
    const int32_t fy_hi = in_y0 + c->f_h > c->in_h ? c->in_h - in_y0 : c->f_h;
    const int32_t fx_lo = in_x0 < 0 ? -in_x0 : 0;
    const int32_t fx_hi = in_x0 + c->f_w > c->in_w ? c->in_w - in_x0 : c->f_w;
    int32_t acc = c->bias ? c->bias[oc] : 0;
    if (fx_hi > fx_lo) {
        for (int32_t fy = fy_lo; fy < fy_hi; ++fy) {
            const int8_t *x =
                c->input + (((size_t)b * c->in_h + in_y0 + fy) * c->in_w + in_x0 + fx_lo) * c->in_c;
            const int8_t *f = c->filter + (((size_t)oc * c->f_h + fy) * c->f_w + fx_lo) * c->in_c;
            acc = ws_nn_add_wrap(acc, ws_nn_dot_s8(f, x, (fx_hi - fx_lo) * c->in_c, p->input_offset));
        }
    }
    c->output[(((size_t)b * c->out_h + oy) * c->out_w + ox) * c->out_c + oc] = ws_nn_requant_s8(
        acc, c->q->multiplier[oc], c->q->shift[oc], p->output_offset, p->act_min, p->act_max);
}

static void conv_dsp(const conv_ctx_t *c, int32_t batches)
{
    const ws_nn_conv_params_t *p = c->p;
    const int32_t in_c = c->in_c, out_c = c->out_c, out_w = c->out_w;
    const int32_t row = c->f_w * in_c;         /* one filter row: contiguous in filter and input */
    const int32_t f_stride = c->f_h * row;     /* one output channel's filter */
    const int32_t x_step = p->stride_w * in_c; /* the next output position's input */
    const int32_t in_row = c->in_w * in_c;
    /* interior positions: in_x0 >= 0 and in_x0 + f_w <= in_w */
    int32_t ox_lo = (p->pad_w + p->stride_w - 1) / p->stride_w;
    const int32_t last = c->in_w - c->f_w + p->pad_w;
    int32_t ox_hi = last >= 0 ? last / p->stride_w + 1 : 0;
    ox_lo = ox_lo < out_w ? ox_lo : out_w;
    ox_hi = ox_hi < out_w ? ox_hi : out_w;
    ox_hi = ox_hi > ox_lo ? ox_hi : ox_lo;
    const int32_t pairs_end = ox_lo + ((ox_hi - ox_lo) & ~1);
    const int32_t oc_pairs_end = out_c & ~1;
    const int32_t off = p->input_offset, out_off = p->output_offset;
    const int32_t lo = p->act_min, hi = p->act_max;
    for (int32_t b = 0; b < batches; ++b) {
        for (int32_t oy = 0; oy < c->out_h; ++oy) {
            const int32_t in_y0 = oy * p->stride_h - p->pad_h;
            const int32_t fy_lo = in_y0 < 0 ? -in_y0 : 0;
            const int32_t fy_hi = in_y0 + c->f_h > c->in_h ? c->in_h - in_y0 : c->f_h;
            for (int32_t ox = 0; ox < out_w; ++ox) {
                if (ox == ox_lo) {
                    ox = pairs_end; /* the interior pairs are made below */
                    if (ox >= out_w) {
                        break;
                    }
                }
                for (int32_t oc = 0; oc < out_c; ++oc) {
                    conv_one(c, b, oy, ox, oc);
                }
            }
            if (pairs_end == ox_lo || fy_hi <= fy_lo) {
                if (fy_hi <= fy_lo) {
                    for (int32_t ox = ox_lo; ox < pairs_end; ++ox) {
                        for (int32_t oc = 0; oc < out_c; ++oc) {
                            conv_one(c, b, oy, ox, oc);
                        }
                    }
                }
                continue;
            }
            const int8_t *x_base = c->input + ((size_t)b * c->in_h + in_y0 + fy_lo) * in_row +
                                   (ox_lo * p->stride_w - p->pad_w) * in_c;
            int8_t *out_row = c->output + ((size_t)b * c->out_h + oy) * out_w * out_c;
            for (int32_t oc = 0; oc < oc_pairs_end; oc += 2) {
                const int8_t *fa = c->filter + (size_t)oc * f_stride + fy_lo * row;
                const int8_t *fb = fa + f_stride;
                int32_t sum_a = 0, sum_b = 0;
                for (int32_t fy = fy_lo; fy < fy_hi; ++fy) {
                    sum_a = ws_nn_add_wrap(sum_a, ws_nn_sum_s8(fa + (fy - fy_lo) * row, row));
                    sum_b = ws_nn_add_wrap(sum_b, ws_nn_sum_s8(fb + (fy - fy_lo) * row, row));
                }
                const int32_t bias_a = ws_nn_add_wrap(c->bias ? c->bias[oc] : 0,
                                                      (int32_t)((uint32_t)sum_a * (uint32_t)off));
                const int32_t bias_b = ws_nn_add_wrap(c->bias ? c->bias[oc + 1] : 0,
                                                      (int32_t)((uint32_t)sum_b * (uint32_t)off));
                const int32_t mult_a = c->q->multiplier[oc], shift_a = c->q->shift[oc];
                const int32_t mult_b = c->q->multiplier[oc + 1], shift_b = c->q->shift[oc + 1];
                const int8_t *xa = x_base;
                int8_t *o = out_row + (size_t)ox_lo * out_c + oc;
                for (int32_t ox = ox_lo; ox < pairs_end; ox += 2) {
                    ws_nn_acc2x2_t acc = {bias_a, bias_a, bias_b, bias_b};
                    const int8_t *ra = fa, *rb = fb, *x0 = xa;
                    for (int32_t fy = fy_lo; fy < fy_hi; ++fy) {
                        ws_nn_dot_2x2_s8(ra, rb, x0, x0 + x_step, row, &acc);
                        ra += row;
                        rb += row;
                        x0 += in_row;
                    }
                    o[0] = ws_nn_requant_s8(acc.aa, mult_a, shift_a, out_off, lo, hi);
                    o[1] = ws_nn_requant_s8(acc.ba, mult_b, shift_b, out_off, lo, hi);
                    o[out_c] = ws_nn_requant_s8(acc.ab, mult_a, shift_a, out_off, lo, hi);
                    o[out_c + 1] = ws_nn_requant_s8(acc.bb, mult_b, shift_b, out_off, lo, hi);
                    o += 2 * out_c;
                    xa += 2 * x_step;
                }
            }
            if (out_c & 1) {
                for (int32_t ox = ox_lo; ox < pairs_end; ++ox) {
                    conv_one(c, b, oy, ox, out_c - 1);
                }
            }
        }
    }
}
#endif

ws_status_t ws_nn_conv_s8(const ws_nn_conv_params_t *params, const ws_nn_per_channel_quant_t *quant,
                          const ws_nn_dims_t *input_dims, const int8_t *input,
                          const ws_nn_dims_t *filter_dims, const int8_t *filter, const int32_t *bias,
                          const ws_nn_dims_t *output_dims, int8_t *output, void *scratch)
{
    (void)scratch;
    if (!params || !quant || !input_dims || !input || !filter_dims || !filter || !output_dims ||
        !output || filter_dims->c != input_dims->c || filter_dims->n != output_dims->c) {
        return WS_ERR_ARG;
    }
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t f_h = filter_dims->h, f_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
#if defined(WS_NN_DSP) && WS_NN_DSP
    if (params->dilation_h == 1 && params->dilation_w == 1 && params->stride_w >= 1 &&
        params->stride_h >= 1) {
        const conv_ctx_t c = {params, quant, input, filter, bias, output, in_h, in_w, in_c,
                              f_h,    f_w,   out_h, out_w, out_c};
        conv_dsp(&c, input_dims->n);
        return WS_OK;
    }
#endif
    for (int32_t b = 0; b < input_dims->n; ++b) {
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t in_y0 = oy * params->stride_h - params->pad_h;
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t in_x0 = ox * params->stride_w - params->pad_w;
                for (int32_t oc = 0; oc < out_c; ++oc) {
                    int32_t acc = 0;
                    for (int32_t fy = 0; fy < f_h; ++fy) {
                        const int32_t in_y = in_y0 + params->dilation_h * fy;
                        if (in_y < 0 || in_y >= in_h) {
                            continue;
                        }
                        if (params->dilation_w == 1) {
                            /* the valid taps of this filter row and the input under
                             * them are both contiguous: one dot product */
                            const int32_t fx_lo = in_x0 < 0 ? -in_x0 : 0;
                            const int32_t fx_hi = in_x0 + f_w > in_w ? in_w - in_x0 : f_w;
                            if (fx_hi > fx_lo) {
                                const int8_t *in_row =
                                    input + (((size_t)b * in_h + in_y) * in_w + in_x0 + fx_lo) * in_c;
                                const int8_t *f_row =
                                    filter + (((size_t)oc * f_h + fy) * f_w + fx_lo) * in_c;
                                acc = ws_nn_add_wrap(acc, ws_nn_dot_s8(f_row, in_row, (fx_hi - fx_lo) * in_c,
                                                                       params->input_offset));
                            }
                            continue;
                        }
                        for (int32_t fx = 0; fx < f_w; ++fx) {
                            const int32_t in_x = in_x0 + params->dilation_w * fx;
                            if (in_x < 0 || in_x >= in_w) {
                                continue;
                            }
                            const int8_t *in_row = input + (((size_t)b * in_h + in_y) * in_w + in_x) * in_c;
                            const int8_t *f_row = filter + (((size_t)oc * f_h + fy) * f_w + fx) * in_c;
                            acc = ws_nn_add_wrap(acc, ws_nn_dot_s8(f_row, in_row, in_c, params->input_offset));
                        }
                    }
                    if (bias) {
                        acc = ws_nn_add_wrap(acc, bias[oc]);
                    }
                    acc = ws_nn_mbqm(acc, quant->multiplier[oc], quant->shift[oc]);
                    acc = ws_nn_add_wrap(acc, params->output_offset);
                    output[(((size_t)b * out_h + oy) * out_w + ox) * out_c + oc] =
                        (int8_t)ws_nn_clamp(acc, params->act_min, params->act_max);
                }
            }
        }
    }
    return WS_OK;
}
