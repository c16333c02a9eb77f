/* DEPTHWISE_CONV_2D, int8 per-channel: TFLM's reference_integer_ops::DepthwiseConvPerChannel. */
#include "nn_quant.h"
#include "nn_op.h"

size_t ws_nn_depthwise_conv_s8_scratch_size(const ws_nn_dims_t *input_dims,
                                            const ws_nn_dims_t *filter_dims)
{
    (void)input_dims;
    (void)filter_dims;
    return 0;
}

#if defined(WS_NN_DSP) && WS_NN_DSP
#include <arm_acle.h>
#include <string.h>

/* Optimised build, depth multiplier 1, no dilation: one output pixel, four channels
 * at a time (contiguous in input, filter and output), the valid filter window
 * computed once. Per tap: one word of input and one of filter, SXTAB16/SXTB16 widen
 * them to int16 pairs (channels 0,2 and 1,3; the input offset added in the same
 * instruction), and SMLABB/SMLATT do the four multiply-accumulates. Integer addition
 * modulo 2^32 is associative, so the bytes equal the reference loop's. */
static inline uint32_t dw_load4(const int8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v); /* one LDR: the M4 allows unaligned word loads */
    return v;
}

static inline int16x2_t dw_sxtb16_ror8(uint32_t x)
{
    int16x2_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

static inline int16x2_t dw_sxtab16_ror8(uint32_t a, uint32_t x)
{
    int16x2_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
    return r;
}

/* n taps of four channels (a step of `step` bytes between taps) into acc[0..3]. Kept
 * out of line: inlined into the position loop, GCC spills the accumulators. */
static __attribute__((noinline)) void dw_taps4(const int8_t *ip, const int8_t *fp, int32_t n,
                                               int32_t step, uint32_t off2, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    for (int32_t t = 0; t < n; ++t, ip += step, fp += step) {
        const uint32_t xw = dw_load4(ip), fw = dw_load4(fp);
        const int16x2_t x02 = __sxtab16(off2, xw), x13 = dw_sxtab16_ror8(off2, xw);
        const int16x2_t f02 = __sxtb16(fw), f13 = dw_sxtb16_ror8(fw);
        a0 = __smlabb(f02, x02, a0);
        a2 = __smlatt(f02, x02, a2);
        a1 = __smlabb(f13, x13, a1);
        a3 = __smlatt(f13, x13, a3);
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* n >= 1 taps of four channels without input offset (folded into the bias), in
 * assembly so the loop keeps its 13 registers: per tap two loads, four SXTB16 and
 * four SMLABB/SMLATT. */
static inline __attribute__((always_inline)) void dw_taps4_fold(const int8_t *ip, const int8_t *fp,
                                                                int32_t n, int32_t step,
                                                                int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t o, xw, fw, x02, f02;
    const int32_t end = n * step;
    __asm__ volatile("mov %[o], #0\n"
                     "1:\n\t"
                     "ldr %[xw], [%[ip], %[o]]\n\t"
                     "ldr %[fw], [%[fp], %[o]]\n\t"
                     "add %[o], %[o], %[step]\n\t"
                     "sxtb16 %[x02], %[xw]\n\t"
                     "sxtb16 %[xw], %[xw], ror #8\n\t"
                     "sxtb16 %[f02], %[fw]\n\t"
                     "sxtb16 %[fw], %[fw], ror #8\n\t"
                     "smlabb %[a0], %[f02], %[x02], %[a0]\n\t"
                     "smlatt %[a2], %[f02], %[x02], %[a2]\n\t"
                     "smlabb %[a1], %[fw], %[xw], %[a1]\n\t"
                     "smlatt %[a3], %[fw], %[xw], %[a3]\n\t"
                     "cmp %[o], %[end]\n\t"
                     "blt 1b"
                     : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [o] "=&r"(o),
                       [xw] "=&r"(xw), [fw] "=&r"(fw), [x02] "=&r"(x02), [f02] "=&r"(f02)
                     : [ip] "r"(ip), [fp] "r"(fp), [step] "r"(step), [end] "r"(end)
                     : "cc", "memory");
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* Four channels ic..ic+3 of every output position of one output row. */
static inline __attribute__((always_inline)) void
dw_row4(const ws_nn_conv_params_t *params, const ws_nn_rq_t rq[4], const ws_nn_rqs_t rs[4],
        const int32_t bias4[4], const int32_t fbias4[4], const int8_t *in_rows,
        const int8_t *f_rows, int32_t rows, int32_t f_h, int32_t in_w, int32_t in_c, int32_t f_w,
        int32_t out_w, int8_t *out, const int full, const int small)
{
    const int32_t k = 1 + 2 * params->output_offset;
    const uint32_t off2 = ((uint32_t)params->input_offset & 0xFFFFu) * 0x00010001u;
    const int32_t out_off = params->output_offset, lo = params->act_min, hi = params->act_max;
    const int32_t in_row = in_w * in_c, f_row = f_w * in_c;
    /* interior positions (the whole window inside the input): a tight loop */
    int32_t ox_lo = (params->pad_w + params->stride_w - 1) / params->stride_w;
    const int32_t last = in_w - f_w + params->pad_w;
    int32_t ox_hi = last >= 0 ? last / params->stride_w + 1 : 0;
    ox_lo = ox_lo < out_w ? ox_lo : out_w;
    ox_hi = ox_hi < out_w ? ox_hi : out_w;
    if (!(small && rows == f_h && f_h == 1) || ox_hi <= ox_lo) {
        ox_lo = ox_hi = out_w; /* none: every position takes the general path */
    }
    for (int32_t ox = 0; ox < out_w; ++ox, out += in_c) {
        if (ox == ox_lo) {
            const int8_t *ip = in_rows + (ox_lo * params->stride_w - params->pad_w) * in_c;
            const int32_t ip_step = params->stride_w * in_c;
            for (; ox < ox_hi; ++ox, out += in_c, ip += ip_step) {
                int32_t acc[4] = {fbias4[0], fbias4[1], fbias4[2], fbias4[3]};
                dw_taps4_fold(ip, f_rows, f_w, in_c, acc);
                if (full) {
                    out[0] = (int8_t)ws_nn_rqs_ssat8(acc[0], rs[0].multiplier, rs[0].rm1, k);
                    out[1] = (int8_t)ws_nn_rqs_ssat8(acc[1], rs[1].multiplier, rs[1].rm1, k);
                    out[2] = (int8_t)ws_nn_rqs_ssat8(acc[2], rs[2].multiplier, rs[2].rm1, k);
                    out[3] = (int8_t)ws_nn_rqs_ssat8(acc[3], rs[3].multiplier, rs[3].rm1, k);
                } else {
                    out[0] = (int8_t)ws_nn_clamp(ws_nn_rqs_off(acc[0], rs[0].multiplier, rs[0].rm1, k), lo, hi);
                    out[1] = (int8_t)ws_nn_clamp(ws_nn_rqs_off(acc[1], rs[1].multiplier, rs[1].rm1, k), lo, hi);
                    out[2] = (int8_t)ws_nn_clamp(ws_nn_rqs_off(acc[2], rs[2].multiplier, rs[2].rm1, k), lo, hi);
                    out[3] = (int8_t)ws_nn_clamp(ws_nn_rqs_off(acc[3], rs[3].multiplier, rs[3].rm1, k), lo, hi);
                }
            }
            if (ox >= out_w) {
                break;
            }
        }
        const int32_t in_x0 = ox * params->stride_w - params->pad_w;
        const int32_t fx_lo = in_x0 < 0 ? -in_x0 : 0;
        const int32_t fx_hi = in_x0 + f_w > in_w ? in_w - in_x0 : f_w;
        int32_t a0, a1, a2, a3;
        const int8_t *ip_row = in_rows + (in_x0 + fx_lo) * in_c, *fp_row = f_rows + fx_lo * in_c;
        int32_t acc[4];
        if (fx_hi - fx_lo == f_w && rows == f_h) {
            /* the whole window: the input offset is in the folded bias */
            acc[0] = fbias4[0];
            acc[1] = fbias4[1];
            acc[2] = fbias4[2];
            acc[3] = fbias4[3];
            for (int32_t r = 0; r < rows; ++r, ip_row += in_row, fp_row += f_row) {
                dw_taps4_fold(ip_row, fp_row, f_w, in_c, acc);
            }
        } else {
            acc[0] = bias4[0];
            acc[1] = bias4[1];
            acc[2] = bias4[2];
            acc[3] = bias4[3];
            for (int32_t r = 0; r < rows; ++r, ip_row += in_row, fp_row += f_row) {
                dw_taps4(ip_row, fp_row, fx_hi - fx_lo, in_c, off2, acc);
            }
        }
        if (small && full) {
            out[0] = (int8_t)ws_nn_rqs_ssat8(acc[0], rs[0].multiplier, rs[0].rm1, k);
            out[1] = (int8_t)ws_nn_rqs_ssat8(acc[1], rs[1].multiplier, rs[1].rm1, k);
            out[2] = (int8_t)ws_nn_rqs_ssat8(acc[2], rs[2].multiplier, rs[2].rm1, k);
            out[3] = (int8_t)ws_nn_rqs_ssat8(acc[3], rs[3].multiplier, rs[3].rm1, k);
            continue;
        }
        if (small) {
            out[0] = (int8_t)ws_nn_clamp(ws_nn_rqs_off(acc[0], rs[0].multiplier, rs[0].rm1, k), lo, hi);
            out[1] = (int8_t)ws_nn_clamp(ws_nn_rqs_off(acc[1], rs[1].multiplier, rs[1].rm1, k), lo, hi);
            out[2] = (int8_t)ws_nn_clamp(ws_nn_rqs_off(acc[2], rs[2].multiplier, rs[2].rm1, k), lo, hi);
            out[3] = (int8_t)ws_nn_clamp(ws_nn_rqs_off(acc[3], rs[3].multiplier, rs[3].rm1, k), lo, hi);
            continue;
        }
        a0 = acc[0];
        a1 = acc[1];
        a2 = acc[2];
        a3 = acc[3];
        a0 = WS_NN_RQ(a0, rq[0]) + out_off;
        a1 = WS_NN_RQ(a1, rq[1]) + out_off;
        a2 = WS_NN_RQ(a2, rq[2]) + out_off;
        a3 = WS_NN_RQ(a3, rq[3]) + out_off;
        if (full) {
            out[0] = (int8_t)__ssat(a0, 8);
            out[1] = (int8_t)__ssat(a1, 8);
            out[2] = (int8_t)__ssat(a2, 8);
            out[3] = (int8_t)__ssat(a3, 8);
        } else {
            out[0] = (int8_t)ws_nn_clamp(a0, lo, hi);
            out[1] = (int8_t)ws_nn_clamp(a1, lo, hi);
            out[2] = (int8_t)ws_nn_clamp(a2, lo, hi);
            out[3] = (int8_t)ws_nn_clamp(a3, lo, hi);
        }
    }
}

/* Depth multiplier 1, no dilation: per output row, four channels at a time over all
 * positions (their requantization prepared once), the valid window of each position
 * computed once. Channels beyond a multiple of four: one at a time. Returns 0 (not
 * done) when a multiplier is INT32_MIN, which only the reference path saturates. */
static int dw_mult1(const ws_nn_conv_params_t *params, const ws_nn_per_channel_quant_t *quant,
                    const ws_nn_dims_t *input_dims, const int8_t *input,
                    const ws_nn_dims_t *filter_dims, const int8_t *filter, const int32_t *bias,
                    const ws_nn_dims_t *output_dims, int8_t *output)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t f_h = filter_dims->h, f_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    if (!ws_nn_rq_ok(quant->multiplier, in_c)) {
        return 0;
    }
    const int full = params->act_min <= -128 && params->act_max >= 127;
    const int32_t off = params->input_offset, out_off = params->output_offset;
    for (int32_t b = 0; b < input_dims->n; ++b) {
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t in_y0 = oy * params->stride_h - params->pad_h;
            const int32_t fy_lo = in_y0 < 0 ? -in_y0 : 0;
            const int32_t fy_hi = in_y0 + f_h > in_h ? in_h - in_y0 : f_h;
            const int32_t rows = fy_hi > fy_lo ? fy_hi - fy_lo : 0;
            const int8_t *in_rows = input + ((size_t)b * in_h + in_y0 + fy_lo) * in_w * in_c;
            const int8_t *f_rows = filter + (size_t)fy_lo * f_w * in_c;
            int8_t *out_row = output + ((size_t)b * out_h + oy) * out_w * in_c;
            int32_t ic = 0;
            for (; ic + 4 <= in_c; ic += 4) {
                ws_nn_rq_t rq[4];
                ws_nn_rqs_t rs[4];
                int32_t bias4[4], fbias4[4];
                int small = 1;
                for (int32_t k = 0; k < 4; ++k) {
                    rq[k] = ws_nn_rq_make(quant->multiplier[ic + k], quant->shift[ic + k]);
                    rs[k] = ws_nn_rqs_make(quant->multiplier[ic + k], quant->shift[ic + k]);
                    bias4[k] = bias ? bias[ic + k] : 0;
                    int32_t fsum = 0; /* the channel's filter over the whole window */
                    for (int32_t t = 0; t < f_h * f_w; ++t) {
                        fsum += filter[(size_t)t * in_c + ic + k];
                    }
                    fbias4[k] = ws_nn_add_wrap(bias4[k], (int32_t)((uint32_t)fsum * (uint32_t)off));
                    /* |acc| <= |bias| + taps * 128 * 255, and with the offset folded
                     * |bias'| + taps * 128 * 128 */
                    const uint64_t taps128 = (uint64_t)f_h * (uint64_t)f_w * 128u;
                    small = small && rs[k].ok &&
                            ws_nn_acc_bound(bias4[k], taps128, 255) < WS_NN_RQS_LIMIT &&
                            ws_nn_acc_bound(fbias4[k], taps128, 128) < WS_NN_RQS_LIMIT;
                }
                const int8_t *ir = in_rows + ic, *fr = f_rows + ic;
                int8_t *orow = out_row + ic;
                if (small && full) {
                    dw_row4(params, rq, rs, bias4, fbias4, ir, fr, rows, f_h, in_w, in_c, f_w, out_w, orow, 1, 1);
                } else if (small) {
                    dw_row4(params, rq, rs, bias4, fbias4, ir, fr, rows, f_h, in_w, in_c, f_w, out_w, orow, 0, 1);
                } else if (full) {
                    dw_row4(params, rq, rs, bias4, fbias4, ir, fr, rows, f_h, in_w, in_c, f_w, out_w, orow, 1, 0);
                } else {
                    dw_row4(params, rq, rs, bias4, fbias4, ir, fr, rows, f_h, in_w, in_c, f_w, out_w, orow, 0, 0);
                }
            }
            for (; ic < in_c; ++ic) {
                const ws_nn_rq_t rq = ws_nn_rq_make(quant->multiplier[ic], quant->shift[ic]);
                for (int32_t ox = 0; ox < out_w; ++ox) {
                    const int32_t in_x0 = ox * params->stride_w - params->pad_w;
                    const int32_t fx_lo = in_x0 < 0 ? -in_x0 : 0;
                    const int32_t fx_hi = in_x0 + f_w > in_w ? in_w - in_x0 : f_w;
                    int32_t a = bias ? bias[ic] : 0;
                    for (int32_t r = 0; r < rows; ++r) {
                        const int8_t *ip = in_rows + ((size_t)r * in_w + in_x0) * in_c + ic;
                        const int8_t *fp = f_rows + (size_t)r * f_w * in_c + ic;
                        for (int32_t t = fx_lo; t < fx_hi; ++t) {
                            a = ws_nn_add_wrap(a, (int32_t)fp[t * in_c] * ((int32_t)ip[t * in_c] + off));
                        }
                    }
                    out_row[(size_t)ox * in_c + ic] = (int8_t)ws_nn_clamp(
                        WS_NN_RQ(a, rq) + out_off, params->act_min, params->act_max);
                }
            }
        }
    }
    return 1;
}

/* n taps of four output channels oc..oc+3 of a depth multiplier M > 1 into acc[0..3]:
 * the filter word holds the four channels of a tap; channels oc, oc+1 read input
 * channel oc / M (at ip), oc+2, oc+3 input channel (oc+2) / M: the same one when M is
 * a multiple of 4 (`same`), the next one (ip + 1) when M = 2. The two input bytes go to bytes
 * 0 and 2 of a word, SXTAB16 widens them with the input offset added (an int16 pair),
 * and SMLABB/SMLATT multiply it with the filter's int16 pairs (channels 0,2 and 1,3). */
static inline __attribute__((always_inline)) void
dwm_taps4(const uint8_t *ip, const int8_t *fp, int32_t n, int32_t in_step, int32_t f_step,
          uint32_t off2, int32_t acc[4], const int same)
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    uint32_t xw, fw, t;
    if (same) { /* M a multiple of 4: one input channel for the four */
        __asm__ volatile("1:\n\t"
                         "ldrb %[xw], [%[ip]]\n\t"
                         "add %[ip], %[ip], %[is]\n\t"
                         "orr %[xw], %[xw], %[xw], lsl #16\n\t"
                         "sxtab16 %[xw], %[off2], %[xw]\n\t"
                         "ldr %[fw], [%[fp]]\n\t"
                         "add %[fp], %[fp], %[fs]\n\t"
                         "sxtb16 %[t], %[fw]\n\t"
                         "sxtb16 %[fw], %[fw], ror #8\n\t"
                         "smlabb %[a0], %[t], %[xw], %[a0]\n\t"
                         "smlatt %[a2], %[t], %[xw], %[a2]\n\t"
                         "smlabb %[a1], %[fw], %[xw], %[a1]\n\t"
                         "smlatt %[a3], %[fw], %[xw], %[a3]\n\t"
                         "subs %[n], %[n], #1\n\t"
                         "bne 1b"
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),
                           [ip] "+r"(ip), [fp] "+r"(fp), [n] "+r"(n), [xw] "=&r"(xw),
                           [fw] "=&r"(fw), [t] "=&r"(t)
                         : [is] "r"(in_step), [fs] "r"(f_step), [off2] "r"(off2)
                         : "cc", "memory");
    } else { /* M = 2: input channels ic (channels 0, 1) and ic + 1 (channels 2, 3) */
        __asm__ volatile("1:\n\t"
                         "ldrb %[xw], [%[ip]]\n\t"
                         "ldrb %[t], [%[ip], #1]\n\t"
                         "add %[ip], %[ip], %[is]\n\t"
                         "orr %[xw], %[xw], %[t], lsl #16\n\t"
                         "sxtab16 %[xw], %[off2], %[xw]\n\t"
                         "ldr %[fw], [%[fp]]\n\t"
                         "add %[fp], %[fp], %[fs]\n\t"
                         "sxtb16 %[t], %[fw]\n\t"
                         "sxtb16 %[fw], %[fw], ror #8\n\t"
                         "smlabb %[a0], %[t], %[xw], %[a0]\n\t"
                         "smlatt %[a2], %[t], %[xw], %[a2]\n\t"
                         "smlabb %[a1], %[fw], %[xw], %[a1]\n\t"
                         "smlatt %[a3], %[fw], %[xw], %[a3]\n\t"
                         "subs %[n], %[n], #1\n\t"
                         "bne 1b"
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),
                           [ip] "+r"(ip), [fp] "+r"(fp), [n] "+r"(n), [xw] "=&r"(xw),
                           [fw] "=&r"(fw), [t] "=&r"(t)
                         : [is] "r"(in_step), [fs] "r"(f_step), [off2] "r"(off2)
                         : "cc", "memory");
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* Four output channels oc..oc+3 (M > 1) of every position of one output row; out of
 * line, one copy per requantisation form, so the tap loop keeps its registers. */
static __attribute__((noinline)) void
dwm_row4(const ws_nn_conv_params_t *params, const ws_nn_rq_t rq[4], const ws_nn_rqs_t rs[4],
         const int32_t bias4[4], const int8_t *in_rows, int32_t i_lo, int32_t i_hi,
         const int8_t *f_rows, int32_t rows, int32_t in_w, int32_t in_c, int32_t f_w,
         int32_t out_c, int32_t out_w, int8_t *out, const int small, const int full)
{
    const int32_t k = 1 + 2 * params->output_offset;
    const uint32_t off2 = ((uint32_t)params->input_offset & 0xFFFFu) * 0x00010001u;
    const int32_t out_off = params->output_offset, lo = params->act_min, hi = params->act_max;
    const int32_t in_row = in_w * in_c, f_row = f_w * out_c;
    const int same = i_lo == i_hi; /* else i_hi = i_lo + 1 (M = 2) */
    for (int32_t ox = 0; ox < out_w; ++ox, out += out_c) {
        const int32_t in_x0 = ox * params->stride_w - params->pad_w;
        const int32_t fx_lo = in_x0 < 0 ? -in_x0 : 0;
        const int32_t fx_hi = in_x0 + f_w > in_w ? in_w - in_x0 : f_w;
        const int32_t n = fx_hi - fx_lo;
        const uint8_t *ip = (const uint8_t *)in_rows + (in_x0 + fx_lo) * in_c;
        const int8_t *fp = f_rows + fx_lo * out_c;
        int32_t acc[4] = {bias4[0], bias4[1], bias4[2], bias4[3]};
        for (int32_t r = 0; r < rows && n > 0; ++r, ip += in_row, fp += f_row) {
            if (same) {
                dwm_taps4(ip + i_lo, fp, n, in_c, out_c, off2, acc, 1);
            } else {
                dwm_taps4(ip + i_lo, fp, n, in_c, out_c, off2, acc, 0);
            }
        }
        if (small && full) { /* |acc| < 2^29, right shifts, the whole int8 range */
            out[0] = (int8_t)ws_nn_rqs_ssat8(acc[0], rs[0].multiplier, rs[0].rm1, k);
            out[1] = (int8_t)ws_nn_rqs_ssat8(acc[1], rs[1].multiplier, rs[1].rm1, k);
            out[2] = (int8_t)ws_nn_rqs_ssat8(acc[2], rs[2].multiplier, rs[2].rm1, k);
            out[3] = (int8_t)ws_nn_rqs_ssat8(acc[3], rs[3].multiplier, rs[3].rm1, k);
        } else if (small) {
            for (int32_t c = 0; c < 4; ++c) {
                out[c] = (int8_t)ws_nn_clamp(ws_nn_rqs_off(acc[c], rs[c].multiplier, rs[c].rm1, k),
                                             lo, hi);
            }
        } else {
            for (int32_t c = 0; c < 4; ++c) {
                out[c] = (int8_t)ws_nn_clamp(WS_NN_RQ(acc[c], rq[c]) + out_off, lo, hi);
            }
        }
    }
}

/* Depth multiplier M = 2 or a multiple of 4, no dilation: per output row, four output
 * channels at a time over all positions (their requantization prepared once); with
 * M = 2 and an odd input depth the last two channels one at a time. Returns 0 (not
 * done) when a multiplier is INT32_MIN, which only the reference path saturates. */
static int dw_multn(const ws_nn_conv_params_t *params, const ws_nn_per_channel_quant_t *quant,
                    const ws_nn_dims_t *input_dims, const int8_t *input,
                    const ws_nn_dims_t *filter_dims, const int8_t *filter, const int32_t *bias,
                    const ws_nn_dims_t *output_dims, int8_t *output)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t f_h = filter_dims->h, f_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t mult = params->depth_multiplier;
    if (!ws_nn_rq_ok(quant->multiplier, out_c)) {
        return 0;
    }
    const int full = params->act_min <= -128 && params->act_max >= 127;
    const int32_t off = params->input_offset, out_off = params->output_offset;
    const uint64_t taps128 = (uint64_t)f_h * (uint64_t)f_w * 128u;
    for (int32_t b = 0; b < input_dims->n; ++b) {
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t in_y0 = oy * params->stride_h - params->pad_h;
            const int32_t fy_lo = in_y0 < 0 ? -in_y0 : 0;
            const int32_t fy_hi = in_y0 + f_h > in_h ? in_h - in_y0 : f_h;
            const int32_t rows = fy_hi > fy_lo ? fy_hi - fy_lo : 0;
            const int8_t *in_rows = input + ((size_t)b * in_h + in_y0 + fy_lo) * in_w * in_c;
            const int8_t *f_rows = filter + (size_t)fy_lo * f_w * out_c;
            int8_t *out_row = output + ((size_t)b * out_h + oy) * out_w * out_c;
            int32_t oc = 0;
            for (; oc + 4 <= out_c; oc += 4) {
                ws_nn_rq_t rq[4];
                ws_nn_rqs_t rs[4];
                int32_t bias4[4];
                int small = 1;
                for (int32_t c = 0; c < 4; ++c) {
                    rq[c] = ws_nn_rq_make(quant->multiplier[oc + c], quant->shift[oc + c]);
                    rs[c] = ws_nn_rqs_make(quant->multiplier[oc + c], quant->shift[oc + c]);
                    bias4[c] = bias ? bias[oc + c] : 0;
                    /* |acc| <= |bias| + taps * 128 * 255 */
                    small = small && rs[c].ok &&
                           ws_nn_acc_bound(bias4[c], taps128, 255) < WS_NN_RQS_LIMIT;
                }
                const int32_t i_lo = oc / mult, i_hi = (oc + 2) / mult;
                int8_t *orow = out_row + oc;
                if (small && full) {
                    dwm_row4(params, rq, rs, bias4, in_rows, i_lo, i_hi, f_rows + oc, rows, in_w,
                             in_c, f_w, out_c, out_w, orow, 1, 1);
                } else if (small) {
                    dwm_row4(params, rq, rs, bias4, in_rows, i_lo, i_hi, f_rows + oc, rows, in_w,
                             in_c, f_w, out_c, out_w, orow, 1, 0);
                } else {
                    dwm_row4(params, rq, rs, bias4, in_rows, i_lo, i_hi, f_rows + oc, rows, in_w,
                             in_c, f_w, out_c, out_w, orow, 0, full);
                }
            }
            for (; oc < out_c; ++oc) {
                const ws_nn_rq_t rq = ws_nn_rq_make(quant->multiplier[oc], quant->shift[oc]);
                const int32_t ic = oc / mult;
                for (int32_t ox = 0; ox < out_w; ++ox) {
                    const int32_t in_x0 = ox * params->stride_w - params->pad_w;
                    const int32_t fx_lo = in_x0 < 0 ? -in_x0 : 0;
                    const int32_t fx_hi = in_x0 + f_w > in_w ? in_w - in_x0 : f_w;
                    int32_t a = bias ? bias[oc] : 0;
                    for (int32_t r = 0; r < rows; ++r) {
                        const int8_t *ip = in_rows + ((size_t)r * in_w + in_x0) * in_c + ic;
                        const int8_t *fp = f_rows + (size_t)r * f_w * out_c + oc;
                        for (int32_t t = fx_lo; t < fx_hi; ++t) {
                            a = ws_nn_add_wrap(a, (int32_t)fp[t * out_c] * ((int32_t)ip[t * in_c] + off));
                        }
                    }
                    out_row[(size_t)ox * out_c + oc] = (int8_t)ws_nn_clamp(
                        WS_NN_RQ(a, rq) + out_off, params->act_min, params->act_max);
                }
            }
        }
    }
    return 1;
}
#endif

