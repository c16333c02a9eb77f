/* DEPTHWISE_CONV_2D, int8 per-channel: TFLM's reference_integer_ops::DepthwiseConvPerChannel. */
#include "nn_quant.h"
#include "ws_nn.h"

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

static void dw_mult1_block(const ws_nn_conv_params_t *params, const ws_nn_per_channel_quant_t *quant,
                           const ws_nn_dims_t *input_dims, const int8_t *input,
                           const ws_nn_dims_t *filter_dims, const int8_t *filter,
                           const int32_t *bias, int32_t out_c, int32_t b, int32_t in_y0,
                           int32_t in_x0, int8_t *out_px)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t f_h = filter_dims->h, f_w = filter_dims->w;
    const int32_t off = params->input_offset;
    const uint32_t off2 = ((uint32_t)off & 0xFFFFu) * 0x00010001u;
    const int32_t out_off = params->output_offset, lo = params->act_min, hi = params->act_max;
    const int32_t fy_lo = in_y0 < 0 ? -in_y0 : 0;
    const int32_t fy_hi = in_y0 + f_h > in_h ? in_h - in_y0 : f_h;
    const int32_t fx_lo = in_x0 < 0 ? -in_x0 : 0;
    const int32_t fx_hi = in_x0 + f_w > in_w ? in_w - in_x0 : f_w;
    const int32_t taps = fx_hi > fx_lo ? fx_hi - fx_lo : 0;
    const int8_t *in_px =
        input + (((size_t)b * in_h + in_y0 + fy_lo) * in_w + in_x0 + fx_lo) * in_c;
    const int8_t *f_px = filter + ((size_t)fy_lo * f_w + fx_lo) * out_c;
    const int32_t in_row = in_w * in_c, f_row = f_w * out_c;
    int32_t ic = 0;
    for (; ic + 4 <= in_c; ic += 4) {
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        const int8_t *ip_row = in_px + ic, *fp_row = f_px + ic;
        for (int32_t fy = fy_lo; fy < fy_hi; ++fy, ip_row += in_row, fp_row += f_row) {
            const int8_t *ip = ip_row, *fp = fp_row;
            for (int32_t t = 0; t < taps; ++t, ip += in_c, fp += in_c) {
                const uint32_t xw = dw_load4(ip), fw = dw_load4(fp);
                const int16x2_t x02 = __sxtab16(off2, xw), x13 = dw_sxtab16_ror8(off2, xw);
                const int16x2_t f02 = __sxtb16(fw), f13 = dw_sxtb16_ror8(fw);
                a0 = __smlabb(f02, x02, a0);
                a2 = __smlatt(f02, x02, a2);
                a1 = __smlabb(f13, x13, a1);
                a3 = __smlatt(f13, x13, a3);
            }
        }
        if (bias) {
            a0 = ws_nn_add_wrap(a0, bias[ic]);
            a1 = ws_nn_add_wrap(a1, bias[ic + 1]);
            a2 = ws_nn_add_wrap(a2, bias[ic + 2]);
            a3 = ws_nn_add_wrap(a3, bias[ic + 3]);
        }
        const int32_t *m = quant->multiplier + ic, *sh = quant->shift + ic;
        out_px[ic] = ws_nn_requant_s8(a0, m[0], sh[0], out_off, lo, hi);
        out_px[ic + 1] = ws_nn_requant_s8(a1, m[1], sh[1], out_off, lo, hi);
        out_px[ic + 2] = ws_nn_requant_s8(a2, m[2], sh[2], out_off, lo, hi);
        out_px[ic + 3] = ws_nn_requant_s8(a3, m[3], sh[3], out_off, lo, hi);
    }
    for (; ic < in_c; ++ic) {
        int32_t a = bias ? bias[ic] : 0;
        const int8_t *ip_row = in_px + ic, *fp_row = f_px + ic;
        for (int32_t fy = fy_lo; fy < fy_hi; ++fy, ip_row += in_row, fp_row += f_row) {
            for (int32_t t = 0; t < taps; ++t) {
                a = ws_nn_add_wrap(a, (int32_t)fp_row[t * in_c] * ((int32_t)ip_row[t * in_c] + off));
            }
        }
        out_px[ic] = ws_nn_requant_s8(a, quant->multiplier[ic], quant->shift[ic], out_off, lo, hi);
    }
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
    for (int32_t b = 0; b < input_dims->n; ++b) {
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t in_y0 = oy * params->stride_h - params->pad_h;
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t in_x0 = ox * params->stride_w - params->pad_w;
#if defined(WS_NN_DSP) && WS_NN_DSP
                if (mult == 1 && params->dilation_h == 1 && params->dilation_w == 1) {
                    dw_mult1_block(params, quant, input_dims, input, filter_dims, filter, bias,
                                   out_c, b, in_y0, in_x0,
                                   output + (((size_t)b * out_h + oy) * out_w + ox) * out_c);
                    continue;
                }
#endif
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
