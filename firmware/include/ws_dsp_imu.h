/* The IMU front end: one streaming chain from 6-axis samples (any supported rate, sensor
 * units) to the device's 50 Hz stream, the fall impact trigger and the int8 windows the
 * fall and activity models read (docs/imu-front-end.md).
 *
 *   acc, gyro @ fs_in --> x acc_scale (g), x gyro_scale (deg/s)
 *     --> polyphase FIR resampler (Hamming-windowed sinc, L/M = 50/fs_in) --> 50 Hz
 *     --> |a| --> impact trigger: |a| >= threshold, the largest peak of the burst (a larger
 *                 |a| moves the impact, up to 2 s after the crossing), refractory time
 *     --> int8 frame [ax ay az |a|-1g gx gy gz] --> ring of the last 256 frames
 *     --> events: an activity window every hop, and an impact window centred on the peak
 *
 * float32 arithmetic (a Cortex-M4F has a single-precision FPU), no libm (local sine for
 * the filter design, local square root for |a|), so the host build (training) and the
 * device compute the same bits.
 * No allocation: the caller owns the state (ws_imu_state_size() bytes, float aligned).
 * Every sample is processed by the same code whatever the block size, so one call with a
 * whole recording gives the same events and windows as many calls with pieces of it. */
#ifndef WS_DSP_IMU_H
#define WS_DSP_IMU_H

#include <stddef.h>
#include <stdint.h>

#include "ws_status.h"

/* cdef-begin */
#define WS_IMU_RATE_HZ 50          /* the device rate every IMU stream is resampled to */
#define WS_IMU_AXES 6              /* input: acc x,y,z then gyro x,y,z */
#define WS_IMU_CHANNELS 7          /* output frame: acc x,y,z, |a| - 1 g, gyro x,y,z */
#define WS_IMU_MAX_RATIO 10        /* largest of L and M in fs_in -> 50 Hz = L/M */
#define WS_IMU_ZERO_CROSSINGS 8    /* sinc zero crossings each side, in units of max(L,M) */
#define WS_IMU_MAX_TAPS 161        /* 2 * 8 * WS_IMU_MAX_RATIO + 1 */
#define WS_IMU_HISTORY 161         /* input frames kept by the resampler */
#define WS_IMU_CUTOFF_PERMILLE 800 /* cutoff = 0.8 x the lower Nyquist frequency */
#define WS_IMU_WINDOW 128          /* frames per model window (2.56 s) */
#define WS_IMU_HOP 64              /* frames between activity windows (1.28 s) */
#define WS_IMU_IMPACT_PRE 64       /* frames before the impact in its window */
#define WS_IMU_BURST 100           /* frames after a crossing the impact peak may move to */
#define WS_IMU_RING 256            /* int8 frames kept */
#define WS_IMU_ACC_LSB_PER_G 32    /* int8 acc and |a|-1g: 1/32 g per LSB (+-4 g) */
#define WS_IMU_GYRO_DPS_PER_LSB 4  /* int8 gyro: 4 deg/s per LSB (+-512 deg/s) */

/* Event flag bits (one event may carry both). */
#define WS_IMU_EV_WINDOW 1 /* an activity window ends at this frame */
#define WS_IMU_EV_IMPACT 2 /* an impact window (peak at frame WS_IMU_IMPACT_PRE) ends here */

typedef struct {
    uint16_t fs_in_hz;       /* input rate; 50/gcd(fs,50) and fs/gcd(fs,50) both <= 10 */
    float acc_scale;         /* g per input acc unit (> 0): counts, m/s^2 or g */
    float gyro_scale;        /* deg/s per input gyro unit (>= 0; 0 when there is no gyro) */
    float impact_g;          /* trigger threshold on |a| at 50 Hz, g (1.0 .. 16.0) */
    uint16_t refractory;     /* frames after an impact during which only a larger one starts */
} ws_imu_config_t;

