/* Posture calibration: sitting against standing by the tilt from a calibrated standing
 * gravity (ws_dsp_imu.h). */
#include <string.h>

#include "ws_dsp_imu.h"

/* acc sums of one window over its frames (x, y, z), in int8 LSB (1/32 g) x frames */
static void window_sums(const int8_t *window, int32_t sum[3], int *turning)
{
    int f, a;
    sum[0] = sum[1] = sum[2] = 0;
    *turning = 0;
    for (f = 0; f < WS_IMU_WINDOW; f++) {
        const int8_t *v = window + f * WS_IMU_CHANNELS;
        for (a = 0; a < 3; a++) {
            sum[a] += v[a];
            if (v[4 + a] > WS_POSTURE_STILL_GYRO || v[4 + a] < -WS_POSTURE_STILL_GYRO) {
                *turning = 1;
            }
        }
    }
}

static int64_t dot3(const int32_t *a, const int32_t *b)
{
    return (int64_t)a[0] * b[0] + (int64_t)a[1] * b[1] + (int64_t)a[2] * b[2];
}

ws_status_t ws_posture_reset(ws_posture_t *p)
{
    if (p == NULL) {
        return WS_ERR_ARG;
    }
    memset(p, 0, sizeof *p);
    return WS_OK;
}

ws_status_t ws_posture_restore(ws_posture_t *p, const int16_t *ref)
{
    int32_t r[3];
    int64_t len2, lo, hi;
    int a;
    if (p == NULL || ref == NULL) {
        return WS_ERR_ARG;
    }
    for (a = 0; a < 3; a++) {
        r[a] = ref[a];
    }
    /* what a calibration can make: |ref| / (4 x 32) within 0.8 .. 1.2 g */
    len2 = dot3(r, r);
    lo = (int64_t)(4 * WS_IMU_ACC_LSB_PER_G * 8 / 10);
    hi = (int64_t)(4 * WS_IMU_ACC_LSB_PER_G * 12 / 10);
    if (len2 < lo * lo || len2 > hi * hi) {
        return WS_ERR_RANGE;
    }
    memset(p, 0, sizeof *p);
    memcpy(p->ref, ref, sizeof p->ref);
    p->state = 2;
    return WS_OK;
}

ws_status_t ws_posture_start(ws_posture_t *p)
{
    if (p == NULL) {
        return WS_ERR_ARG;
    }
    p->sum[0] = p->sum[1] = p->sum[2] = 0;
    p->windows = 0;
    /* 3: calibrating while the previous calibration stays in use */
    p->state = (p->state == 2 || p->state == 3) ? 3 : 1;
    return WS_OK;
}

int ws_posture_feed(ws_posture_t *p, const int8_t *window)
{
    int32_t sum[3];
    int turning, a;
    int64_t len2, lo, hi;
    if (p == NULL || window == NULL || (p->state != 1 && p->state != 3)) {
        return 0;
    }
    window_sums(window, sum, &turning);
    /* |mean| in g = |sum| / (WINDOW x 32): within 0.8 .. 1.2 g */
    len2 = dot3(sum, sum);
    lo = (int64_t)(WS_IMU_WINDOW * WS_IMU_ACC_LSB_PER_G * 8 / 10);
    hi = (int64_t)(WS_IMU_WINDOW * WS_IMU_ACC_LSB_PER_G * 12 / 10);
    if (turning || len2 < lo * lo || len2 > hi * hi) {
        p->sum[0] = p->sum[1] = p->sum[2] = 0;
        p->windows = 0;
        return 0;
    }
    for (a = 0; a < 3; a++) {
        p->sum[a] += sum[a];
    }
    if (++p->windows < WS_POSTURE_CALIB_WINDOWS) {
        return 0;
    }
    /* mean x 4 = sum / (windows x WINDOW / 4), rounded to nearest */
    for (a = 0; a < 3; a++) {
        int32_t den = WS_POSTURE_CALIB_WINDOWS * WS_IMU_WINDOW / 4;
        int32_t v = p->sum[a];
        p->ref[a] = (int16_t)(v >= 0 ? (v + den / 2) / den : -((-v + den / 2) / den));
    }
    p->state = 2;
    return 1;
}

