/* The detectors' decision logic (ws_detect.h): AF episode hysteresis, fall confirmation
 * by stillness, activity debouncing and hourly minutes; and the app's refusals. Window
 * verdicts and frames are written by hand here (unit tests); docs/detectors.md has the
 * rules, tests/test_detect.py the behaviour on real recordings. */
#include <string.h>

#include "ws_detect.h"
#include "ws_protocol.h"
#include "ws_ram_flash.h"
#include "ws_test.h"

static ws_af_step_t step;

#define START WS_AF_START_WINDOWS
#define END WS_AF_END_WINDOWS

static void af(ws_af_logic_t *l, uint32_t k, uint8_t cls)
{
    ws_af_logic_window(l, k, cls, cls == WS_RHYTHM_AF ? 90 : 5, 16, 16 * 600, &step);
}

static void test_af_start_needs_the_start_run(void)
{
    ws_af_logic_t l;
    uint32_t k;
    ws_af_logic_init(&l);
    af(&l, 0, WS_RHYTHM_NORMAL);
    for (k = 1; k < START; k++) {
        af(&l, k, WS_RHYTHM_AF);
        WS_TEST_ASSERT(!step.started);
    }
    af(&l, START, WS_RHYTHM_AF);
    WS_TEST_ASSERT(step.started);
    WS_TEST_ASSERT_EQ_INT(step.onset, 1);
    WS_TEST_ASSERT_EQ_INT(step.confidence, 90);
    WS_TEST_ASSERT_EQ_INT(step.hr_bpm, 100); /* 16 beats over 9.6 s */
    af(&l, START + 1, WS_RHYTHM_AF);
    WS_TEST_ASSERT(!step.started); /* one start per episode */
    WS_TEST_ASSERT(l.in_episode);
}

static void test_af_run_broken_before_start(void)
{
    ws_af_logic_t l;
    uint32_t k;
    ws_af_logic_init(&l);
    for (k = 0; k < START - 1; k++) {
        af(&l, k, WS_RHYTHM_AF);
    }
    af(&l, START - 1, WS_RHYTHM_OTHER); /* one non-AF window resets the run */
    for (k = START; k < 2 * START - 1; k++) {
        af(&l, k, WS_RHYTHM_AF);
        WS_TEST_ASSERT(!step.started);
    }
    af(&l, 2 * START - 1, WS_RHYTHM_AF);
    WS_TEST_ASSERT(step.started);
    WS_TEST_ASSERT_EQ_INT(step.onset, START);
}

static void test_af_noisy_windows_pause_a_run(void)
{
    ws_af_logic_t l;
    uint32_t k, n = 0;
    ws_af_logic_init(&l);
    af(&l, n++, WS_RHYTHM_AF);
    for (k = 0; k < WS_AF_GAP_WINDOWS - 1; k++) { /* a short unanalysable stretch: waits */
        af(&l, n++, WS_RHYTHM_NOISY);
        WS_TEST_ASSERT(!step.started);
    }
    for (k = 1; k < START; k++) {
        af(&l, n++, WS_RHYTHM_AF);
    }
    WS_TEST_ASSERT(step.started);
    WS_TEST_ASSERT_EQ_INT(step.onset, 0);

    ws_af_logic_init(&l);
    n = 0;
    af(&l, n++, WS_RHYTHM_AF);
    for (k = 0; k < WS_AF_GAP_WINDOWS; k++) { /* too long unseen: the run is over */
        af(&l, n++, WS_RHYTHM_NOISY);
    }
    for (k = 1; k < START; k++) {
        af(&l, n++, WS_RHYTHM_AF);
        WS_TEST_ASSERT(!step.started);
    }
    af(&l, n++, WS_RHYTHM_AF);
    WS_TEST_ASSERT(step.started);
    WS_TEST_ASSERT_EQ_INT(step.onset, 1 + WS_AF_GAP_WINDOWS);
}

