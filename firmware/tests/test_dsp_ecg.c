/* The ECG chain (ws_dsp_ecg.h) on a synthetic 360 Hz ECG made here: beats found
 * with the right RR, the same output for any block size, documented status codes.
 * On the Cortex-M4 it also counts the instructions one second of ECG costs, with
 * the CMSDK timer of mps2-an386 (meaningful when QEMU runs with -icount, which
 * makes virtual time follow executed instructions; benchmarks/bench_ecg.py does).
 * Both builds print ECG-CHECKSUM of their output samples and beats: equal lines show
 * the host and the M4 compute the same bits. */
#include <string.h>

#include "ws_dsp_ecg.h"
#include "ws_test.h"

#define FS 360
#define SECONDS 20
#define N_IN (FS * SECONDS)
#define RR_SAMPLES 300 /* 72 bpm */
#define GAIN 200.0f
#define ZERO 1024

static int16_t ecg_in[N_IN];
static int16_t out_a[N_IN];
static int16_t out_b[N_IN];
static union {
    uint64_t align;
    uint8_t bytes[8192];
} state_mem;

/* A crude but ECG-like beat: P bump, narrow R triangle, S dip, T bump; plus a slow
 * baseline drift and a little pseudo-random noise (LCG, so it is deterministic). */
static void make_ecg(void)
{
    uint32_t lcg = 12345u;
    int i;
    for (i = 0; i < N_IN; i++) {
        int k = i % RR_SAMPLES;
        float mv = 0.0f;
        int d;
        d = k - 60; /* P, 60 ms wide */
        if (d > -11 && d < 11) {
            mv += 0.15f * (1.0f - (float)(d * d) / 121.0f);
        }
        d = k - 100; /* R, 50 ms base */
        if (d > -9 && d < 9) {
            mv += 1.2f * (1.0f - (float)(d < 0 ? -d : d) / 9.0f);
        }
        d = k - 112; /* S */
        if (d > -5 && d < 5) {
            mv -= 0.25f * (1.0f - (float)(d < 0 ? -d : d) / 5.0f);
        }
        d = k - 200; /* T, 160 ms wide */
        if (d > -29 && d < 29) {
            mv += 0.3f * (1.0f - (float)(d * d) / 841.0f);
        }
        mv += 0.2f * (float)((i / 90) % 40 < 20 ? (i / 90) % 20 : 20 - (i / 90) % 20) / 20.0f;
        lcg = lcg * 1664525u + 1013904223u;
        mv += 0.02f * ((float)(lcg >> 16) / 65536.0f - 0.5f);
        ecg_in[i] = (int16_t)(ZERO + (int)(mv * GAIN + 0.5f));
    }
}

static ws_ecg_config_t config(void)
{
    ws_ecg_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.fs_in_hz = FS;
    cfg.adc_gain = GAIN;
    cfg.adc_zero = ZERO;
    cfg.adc_min = 0;
    cfg.adc_max = 2047;
    cfg.output_mode = WS_ECG_OUT_MICROVOLT;
    return cfg;
}

typedef struct {
    size_t n_out;
    uint32_t n_beats;
    uint32_t beat_sum; /* sum of sample indices, order-sensitive mix */
    uint32_t rr_min, rr_max;
} run_t;

static run_t run_blocks(int16_t *out, size_t block)
{
    ws_ecg_t *st = (ws_ecg_t *)(void *)state_mem.bytes;
    ws_ecg_config_t cfg = config();
    run_t r;
    size_t at = 0;
    memset(&r, 0, sizeof r);
    r.rr_min = 0xFFFFFFFFu;
    WS_TEST_ASSERT_EQ_INT(ws_ecg_init(st, &cfg), WS_OK);
    while (at < N_IN) {
        size_t n = (N_IN - at < block) ? N_IN - at : block;
        size_t got = 0, k, i;
        ws_ecg_beat_t beats[WS_ECG_BEAT_QUEUE];
        ws_ecg_quality_t q[WS_ECG_QUALITY_QUEUE];
        WS_TEST_ASSERT_EQ_INT(
            ws_ecg_process(st, &ecg_in[at], n, &out[r.n_out], N_IN - r.n_out, &got), WS_OK);
        r.n_out += got;
        at += n;
        k = ws_ecg_read_beats(st, beats, WS_ECG_BEAT_QUEUE);
        for (i = 0; i < k; i++) {
            r.n_beats++;
            r.beat_sum = r.beat_sum * 31u + beats[i].sample;
            if (beats[i].rr_ms != 0u) {
                r.rr_min = beats[i].rr_ms < r.rr_min ? beats[i].rr_ms : r.rr_min;
                r.rr_max = beats[i].rr_ms > r.rr_max ? beats[i].rr_ms : r.rr_max;
            }
        }
        (void)ws_ecg_read_quality(st, q, WS_ECG_QUALITY_QUEUE);
    }
    WS_TEST_ASSERT_EQ_INT(ws_ecg_dropped(st), 0);
    return r;
}

