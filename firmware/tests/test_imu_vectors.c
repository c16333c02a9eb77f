/* The IMU front end against tests/vectors/imu.json (via build/gen/ws_imu_vectors.h):
 * the host build made those vectors, so passing on the Cortex-M4 shows the device
 * computes the same events and the same int8 window bytes as training does. */
#include "ws_dsp_imu.h"
#include "ws_imu_vectors.h"
#include "ws_test.h"

#define STATE_WORDS 4096

static float g_mem[STATE_WORDS];
static float g_frames[WS_VEC_IMU_FRAMES * WS_IMU_AXES];

static uint32_t fnv1a(const int8_t *data, size_t n)
{
    uint32_t h = 0x811c9dc5u;
    size_t i;
    for (i = 0; i < n; i++) {
        h = (h ^ (uint8_t)data[i]) * 0x01000193u;
    }
    return h;
}

static uint32_t float_bits(float f)
{
    union {
        float f;
        uint32_t u;
    } pun;
    pun.f = f;
    return pun.u;
}

int ws_test_run(void)
{
    ws_imu_t *st = (ws_imu_t *)g_mem;
    ws_imu_config_t cfg;
    int8_t window[WS_IMU_WINDOW * WS_IMU_CHANNELS];
    size_t at = 0;
    size_t seen = 0;
    size_t i;

    WS_TEST_ASSERT(ws_imu_state_size() <= sizeof g_mem);
    for (i = 0; i < (size_t)WS_VEC_IMU_FRAMES * WS_IMU_AXES; i++) {
        g_frames[i] = (float)WS_VEC_IMU_INPUT[i];
    }
    cfg.fs_in_hz = WS_VEC_IMU_RATE;
    cfg.acc_scale = WS_VEC_IMU_ACC_SCALE;
    cfg.gyro_scale = WS_VEC_IMU_GYRO_SCALE;
    cfg.impact_g = WS_VEC_IMU_IMPACT_G;
    cfg.refractory = WS_VEC_IMU_REFRACTORY;
    WS_TEST_ASSERT_EQ_INT(ws_imu_init(st, &cfg), WS_OK);
    while (at < WS_VEC_IMU_FRAMES) {
        ws_imu_event_t ev;
        size_t used = 0;
        WS_TEST_ASSERT_EQ_INT(ws_imu_process(st, &g_frames[at * WS_IMU_AXES],
                                             WS_VEC_IMU_FRAMES - at, &used, &ev), WS_OK);
        at += used;
        if (ev.flags == 0) {
            break;
        }
        WS_TEST_ASSERT_EQ_INT(ws_imu_window(st, window, sizeof window), WS_OK);
        if (seen < WS_VEC_IMU_EVENTS) {
            const uint32_t *want = WS_VEC_IMU_EXPECTED[seen];
            WS_TEST_ASSERT_EQ_INT(ev.flags, want[0]);
            WS_TEST_ASSERT_EQ_INT(ev.frame, want[1]);
            if (ev.flags & WS_IMU_EV_IMPACT) {
                WS_TEST_ASSERT_EQ_INT(ev.impact_frame, want[2]);
                WS_TEST_ASSERT_EQ_INT(float_bits(ev.impact_g), want[3]);
            }
            WS_TEST_ASSERT_EQ_INT(fnv1a(window, sizeof window), want[4]);
        }
        seen++;
    }
    WS_TEST_ASSERT_EQ_INT(at, WS_VEC_IMU_FRAMES);
    WS_TEST_ASSERT_EQ_INT(seen, WS_VEC_IMU_EVENTS);
    return ws_test_failures();
}
