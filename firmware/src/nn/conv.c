/* CONV_2D, int8 per-channel: TFLM's reference_integer_ops::ConvPerChannel. A 1-D
 * convolution is the height-1 case. No scratch: the reference needs none. */
#include "nn_dot.h"
#include "nn_quant.h"
#include "nn_op.h"

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
    const int8_t *input_end; /* one past the input tensor */
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

/* Clamp of a requantized value plus output offset: SSAT when the activation range is
 * the whole int8 range (NONE, and RELU with zero point -128). */
static inline __attribute__((always_inline)) int8_t conv_out(int32_t v, int32_t lo, int32_t hi,
                                                             const int full)
{
    if (full) {
        return (int8_t)__ssat(v, 8);
    }
    return (int8_t)ws_nn_clamp(v, lo, hi);
}

#define CONV_IL_MAX 256 /* bytes of a filter row interleaved on the stack (x2) */

typedef struct {
    int32_t bias_a, bias_b;
    ws_nn_rq_t ra, rb;   /* general requantisation */
    ws_nn_rqs_t sa, sb;  /* when every accumulator of the channel is small */
    int32_t k;           /* 1 + 2 * output offset */
    int32_t out_off, lo, hi;
} conv_pair_q_t;

/* Requantize and store the 2 x 2 block: o[0], o[1] (position a), o[out_c], o[out_c + 1]. */
static inline __attribute__((always_inline)) void
conv_store4(const conv_pair_q_t *q, const ws_nn_acc2x2_t *acc, int8_t *o, int32_t out_c,
            const int full, const int small)
{
    if (small && full) {
        o[0] = (int8_t)ws_nn_rqs_ssat8(acc->aa, q->sa.multiplier, q->sa.rm1, q->k);
        o[1] = (int8_t)ws_nn_rqs_ssat8(acc->ba, q->sb.multiplier, q->sb.rm1, q->k);
        o[out_c] = (int8_t)ws_nn_rqs_ssat8(acc->ab, q->sa.multiplier, q->sa.rm1, q->k);
        o[out_c + 1] = (int8_t)ws_nn_rqs_ssat8(acc->bb, q->sb.multiplier, q->sb.rm1, q->k);
        return;
    }
    int32_t v0, v1, v2, v3;
    if (small) {
        v0 = ws_nn_rqs_off(acc->aa, q->sa.multiplier, q->sa.rm1, q->k);
        v1 = ws_nn_rqs_off(acc->ba, q->sb.multiplier, q->sb.rm1, q->k);
        v2 = ws_nn_rqs_off(acc->ab, q->sa.multiplier, q->sa.rm1, q->k);
        v3 = ws_nn_rqs_off(acc->bb, q->sb.multiplier, q->sb.rm1, q->k);
    } else {
        v0 = WS_NN_RQ(acc->aa, q->ra) + q->out_off;
        v1 = WS_NN_RQ(acc->ba, q->rb) + q->out_off;
        v2 = WS_NN_RQ(acc->ab, q->ra) + q->out_off;
        v3 = WS_NN_RQ(acc->bb, q->rb) + q->out_off;
    }
    o[0] = conv_out(v0, q->lo, q->hi, full);
    o[1] = conv_out(v1, q->lo, q->hi, full);
    o[out_c] = conv_out(v2, q->lo, q->hi, full);
    o[out_c + 1] = conv_out(v3, q->lo, q->hi, full);
}

/* One filter row per channel (1-D, or 2-D with one valid row): the two rows
 * interleaved once for all positions. */
