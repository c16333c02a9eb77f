/* FULLY_CONNECTED, int8: TFLM's reference_integer_ops::FullyConnected (per-tensor)
 * and FullyConnectedPerChannel. Weight zero point is 0 (symmetric). */
#include "nn_dot.h"
#include "nn_quant.h"
#include "ws_nn.h"

size_t ws_nn_fully_connected_s8_scratch_size(int32_t in_features)
{
    (void)in_features;
    return 0;
}

#if defined(WS_NN_DSP) && WS_NN_DSP
/* Optimised build: two output features per pass share each loaded input word (widened
 * once, offset added by SXTAB16), 13 instructions per 8 multiply-accumulates; the
 * six-instruction requantisation where |acc| <= |bias| + in * 128 * 255 < 2^29. */
static inline int8_t fc_out(int32_t acc, int32_t mult, int32_t shift, const ws_nn_fc_params_t *p,
                            int32_t in_features, int32_t bias)
{
    const ws_nn_rqs_t r = ws_nn_rqs_make(mult, shift);
    if (r.ok && ws_nn_acc_bound(bias, (uint64_t)in_features * 128u, 255) < WS_NN_RQS_LIMIT) {
        return (int8_t)ws_nn_clamp(ws_nn_rqs_off(acc, r.multiplier, r.rm1, 1 + 2 * p->output_offset),
                                   p->act_min, p->act_max);
    }
    return ws_nn_requant_s8(acc, mult, shift, p->output_offset, p->act_min, p->act_max);
}

static void fc_dsp(const ws_nn_fc_params_t *params, const ws_nn_per_channel_quant_t *quant,
                   int32_t batches, int32_t in_features, const int8_t *input, int32_t out_features,
                   const int8_t *filter, const int32_t *bias, int8_t *output)
{
    const uint32_t off2 = ((uint32_t)params->input_offset & 0xFFFFu) * 0x00010001u;
    const int32_t words = in_features >> 2;
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *x = input + (size_t)b * in_features;
        int32_t o = 0;
        for (; o + 2 <= out_features; o += 2) {
            const int8_t *fa = filter + (size_t)o * in_features, *fb = fa + in_features;
            int32_t acc_a = bias ? bias[o] : 0, acc_b = bias ? bias[o + 1] : 0;
            for (int32_t k = 0; k < words; ++k) {
                const uint32_t xw = ws_nn_load4(x + 4 * k);
                const int16x2_t x02 = __sxtab16(off2, xw), x13 = ws_nn_sxtab16_ror8(off2, xw);
                const uint32_t wa = ws_nn_load4(fa + 4 * k), wb = ws_nn_load4(fb + 4 * k);
                acc_a = __smlad(__sxtb16(wa), x02, acc_a);
                acc_a = __smlad(ws_nn_sxtb16_ror8(wa), x13, acc_a);
                acc_b = __smlad(__sxtb16(wb), x02, acc_b);
                acc_b = __smlad(ws_nn_sxtb16_ror8(wb), x13, acc_b);
            }
            for (int32_t k = 4 * words; k < in_features; ++k) {
                const int32_t xv = (int32_t)x[k] + params->input_offset;
                acc_a = ws_nn_add_wrap(acc_a, (int32_t)fa[k] * xv);
                acc_b = ws_nn_add_wrap(acc_b, (int32_t)fb[k] * xv);
            }
            const int32_t ma = quant ? quant->multiplier[o] : params->multiplier;
            const int32_t sa = quant ? quant->shift[o] : params->shift;
            const int32_t mb = quant ? quant->multiplier[o + 1] : params->multiplier;
            const int32_t sb = quant ? quant->shift[o + 1] : params->shift;
            output[(size_t)b * out_features + o] =
                fc_out(acc_a, ma, sa, params, in_features, bias ? bias[o] : 0);
            output[(size_t)b * out_features + o + 1] =
                fc_out(acc_b, mb, sb, params, in_features, bias ? bias[o + 1] : 0);
        }
        for (; o < out_features; ++o) {
            int32_t acc = ws_nn_dot_s8(filter + (size_t)o * in_features, x, in_features,
                                       params->input_offset);
            if (bias) {
                acc = ws_nn_add_wrap(acc, bias[o]);
            }
            const int32_t m = quant ? quant->multiplier[o] : params->multiplier;
            const int32_t sh = quant ? quant->shift[o] : params->shift;
            output[(size_t)b * out_features + o] =
                fc_out(acc, m, sh, params, in_features, bias ? bias[o] : 0);
        }
    }
}
#endif

ws_status_t ws_nn_fully_connected_s8(const ws_nn_fc_params_t *params,
                                     const ws_nn_per_channel_quant_t *quant, int32_t batches,
                                     int32_t in_features, const int8_t *input, int32_t out_features,
                                     const int8_t *filter, const int32_t *bias, int8_t *output)
{
    if (!params || !input || !filter || !output || batches < 0 || in_features < 0 ||
        out_features < 0) {
        return WS_ERR_ARG;
    }
#if defined(WS_NN_DSP) && WS_NN_DSP
    fc_dsp(params, quant, batches, in_features, input, out_features, filter, bias, output);
    return WS_OK;
#endif
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *in_row = input + (size_t)b * in_features;
        for (int32_t o = 0; o < out_features; ++o) {
            const int8_t *f_row = filter + (size_t)o * in_features;
            int32_t acc = ws_nn_dot_s8(f_row, in_row, in_features, params->input_offset);
            if (bias) {
                acc = ws_nn_add_wrap(acc, bias[o]);
            }
            if (quant) {
                acc = ws_nn_mbqm(acc, quant->multiplier[o], quant->shift[o]);
            } else {
                acc = ws_nn_mbqm(acc, params->multiplier, params->shift);
            }
            acc = ws_nn_add_wrap(acc, params->output_offset);
            output[(size_t)b * out_features + o] =
                (int8_t)ws_nn_clamp(acc, params->act_min, params->act_max);
        }
    }
    return WS_OK;
}
