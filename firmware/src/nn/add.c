/* ADD, int8, same shapes: TFLM's reference_integer_ops::AddElementwise. */
#include "nn_quant.h"
#include "ws_nn.h"

#if defined(WS_NN_DSP) && WS_NN_DSP
#include <arm_acle.h>

/* Optimised build: the three requantizations prepared once (ws_nn_rq_t), the
 * input's left shift of 20 merged with the multiplier's own left shift (the same
 * bits: both shifts wrap in 32 bits), SSAT for a full int8 activation range.
 * Returns 0 (not done) where the merge or the fast requantization does not apply. */
static int add_dsp(const ws_nn_add_params_t *p, uint32_t count, const int8_t *input1,
                   const int8_t *input2, int8_t *output)
{
    ws_nn_rq_t r1 = ws_nn_rq_make(p->input1_multiplier, p->input1_shift);
    ws_nn_rq_t r2 = ws_nn_rq_make(p->input2_multiplier, p->input2_shift);
    const ws_nn_rq_t ro = ws_nn_rq_make(p->output_multiplier, p->output_shift);
    const int32_t m[3] = {r1.multiplier, r2.multiplier, ro.multiplier};
    if (!ws_nn_rq_ok(m, 3) || p->left_shift < 0 || r1.left + p->left_shift > 31 ||
        r2.left + p->left_shift > 31) {
        return 0;
    }
    r1.left += p->left_shift;
    r2.left += p->left_shift;
    const int32_t off1 = p->input1_offset, off2 = p->input2_offset, out_off = p->output_offset;
    const int32_t lo = p->act_min, hi = p->act_max;
    const int full = lo <= -128 && hi >= 127;
    for (uint32_t i = 0; i < count; ++i) {
        const int32_t s1 = WS_NN_RQ(input1[i] + off1, r1);
        const int32_t s2 = WS_NN_RQ(input2[i] + off2, r2);
        const int32_t v = WS_NN_RQ(ws_nn_add_wrap(s1, s2), ro) + out_off;
        output[i] = full ? (int8_t)__ssat(v, 8) : (int8_t)ws_nn_clamp(v, lo, hi);
    }
    return 1;
}
#endif

ws_status_t ws_nn_add_s8(const ws_nn_add_params_t *params, uint32_t count, const int8_t *input1,
                         const int8_t *input2, int8_t *output)
{
    if (!params || !input1 || !input2 || !output) {
        return WS_ERR_ARG;
    }
#if defined(WS_NN_DSP) && WS_NN_DSP
    if (add_dsp(params, count, input1, input2, output)) {
        return WS_OK;
    }
#endif
    for (uint32_t i = 0; i < count; ++i) {
        const int32_t v1 = params->input1_offset + input1[i];
        const int32_t v2 = params->input2_offset + input2[i];
        const int32_t s1 = ws_nn_mbqm(v1 * (1 << params->left_shift), params->input1_multiplier,
                                      params->input1_shift);
        const int32_t s2 = ws_nn_mbqm(v2 * (1 << params->left_shift), params->input2_multiplier,
                                      params->input2_shift);
        int32_t out = ws_nn_mbqm(ws_nn_add_wrap(s1, s2), params->output_multiplier, params->output_shift);
        out = ws_nn_add_wrap(out, params->output_offset);
        output[i] = (int8_t)ws_nn_clamp(out, params->act_min, params->act_max);
    }
    return WS_OK;
}