static inline __attribute__((always_inline)) void
conv_pairs_il(const conv_pair_q_t *q, const uint32_t *il, const int8_t *fa, const int8_t *fb,
              int32_t row, const int8_t *xa, int32_t x_step, int8_t *o, int32_t out_c,
              int32_t pairs, const int8_t *input_end, const int full, const int small)
{
    const int32_t words = row >> 2, tail = row & 3, at = 4 * words;
    int32_t i = 0;
    if (tail) {
        /* il holds one more word, the filter's last bytes and zeros: while the input
         * word under it stays inside the input tensor, its extra bytes (multiplied by
         * zero) cost nothing, and the scalar tail is not needed */
        for (; i < pairs && xa + x_step + 4 * (words + 1) <= input_end; ++i) {
            ws_nn_acc2x2_t acc = {q->bias_a, q->bias_a, q->bias_b, q->bias_b};
            ws_nn_dot_2x2_il(il, xa, xa + x_step, words + 1, &acc);
            conv_store4(q, &acc, o, out_c, full, small);
            o += 2 * out_c;
            xa += 2 * x_step;
        }
    }
    for (; i < pairs; ++i) {
        ws_nn_acc2x2_t acc = {q->bias_a, q->bias_a, q->bias_b, q->bias_b};
        if (words > 0) {
            ws_nn_dot_2x2_il(il, xa, xa + x_step, words, &acc);
        }
        if (tail) {
            ws_nn_dot_2x2_s8(fa + at, fb + at, xa + at, xa + x_step + at, tail, &acc);
        }
        conv_store4(q, &acc, o, out_c, full, small);
        o += 2 * out_c;
        xa += 2 * x_step;
    }
}

/* The interior pairs of one output row for output channels oc, oc + 1. */
static void conv_pair_row(const conv_ctx_t *c, int32_t oc, int32_t fy_lo, int32_t rows,
                          const int8_t *xa, int8_t *o, int32_t pairs, const int full)
{
    const ws_nn_conv_params_t *p = c->p;
    const int32_t row = c->f_w * c->in_c, f_stride = c->f_h * row;
    const int32_t x_step = p->stride_w * c->in_c, in_row = c->in_w * c->in_c;
    const int32_t out_c = c->out_c, off = p->input_offset;
    const int8_t *fa = c->filter + (size_t)oc * f_stride + fy_lo * row;
    const int8_t *fb = fa + f_stride;
    const int32_t n = rows * row;
    const int il_path = rows == 1 && row <= CONV_IL_MAX;
    uint32_t il[CONV_IL_MAX / 2 + 2];
    int32_t sum_a = 0, sum_b = 0;
    if (il_path) {
        /* interleave the two rows once for all positions, summing them on the way */
        const int16x2_t ones = (int16x2_t)0x00010001;
        const int32_t words = row >> 2, tail = row & 3;
        for (int32_t k = 0; k < words; ++k) {
            const uint32_t wa = ws_nn_load4(fa + 4 * k), wb = ws_nn_load4(fb + 4 * k);
            il[2 * k] = wa;
            il[2 * k + 1] = wb;
            sum_a = __smlad(__sxtb16(wa), ones, __smlad(ws_nn_sxtb16_ror8(wa), ones, sum_a));
            sum_b = __smlad(__sxtb16(wb), ones, __smlad(ws_nn_sxtb16_ror8(wb), ones, sum_b));
        }
        if (tail) { /* the last bytes, then zeros (little-endian words) */
            uint32_t wa = 0, wb = 0;
            for (int32_t t = tail - 1; t >= 0; --t) {
                wa = (wa << 8) | (uint8_t)fa[4 * words + t];
                wb = (wb << 8) | (uint8_t)fb[4 * words + t];
                sum_a += fa[4 * words + t];
                sum_b += fb[4 * words + t];
            }
            il[2 * words] = wa;
            il[2 * words + 1] = wb;
        }
    } else {
        sum_a = ws_nn_sum_s8(fa, n);
        sum_b = ws_nn_sum_s8(fb, n);
    }
    conv_pair_q_t q;
    q.bias_a = ws_nn_add_wrap(c->bias ? c->bias[oc] : 0, (int32_t)((uint32_t)sum_a * (uint32_t)off));
    q.bias_b = ws_nn_add_wrap(c->bias ? c->bias[oc + 1] : 0, (int32_t)((uint32_t)sum_b * (uint32_t)off));
    q.sa = ws_nn_rqs_make(c->q->multiplier[oc], c->q->shift[oc]);
    q.sb = ws_nn_rqs_make(c->q->multiplier[oc + 1], c->q->shift[oc + 1]);
    q.out_off = p->output_offset;
    q.k = 1 + 2 * p->output_offset;
    q.lo = p->act_min;
    q.hi = p->act_max;
    /* the accumulators are bias' + sum f * x with |f|, |x| <= 128: below 2^29 when
     * |bias'| + n * 2^14 is (n <= 2^14 keeps the product in 32 bits) */
    const uint32_t abs_a = q.bias_a < 0 ? 0u - (uint32_t)q.bias_a : (uint32_t)q.bias_a;
    const uint32_t abs_b = q.bias_b < 0 ? 0u - (uint32_t)q.bias_b : (uint32_t)q.bias_b;
    const uint32_t taps = (uint32_t)n << 14;
    const int small = q.sa.ok && q.sb.ok && n <= (1 << 14) && abs_a < WS_NN_RQS_LIMIT - taps &&
                      abs_b < WS_NN_RQS_LIMIT - taps && taps < WS_NN_RQS_LIMIT;
    if (!small) {
        q.ra = ws_nn_rq_make(c->q->multiplier[oc], c->q->shift[oc]);
        q.rb = ws_nn_rq_make(c->q->multiplier[oc + 1], c->q->shift[oc + 1]);
    }
    if (il_path) {
        if (small && full) {
            conv_pairs_il(&q, il, fa, fb, row, xa, x_step, o, out_c, pairs, c->input_end, 1, 1);
        } else if (small) {
            conv_pairs_il(&q, il, fa, fb, row, xa, x_step, o, out_c, pairs, c->input_end, 0, 1);
        } else if (full) {
            conv_pairs_il(&q, il, fa, fb, row, xa, x_step, o, out_c, pairs, c->input_end, 1, 0);
        } else {
            conv_pairs_il(&q, il, fa, fb, row, xa, x_step, o, out_c, pairs, c->input_end, 0, 0);
        }
        return;
    }
    for (int32_t i = 0; i < pairs; ++i) {
        ws_nn_acc2x2_t acc = {q.bias_a, q.bias_a, q.bias_b, q.bias_b};
        const int8_t *pa = fa, *pb = fb, *x0 = xa;
        for (int32_t r = 0; r < rows; ++r, pa += row, pb += row, x0 += in_row) {
            ws_nn_dot_2x2_s8(pa, pb, x0, x0 + x_step, row, &acc);
        }
        if (small) {
            conv_store4(&q, &acc, o, out_c, 0, 1);
        } else {
            conv_store4(&q, &acc, o, out_c, 0, 0);
        }
        o += 2 * out_c;
        xa += 2 * x_step;
    }
}