/* 1 when the window's gravity is tilted from the calibrated standing by more than the
 * angle whose squared cosine is cos2_q15 / 32768, 0 when not, -1 when either has none */
static int tilted_beyond(const ws_posture_t *p, const int8_t *window, int32_t cos2_q15)
{
    int32_t sum[3], ref[3];
    int turning;
    int64_t dot, g2, r2;
    window_sums(window, sum, &turning);
    ref[0] = p->ref[0];
    ref[1] = p->ref[1];
    ref[2] = p->ref[2];
    g2 = dot3(sum, sum);
    r2 = dot3(ref, ref);
    if (g2 == 0 || r2 == 0) {
        return -1;
    }
    /* tilt > a (< 90 deg)  <=>  cos < cos a  <=>  dot <= 0 or dot^2 < cos^2(a) |g|^2 |r|^2.
     * The sums are scaled down by 32 first (mean x 4, as ref: each |component| <= 512), so
     * dot^2 x 2^15 and cos2_q15 x |g|^2 x |r|^2 stay below 2^55. */
    sum[0] /= 32;
    sum[1] /= 32;
    sum[2] /= 32;
    g2 = dot3(sum, sum);
    dot = dot3(sum, ref);
    if (g2 == 0) {
        return -1;
    }
    return dot <= 0 || dot * dot * 32768 < (int64_t)cos2_q15 * g2 * r2;
}

uint8_t ws_posture_refine(const ws_posture_t *p, const int8_t *window, uint8_t cls)
{
    int beyond;
    if (p == NULL || window == NULL || (p->state != 2 && p->state != 3)) {
        return cls;
    }
    if (cls == WS_POSTURE_SIT || cls == WS_POSTURE_STAND) {
        beyond = tilted_beyond(p, window, WS_POSTURE_COS2_Q15);
        return beyond < 0 ? cls : (beyond ? WS_POSTURE_SIT : WS_POSTURE_STAND);
    }
    if (cls == WS_POSTURE_CYCLE) {
        return tilted_beyond(p, window, WS_POSTURE_LIE_COS2_Q15) == 1 ? WS_POSTURE_LIE : cls;
    }
    return cls;
}

int ws_imu_rest_gravity(const int8_t *window)
{
    int32_t sum[3] = {0, 0, 0};
    int lo[3] = {127, 127, 127}, hi[3] = {-128, -128, -128};
    int f, a;
    int64_t len2, l, h;
    if (window == NULL) {
        return -1;
    }
    for (f = 0; f < WS_IMU_WINDOW; f++) {
        const int8_t *v = window + f * WS_IMU_CHANNELS;
        for (a = 0; a < 3; a++) {
            if (v[4 + a] > WS_IMU_REST_GYRO || v[4 + a] < -WS_IMU_REST_GYRO) {
                return -1;
            }
            sum[a] += v[a];
            lo[a] = v[a] < lo[a] ? v[a] : lo[a];
            hi[a] = v[a] > hi[a] ? v[a] : hi[a];
        }
    }
    for (a = 0; a < 3; a++) {
        if (hi[a] - lo[a] > WS_IMU_REST_SPREAD) {
            return -1;
        }
    }
    /* |mean| in g = |sum| / (WINDOW x 32): within 0.7 .. 1.3 g */
    len2 = dot3(sum, sum);
    l = (int64_t)(WS_IMU_WINDOW * WS_IMU_ACC_LSB_PER_G * 7 / 10);
    h = (int64_t)(WS_IMU_WINDOW * WS_IMU_ACC_LSB_PER_G * 13 / 10);
    return (len2 < l * l || len2 > h * h) ? 1 : 0;
}