typedef struct {
    uint8_t flags;           /* WS_IMU_EV_* */
    uint32_t frame;          /* index of the newest frame (the window's last) at 50 Hz */
    uint32_t impact_frame;   /* the impact peak's frame (WS_IMU_EV_IMPACT only) */
    float impact_g;          /* |a| at the peak, g (WS_IMU_EV_IMPACT only) */
} ws_imu_event_t;

typedef struct ws_imu_resampler ws_imu_resampler_t;
typedef struct ws_imu ws_imu_t;

/* ---- resampler alone (the front end's first stage; used by tests and tools) ---- */

size_t ws_imu_resampler_size(void);

/* WS_ERR_ARG (NULL), WS_ERR_IMU_RATE (fs_in_hz not supported). */
ws_status_t ws_imu_resampler_init(ws_imu_resampler_t *rs, uint16_t fs_in_hz);

/* L, M, the number of taps and the taps themselves (up to cap), for tests and docs. */
void ws_imu_resampler_ratio(const ws_imu_resampler_t *rs, uint16_t *up, uint16_t *down);
size_t ws_imu_resampler_taps(const ws_imu_resampler_t *rs, float *taps, size_t cap);

/* Feeds n_in frames of WS_IMU_AXES floats; writes the 50 Hz frames they complete to out
 * (WS_IMU_AXES floats each) and their count to *n_out. Output frame k equals
 * sum_i h[k*M - i*L] * x[i] (scipy.signal.upfirdn(h, x, L, M)[k]). WS_ERR_ARG (NULL,
 * out_cap frames fewer than ws_imu_resampler_max_output), WS_ERR_STATE (not
 * initialised). */
size_t ws_imu_resampler_max_output(const ws_imu_resampler_t *rs, size_t n_in);
ws_status_t ws_imu_resample(ws_imu_resampler_t *rs, const float *in, size_t n_in, float *out,
                            size_t out_cap, size_t *n_out);

/* ---- the front end ---- */

size_t ws_imu_state_size(void);

/* WS_ERR_ARG (NULL), WS_ERR_IMU_RATE, WS_ERR_IMU_CONFIG (a scale or the threshold out
 * of range). */
ws_status_t ws_imu_init(ws_imu_t *st, const ws_imu_config_t *cfg);

/* Feeds up to n_in input frames (WS_IMU_AXES floats each, sensor units). Stops right
 * after the first 50 Hz frame that raises an event: *consumed says how many input
 * frames were taken, *event (flags 0 when none) what happened; read the window with
 * ws_imu_window before the next call, then call again with the rest. WS_ERR_ARG (NULL),
 * WS_ERR_STATE (not initialised), WS_ERR_RANGE (a non-finite value: *consumed frames
 * before it were taken, the bad frame was not). */
ws_status_t ws_imu_process(ws_imu_t *st, const float *in, size_t n_in, size_t *consumed,
                           ws_imu_event_t *event);

/* Copies the newest WS_IMU_WINDOW int8 frames, oldest first, WS_IMU_CHANNELS values per
 * frame (frames before the stream's start are zero). WS_ERR_ARG (NULL, cap too small). */
ws_status_t ws_imu_window(const ws_imu_t *st, int8_t *out, size_t cap);

/* Frames produced so far at 50 Hz; and the latest one in physical units
 * (acc g x3, |a| g, gyro deg/s x3) for tests. */
uint32_t ws_imu_frames(const ws_imu_t *st);
void ws_imu_last_frame(const ws_imu_t *st, float out[7]);

/* Delay of the resampler, microseconds: frame k shows the input at k/50 s - delay. */
uint32_t ws_imu_delay_us(const ws_imu_t *st);

/* ---- posture calibration: sitting against standing by the trunk's tilt ----
 * A waist or chest unit sits at another angle on every wearer, so the activity model
 * confuses sitting and standing on some people. After a calibration (the wearer stands
 * upright and still while WS_POSTURE_CALIB_WINDOWS activity windows pass; the companion
 * asks for it), a window the model calls sit or stand is called sit when its mean
 * acceleration (gravity) is tilted more than WS_POSTURE_SIT_DEG from the calibrated
 * standing gravity, stand otherwise; a window it calls cycle with the trunk tilted more
 * than WS_POSTURE_LIE_DEG is called lie (cycling is learnt from an arm unit; a trunk on a
 * bike stays upright); other classes pass unchanged. Integer arithmetic on the int8
 * windows (docs/imu-front-end.md, "Posture calibration"). */
