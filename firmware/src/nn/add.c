/* ADD, int8, same shapes: TFLM's reference_integer_ops::AddElementwise. */
#include "nn_quant.h"
#include "nn_op.h"

#if defined(WS_NN_DSP) && WS_NN_DSP
#include <arm_acle.h>

/* SaturatingRoundingDoublingHighMul of a small x (|x| < 2^29): ws_nn_rqs_ssat8's
 * first two instructions; with shift 0 it is the whole requantisation. */
static inline __attribute__((always_inline)) int32_t srd_small(int32_t x, int32_t m)
{
    int32_t t;
    __asm__("add %[t], %[x], %[x]\n\t"
            "smmulr %[t], %[t], %[m]"
            : [t] "=&r"(t)
            : [x] "r"(x), [m] "r"(m));
    return t;
}

/* One input's rescaling: shift 0 (z) or a right shift (rm1 = right - 1). */
static inline __attribute__((always_inline)) int32_t rescale(int32_t x, int32_t m, int32_t rm1,
                                                              const int z)
{
    return z ? srd_small(x, m) : ws_nn_rqs_off(x, m, rm1, 1);
}

/* The element loop with the input left shift of 20 as a constant. */
static inline __attribute__((always_inline)) void
add_loop(uint32_t count, const int8_t *in1, const int8_t *in2, int8_t *out, int32_t o1, int32_t o2,
         int32_t m1, int32_t rm1_1, int32_t m2, int32_t rm1_2, int32_t mo, int32_t rm1_o, int32_t ko,
         int32_t lo, int32_t hi, const int z1, const int z2, const int full)
{
    for (uint32_t i = 0; i < count; ++i) {
        const int32_t s1 = rescale((int32_t)((uint32_t)in1[i] << 20) + o1, m1, rm1_1, z1);
        const int32_t s2 = rescale((int32_t)((uint32_t)in2[i] << 20) + o2, m2, rm1_2, z2);
        if (full) {
            out[i] = (int8_t)ws_nn_rqs_ssat8(s1 + s2, mo, rm1_o, ko);
        } else {
            out[i] = (int8_t)ws_nn_clamp(ws_nn_rqs_off(s1 + s2, mo, rm1_o, ko), lo, hi);
        }
    }
}

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
        const ws_nn_rqs_t q1 = ws_nn_rqs_make(p->input1_multiplier, p->input1_shift);
        const ws_nn_rqs_t q2 = ws_nn_rqs_make(p->input2_multiplier, p->input2_shift);
        const ws_nn_rqs_t qo = ws_nn_rqs_make(p->output_multiplier, p->output_shift);
        const int z1 = p->input1_shift == 0, z2 = p->input2_shift == 0;
        if (bound < WS_NN_RQS_LIMIT / 2 && p->left_shift == 20 && (q1.ok || z1) &&
            (q2.ok || z2) && qo.ok) {
            /* (in + offset) << 20 as in << 20 (wrapping) plus offset << 20 */
            const int32_t o1 = (int32_t)((uint32_t)off1_of(p) << 20);
            const int32_t o2 = (int32_t)((uint32_t)off2_of(p) << 20);
            const int32_t ko = 1 + 2 * p->output_offset, lo = p->act_min, hi = p->act_max;
            const int full = lo <= -128 && hi >= 127;
#define ADD_LOOP(Z1, Z2, FULL)                                                                     \
    add_loop(count, input1, input2, output, o1, o2, q1.multiplier, q1.rm1, q2.multiplier, q2.rm1,  \
             qo.multiplier, qo.rm1, ko, lo, hi, Z1, Z2, FULL)
            if (z1 && !z2) {
                if (full) {
                    ADD_LOOP(1, 0, 1);
                } else {
                    ADD_LOOP(1, 0, 0);
                }
            } else if (!z1 && z2) {
                if (full) {
                    ADD_LOOP(0, 1, 1);
                } else {
                    ADD_LOOP(0, 1, 0);
                }
            } else if (z1 && z2) {
                ADD_LOOP(1, 1, 0);
            } else {
                ADD_LOOP(0, 0, 0);
            }
#undef ADD_LOOP
            return 1;
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

/* ---------------------------------------------------------------- operator */

#define ADD_LEFT_SHIFT 20

ws_status_t ws_nn_prepare_add(const ws_nn_op_view_t *v, ws_nn_op_t *op)
{
    ws_nn_tensor_t *a, *b, *out;
    int64_t act;
    WS_NN_CHECK(ws_nn_check_elementwise(v, WS_NN_OPT_ADD, &a, &b, &out, &act));
    ws_nn_add_params_t *p = &op->p.add;
    double twice_max = 2.0 * (double)(a->scale > b->scale ? a->scale : b->scale);
    double real_out = twice_max / ((double)(1 << ADD_LEFT_SHIFT) * (double)out->scale);
    if (!(real_out < 1.0)) {
        return WS_ERR_NN_QUANT; /* the reference requires a multiplier below one */
    }
    WS_NN_CHECK(ws_nn_check_multiplier(real_out));
    p->left_shift = ADD_LEFT_SHIFT;
    p->input1_offset = -a->zero_point;
    p->input2_offset = -b->zero_point;
    p->output_offset = out->zero_point;
    ws_nn_quantize_multiplier((double)a->scale / twice_max, &p->input1_multiplier, &p->input1_shift);
    ws_nn_quantize_multiplier((double)b->scale / twice_max, &p->input2_multiplier, &p->input2_shift);
    ws_nn_quantize_multiplier(real_out, &p->output_multiplier, &p->output_shift);
    WS_NN_CHECK(ws_nn_activation_range(act, out, &p->act_min, &p->act_max));
    return WS_OK;
}

ws_status_t ws_nn_eval_add(ws_nn_model_t *m, const ws_nn_op_t *op)
{
    return ws_nn_add_s8(&op->p.add, m->tensors[op->output].bytes,
                        ws_nn_tensor_data(m, op->inputs[0]), ws_nn_tensor_data(m, op->inputs[1]),
                        ws_nn_output_ptr(m, op));
}
