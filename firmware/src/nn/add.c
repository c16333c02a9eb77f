/* ADD, int8, same shapes: TFLM's reference_integer_ops::AddElementwise. */
#include "nn_quant.h"
#include "ws_nn.h"

#if defined(WS_NN_DSP) && WS_NN_DSP
#include <arm_acle.h>

static inline int32_t off1_of(const ws_nn_add_params_t *p)
{
    return p->input1_offset;
}

static inline int32_t off2_of(const ws_nn_add_params_t *p)
{
    return p->input2_offset;
}

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
    /* The usual case (input multipliers below 1, TFLM's left shift of 20): every
     * value is provably below 2^29, so the SMMULR forms apply. |in + offset| <= 255
     * before the shift; the rescaled inputs are bounded by the reference's own
     * result at the extreme inputs (mbqm is monotonic in x for m >= 0). */
    const ws_nn_rqg_t g1 = ws_nn_rqg_make(p->input1_multiplier, p->input1_shift);
    const ws_nn_rqg_t g2 = ws_nn_rqg_make(p->input2_multiplier, p->input2_shift);
    const ws_nn_rqg_t go = ws_nn_rqg_make(p->output_multiplier, p->output_shift);
    if (g1.ok && g2.ok && go.ok && p->input1_multiplier >= 0 && p->input2_multiplier >= 0 &&
        p->left_shift <= 20 && (255 << p->left_shift) < WS_NN_RQS_LIMIT) {
        int32_t bound = 0;
        for (int32_t e = 0; e < 2; ++e) {
            const int32_t v1 = (e ? 127 : -128) + off1_of(p), v2 = (e ? 127 : -128) + off2_of(p);
            const int32_t s1 = ws_nn_mbqm_ref(v1 * (1 << p->left_shift), p->input1_multiplier,
                                              p->input1_shift);
            const int32_t s2 = ws_nn_mbqm_ref(v2 * (1 << p->left_shift), p->input2_multiplier,
                                              p->input2_shift);
            const int32_t a1 = s1 < 0 ? -s1 : s1, a2 = s2 < 0 ? -s2 : s2;
            bound = a1 > bound ? a1 : bound;
            bound = a2 > bound ? a2 : bound;
        }
        if (bound < WS_NN_RQS_LIMIT / 2) {
            const int32_t ls = p->left_shift, o1 = off1_of(p), o2 = off2_of(p);
            const int32_t oo = p->output_offset, lo = p->act_min, hi = p->act_max;
            for (uint32_t i = 0; i < count; ++i) {
                const int32_t s1 = ws_nn_rqg_apply((input1[i] + o1) << ls, &g1);
                const int32_t s2 = ws_nn_rqg_apply((input2[i] + o2) << ls, &g2);
                const int32_t v = ws_nn_rqg_apply(s1 + s2, &go) + oo;
                output[i] = (int8_t)ws_nn_clamp(v, lo, hi);
            }
            return 1;
        }
    }
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