#define WS_POSTURE_CALIB_WINDOWS 4 /* activity windows averaged (6.4 s at hop 1.28 s) */
#define WS_POSTURE_SIT_DEG 7       /* tilt from standing beyond which it is sitting */
#define WS_POSTURE_COS2_Q15 32281  /* round(cos^2(7 deg) x 32768) */
#define WS_POSTURE_LIE_DEG 60      /* a trunk tilted beyond this from standing is lying */
#define WS_POSTURE_LIE_COS2_Q15 8192 /* round(cos^2(60 deg) x 32768) */
#define WS_POSTURE_CYCLE 2         /* ActivityClass cycle */
#define WS_POSTURE_SIT 5           /* ActivityClass sit */
#define WS_POSTURE_STAND 6         /* ActivityClass stand */
#define WS_POSTURE_LIE 7           /* ActivityClass lie */
#define WS_POSTURE_STILL_GYRO 10   /* calibration: every gyro value within 10 x 4 deg/s */

typedef struct {
    int32_t sum[3];   /* acc sums of the calibration windows so far */
    int16_t ref[3];   /* standing gravity: acc mean x 4 (1/128 g) */
    uint8_t windows;  /* calibration windows summed so far */
    uint8_t state;    /* 0 uncalibrated, 1 calibrating, 2 calibrated */
} ws_posture_t;

/* Forgets any calibration (the unit was taken off or moved). WS_ERR_ARG (NULL). */
ws_status_t ws_posture_reset(ws_posture_t *p);
/* Takes a stored calibration (a standing gravity `ref` kept across a reset, ws_settings.h):
 * calibrated from now on. WS_ERR_RANGE, leaving p unchanged, when |ref| is not one a
 * calibration can make (0.8..1.2 g); WS_ERR_ARG (NULL). */
ws_status_t ws_posture_restore(ws_posture_t *p, const int16_t *ref);
/* Starts a calibration over the next WS_POSTURE_CALIB_WINDOWS windows fed; the previous
 * calibration stays in use until it completes. WS_ERR_ARG (NULL). */
ws_status_t ws_posture_start(ws_posture_t *p);
/* Feeds one activity window (WS_IMU_WINDOW x WS_IMU_CHANNELS int8) to a calibration in
 * progress (nothing happens otherwise); returns 1 when this window completed it. A window
 * in which the unit turns (a gyro value beyond WS_POSTURE_STILL_GYRO) or whose mean
 * acceleration is not gravity alone (its length outside 0.8..1.2 g) restarts it. WS_ERR_ARG (NULL) returns 0. */
int ws_posture_feed(ws_posture_t *p, const int8_t *window);
/* The class to report for a window the model called `cls`: when calibrated, sit or stand
 * by the tilt from the standing gravity if cls is sit or stand, lie instead of cycle
 * beyond WS_POSTURE_LIE_DEG; else cls. */
uint8_t ws_posture_refine(const ws_posture_t *p, const int8_t *window, uint8_t cls);

/* ---- is the sensor believable: gravity at rest ----
 * A healthy accelerometer at rest reads 1 g whatever its orientation. A window is at rest
 * when every gyro value is within WS_IMU_REST_GYRO x 4 deg/s and each acc axis spans at
 * most WS_IMU_REST_SPREAD / 32 g; its gravity is then plausible when the mean acc is
 * 0.7..1.3 g long (docs/imu-front-end.md, "Is the sensor believable").
 * Returns -1 (not at rest, or NULL), 0 (at rest, plausible), 1 (at rest, implausible). */
#define WS_IMU_REST_GYRO 4
#define WS_IMU_REST_SPREAD 4
int ws_imu_rest_gravity(const int8_t *window);
/* cdef-end */

#endif
