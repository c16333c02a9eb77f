/* The optimised requantisations against the reference MultiplyByQuantizedMultiplier
 * (ws_nn_mbqm_ref, TFLM's double-rounding form), equal on edge values and on a
 * pseudo-random sweep: ws_nn_mbqm_fast (one 64-bit multiply-accumulate) on the host and
 * the emulated M4, and the M4 DSP build's SMMULR form for small values (ws_nn_rqs_*). */
#include "../src/nn/nn_quant.h"
#include "ws_test.h"

static uint32_t rng_state = 0x2545F491u;

static uint32_t next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static uint32_t check(int32_t x, int32_t m, int32_t s)
{
    int32_t want = ws_nn_mbqm_ref(x, m, s);
    int32_t got = ws_nn_mbqm_fast(x, m, s);
    if (want != got) {
        ws_test_puts("mismatch x=");
        ws_test_put_int(x);
        ws_test_puts(" m=");
        ws_test_put_int(m);
        ws_test_puts(" s=");
        ws_test_put_int(s);
        ws_test_log("");
        return 1;
    }
    return 0;
}

#if defined(WS_NN_DSP) && WS_NN_DSP
/* The six-instruction form for |x| < 2^29 and shifts -1..-31 (M4 DSP build only). */
static uint32_t check_small(int32_t x, int32_t m, int32_t s, int32_t off)
{
    const ws_nn_rqs_t r = ws_nn_rqs_make(m, s);
    const int32_t want = ws_nn_mbqm_ref(x, m, s) + off;
    const int32_t want8 = ws_nn_clamp(want, -128, 127);
    const int32_t got = ws_nn_rqs_off(x, r.multiplier, r.rm1, 1 + 2 * off);
    const int32_t got8 = ws_nn_rqs_ssat8(x, r.multiplier, r.rm1, 1 + 2 * off);
    if (!r.ok || got != want || got8 != want8) {
        ws_test_puts("small mismatch x=");
        ws_test_put_int(x);
        ws_test_puts(" m=");
        ws_test_put_int(m);
        ws_test_puts(" s=");
        ws_test_put_int(s);
        ws_test_log("");
        return 1;
    }
    return 0;
}

static uint32_t check_general(int32_t x, int32_t m, int32_t s)
{
    const ws_nn_rqg_t r = ws_nn_rqg_make(m, s);
    if (!r.ok || ws_nn_rqg_apply(x, &r) != ws_nn_mbqm_ref(x, m, s)) {
        ws_test_puts("general mismatch x=");
        ws_test_put_int(x);
        ws_test_puts(" m=");
        ws_test_put_int(m);
        ws_test_puts(" s=");
        ws_test_put_int(s);
        ws_test_log("");
        return 1;
    }
    return 0;
}

static uint32_t sweep_small(void)
{
    uint32_t bad = 0;
    static const int32_t edge[] = {0, 1, -1, 2, -2, 3, -3, (1 << 29) - 1, -(1 << 29) + 1, 1 << 28,
                                   -(1 << 28), 12345, -12345};
    static const int32_t mults[] = {0, 1, 1 << 30, INT32_MAX, INT32_MIN, -1, 1518500250};
    for (uint32_t i = 0; i < (uint32_t)(sizeof edge / sizeof edge[0]); ++i) {
        for (uint32_t j = 0; j < (uint32_t)(sizeof mults / sizeof mults[0]); ++j) {
            for (int32_t s = -31; s <= -1; ++s) {
                bad += check_small(edge[i], mults[j], s, (int32_t)(i * 37 % 256) - 128);
            }
        }
    }
    for (uint32_t n = 0; n < 200000u; ++n) {
        const uint32_t r = next();
        const int32_t x = ((int32_t)next() >> 3) >> (r & 31u); /* |x| < 2^29 */
        const int32_t s = -1 - (int32_t)((r >> 5) % 31u);
        bad += check_small(x, (int32_t)next(), s, (int32_t)((r >> 12) & 255u) - 128);
        /* ties: x * m / 2^31 exactly half-way */
        bad += check_small((int32_t)(r >> 20) - 2048, 1 << 30, s, 0);
        bad += check_general(x, (int32_t)next(), s + 1); /* shifts -30..0 */
        bad += check_general((int32_t)(r >> 20) - 2048, 1 << 30, s + 1);
    }
    return bad;
}
#endif

int ws_test_run(void)
{
    static const int32_t xs[] = {0, 1, -1, 2, -2, 3, -3, 127, -128, 255, -256, 1 << 20, -(1 << 20),
                                 0x3FFFFFFF, -0x40000000, INT32_MAX, INT32_MIN, INT32_MIN + 1,
                                 12345678, -12345678};
    static const int32_t mults[] = {0, 1, 1 << 30, (1 << 30) + 1, INT32_MAX, INT32_MAX - 1,
                                 1518500250, 2042379515, -1, -(1 << 30), INT32_MIN, INT32_MIN + 1};
    uint32_t bad = 0;
    for (uint32_t i = 0; i < (uint32_t)(sizeof xs / sizeof xs[0]); ++i) {
        for (uint32_t j = 0; j < (uint32_t)(sizeof mults / sizeof mults[0]); ++j) {
            for (int32_t s = -31; s <= 30; ++s) {
                bad += check(xs[i], mults[j], s);
            }
        }
    }
    /* ties of the rounding shift: x * m / 2^31 exactly half-way, both signs */
    for (int32_t s = -20; s <= 0; ++s) {
        for (int32_t k = -64; k <= 64; ++k) {
            bad += check(k * (1 << (-s > 0 ? -s - 1 : 0)), 1 << 30, s);
            bad += check(2 * k + 1, 1 << 30, s);
        }
    }
    for (uint32_t n = 0; n < 200000u; ++n) {
        uint32_t r = next();
        int32_t x = (int32_t)next() >> (r & 31u);
        int32_t m = (int32_t)next();
        int32_t s = (int32_t)((r >> 5) % 62u) - 31;
        if (s > 0) {
            x >>= s; /* the left shift of real models stays in range; wrapped ones too below */
        }
        bad += check(x, m, s);
        bad += check((int32_t)next(), m, s);
    }
    WS_TEST_ASSERT_EQ_INT(bad, 0);
#if defined(WS_NN_DSP) && WS_NN_DSP
    WS_TEST_ASSERT_EQ_INT(sweep_small(), 0);
#endif
    return ws_test_failures();
}
