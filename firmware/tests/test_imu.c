/* The IMU front end on the host (sanitizers) and the Cortex-M4: configuration errors,
 * DC gain of the resampler, int8 scaling, the impact trigger (the largest peak of a burst),
 * block independence. */
#include "ws_dsp_imu.h"
#include "ws_test.h"

#define STATE_WORDS 4096 /* 16 KiB, float aligned; checked against ws_imu_state_size */
#define MAX_EVENTS 64

static float g_mem_a[STATE_WORDS];
static float g_mem_b[STATE_WORDS];

typedef struct {
    uint8_t flags;
    uint32_t frame;
    uint32_t impact_frame;
} seen_t;

static ws_imu_config_t config(uint16_t fs)
{
    ws_imu_config_t cfg;
    cfg.fs_in_hz = fs;
    cfg.acc_scale = 1.0f / 256.0f; /* ADXL345 counts at +-16 g */
    cfg.gyro_scale = 0.25f;
    cfg.impact_g = 2.0f;
    cfg.refractory = 100;
    return cfg;
}

/* 200 Hz counts: gravity on z, an impact of about 4 g on x at 3 s, gyro sawtooth. */
static void make_input(float *x, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        float *r = &x[i * WS_IMU_AXES];
        r[0] = (i >= 598 && i <= 602) ? 1024.0f : 0.0f;
        r[1] = 0.0f;
        r[2] = 256.0f;
        r[3] = (float)(i % 40) - 20.0f;
        r[4] = 16.0f;
        r[5] = -16.0f;
    }
}

static size_t run(ws_imu_t *st, const float *x, size_t n, size_t step, seen_t *seen)
{
    size_t at = 0;
    size_t count = 0;
    while (at < n) {
        size_t len = n - at < step ? n - at : step;
        size_t done = 0;
        while (done < len) {
            size_t used = 0;
            ws_imu_event_t ev;
            WS_TEST_ASSERT_EQ_INT(ws_imu_process(st, &x[(at + done) * WS_IMU_AXES], len - done,
                                                 &used, &ev), WS_OK);
            done += used;
            if (ev.flags == 0) {
                break;
            }
            if (count < MAX_EVENTS) {
                seen[count].flags = ev.flags;
                seen[count].frame = ev.frame;
                seen[count].impact_frame = ev.impact_frame;
            }
            count++;
        }
        at += len;
    }
    return count;
}

static float x_in[2000 * WS_IMU_AXES];

/* 50 Hz frames in g (the resampler passes them through): gravity on z and single-frame
 * spikes on x, |a| = sqrt(x^2 + 1): 2.3 -> 2.51 g, 2.8 -> 2.97 g, 3.3 -> 3.45 g,
 * 3.9 -> 4.03 g. */
static void make_bursts(float *x, size_t n)
{
    static const uint16_t at[] = {300, 350, 800, 880, 1300, 1380, 1700, 1740, 1790, 1810};
    static const float g[] = {2.3f, 3.9f, 2.3f, 3.9f, 3.9f, 2.3f, 2.3f, 2.8f, 3.3f, 3.9f};
    size_t i;
    for (i = 0; i < n * WS_IMU_AXES; i++) {
        x[i] = (i % WS_IMU_AXES == 2) ? 1.0f : 0.0f;
    }
    for (i = 0; i < sizeof at / sizeof at[0]; i++) {
        x[at[i] * WS_IMU_AXES] = g[i];
    }
}

/* The impacts of make_bursts: a step then a larger impact within 63 frames moves the
 * impact to the larger (350); a larger one in the refractory time after a reported
 * impact opens a new one (880), a smaller one does not (1380); a larger peak more than
 * WS_IMU_BURST frames after the crossing does not move it (1790) but opens a second
 * one (1810). */
static int check_bursts(ws_imu_t *st)
{
    static const uint32_t want[] = {350, 800, 880, 1300, 1790, 1810};
    ws_imu_config_t cfg = config(50);
    seen_t seen[MAX_EVENTS];
    size_t n;
    size_t i;
    size_t k = 0;
    cfg.acc_scale = 1.0f;
    cfg.gyro_scale = 1.0f;
    WS_TEST_ASSERT_EQ_INT(ws_imu_init(st, &cfg), WS_OK);
    make_bursts(x_in, 2000);
    n = run(st, x_in, 2000, 37, seen);
    WS_TEST_ASSERT(n <= MAX_EVENTS);
    for (i = 0; i < n && i < MAX_EVENTS; i++) {
        if (seen[i].flags & WS_IMU_EV_IMPACT) {
            WS_TEST_ASSERT(k < sizeof want / sizeof want[0]);
            if (k < sizeof want / sizeof want[0]) {
                WS_TEST_ASSERT_EQ_INT(seen[i].impact_frame, want[k]);
            }
            WS_TEST_ASSERT_EQ_INT(seen[i].frame, seen[i].impact_frame + 63);
            k++;
        }
    }
    WS_TEST_ASSERT_EQ_INT(k, sizeof want / sizeof want[0]);
    return 0;
}

