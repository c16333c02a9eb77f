/* AVERAGE_POOL_2D and MAX_POOL_2D, int8: TFLM's reference_integer_ops pooling.
 * Input and output share scale and zero point (checked when the model loads). */
#include "nn_quant.h"
#include "ws_nn.h"

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

ws_status_t ws_nn_maxpool_s8(const ws_nn_pool_params_t *params, const ws_nn_dims_t *input_dims,
                             const int8_t *input, const ws_nn_dims_t *output_dims, int8_t *output)
{
    return pool(params, input_dims, input, output_dims, output, 1);
}