ws_status_t ws_nn_depthwise_conv_s8(const ws_nn_conv_params_t *params,
                                    const ws_nn_per_channel_quant_t *quant,
                                    const ws_nn_dims_t *input_dims, const int8_t *input,
                                    const ws_nn_dims_t *filter_dims, const int8_t *filter,
                                    const int32_t *bias, const ws_nn_dims_t *output_dims,
                                    int8_t *output, void *scratch)
{
    (void)scratch;
    if (!params || !quant || !input_dims || !input || !filter_dims || !filter || !output_dims ||
        !output || params->depth_multiplier < 1 ||
        output_dims->c != input_dims->c * params->depth_multiplier || filter_dims->c != output_dims->c) {
        return WS_ERR_ARG;
    }
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t f_h = filter_dims->h, f_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t mult = params->depth_multiplier;
#if defined(WS_NN_DSP) && WS_NN_DSP
    if (mult == 1 && params->dilation_h == 1 && params->dilation_w == 1 &&
        dw_mult1(params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output)) {
        return WS_OK;
    }
    if ((mult == 2 || mult % 4 == 0) && params->dilation_h == 1 && params->dilation_w == 1 &&
        dw_multn(params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output)) {
        return WS_OK;
    }
#endif
    for (int32_t b = 0; b < input_dims->n; ++b) {
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t in_y0 = oy * params->stride_h - params->pad_h;
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t in_x0 = ox * params->stride_w - params->pad_w;
                for (int32_t ic = 0; ic < in_c; ++ic) {
                    for (int32_t m = 0; m < mult; ++m) {
                        const int32_t oc = m + ic * mult;
                        int32_t acc = 0;
                        for (int32_t fy = 0; fy < f_h; ++fy) {
                            const int32_t in_y = in_y0 + params->dilation_h * fy;
                            for (int32_t fx = 0; fx < f_w; ++fx) {
                                const int32_t in_x = in_x0 + params->dilation_w * fx;
                                if (in_x < 0 || in_x >= in_w || in_y < 0 || in_y >= in_h) {
                                    continue;
                                }
                                int32_t in_val =
                                    input[(((size_t)b * in_h + in_y) * in_w + in_x) * in_c + ic];
                                int32_t f_val = filter[((size_t)fy * f_w + fx) * out_c + oc];
                                acc = ws_nn_add_wrap(acc, f_val * (in_val + params->input_offset));
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
    }
    return WS_OK;
}

/* ---------------------------------------------------------------- operator */

ws_status_t ws_nn_prepare_depthwise_conv_2d(const ws_nn_op_view_t *v, ws_nn_op_t *op)
{
    return ws_nn_prepare_conv_s8(v, op, 1);
}

ws_status_t ws_nn_eval_depthwise_conv_2d(ws_nn_model_t *m, const ws_nn_op_t *op)
{
    const ws_nn_per_channel_quant_t quant = ws_nn_op_quant(m, op);
    const ws_nn_dims_t di = ws_nn_dims_of(&m->tensors[op->inputs[0]]);
    const ws_nn_dims_t dw = ws_nn_dims_of(&m->tensors[op->inputs[1]]);
    const ws_nn_dims_t dout = ws_nn_dims_of(&m->tensors[op->output]);
    const int32_t *bias = op->inputs[2] >= 0 ? ws_nn_tensor_data(m, op->inputs[2]) : NULL;
    return ws_nn_depthwise_conv_s8(&op->p.conv, &quant, &di, ws_nn_tensor_data(m, op->inputs[0]),
                                   &dw, ws_nn_tensor_data(m, op->inputs[1]), bias, &dout,
                                   ws_nn_output_ptr(m, op), NULL);
}

/* In place (memory_planner.c): depth multiplier 1, no dilation, 1-D ([1, 1, W, C]), the
 * input's last use: output position x only needs input positions >= s*x - p, and
 * every kernel writes output x (per channel) after reading its window, so output x
 * may overwrite input position x + d (same channel: delta = d * C) for every
 * d < s - p, the most negative future read being s(x+1) - p. delta is the largest
 * such multiple of C that keeps 16-byte alignment. */
int32_t ws_nn_in_place_depthwise_conv_2d(const ws_nn_model_t *m, const ws_nn_op_t *op,
                                         uint32_t op_index, const int8_t *paired, int32_t *delta)
{
    const ws_nn_tensor_t *ti = &m->tensors[op->inputs[0]];
    const ws_nn_tensor_t *to = &m->tensors[op->output];
    const ws_nn_conv_params_t *p = &op->p.conv;
    const int32_t c = ti->dims[3];
    if (p->depth_multiplier == 1 && p->dilation_w == 1 && p->dilation_h == 1 && ti->rank == 4 &&
        ti->dims[0] == 1 && ti->dims[1] == 1 && to->dims[1] == 1 && to->dims[3] == c &&
        ws_nn_pair_ok(m, op->inputs[0], op->output, paired, op_index, 1)) {
        int32_t pos = p->stride_w - p->pad_w - 1; /* largest d with d < s - p */
        while (((pos * c) % WS_NN_ARENA_ALIGN) != 0) {
            --pos;
        }
        *delta = pos * c;
        return op->inputs[0];
    }
    return -1;
}
