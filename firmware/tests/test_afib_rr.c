/* The AFib model's RR features (ws_afib_rr_features): which beats count (span, guard, the
 * latest 64), the statistics on intervals whose answers are known, and the errors. Both
 * builds print AFIB-RR-CHECKSUM of the features of an irregular sequence: equal lines show
 * the host and the M4 compute the same bytes. */
#include <string.h>

#include "ws_afib.h"
#include "ws_test.h"

#define N_BEATS 160

static ws_ecg_beat_t beats[N_BEATS];

/* n beats with the given RR intervals (ms, repeated), R peaks at 250 Hz from sample 0 */
static size_t make_beats(const uint16_t *rr, size_t n_rr, size_t n)
{
    uint32_t t = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        beats[i].rr_ms = rr[i % n_rr];
        t += (uint32_t)rr[i % n_rr] / 4u; /* 250 Hz: 4 ms per sample */
        beats[i].sample = t;
        beats[i].amp_uv = (int16_t)((i & 1u) ? -1000 : 1000); /* polarity does not matter */
        beats[i].flags = 0;
    }
    return n;
}

static uint32_t last_sample(size_t n)
{
    return beats[n - 1].sample;
}

int ws_test_run(void)
{
    int8_t f[WS_AFIB_RR_FEATURES];
    static const uint16_t regular[] = {800};
    static const uint16_t alternating[] = {600, 1000};
    static const uint16_t irregular[] = {512, 930, 644, 1204, 701, 455, 820, 990, 610};
    size_t n, i;

    WS_TEST_ASSERT_EQ_INT(ws_afib_rr_features(NULL, 0, 0, f), WS_ERR_ARG);
    WS_TEST_ASSERT_EQ_INT(ws_afib_rr_features(beats, 0, 0, NULL), WS_ERR_ARG);
    memset(f, 55, sizeof f);
    WS_TEST_ASSERT_EQ_INT(ws_afib_rr_features(beats, 0, 100000, f), WS_OK);
    for (i = 0; i < WS_AFIB_RR_FEATURES; i++) {
        WS_TEST_ASSERT_EQ_INT(f[i], 0); /* no beats: all zero */
    }

    /* regular 800 ms: 20 s of beats fit the 20.48 s span; no variation at all */
    n = make_beats(regular, 1, 25);
    WS_TEST_ASSERT_EQ_INT(ws_afib_rr_features(beats, n, last_sample(n) + WS_AFIB_RR_GUARD + 1, f),
                          WS_OK);
    WS_TEST_ASSERT_EQ_INT(f[0], 25);
    WS_TEST_ASSERT_EQ_INT(f[1], 50); /* 800 / 16 */
    WS_TEST_ASSERT_EQ_INT(f[2], 50);
    WS_TEST_ASSERT_EQ_INT(f[3], 50);
    for (i = 4; i <= 12; i++) {
        WS_TEST_ASSERT_EQ_INT(f[i], 0);
    }
    WS_TEST_ASSERT_EQ_INT(f[13], 32); /* longest / median = 1 */
    WS_TEST_ASSERT_EQ_INT(f[14], 127); /* shortest / median = 1 */
    /* the guard: a window ending right after the last beat leaves that beat out */
    WS_TEST_ASSERT_EQ_INT(ws_afib_rr_features(beats, n, last_sample(n) + 1, f), WS_OK);
    WS_TEST_ASSERT_EQ_INT(f[0], 24);

    /* a beat the detector took only at the window's end (sample + lag >= end) is left out;
     * one taken just before counts (the detector takes beats in order) */
    {
        uint32_t end = last_sample(n) + WS_AFIB_RR_GUARD + 1;
        beats[n - 1].lag = (uint16_t)(end - beats[n - 1].sample);
        WS_TEST_ASSERT_EQ_INT(ws_afib_rr_features(beats, n, end, f), WS_OK);
        WS_TEST_ASSERT_EQ_INT(f[0], 24);
        beats[n - 1].lag = (uint16_t)(end - beats[n - 1].sample - 1);
        WS_TEST_ASSERT_EQ_INT(ws_afib_rr_features(beats, n, end, f), WS_OK);
        WS_TEST_ASSERT_EQ_INT(f[0], 25);
        beats[n - 1].lag = 0;
    }

    /* alternating 600/1000 ms: every difference 400 ms, every one a turning point */
    n = make_beats(alternating, 2, 20);
    WS_TEST_ASSERT_EQ_INT(ws_afib_rr_features(beats, n, last_sample(n) + WS_AFIB_RR_GUARD + 1, f),
                          WS_OK);
    WS_TEST_ASSERT_EQ_INT(f[1], 50);   /* mean 800 */
    WS_TEST_ASSERT_EQ_INT(f[6], 127);  /* mean |diff| / mean = 0.5 x 256 saturates */
    WS_TEST_ASSERT_EQ_INT(f[8], 127);  /* all over 50 ms */
    WS_TEST_ASSERT_EQ_INT(f[9], 127);  /* all over 1/8 of the interval */
    WS_TEST_ASSERT_EQ_INT(f[10], 127); /* all turning points */
    WS_TEST_ASSERT_EQ_INT(f[4], 64);   /* CV = 200 / 800 = 0.25 x 256 */

    /* fast beats (300 ms) over 40 s: the span holds 68, only the latest 64 count */
    {
        static const uint16_t fast[] = {300};
        n = make_beats(fast, 1, 140);
        WS_TEST_ASSERT_EQ_INT(
            ws_afib_rr_features(beats, n, last_sample(n) + WS_AFIB_RR_GUARD + 1, f), WS_OK);
        WS_TEST_ASSERT_EQ_INT(f[0], WS_AFIB_RR_MAX_BEATS);
    }

    /* intervals outside 240..3000 ms count as beats (amplitude, search-back) only */
    n = make_beats(regular, 1, 10);
    beats[5].rr_ms = 4000;
    beats[6].flags = WS_BEAT_SEARCHBACK;
    WS_TEST_ASSERT_EQ_INT(ws_afib_rr_features(beats, n, last_sample(n) + WS_AFIB_RR_GUARD + 1, f),
                          WS_OK);
    WS_TEST_ASSERT_EQ_INT(f[0], 9);
    WS_TEST_ASSERT_EQ_INT(f[15], 13); /* 1 of 10 beats x 127 */

    /* an irregular sequence: a checksum the host and the M4 must agree on */
    n = make_beats(irregular, 9, N_BEATS);
    {
        uint32_t h = 2166136261u;
        uint32_t end;
        for (end = 0; end < last_sample(n) + 2000u; end += 640u) {
            WS_TEST_ASSERT_EQ_INT(ws_afib_rr_features(beats, n, end, f), WS_OK);
            for (i = 0; i < WS_AFIB_RR_FEATURES; i++) {
                WS_TEST_ASSERT(f[i] >= 0);
                h = (h ^ (uint8_t)f[i]) * 16777619u;
            }
        }
        ws_test_puts("AFIB-RR-CHECKSUM ");
        ws_test_put_hex(h);
        ws_test_puts("\n");
    }
    return ws_test_failures();
}