static void test_af_end_needs_sustained_non_af(void)
{
    ws_af_logic_t l;
    uint32_t k, n = 0, first_clear;
    ws_af_logic_init(&l);
    for (k = 0; k < 10; k++) {
        af(&l, n++, WS_RHYTHM_AF);
    }
    for (k = 0; k < END - 1; k++) { /* a short normal stretch, then AF again: same episode */
        af(&l, n++, WS_RHYTHM_NORMAL);
        WS_TEST_ASSERT(!step.ended);
    }
    af(&l, n++, WS_RHYTHM_AF);
    WS_TEST_ASSERT(!step.ended && !step.started);
    first_clear = n;
    af(&l, n++, WS_RHYTHM_OTHER);
    af(&l, n++, WS_RHYTHM_NOISY); /* unanalysable: no vote either way */
    WS_TEST_ASSERT(!step.ended);
    for (k = 1; k < END - 1; k++) {
        af(&l, n++, WS_RHYTHM_NORMAL);
        WS_TEST_ASSERT(!step.ended);
    }
    af(&l, n++, WS_RHYTHM_NORMAL); /* the END-th analysable non-AF window */
    WS_TEST_ASSERT(step.ended);
    WS_TEST_ASSERT_EQ_INT(step.onset, 0);
    WS_TEST_ASSERT_EQ_INT(step.end, first_clear); /* the first window of the clearing run */
    WS_TEST_ASSERT(!l.in_episode);
    af(&l, n++, WS_RHYTHM_NORMAL);
    WS_TEST_ASSERT(!step.ended); /* one end per episode */
}

static void test_af_lost_signal_ends_episode(void)
{
    ws_af_logic_t l;
    uint32_t k;
    int ends = 0;
    ws_af_logic_init(&l);
    for (k = 0; k < 10; k++) {
        af(&l, k, WS_RHYTHM_AF);
    }
    for (k = 10; k < 10 + WS_AF_LOST_WINDOWS + 5; k++) {
        af(&l, k, WS_RHYTHM_NOISY);
        if (step.ended) {
            ends++;
            WS_TEST_ASSERT_EQ_INT(k, 10 + WS_AF_LOST_WINDOWS - 1);
            WS_TEST_ASSERT_EQ_INT(step.end, 10); /* after the last AF window */
        }
    }
    WS_TEST_ASSERT_EQ_INT(ends, 1);
}

static const int8_t still_frame[7] = {0, 0, 32, 1, 2, -3, 1};
static const int8_t moving_frame[7] = {10, 5, 20, 20, 40, 3, 1};

static void test_fall_still_after_the_impacts(void)
{
    ws_fall_logic_t l;
    uint8_t still_s = 0;
    uint32_t f;
    int still = 0;
    ws_fall_logic_init(&l);
    WS_TEST_ASSERT_EQ_INT(ws_fall_logic_impact(&l, 1000, 3000), 1); /* opens */
    WS_TEST_ASSERT_EQ_INT(ws_fall_logic_impact(&l, 1005, 4200), 1); /* joins */
    WS_TEST_ASSERT_EQ_INT(ws_fall_logic_impact(&l, 1010, 2000), 1); /* joins */
    WS_TEST_ASSERT_EQ_INT(l.impact_mg, 4200);                        /* the strongest */
    WS_TEST_ASSERT_EQ_INT(l.impact_frame, 1010); /* stillness counts from the latest */
    for (f = 1011; f < 1010 + WS_FALL_SETTLE; f++) { /* settling: not counted */
        WS_TEST_ASSERT_EQ_INT(ws_fall_logic_frame(&l, f, still_frame, &still_s), 0);
    }
    for (f = 1010 + WS_FALL_SETTLE; f < 1010 + WS_FALL_SETTLE + 40; f++) {
        (void)ws_fall_logic_frame(&l, f, moving_frame, &still_s);
    }
    for (; f < 1010 + WS_FALL_SETTLE + 40 + 2 * WS_FALL_STILL_FRAMES; f++) {
        int r = ws_fall_logic_frame(&l, f, still_frame, &still_s);
        if (r == 1) {
            still++;
            WS_TEST_ASSERT_EQ_INT(f, 1010 + WS_FALL_SETTLE + 40 + WS_FALL_STILL_FRAMES - 1);
            WS_TEST_ASSERT_EQ_INT(still_s, WS_FALL_STILL_FRAMES / 50);
            ws_fall_logic_fell(&l, f); /* the model said fall: a FALL went out */
        }
    }
    WS_TEST_ASSERT_EQ_INT(still, 1); /* once per fall */
    WS_TEST_ASSERT(!l.pending);
    /* hold-off after the FALL: an impact right after does not open a new fall */
    WS_TEST_ASSERT_EQ_INT(ws_fall_logic_impact(&l, f, 3000), 0);
    WS_TEST_ASSERT_EQ_INT(ws_fall_logic_impact(&l, 1010 + WS_FALL_SETTLE + 40 +
                                                       WS_FALL_STILL_FRAMES - 1 + WS_FALL_HOLDOFF,
                                               3000),
                          1);
}

