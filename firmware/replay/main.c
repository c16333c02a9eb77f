/* The replay image: the whole firmware (device core, detectors, the shipped models, the
 * event queue on RAM-backed flash) run on real recordings embedded at build time
 * (build/gen/ws_replay_data.h, tools/make_replay_image.py). Built for the emulated
 * Cortex-M4 (QEMU mps2-an386) and natively; both print the same event packets, which
 * tests/test_detect_m4.py compares with each other and with the Python binding.
 *
 * Passes, each on a fresh device: the ECG and the IMU front ends without models ("ecg",
 * "imu"), the ECG front end with the ECG strip recorder (docs/strips.md) and no model
 * ("ecg_strips"; the recorder runs in every pass below that feeds ECG, as on the device), ECG with the AFib model only ("afib"), IMU with the fall model only ("fall"), IMU
 * with the activity model only ("activity"), then both streams with all three models
 * ("total"), whose events are printed. On the M4 each feed
 * call is timed with SysTick on the processor clock (exact instruction counts under QEMU
 * -icount shift=0, docs/firmware-port.md). Output lines:
 *   WS-REPLAY calibration=<ticks> instructions=2000000
 *   WS-REPLAY pass=<name> ecg_s=<s> imu_s=<s> ticks=<ticks> events=<n> loads=<n>
 *   WS-EV <packet hex>                      (the "total" pass, in seq order)
 *   WS-REPLAY stack_used=<bytes> app_bytes=<n> arena_bytes=<n> arena_needed=<n> ...
 *       strips_bytes=<n> strips_made=<n>
 *   WS-REPLAY switch task=<t> ticks=<ticks> load_ticks=<ticks> status=<s>  (load + arena)
 *   WS-REPLAY done */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ws_detect.h"
#include "ws_device.h"
#include "ws_ram_flash.h"
#include "ws_replay_data.h"
#include "ws_strips.h"

#if defined(WS_PORT_CORTEX_M4)
#include "platform.h"
#include "systick.h"
#else
#include <stdio.h>
void ws_platform_puts(const char *s);
void ws_platform_puts(const char *s) { fputs(s, stdout); }
static uint32_t ws_systick_start(void) { return 0; }
static uint32_t ws_systick_now(void) { return 0; }
static uint32_t ws_systick_elapsed(uint32_t start) { (void)start; return 0; }
static uint32_t ws_systick_calibrate(void) { return 0; }
#define WS_SYSTICK_CALIBRATION_INSTRUCTIONS 2000000u
#endif

#define PAGE_SIZE 4096u
#define PAGE_COUNT 32u /* the reference device's 128 KiB queue (RAM-backed here) */

static uint8_t ws_replay_queue_mem[PAGE_SIZE * PAGE_COUNT];
static ws_ram_flash_t flash;
static ws_device_t dev;
static ws_app_t app;
/* the ECG strips' partition (24 x 4 KiB, docs/strips.md), RAM-backed like the queue */
#define STRIP_PAGES 24u
static uint8_t ws_replay_strip_mem[PAGE_SIZE * STRIP_PAGES];
static ws_ram_flash_t strip_flash;
static ws_strips_t strips;
static uint32_t clock_s;
static uint64_t ticks;

static uint32_t now(void *ctx) { (void)ctx; return clock_s; }
static uint16_t model_version(void *ctx, uint8_t task);
static const ws_platform_t platform = {now, NULL, NULL, model_version, NULL};

static void put_uint(uint64_t v)
{
    char buf[24];
    int i = 23;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + (v % 10u));
        v /= 10u;
    } while (v != 0 && i > 0);
    ws_platform_puts(buf + i);
}

static void put_hex(const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char buf[2 * WS_NOTIFICATION_MAX + 1];
    size_t i;
    for (i = 0; i < n && i < WS_NOTIFICATION_MAX; i++) {
        buf[2 * i] = digits[p[i] >> 4];
        buf[2 * i + 1] = digits[p[i] & 15u];
    }
    buf[2 * i] = '\0';
    ws_platform_puts(buf);
}

typedef struct {
    const uint8_t *blob;
    size_t len;
    uint16_t version;
} model_t;

static model_t models[3];
static uint8_t models_on;

static uint16_t model_version(void *ctx, uint8_t task)
{
    (void)ctx;
    return task < 3 && (models_on & (1u << task)) ? models[task].version : 0;
}

static void init_models(void)
{
#ifdef WS_REPLAY_AFIB_VERSION
    models[0].blob = ws_replay_model_afib;
    models[0].len = sizeof ws_replay_model_afib;
    models[0].version = WS_REPLAY_AFIB_VERSION;
#endif
#ifdef WS_REPLAY_FALL_VERSION
    models[1].blob = ws_replay_model_fall;
    models[1].len = sizeof ws_replay_model_fall;
    models[1].version = WS_REPLAY_FALL_VERSION;
#endif
#ifdef WS_REPLAY_ACTIVITY_VERSION
    models[2].blob = ws_replay_model_activity;
    models[2].len = sizeof ws_replay_model_activity;
    models[2].version = WS_REPLAY_ACTIVITY_VERSION;
#endif
}