int ws_test_run(void)
{
    ws_imu_t *a = (ws_imu_t *)g_mem_a;
    ws_imu_t *b = (ws_imu_t *)g_mem_b;
    ws_imu_config_t cfg = config(200);
    ws_imu_event_t ev;
    size_t used = 0;
    seen_t whole[MAX_EVENTS];
    seen_t single[MAX_EVENTS];
    size_t n_whole;
    size_t n_single;
    size_t i;
    size_t impacts = 0;
    int8_t window[WS_IMU_WINDOW * WS_IMU_CHANNELS];
    float last[7];

    WS_TEST_ASSERT(ws_imu_state_size() <= sizeof g_mem_a);
    WS_TEST_ASSERT(ws_imu_resampler_size() < ws_imu_state_size());

    /* errors */
    WS_TEST_ASSERT_EQ_INT(ws_imu_process(a, x_in, 1, &used, &ev), WS_ERR_STATE);
    WS_TEST_ASSERT_EQ_INT(ws_imu_init(NULL, &cfg), WS_ERR_ARG);
    cfg.fs_in_hz = 1000;
    WS_TEST_ASSERT_EQ_INT(ws_imu_init(a, &cfg), WS_ERR_IMU_RATE);
    cfg.fs_in_hz = 0;
    WS_TEST_ASSERT_EQ_INT(ws_imu_init(a, &cfg), WS_ERR_IMU_RATE);
    cfg = config(200);
    cfg.impact_g = 0.5f;
    WS_TEST_ASSERT_EQ_INT(ws_imu_init(a, &cfg), WS_ERR_IMU_CONFIG);
    cfg = config(200);
    cfg.acc_scale = -1.0f;
    WS_TEST_ASSERT_EQ_INT(ws_imu_init(a, &cfg), WS_ERR_IMU_CONFIG);
    cfg = config(200);
    WS_TEST_ASSERT_EQ_INT(ws_imu_init(a, &cfg), WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_imu_process(a, NULL, 3, &used, &ev), WS_ERR_ARG);
    WS_TEST_ASSERT_EQ_INT(ws_imu_window(a, window, 10), WS_ERR_ARG);
    WS_TEST_ASSERT_EQ_INT(ws_imu_delay_us(a), 160000); /* 32 taps of 200 Hz */

    /* the whole recording in one call, then one sample per call */
    make_input(x_in, 2000);
    n_whole = run(a, x_in, 2000, 2000, whole);
    WS_TEST_ASSERT_EQ_INT(ws_imu_init(b, &cfg), WS_OK);
    n_single = run(b, x_in, 2000, 1, single);
    WS_TEST_ASSERT_EQ_INT(n_whole, n_single);
    WS_TEST_ASSERT(n_whole > 5 && n_whole <= MAX_EVENTS);
    for (i = 0; i < n_whole && i < MAX_EVENTS; i++) {
        WS_TEST_ASSERT_EQ_INT(whole[i].flags, single[i].flags);
        WS_TEST_ASSERT_EQ_INT(whole[i].frame, single[i].frame);
        WS_TEST_ASSERT_EQ_INT(whole[i].impact_frame, single[i].impact_frame);
    }
    WS_TEST_ASSERT_EQ_INT(ws_imu_frames(a), 500);
    for (i = 0; i < n_whole && i < MAX_EVENTS; i++) {
        if (whole[i].flags & WS_IMU_EV_IMPACT) {
            impacts++;
            /* the impact at input 600 (3.0 s) is frame 150 plus the 0.16 s delay (8) */
            WS_TEST_ASSERT(whole[i].impact_frame >= 157 && whole[i].impact_frame <= 159);
            WS_TEST_ASSERT_EQ_INT(whole[i].frame, whole[i].impact_frame + 63);
        }
        if (whole[i].flags & WS_IMU_EV_WINDOW) {
            WS_TEST_ASSERT_EQ_INT((whole[i].frame + 1 - WS_IMU_WINDOW) % WS_IMU_HOP, 0);
        }
    }
    WS_TEST_ASSERT_EQ_INT(impacts, 1);
    (void)check_bursts(b);

    /* units and int8 scaling once the filter has settled: 1 g on z, |a| - 1 g = 0,
     * gyro 16 counts * 0.25 = 4 deg/s = 1 LSB */
    ws_imu_last_frame(a, last);
    WS_TEST_ASSERT(last[2] > 0.9999f && last[2] < 1.0001f);
    WS_TEST_ASSERT(last[3] > 0.9999f && last[3] < 1.0001f);
    WS_TEST_ASSERT(last[5] > 3.999f && last[5] < 4.001f);
    WS_TEST_ASSERT_EQ_INT(ws_imu_window(a, window, sizeof window), WS_OK);
    i = (WS_IMU_WINDOW - 1) * WS_IMU_CHANNELS;
    WS_TEST_ASSERT_EQ_INT(window[i + 0], 0);
    WS_TEST_ASSERT_EQ_INT(window[i + 2], WS_IMU_ACC_LSB_PER_G);
    WS_TEST_ASSERT_EQ_INT(window[i + 3], 0);
    WS_TEST_ASSERT_EQ_INT(window[i + 5], 1);
    WS_TEST_ASSERT_EQ_INT(window[i + 6], -1);

    /* a non-finite sample is refused and not taken */
    x_in[3 * WS_IMU_AXES + 1] = x_in[3 * WS_IMU_AXES + 1] / 0.0f - x_in[3 * WS_IMU_AXES + 1] / 0.0f;
    WS_TEST_ASSERT_EQ_INT(ws_imu_init(a, &cfg), WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_imu_process(a, x_in, 10, &used, &ev), WS_ERR_RANGE);
    WS_TEST_ASSERT_EQ_INT(used, 3);
    return ws_test_failures();
}