static void test_fall_expires_without_stillness(void)
{
    ws_fall_logic_t l;
    uint8_t still_s = 0;
    uint32_t f;
    int expired = 0, still = 0;
    ws_fall_logic_init(&l);
    WS_TEST_ASSERT_EQ_INT(ws_fall_logic_impact(&l, 0, 2500), 1);
    for (f = 1; f < WS_FALL_SETTLE + WS_FALL_DEADLINE + 10; f++) {
        /* still for just under the required time, then a movement, again and again */
        const int8_t *v = (f % WS_FALL_STILL_FRAMES) == 0 ? moving_frame : still_frame;
        int r = ws_fall_logic_frame(&l, f, v, &still_s);
        expired += r == -1;
        still += r == 1;
    }
    WS_TEST_ASSERT_EQ_INT(expired, 1);
    WS_TEST_ASSERT_EQ_INT(still, 0);
    WS_TEST_ASSERT(!l.pending);
    /* no FALL was sent: no hold-off, the next impact opens a new one */
    WS_TEST_ASSERT_EQ_INT(ws_fall_logic_impact(&l, f, 2500), 1);
}

static void test_fall_button_drops_pending(void)
{
    ws_fall_logic_t l;
    ws_fall_logic_init(&l);
    WS_TEST_ASSERT(!ws_fall_logic_button(&l));
    WS_TEST_ASSERT_EQ_INT(ws_fall_logic_impact(&l, 10, 2500), 1);
    WS_TEST_ASSERT(ws_fall_logic_button(&l));
    WS_TEST_ASSERT(!l.pending);
}