/* The filter rows are contiguous, so the sum over the valid rows is one run. */
static int conv_dsp(const conv_ctx_t *c, int32_t batches)
{
    const ws_nn_conv_params_t *p = c->p;
    if (!ws_nn_rq_ok(c->q->multiplier, c->out_c)) {
        return 0; /* INT32_MIN multipliers: the reference path saturates them */
    }
    const int32_t in_c = c->in_c, out_c = c->out_c, out_w = c->out_w;
    const int32_t in_row = c->in_w * in_c;
    /* interior positions: in_x0 >= 0 and in_x0 + f_w <= in_w */
    int32_t ox_lo = (p->pad_w + p->stride_w - 1) / p->stride_w;
    const int32_t last = c->in_w - c->f_w + p->pad_w;
    int32_t ox_hi = last >= 0 ? last / p->stride_w + 1 : 0;
    ox_lo = ox_lo < out_w ? ox_lo : out_w;
    ox_hi = ox_hi < out_w ? ox_hi : out_w;
    ox_hi = ox_hi > ox_lo ? ox_hi : ox_lo;
    const int32_t pairs = (ox_hi - ox_lo) / 2;
    const int32_t pairs_end = ox_lo + 2 * pairs;
    const int full = p->act_min <= -128 && p->act_max >= 127;
    for (int32_t b = 0; b < batches; ++b) {
        for (int32_t oy = 0; oy < c->out_h; ++oy) {
            const int32_t in_y0 = oy * p->stride_h - p->pad_h;
            const int32_t fy_lo = in_y0 < 0 ? -in_y0 : 0;
            const int32_t fy_hi = in_y0 + c->f_h > c->in_h ? c->in_h - in_y0 : c->f_h;
            const int32_t rows = fy_hi - fy_lo;
            for (int32_t ox = 0; ox < out_w; ++ox) {
                if (ox == ox_lo && rows > 0) {
                    ox = pairs_end; /* the interior pairs are made below */
                    if (ox >= out_w) {
                        break;
                    }
                }
                for (int32_t oc = 0; oc < out_c; ++oc) {
                    conv_one(c, b, oy, ox, oc);
                }
            }
            if (pairs == 0 || rows <= 0) {
                continue;
            }
            const int8_t *x_base = c->input + ((size_t)b * c->in_h + in_y0 + fy_lo) * in_row +
                                   (ox_lo * p->stride_w - p->pad_w) * in_c;
            int8_t *o_base = c->output + (((size_t)b * c->out_h + oy) * out_w + ox_lo) * out_c;
            for (int32_t oc = 0; oc + 1 < out_c; oc += 2) {
                conv_pair_row(c, oc, fy_lo, rows, x_base, o_base + oc, pairs, full);
            }
            if (out_c & 1) {
                for (int32_t ox = ox_lo; ox < pairs_end; ++ox) {
                    conv_one(c, b, oy, ox, out_c - 1);
                }
            }
        }
    }
    return 1;
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
                              f_h,    f_w,   out_h, out_w, out_c,
                              input + (size_t)input_dims->n * in_h * in_w * in_c};
        if (conv_dsp(&c, input_dims->n)) {
            return WS_OK;
        }
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

