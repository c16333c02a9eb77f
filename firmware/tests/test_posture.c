/* Posture calibration (ws_posture_*): uncalibrated and non-posture classes pass through;
 * a calibration from still standing windows; sit or stand by the tilt from it (7 degrees);
 * windows that turn or are not gravity restart a calibration; a second calibration keeps
 * the first in use until it completes. */
#include <string.h>

#include "ws_dsp_imu.h"
#include "ws_test.h"

static int8_t win[WS_IMU_WINDOW * WS_IMU_CHANNELS];

/* A still window whose gravity (1 g = 32 LSB) is tilted `tenths` tenths of a degree from
 * -z towards +x: x = 32 sin, z = -32 cos, with sin/cos of small angles tabulated below
 * at 1/128 g resolution over the window (the frames alternate so the mean is exact). */
static void still_window(int32_t x128, int32_t z128, int8_t gyro)
{
    int f;
    memset(win, 0, sizeof win);
    for (f = 0; f < WS_IMU_WINDOW; f++) {
        int8_t *v = win + f * WS_IMU_CHANNELS;
        /* x128 / 4 LSB on average: frames carry floor or ceil so the sum is x128 x 32 */
        int32_t fx = (x128 * (f + 1)) / 4 - (x128 * f) / 4;
        int32_t fz = (z128 * (f + 1)) / 4 - (z128 * f) / 4;
        v[0] = (int8_t)fx;
        v[2] = (int8_t)fz;
        v[4] = gyro;
    }
}