static void test_activity_debounce_and_minutes(void)
{
    ws_act_logic_t l;
    uint8_t from = 0, to = 0, conf = 0, minutes[8];
    int k, changes = 0, sum = 0, walk_windows;
    ws_act_logic_init(&l);
    for (k = 0; k < WS_ACT_DEBOUNCE - 1; k++) {
        WS_TEST_ASSERT(!ws_act_logic_window(&l, WS_ACTIVITY_WALK, 70, &from, &to, &conf));
    }
    WS_TEST_ASSERT(ws_act_logic_window(&l, WS_ACTIVITY_WALK, 90, &from, &to, &conf));
    WS_TEST_ASSERT_EQ_INT(from, WS_ACTIVITY_UNKNOWN);
    WS_TEST_ASSERT_EQ_INT(to, WS_ACTIVITY_WALK);
    WS_TEST_ASSERT_EQ_INT(conf, (70 * (WS_ACT_DEBOUNCE - 1) + 90 + WS_ACT_DEBOUNCE / 2) /
                                    WS_ACT_DEBOUNCE);
    for (k = 0; k < 20; k++) { /* flicker between two other classes: no change */
        changes += ws_act_logic_window(&l, k % 2 ? WS_ACTIVITY_RUN : WS_ACTIVITY_SIT, 60, &from,
                                       &to, &conf);
    }
    WS_TEST_ASSERT_EQ_INT(changes, 0);
    walk_windows = WS_ACT_DEBOUNCE + 20;
    for (k = 0; k < WS_ACT_DEBOUNCE - 1; k++) {
        WS_TEST_ASSERT(!ws_act_logic_window(&l, WS_ACTIVITY_SIT, 60, &from, &to, &conf));
        walk_windows++;
    }
    WS_TEST_ASSERT(ws_act_logic_window(&l, WS_ACTIVITY_SIT, 60, &from, &to, &conf));
    WS_TEST_ASSERT_EQ_INT(from, WS_ACTIVITY_WALK);
    WS_TEST_ASSERT_EQ_INT(to, WS_ACTIVITY_SIT);
    WS_TEST_ASSERT(!ws_act_logic_window(&l, 200, 60, &from, &to, &conf)); /* not a class */
    /* one sure window is enough; a less sure one is not */
    WS_TEST_ASSERT(!ws_act_logic_window(&l, WS_ACTIVITY_LIE, WS_ACT_SURE_PCT - 1, &from, &to,
                                        &conf));
    WS_TEST_ASSERT(ws_act_logic_window(&l, WS_ACTIVITY_RUN, WS_ACT_SURE_PCT, &from, &to, &conf));
    WS_TEST_ASSERT_EQ_INT(to, WS_ACTIVITY_RUN);
    WS_TEST_ASSERT_EQ_INT(conf, WS_ACT_SURE_PCT);
    walk_windows = 0; /* the minutes below count from here: sitting again */
    for (k = 0; k < WS_ACT_DEBOUNCE; k++) {
        (void)ws_act_logic_window(&l, WS_ACTIVITY_SIT, 60, &from, &to, &conf);
    }
    WS_TEST_ASSERT_EQ_INT(l.current, WS_ACTIVITY_SIT);
    (void)ws_act_logic_summary(&l, minutes);

    /* more than an hour of sitting: minutes trimmed so the sum stays within 60 */
    for (k = 0; k < 2 * 3600000 / WS_ACT_HOP_MS; k++) {
        (void)ws_act_logic_window(&l, WS_ACTIVITY_SIT, 60, &from, &to, &conf);
    }
    WS_TEST_ASSERT(ws_act_logic_summary(&l, minutes));
    for (k = 0; k < 8; k++) {
        sum += minutes[k];
    }
    WS_TEST_ASSERT_EQ_INT(sum, 60);
    WS_TEST_ASSERT_EQ_INT(minutes[WS_ACTIVITY_SIT], 60);
    WS_TEST_ASSERT_EQ_INT(minutes[WS_ACTIVITY_WALK] + (uint32_t)walk_windows, 0);
    WS_TEST_ASSERT(!ws_act_logic_summary(&l, minutes)); /* nothing since */
    WS_TEST_ASSERT_EQ_INT(minutes[WS_ACTIVITY_SIT], 0);
}

static void test_activity_minutes_round_and_trim(void)
{
    ws_act_logic_t l;
    uint8_t minutes[8];
    ws_act_logic_init(&l);
    l.windows[WS_ACTIVITY_WALK] = 30720 / WS_ACT_HOP_MS;  /* 30.72 s: rounds up to a minute */
    l.windows[WS_ACTIVITY_SIT] = 3582000 / WS_ACT_HOP_MS; /* 59.7 min: 60, the sum 61 */
    l.windows[WS_ACTIVITY_LIE] = 25600 / WS_ACT_HOP_MS;   /* 25.6 s: rounds down to nothing */
    l.total = 10;
    WS_TEST_ASSERT(ws_act_logic_summary(&l, minutes));
    WS_TEST_ASSERT_EQ_INT(minutes[WS_ACTIVITY_WALK], 1);
    WS_TEST_ASSERT_EQ_INT(minutes[WS_ACTIVITY_SIT], 59); /* the largest gives one up */
    WS_TEST_ASSERT_EQ_INT(minutes[WS_ACTIVITY_LIE], 0);
}

/* ---- the app's refusals, on a device core over RAM flash ---- */

#define PAGE_SIZE 512u
#define PAGE_COUNT 4u
static uint8_t flash_mem[PAGE_SIZE * PAGE_COUNT];
static ws_ram_flash_t flash;
static ws_device_t dev;
static ws_app_t app;
static uint32_t clock_s;
static uint32_t now(void *ctx) { (void)ctx; return clock_s; }
static const ws_platform_t platform = {now, NULL, NULL, NULL, NULL};
static const uint8_t junk[64] __attribute__((aligned(16))) = {1, 2, 3, 4};

