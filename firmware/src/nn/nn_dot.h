/* Dot product of int8 filter and int8 input rows with the input offset added:
 * sum_i f[i] * (in[i] + input_offset), accumulated with int32 wrap-around
 * exactly like the reference loops (TFLM's reference kernels).
 *
 * Two builds, chosen at build time:
 *   WS_NN_DSP=1  Cortex-M4 DSP extension: four bytes per load, __sxtb16 /
 *                __sxtab16 widen them to int16 pairs (the offset is added in
 *                the same instruction; in + offset fits in int16), __smlad does
 *                two multiply-accumulates. SMLAD's 32-bit sum wraps like the
 *                reference (it only sets the Q flag), so the bytes are identical.
 *   otherwise    the portable C loop (the reference). */
#ifndef WS_NN_DOT_H
#define WS_NN_DOT_H

#include <stdint.h>
#include <string.h>

#include "nn_quant.h"

#if defined(WS_NN_DSP) && WS_NN_DSP
#if !defined(__ARM_FEATURE_DSP)
#error "WS_NN_DSP=1 needs a core with the DSP extension (-mcpu=cortex-m4)"
#endif
#include <arm_acle.h>

static inline uint32_t ws_nn_load4(const int8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v); /* one LDR: the M4 allows unaligned word loads */
    return v;
}

/* SXTB16 / SXTAB16 of the word rotated right by 8 (bytes 1 and 3), using the
 * instructions' own rotate operand (GCC does not fold a separate rotate). */
static inline int16x2_t ws_nn_sxtb16_ror8(uint32_t x)
{
    int16x2_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

static inline int16x2_t ws_nn_sxtab16_ror8(uint32_t a, uint32_t x)
{
    int16x2_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
    return r;
}

static inline int32_t ws_nn_dot_s8(const int8_t *f, const int8_t *in, int32_t n,
                                   int32_t input_offset)
{
    const uint32_t off2 = ((uint32_t)input_offset & 0xFFFFu) * 0x00010001u;
    int32_t acc = 0;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t fw = ws_nn_load4(f + i);
        const uint32_t iw = ws_nn_load4(in + i);
        const int16x2_t f02 = __sxtb16(fw);
        const int16x2_t f13 = ws_nn_sxtb16_ror8(fw);
        const int16x2_t i02 = __sxtab16(off2, iw);
        const int16x2_t i13 = ws_nn_sxtab16_ror8(off2, iw);
        acc = __smlad(f02, i02, acc);
        acc = __smlad(f13, i13, acc);
    }
    for (; i < n; ++i) {
        acc = ws_nn_add_wrap(acc, (int32_t)f[i] * ((int32_t)in[i] + input_offset));
    }
    return acc;
}
#else
static inline int32_t ws_nn_dot_s8(const int8_t *f, const int8_t *in, int32_t n,
                                   int32_t input_offset)
{
    int32_t acc = 0;
    for (int32_t i = 0; i < n; ++i) {
        acc = ws_nn_add_wrap(acc, (int32_t)f[i] * ((int32_t)in[i] + input_offset));
    }
    return acc;
}
#endif

#endif /* WS_NN_DOT_H */