static int fail(const char *what, int status)
{
    ws_platform_puts("WS-REPLAY error ");
    ws_platform_puts(what);
    ws_platform_puts(" status=");
    put_uint((uint64_t)status);
    ws_platform_puts("\n");
    return 1;
}

static void feed_ecg_second(uint32_t s)
{
    uint32_t a = s * WS_REPLAY_ECG_FS, n = WS_REPLAY_ECG_FS, t0;
    if (a >= WS_REPLAY_ECG_N) {
        return;
    }
    if (a + n > WS_REPLAY_ECG_N) {
        n = WS_REPLAY_ECG_N - a;
    }
    t0 = ws_systick_now();
    (void)ws_app_feed_ecg(&app, ws_replay_ecg + a, n);
    ticks += ws_systick_elapsed(t0);
}

static float imu_buf[WS_REPLAY_IMU_FS * 6];

static void feed_imu_second(uint32_t s)
{
    uint32_t a = s * WS_REPLAY_IMU_FS, n = WS_REPLAY_IMU_FS, i, t0;
    if (a >= WS_REPLAY_IMU_N) {
        return;
    }
    if (a + n > WS_REPLAY_IMU_N) {
        n = WS_REPLAY_IMU_N - a;
    }
    for (i = 0; i < n * 6; i++) { /* the sensor driver's scaling to g and deg/s */
        float scale = (i % 6) < 3 ? WS_REPLAY_ACC_SCALE : WS_REPLAY_GYRO_SCALE;
        imu_buf[i] = (float)ws_replay_imu[a * 6 + i] * scale;
    }
    t0 = ws_systick_now();
    (void)ws_app_feed_imu(&app, imu_buf, n);
    ticks += ws_systick_elapsed(t0);
}

static int run_pass(const char *name, int ecg, int imu, uint8_t mask, int print, int strips_on)
{
    ws_ecg_config_t ec;
    ws_imu_config_t ic;
    ws_app_stats_t st;
    uint32_t s, ecg_s = 0, imu_s = 0, seconds, t;
    ws_status_t status;
    if (ws_ram_flash_init(&flash, ws_replay_queue_mem, PAGE_SIZE, PAGE_COUNT) != WS_OK) {
        return fail("flash", 0);
    }
    clock_s = 0;
    ticks = 0;
    models_on = mask;
    status = ws_device_boot(&dev, "WS-REPLAY", &flash.iface, &platform);
    if (status != WS_OK) {
        return fail("boot", status);
    }
    if (ws_app_init(&app, &dev) != WS_OK) {
        return fail("app", 0);
    }
    if (strips_on) {
        if (ws_ram_flash_init(&strip_flash, ws_replay_strip_mem, PAGE_SIZE, STRIP_PAGES) !=
                WS_OK ||
            (status = ws_strips_mount(&strips, &strip_flash.iface, &dev)) != WS_OK) {
            return fail("strips", status);
        }
        (void)ws_device_attach_strips(&dev, &strips);
        (void)ws_app_attach_strips(&app, &strips);
    }
    for (t = 0; t < 3; t++) {
        if ((mask & (1u << t)) && models[t].len > 0) {
            status = ws_app_set_model(&app, (uint8_t)t, models[t].blob, models[t].len,
                                      models[t].version);
            if (status != WS_OK) {
                return fail("model", status);
            }
        }
    }
    memset(&ec, 0, sizeof ec);
    ec.fs_in_hz = WS_REPLAY_ECG_FS;
    ec.adc_gain = WS_REPLAY_ECG_GAIN;
    ec.adc_zero = WS_REPLAY_ECG_ZERO;
    ec.adc_min = -32768;
    ec.adc_max = 32767;
    memset(&ic, 0, sizeof ic);
    ic.fs_in_hz = WS_REPLAY_IMU_FS;
    ic.acc_scale = 1.0f;
    ic.gyro_scale = 1.0f;
    ic.impact_g = 1.6f;
    ic.refractory = 100;
    if (ecg) {
        ecg_s = (WS_REPLAY_ECG_N + WS_REPLAY_ECG_FS - 1) / WS_REPLAY_ECG_FS;
        if ((status = ws_app_config_ecg(&app, &ec)) != WS_OK) {
            return fail("ecg config", status);
        }
    }
    if (imu) {
        imu_s = (WS_REPLAY_IMU_N + WS_REPLAY_IMU_FS - 1) / WS_REPLAY_IMU_FS;
        if ((status = ws_app_config_imu(&app, &ic)) != WS_OK) {
            return fail("imu config", status);
        }
    }
    seconds = ecg_s > imu_s ? ecg_s : imu_s;
    (void)ws_systick_start();
    for (s = 0; s < seconds; s++) {
        /* device time follows the sample clock: second s of both streams at time s */
        clock_s = s;
        if (ecg) {
            feed_ecg_second(s);
        }
        if (imu) {
            feed_imu_second(s);
        }
        clock_s = s + 1;
        (void)ws_app_tick(&app);
    }
    (void)ws_app_get_stats(&app, &st);
    ws_platform_puts("WS-REPLAY pass=");
    ws_platform_puts(name);
    ws_platform_puts(" ecg_s=");
    put_uint(ecg_s);
    ws_platform_puts(" imu_s=");
    put_uint(imu_s);
    ws_platform_puts(" ticks=");
    put_uint(ticks);
    ws_platform_puts(" events=");
    put_uint(st.events);
    ws_platform_puts(" loads=");
    put_uint(st.model_loads);
    ws_platform_puts(" af_runs=");
    put_uint(st.af_runs);
    ws_platform_puts(" fall_runs=");
    put_uint(st.fall_runs);
    ws_platform_puts(" activity_runs=");
    put_uint(st.activity_runs);
    ws_platform_puts("\n");
    if (print) {
        uint8_t pkt[WS_NOTIFICATION_MAX];
        size_t len = 0;
        for (;;) {
            if (ws_device_next_notification(&dev, pkt, sizeof pkt, &len) != WS_OK || len == 0) {
                break;
            }
            ws_platform_puts("WS-EV ");
            put_hex(pkt, len);
            ws_platform_puts("\n");
        }
        ws_platform_puts("WS-REPLAY stack_used=");
#if defined(WS_PORT_CORTEX_M4)
        put_uint(ws_port_stack_used());
#else
        put_uint(0);
#endif
        ws_platform_puts(" app_bytes=");
        put_uint(sizeof app);
        ws_platform_puts(" device_bytes=");
        put_uint(sizeof dev);
        ws_platform_puts(" arena_bytes=");
        put_uint(st.arena_bytes);
        ws_platform_puts(" arena_needed=");
        put_uint(st.arena_needed);
        ws_platform_puts(" ecg_state=");
        put_uint(ws_ecg_state_size());
        ws_platform_puts(" imu_state=");
        put_uint(ws_imu_state_size());
        ws_platform_puts(" strips_bytes=");
        put_uint(sizeof strips);
        ws_platform_puts(" strips_made=");
        put_uint(strips.stats.made);
        ws_platform_puts("\n");
    }
    return 0;
}

