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
/* Optimised build, depth multiplier 1, no dilation: one output pixel, four
 * channels at a time (contiguous in input, filter and output), the valid filter
 * window computed once instead of testing every tap. Integer addition modulo
 * 2^32 is associative, so the bytes equal the reference loop's. */
static void dw_mult1_block(const ws_nn_conv_params_t *params, const ws_nn_per_channel_quant_t *quant,
                           const ws_nn_dims_t *input_dims, const int8_t *input,
                           const ws_nn_dims_t *filter_dims, const int8_t *filter,
                           const int32_t *bias, int32_t out_c, int32_t b, int32_t in_y0,
                           int32_t in_x0, int8_t *out_px)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t f_h = filter_dims->h, f_w = filter_dims->w;
    const int32_t off = params->input_offset;
    const int32_t fy_lo = in_y0 < 0 ? -in_y0 : 0;
    const int32_t fy_hi = in_y0 + f_h > in_h ? in_h - in_y0 : f_h;
    const int32_t fx_lo = in_x0 < 0 ? -in_x0 : 0;
    const int32_t fx_hi = in_x0 + f_w > in_w ? in_w - in_x0 : f_w;
    for (int32_t ic = 0; ic < in_c; ic += 4) {
        const int32_t nch = in_c - ic < 4 ? in_c - ic : 4;
        int32_t acc[4] = {0, 0, 0, 0};
        for (int32_t fy = fy_lo; fy < fy_hi; ++fy) {
            const int8_t *ip = input + (((size_t)b * in_h + in_y0 + fy) * in_w + in_x0 + fx_lo) * in_c + ic;
            const int8_t *fp = filter + ((size_t)fy * f_w + fx_lo) * out_c + ic;
            for (int32_t fx = fx_lo; fx < fx_hi; ++fx, ip += in_c, fp += out_c) {
                if (nch == 4) {
                    acc[0] = ws_nn_add_wrap(acc[0], (int32_t)fp[0] * ((int32_t)ip[0] + off));
                    acc[1] = ws_nn_add_wrap(acc[1], (int32_t)fp[1] * ((int32_t)ip[1] + off));
                    acc[2] = ws_nn_add_wrap(acc[2], (int32_t)fp[2] * ((int32_t)ip[2] + off));
                    acc[3] = ws_nn_add_wrap(acc[3], (int32_t)fp[3] * ((int32_t)ip[3] + off));
                } else {
                    for (int32_t k = 0; k < nch; ++k) {
                        acc[k] = ws_nn_add_wrap(acc[k], (int32_t)fp[k] * ((int32_t)ip[k] + off));
                    }
                }
            }
        }
        for (int32_t k = 0; k < nch; ++k) {
            const int32_t oc = ic + k;
            int32_t a = acc[k];
            if (bias) {
                a = ws_nn_add_wrap(a, bias[oc]);
            }
            a = ws_nn_mbqm(a, quant->multiplier[oc], quant->shift[oc]);
            a = ws_nn_add_wrap(a, params->output_offset);
            out_px[oc] = (int8_t)ws_nn_clamp(a, params->act_min, params->act_max);
        }
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
