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

/* Two filter rows (fa, fb) against two input rows (xa, xb) of n int8 each, without
 * input offset (the caller folds offset x filter sum into the bias): four
 * accumulators, each loaded word used twice. Per four taps: 4 LDR, 8 SXTB16,
 * 8 SMLAD for 16 multiply-accumulates. */
typedef struct {
    int32_t aa, ab, ba, bb; /* [filter][input] */
} ws_nn_acc2x2_t;

static inline __attribute__((always_inline)) void
ws_nn_dot_2x2_s8(const int8_t *fa, const int8_t *fb, const int8_t *xa, const int8_t *xb, int32_t n,
                 ws_nn_acc2x2_t *acc)
{
    int32_t aa = acc->aa, ab = acc->ab, ba = acc->ba, bb = acc->bb;
    const int8_t *const end = fa + (n & ~3);
    while (fa != end) {
        const uint32_t wa = ws_nn_load4(fa);
        const uint32_t wx = ws_nn_load4(xa);
        const int16x2_t fa02 = __sxtb16(wa), fa13 = ws_nn_sxtb16_ror8(wa);
        const int16x2_t xa02 = __sxtb16(wx), xa13 = ws_nn_sxtb16_ror8(wx);
        aa = __smlad(fa02, xa02, aa);
        aa = __smlad(fa13, xa13, aa);
        const uint32_t wy = ws_nn_load4(xb);
        const int16x2_t xb02 = __sxtb16(wy), xb13 = ws_nn_sxtb16_ror8(wy);
        ab = __smlad(fa02, xb02, ab);
        ab = __smlad(fa13, xb13, ab);
        const uint32_t wb = ws_nn_load4(fb);
        const int16x2_t fb02 = __sxtb16(wb), fb13 = ws_nn_sxtb16_ror8(wb);
        bb = __smlad(fb02, xb02, bb);
        bb = __smlad(fb13, xb13, bb);
        ba = __smlad(fb02, xa02, ba);
        ba = __smlad(fb13, xa13, ba);
        fa += 4;
        fb += 4;
        xa += 4;
        xb += 4;
    }
    for (int32_t i = 0; i < (n & 3); ++i) {
        const int32_t f0 = fa[i], f1 = fb[i], x0 = xa[i], x1 = xb[i];
        aa = ws_nn_add_wrap(aa, f0 * x0);
        ab = ws_nn_add_wrap(ab, f0 * x1);
        ba = ws_nn_add_wrap(ba, f1 * x0);
        bb = ws_nn_add_wrap(bb, f1 * x1);
    }
    acc->aa = aa;
    acc->ab = ab;
    acc->ba = ba;
    acc->bb = bb;
}

/* ws_nn_dot_2x2_s8's four-tap part with the two filter rows interleaved word by word
 * in an aligned buffer (fw[2k] = row a, fw[2k + 1] = row b: one LDRD), `words` words
 * of each; one pointer fewer, so the loop fits the M4's registers. */
static inline __attribute__((always_inline)) void
ws_nn_dot_2x2_il(const uint32_t *fw, const int8_t *xa, const int8_t *xb, int32_t words,
                 ws_nn_acc2x2_t *acc)
{
    /* in assembly: GCC spills the pointers of the C version every pass. 21
     * instructions per four taps (16 multiply-accumulates); words >= 1. */
    int32_t aa = acc->aa, ab = acc->ab, ba = acc->ba, bb = acc->bb;
    uint32_t t0, t1, t2, t3, t4, t5;
    __asm__ volatile("1:\n\t"
                     "ldrd %[t0], %[t1], [%[fw]], #8\n\t"
                     "ldr %[t2], [%[xa]], #4\n\t"
                     "sxtb16 %[t3], %[t0]\n\t"
                     "sxtb16 %[t0], %[t0], ror #8\n\t"
                     "sxtb16 %[t4], %[t2]\n\t"
                     "sxtb16 %[t2], %[t2], ror #8\n\t"
                     "smlad %[aa], %[t3], %[t4], %[aa]\n\t"
                     "smlad %[aa], %[t0], %[t2], %[aa]\n\t"
                     "sxtb16 %[t5], %[t1]\n\t"
                     "sxtb16 %[t1], %[t1], ror #8\n\t"
                     "smlad %[ba], %[t5], %[t4], %[ba]\n\t"
                     "smlad %[ba], %[t1], %[t2], %[ba]\n\t"
                     "ldr %[t2], [%[xb]], #4\n\t"
                     "sxtb16 %[t4], %[t2]\n\t"
                     "sxtb16 %[t2], %[t2], ror #8\n\t"
                     "smlad %[ab], %[t3], %[t4], %[ab]\n\t"
                     "smlad %[ab], %[t0], %[t2], %[ab]\n\t"
                     "smlad %[bb], %[t5], %[t4], %[bb]\n\t"
                     "smlad %[bb], %[t1], %[t2], %[bb]\n\t"
                     "subs %[n], %[n], #1\n\t"
                     "bne 1b"
                     : [aa] "+r"(aa), [ab] "+r"(ab), [ba] "+r"(ba), [bb] "+r"(bb), [fw] "+r"(fw),
                       [xa] "+r"(xa), [xb] "+r"(xb), [n] "+r"(words), [t0] "=&r"(t0),
                       [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4),
                       [t5] "=&r"(t5)
                     :
                     : "cc", "memory");
    acc->aa = aa;
    acc->ab = ab;
    acc->ba = ba;
    acc->bb = bb;
}

/* Sum of n int8 (wrapping int32), four per SMLAD pair. */
static inline int32_t ws_nn_sum_s8(const int8_t *f, int32_t n)
{
    const int16x2_t ones = (int16x2_t)0x00010001;
    int32_t acc = 0;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t w = ws_nn_load4(f + i);
        acc = __smlad(__sxtb16(w), ones, acc);
        acc = __smlad(ws_nn_sxtb16_ror8(w), ones, acc);
    }
    for (; i < n; ++i) {
        acc = ws_nn_add_wrap(acc, f[i]);
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