/* Cost of switching the shared arena to each model (load + arena binding): what every
 * change of model between two inferences costs. */
static void measure_switches(void)
{
    uint8_t *arena = NULL;
    size_t size = 0;
    ws_nn_model_t *nn = ws_app_interpreter(&app, &arena, &size);
    uint32_t t;
    for (t = 0; t < 3; t++) {
        uint32_t t0, t1;
        ws_status_t st;
        if (models[t].len == 0) {
            continue;
        }
        (void)ws_systick_start();
        t0 = ws_systick_now();
        st = ws_nn_load(nn, models[t].blob, models[t].len);
        t0 = ws_systick_elapsed(t0);
        t1 = ws_systick_now();
        if (st == WS_OK) {
            st = ws_nn_set_arena(nn, arena, size);
        }
        t1 = ws_systick_elapsed(t1);
        ws_platform_puts("WS-REPLAY switch task=");
        put_uint(t);
        ws_platform_puts(" ticks=");
        put_uint((uint64_t)t0 + t1);
        ws_platform_puts(" load_ticks=");
        put_uint(t0);
        ws_platform_puts(" status=");
        put_uint((uint64_t)st);
        ws_platform_puts("\n");
    }
}

int main(void)
{
    int rc = 0;
    init_models();
    ws_platform_puts("WS-REPLAY calibration=");
    put_uint(ws_systick_calibrate());
    ws_platform_puts(" instructions=");
    put_uint(WS_SYSTICK_CALIBRATION_INSTRUCTIONS);
    ws_platform_puts("\n");
    rc |= run_pass("ecg", 1, 0, 0u, 0, 0); /* the front ends alone */
    rc |= run_pass("imu", 0, 1, 0u, 0, 0);
    rc |= run_pass("ecg_strips", 1, 0, 0u, 0, 1); /* what the strip recorder adds */
    rc |= run_pass("afib", 1, 0, 1u, 0, 1);
    rc |= run_pass("fall", 0, 1, 2u, 0, 0);
    rc |= run_pass("activity", 0, 1, 4u, 0, 0);
    rc |= run_pass("total", 1, 1, 7u, 1, 1);
    measure_switches();
    ws_platform_puts(rc == 0 ? "WS-REPLAY done\n" : "WS-REPLAY failed\n");
    return rc;
}