int ws_test_run(void)
{
    ws_posture_t p;
    int k;
    WS_TEST_ASSERT_EQ_INT(ws_posture_reset(NULL), WS_ERR_ARG);
    WS_TEST_ASSERT_EQ_INT(ws_posture_start(NULL), WS_ERR_ARG);
    WS_TEST_ASSERT_EQ_INT(ws_posture_feed(NULL, win), 0);
    WS_TEST_ASSERT_EQ_INT(ws_posture_reset(&p), WS_OK);

    /* uncalibrated: every class as the model said */
    still_window(128, 0, 0);
    WS_TEST_ASSERT_EQ_INT(ws_posture_refine(&p, win, WS_POSTURE_CYCLE), WS_POSTURE_CYCLE);
    still_window(0, -128, 0);
    WS_TEST_ASSERT_EQ_INT(ws_posture_refine(&p, win, WS_POSTURE_SIT), WS_POSTURE_SIT);
    WS_TEST_ASSERT_EQ_INT(ws_posture_refine(&p, win, WS_POSTURE_STAND), WS_POSTURE_STAND);
    WS_TEST_ASSERT_EQ_INT(ws_posture_feed(&p, win), 0); /* no calibration in progress */

    /* calibrate upright: gravity on -z */
    WS_TEST_ASSERT_EQ_INT(ws_posture_start(&p), WS_OK);
    for (k = 0; k < WS_POSTURE_CALIB_WINDOWS - 1; k++) {
        WS_TEST_ASSERT_EQ_INT(ws_posture_feed(&p, win), 0);
    }
    /* a turning window (gyro beyond 40 deg/s) restarts it */
    still_window(0, -128, WS_POSTURE_STILL_GYRO + 1);
    WS_TEST_ASSERT_EQ_INT(ws_posture_feed(&p, win), 0);
    WS_TEST_ASSERT_EQ_INT(p.windows, 0);
    /* so does one whose mean is not gravity (0.5 g: falling, or a loose unit) */
    still_window(0, -64, 0);
    WS_TEST_ASSERT_EQ_INT(ws_posture_feed(&p, win), 0);
    WS_TEST_ASSERT_EQ_INT(p.windows, 0);
    WS_TEST_ASSERT_EQ_INT(p.state, 1);
    still_window(0, -128, WS_POSTURE_STILL_GYRO); /* at the limit: still enough */
    for (k = 0; k < WS_POSTURE_CALIB_WINDOWS - 1; k++) {
        WS_TEST_ASSERT_EQ_INT(ws_posture_feed(&p, win), 0);
    }
    WS_TEST_ASSERT_EQ_INT(ws_posture_feed(&p, win), 1);
    WS_TEST_ASSERT_EQ_INT(p.state, 2);
    WS_TEST_ASSERT_EQ_INT(p.ref[0], 0);
    WS_TEST_ASSERT_EQ_INT(p.ref[2], -128);

    /* tilt 5 degrees (x = 128 sin 5 = 11.2, z = -127.5): stand; 10 degrees (22.2,
     * -126.1): sit; whatever the model said of sit or stand */
    still_window(11, -128, 0);
    WS_TEST_ASSERT_EQ_INT(ws_posture_refine(&p, win, WS_POSTURE_SIT), WS_POSTURE_STAND);
    WS_TEST_ASSERT_EQ_INT(ws_posture_refine(&p, win, WS_POSTURE_STAND), WS_POSTURE_STAND);
    still_window(22, -126, 0);
    WS_TEST_ASSERT_EQ_INT(ws_posture_refine(&p, win, WS_POSTURE_STAND), WS_POSTURE_SIT);
    /* the threshold: 6.5 degrees (14.5, -127.2) stand, 7.5 degrees (16.7, -126.9) sit */
    still_window(14, -127, 0);
    WS_TEST_ASSERT_EQ_INT(ws_posture_refine(&p, win, WS_POSTURE_SIT), WS_POSTURE_STAND);
    still_window(17, -127, 0);
    WS_TEST_ASSERT_EQ_INT(ws_posture_refine(&p, win, WS_POSTURE_STAND), WS_POSTURE_SIT);
    /* upside down or lying (90 degrees and more): sit, the nearer of the two */
    still_window(128, 0, 0);
    WS_TEST_ASSERT_EQ_INT(ws_posture_refine(&p, win, WS_POSTURE_STAND), WS_POSTURE_SIT);
    still_window(0, 128, 0);
    WS_TEST_ASSERT_EQ_INT(ws_posture_refine(&p, win, WS_POSTURE_STAND), WS_POSTURE_SIT);
    /* cycle with the trunk tilted beyond 60 degrees (here 90, then 180) is lying */
    WS_TEST_ASSERT_EQ_INT(ws_posture_refine(&p, win, WS_POSTURE_CYCLE), WS_POSTURE_LIE);
    still_window(128, 0, 0);
    WS_TEST_ASSERT_EQ_INT(ws_posture_refine(&p, win, WS_POSTURE_CYCLE), WS_POSTURE_LIE);
    /* 55 degrees (104.9, -73.4): still cycle; 65 degrees (116.0, -54.1): lying */
    still_window(105, -73, 0);
    WS_TEST_ASSERT_EQ_INT(ws_posture_refine(&p, win, WS_POSTURE_CYCLE), WS_POSTURE_CYCLE);
    still_window(116, -54, 0);
    WS_TEST_ASSERT_EQ_INT(ws_posture_refine(&p, win, WS_POSTURE_CYCLE), WS_POSTURE_LIE);
    /* other classes pass unchanged; a window without gravity leaves the call alone */
    WS_TEST_ASSERT_EQ_INT(ws_posture_refine(&p, win, 0), 0);
    WS_TEST_ASSERT_EQ_INT(ws_posture_refine(&p, win, 7), 7);
    still_window(0, 0, 0);
    WS_TEST_ASSERT_EQ_INT(ws_posture_refine(&p, win, WS_POSTURE_STAND), WS_POSTURE_STAND);

    /* calibrating again: the first calibration stays in use until the new one completes */
    WS_TEST_ASSERT_EQ_INT(ws_posture_start(&p), WS_OK);
    WS_TEST_ASSERT_EQ_INT(p.state, 3);
    WS_TEST_ASSERT_EQ_INT(ws_posture_start(&p), WS_OK); /* twice: still the first in use */
    WS_TEST_ASSERT_EQ_INT(p.state, 3);
    still_window(22, -126, 0);
    WS_TEST_ASSERT_EQ_INT(ws_posture_refine(&p, win, WS_POSTURE_STAND), WS_POSTURE_SIT);
    for (k = 0; k < WS_POSTURE_CALIB_WINDOWS; k++) {
        WS_TEST_ASSERT_EQ_INT(ws_posture_feed(&p, win), k == WS_POSTURE_CALIB_WINDOWS - 1);
    }
    WS_TEST_ASSERT_EQ_INT(p.state, 2);
    /* now standing is the 10-degree gravity */
    WS_TEST_ASSERT_EQ_INT(ws_posture_refine(&p, win, WS_POSTURE_SIT), WS_POSTURE_STAND);
    still_window(0, -128, 0);
    WS_TEST_ASSERT_EQ_INT(ws_posture_refine(&p, win, WS_POSTURE_STAND), WS_POSTURE_SIT);
    WS_TEST_ASSERT_EQ_INT(ws_posture_refine(NULL, win, WS_POSTURE_SIT), WS_POSTURE_SIT);

    /* forgetting: back to the model's calls */
    WS_TEST_ASSERT_EQ_INT(ws_posture_reset(&p), WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_posture_refine(&p, win, WS_POSTURE_STAND), WS_POSTURE_STAND);
    return ws_test_failures();
}