static void check_errors(void)
{
    ws_ecg_t *st = (ws_ecg_t *)(void *)state_mem.bytes;
    ws_ecg_config_t cfg = config();
    size_t got = 0;
    WS_TEST_ASSERT(ws_ecg_state_size() <= sizeof state_mem.bytes);
    memset(state_mem.bytes, 0, sizeof state_mem.bytes);
    WS_TEST_ASSERT_EQ_INT(ws_ecg_process(st, ecg_in, 10, out_a, 20, &got), WS_ERR_STATE);
    WS_TEST_ASSERT_EQ_INT(ws_ecg_init(NULL, &cfg), WS_ERR_ARG);
    cfg.fs_in_hz = 128; /* 125 phases */
    WS_TEST_ASSERT_EQ_INT(ws_ecg_init(st, &cfg), WS_ERR_DSP_RATE);
    cfg = config();
    cfg.adc_gain = 0.0f;
    WS_TEST_ASSERT_EQ_INT(ws_ecg_init(st, &cfg), WS_ERR_DSP_CONFIG);
    cfg = config();
    WS_TEST_ASSERT_EQ_INT(ws_ecg_init(st, &cfg), WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_ecg_process(st, ecg_in, WS_ECG_MAX_BLOCK + 1, out_a, N_IN, &got),
                          WS_ERR_RANGE);
    WS_TEST_ASSERT_EQ_INT(ws_ecg_process(st, ecg_in, 360, out_a, 10, &got), WS_ERR_ARG);
    WS_TEST_ASSERT_EQ_INT(ws_ecg_process(st, NULL, 360, out_a, N_IN, &got), WS_ERR_ARG);
}

#ifdef WS_PORT_CORTEX_M4
/* CMSDK APB timer 0 of mps2-an386, clocked by the system clock. */
#define TIMER0_CTRL (*(volatile uint32_t *)0x40000000u)
#define TIMER0_VALUE (*(volatile uint32_t *)0x40000004u)
#define TIMER0_RELOAD (*(volatile uint32_t *)0x40000008u)

static uint32_t ticks_now(void) { return 0xFFFFFFFFu - TIMER0_VALUE; }

/* 2 instructions per iteration: calibrates timer ticks to instructions. */
static void spin(uint32_t n)
{
    __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(n) : : "cc");
}

static void measure_instructions(void)
{
    ws_ecg_t *st = (ws_ecg_t *)(void *)state_mem.bytes;
    ws_ecg_config_t cfg = config();
    uint32_t t0, t_cal, t_init, t_run = 0;
    const uint32_t spins = 1000000u;
    size_t at, got;
    TIMER0_CTRL = 0u;
    TIMER0_RELOAD = 0xFFFFFFFFu;
    TIMER0_VALUE = 0xFFFFFFFFu;
    TIMER0_CTRL = 1u;
    t0 = ticks_now();
    spin(spins);
    t_cal = ticks_now() - t0;
    t0 = ticks_now();
    WS_TEST_ASSERT_EQ_INT(ws_ecg_init(st, &cfg), WS_OK);
    t_init = ticks_now() - t0;
    /* one-second blocks, as the device would feed it; reading the queues counted too */
    for (at = 0; at < N_IN; at += FS) {
        ws_ecg_beat_t beats[WS_ECG_BEAT_QUEUE];
        ws_ecg_quality_t q[WS_ECG_QUALITY_QUEUE];
        t0 = ticks_now();
        (void)ws_ecg_process(st, &ecg_in[at], FS, out_b, N_IN, &got);
        (void)ws_ecg_read_beats(st, beats, WS_ECG_BEAT_QUEUE);
        (void)ws_ecg_read_quality(st, q, WS_ECG_QUALITY_QUEUE);
        t_run += ticks_now() - t0;
    }
    if (t_cal > 0u) {
        ws_test_puts("ECG-M4 instructions_per_s=");
        ws_test_put_uint((uint64_t)t_run * (2u * spins) / t_cal / SECONDS);
        ws_test_puts(" init_instructions=");
        ws_test_put_uint((uint64_t)t_init * (2u * spins) / t_cal);
        ws_test_puts(" state_bytes=");
        ws_test_put_uint(ws_ecg_state_size());
        ws_test_puts(" (instruction counts hold only under QEMU -icount)\n");
    }
}
#endif

int ws_test_run(void)
{
    run_t whole, pieces, ones;
    make_ecg();
    check_errors();
    whole = run_blocks(out_a, WS_ECG_MAX_BLOCK);
    /* 20 s at 72 bpm: 24 beats less those still in the detector's pipeline */
    WS_TEST_ASSERT(whole.n_beats >= 22u && whole.n_beats <= 24u);
    WS_TEST_ASSERT(whole.rr_min >= 820u && whole.rr_max <= 848u);
    WS_TEST_ASSERT(whole.n_out >= (size_t)(SECONDS * WS_ECG_RATE_HZ - 1) &&
                   whole.n_out <= (size_t)(SECONDS * WS_ECG_RATE_HZ + 1));
    pieces = run_blocks(out_b, 7);
    WS_TEST_ASSERT_EQ_INT(pieces.n_out, whole.n_out);
    WS_TEST_ASSERT_EQ_INT(pieces.beat_sum, whole.beat_sum);
    WS_TEST_ASSERT(memcmp(out_a, out_b, whole.n_out * sizeof out_a[0]) == 0);
    ones = run_blocks(out_b, 1);
    WS_TEST_ASSERT_EQ_INT(ones.beat_sum, whole.beat_sum);
    WS_TEST_ASSERT(memcmp(out_a, out_b, whole.n_out * sizeof out_a[0]) == 0);
    {
        uint32_t h = 2166136261u;
        size_t i;
        for (i = 0; i < whole.n_out; i++) {
            h = (h ^ (uint16_t)out_a[i]) * 16777619u;
        }
        ws_test_puts("ECG-CHECKSUM out=");
        ws_test_put_hex(h);
        ws_test_puts(" beats=");
        ws_test_put_hex(whole.beat_sum);
        ws_test_puts("\n");
    }
#ifdef WS_PORT_CORTEX_M4
    measure_instructions();
#endif
    return ws_test_failures();
}