/* ---------------------------------------------------------------- operator */

/* CONV_2D and DEPTHWISE_CONV_2D share their validation: operands, options, output
 * shape, bias and per-channel requantization (ws_nn_set_arena computes it). */
ws_status_t ws_nn_prepare_conv_s8(const ws_nn_op_view_t *v, ws_nn_op_t *op, int depthwise)
{
    ws_nn_model_t *m = v->m;
    if (v->n_in < 2 || v->n_in > 3 || v->in[0] < 0 || v->in[1] < 0) {
        return WS_ERR_NN_INDEX;
    }
    if (!v->has_options || v->options_type != (depthwise ? WS_NN_OPT_DEPTHWISE : WS_NN_OPT_CONV)) {
        return WS_ERR_NN_OPTIONS;
    }
    ws_nn_tensor_t *in = ws_nn_tensor(m, v->in[0]), *w = ws_nn_tensor(m, v->in[1]);
    ws_nn_tensor_t *out = ws_nn_tensor(m, v->out);
    if (!ws_nn_is_activation(in, WS_NN_TYPE_INT8) || !ws_nn_is_activation(out, WS_NN_TYPE_INT8)) {
        return WS_ERR_NN_TYPE;
    }
    if (in->rank != 4 || w->rank != 4 || out->rank != 4) {
        return WS_ERR_NN_SHAPE;
    }
    WS_NN_CHECK(ws_nn_check_activation_q(in));
    WS_NN_CHECK(ws_nn_check_activation_q(out));
    int64_t padding, sw, sh, act, dw, dh, mult = 1;
    uint32_t base = depthwise ? 1 : 0;
    WS_NN_CHECK(ws_nn_op_option(v, 0, 1, 0, &padding));
    WS_NN_CHECK(ws_nn_op_option(v, 1, 4, 0, &sw));
    WS_NN_CHECK(ws_nn_op_option(v, 2, 4, 0, &sh));
    if (depthwise) {
        WS_NN_CHECK(ws_nn_op_option(v, 3, 4, 0, &mult));
    }
    WS_NN_CHECK(ws_nn_op_option(v, 3 + base, 1, 0, &act));
    WS_NN_CHECK(ws_nn_op_option(v, 4 + base, 4, 1, &dw));
    WS_NN_CHECK(ws_nn_op_option(v, 5 + base, 4, 1, &dh));
    if (sw < 1 || sh < 1 || dw < 1 || dh < 1 || sw > 4096 || sh > 4096 || dw > 4096 || dh > 4096 ||
        mult < 1 || mult > 4096) {
        return WS_ERR_NN_OPTIONS;
    }
    int32_t channels;
    if (depthwise) {
        channels = w->dims[3];
        if (w->dims[0] != 1 || (int64_t)in->dims[3] * mult != channels) {
            return WS_ERR_NN_SHAPE;
        }
        WS_NN_CHECK(ws_nn_check_weights(w, 3, channels));
    } else {
        channels = w->dims[0];
        if (w->dims[3] != in->dims[3]) {
            return WS_ERR_NN_SHAPE; /* grouped convolutions are not supported */
        }
        WS_NN_CHECK(ws_nn_check_weights(w, 0, channels));
    }
    int32_t out_h, out_w, pad_h, pad_w;
    WS_NN_CHECK(ws_nn_padded_size(padding, in->dims[1], w->dims[1], (int32_t)sh, (int32_t)dh, &out_h,
                                  &pad_h));
    WS_NN_CHECK(ws_nn_padded_size(padding, in->dims[2], w->dims[2], (int32_t)sw, (int32_t)dw, &out_w,
                                  &pad_w));
    if (out->dims[0] != in->dims[0] || out->dims[1] != out_h || out->dims[2] != out_w ||
        out->dims[3] != channels) {
        return WS_ERR_NN_SHAPE;
    }
    int32_t bias = v->n_in == 3 ? v->in[2] : -1;
    WS_NN_CHECK(ws_nn_check_bias(m, bias, in, w, channels));
    for (int32_t c = 0; c < channels; ++c) {
        WS_NN_CHECK(ws_nn_check_multiplier(
            (double)in->scale * (double)ws_nn_tensor_scale(m, w, (uint32_t)c) / (double)out->scale));
    }
    ws_nn_conv_params_t *p = &op->p.conv;
    p->input_offset = -in->zero_point;
    p->output_offset = out->zero_point;
    p->stride_h = (int32_t)sh;
    p->stride_w = (int32_t)sw;
    p->dilation_h = (int32_t)dh;
    p->dilation_w = (int32_t)dw;
    p->pad_h = pad_h;
    p->pad_w = pad_w;
    p->depth_multiplier = (int32_t)mult;
    WS_NN_CHECK(ws_nn_activation_range(act, out, &p->act_min, &p->act_max));
    op->channels = (uint32_t)channels;
    uint64_t per_output = depthwise ? (uint64_t)w->dims[1] * w->dims[2]
                                    : (uint64_t)w->dims[1] * w->dims[2] * w->dims[3];
    op->macs = (uint64_t)out->dims[0] * out_h * out_w * channels * per_output;
    return WS_OK;
}

ws_status_t ws_nn_prepare_conv_2d(const ws_nn_op_view_t *v, ws_nn_op_t *op)
{
    return ws_nn_prepare_conv_s8(v, op, 0);
}

ws_status_t ws_nn_eval_conv_2d(ws_nn_model_t *m, const ws_nn_op_t *op)
{
    const ws_nn_per_channel_quant_t quant = ws_nn_op_quant(m, op);
    const ws_nn_dims_t di = ws_nn_dims_of(&m->tensors[op->inputs[0]]);
    const ws_nn_dims_t dw = ws_nn_dims_of(&m->tensors[op->inputs[1]]);
    const ws_nn_dims_t dout = ws_nn_dims_of(&m->tensors[op->output]);
    const int32_t *bias = op->inputs[2] >= 0 ? ws_nn_tensor_data(m, op->inputs[2]) : NULL;
    return ws_nn_conv_s8(&op->p.conv, &quant, &di, ws_nn_tensor_data(m, op->inputs[0]), &dw,
                         ws_nn_tensor_data(m, op->inputs[1]), bias, &dout, ws_nn_output_ptr(m, op),
                         NULL);
}
