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