static void test_app_refusals(void)
{
    ws_ecg_config_t ecg;
    ws_imu_config_t imu;
    ws_app_stats_t stats;
    int16_t samples[8] = {0};
    float frames[6] = {0};
    ws_device_info_t info;
    uint32_t before;
    ws_ram_flash_init(&flash, flash_mem, PAGE_SIZE, PAGE_COUNT);
    WS_TEST_ASSERT_EQ_INT(ws_device_boot(&dev, "WS-T", &flash.iface, &platform),
                          WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_app_init(&app, &dev), WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_app_init(NULL, &dev), WS_ERR_ARG);
    WS_TEST_ASSERT_EQ_INT(ws_app_set_model(&app, 3, junk, sizeof junk, 1), WS_ERR_RANGE);
    WS_TEST_ASSERT_EQ_INT(ws_app_set_model(&app, 0, NULL, 5, 1), WS_ERR_ARG);
    WS_TEST_ASSERT(ws_app_set_model(&app, 0, junk, sizeof junk, 1) != WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_app_set_model(&app, 0, NULL, 0, 0), WS_OK); /* removal */
    WS_TEST_ASSERT_EQ_INT(ws_app_feed_ecg(&app, samples, 8), WS_ERR_STATE);
    WS_TEST_ASSERT_EQ_INT(ws_app_feed_imu(&app, frames, 1), WS_ERR_STATE);
    memset(&ecg, 0, sizeof ecg);
    ecg.fs_in_hz = 7; /* not a supported rate */
    ecg.adc_gain = 200.0f;
    ecg.adc_min = -1000;
    ecg.adc_max = 1000;
    WS_TEST_ASSERT_EQ_INT(ws_app_config_ecg(&app, &ecg), WS_ERR_DSP_RATE);
    ecg.fs_in_hz = 250;
    WS_TEST_ASSERT_EQ_INT(ws_app_config_ecg(&app, &ecg), WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_app_feed_ecg(&app, samples, 8), WS_OK);
    memset(&imu, 0, sizeof imu);
    imu.fs_in_hz = 50;
    imu.acc_scale = 1.0f;
    imu.gyro_scale = 1.0f;
    imu.impact_g = 0.5f; /* below the allowed threshold */
    WS_TEST_ASSERT_EQ_INT(ws_app_config_imu(&app, &imu), WS_ERR_IMU_CONFIG);
    imu.impact_g = 1.6f;
    WS_TEST_ASSERT_EQ_INT(ws_app_config_imu(&app, &imu), WS_OK);
    frames[2] = 1.0f;
    WS_TEST_ASSERT_EQ_INT(ws_app_feed_imu(&app, frames, 1), WS_OK);
    /* a button press with no fall, and an hour with no samples judged: no events */
    WS_TEST_ASSERT_EQ_INT(ws_device_get_info(&dev, &info), WS_OK);
    before = info.last_seq;
    WS_TEST_ASSERT_EQ_INT(ws_app_button(&app), WS_OK);
    clock_s += 4000;
    WS_TEST_ASSERT_EQ_INT(ws_app_tick(&app), WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_device_get_info(&dev, &info), WS_OK);
    WS_TEST_ASSERT_EQ_INT(info.last_seq, before);
    WS_TEST_ASSERT_EQ_INT(ws_app_get_stats(&app, &stats), WS_OK);
    WS_TEST_ASSERT_EQ_INT(stats.ecg_samples, 8);
    WS_TEST_ASSERT_EQ_INT(stats.imu_samples, 1);
    WS_TEST_ASSERT_EQ_INT(stats.events, 0);
    WS_TEST_ASSERT_EQ_INT(stats.arena_bytes, WS_APP_ARENA_BYTES);
}

int ws_test_run(void)
{
    test_af_start_needs_the_start_run();
    test_af_run_broken_before_start();
    test_af_noisy_windows_pause_a_run();
    test_af_end_needs_sustained_non_af();
    test_af_lost_signal_ends_episode();
    test_fall_still_after_the_impacts();
    test_fall_expires_without_stillness();
    test_fall_button_drops_pending();
    test_activity_debounce_and_minutes();
    test_activity_minutes_round_and_trim();
    test_app_refusals();
    return ws_test_failures();
}
