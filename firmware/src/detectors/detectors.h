/* What the three detectors (afib.c, fall.c, activity.c) and the app that runs them
 * (firmware/src/app/detect.c) share. Internal: the public API is ws_detect.h.
 *
 *   app (app/detect.c)   init, models and the shared arena, event stamping, the IMU
 *                        stream, summaries, stats
 *     |-- afib.c         AF episode logic; the ECG stream, its windows and recordings
 *     |-- fall.c         fall logic; impact windows, stillness, the fall model, button
 *     `-- activity.c     activity logic; posture, the activity model
 *
 * The detectors call back into the app only for ws_app_emit and ws_app_run_model. */
#ifndef WS_DETECTORS_H
#define WS_DETECTORS_H

#include <stddef.h>
#include <stdint.h>

#include "ws_detect.h"
#include "ws_dsp_imu.h"
#include "ws_protocol.h"

/* ---- the app's services (app/detect.c) ---- */

/* Stamps ev with the device time and the version of task's model (task 0xFF: none) and
 * appends it to the event queue (stats: events or append_errors). */
ws_status_t ws_app_emit(ws_app_t *app, ws_event_t *ev, uint8_t task);

/* Runs a task's model on input a (na values, read circularly from index `start`: a
 * ring's oldest value first) followed by b (nb values). Fills pct (percent per output) and,
 * when level is not NULL, each output's quantized level above its zero point; returns the
 * best output, -1 when the model cannot run. */
int ws_app_run_model(ws_app_t *app, uint8_t task, const int8_t *a, size_t na, size_t start,
                     const int8_t *b, size_t nb, uint8_t *pct, int16_t *level);

/* ---- what the app calls in the detectors ---- */

/* afib.c: SIGNAL_QUALITY for the unanalysable windows in a row not yet reported (when at
 * least WS_SQ_MIN_WINDOWS), then a new count. */
void ws_af_emit_signal_quality(ws_app_t *app);

/* fall.c: the IMU front end restarted (no frame examined, no impact window kept); the
 * frames up to `newest` of the window just read (stillness after an impact); an impact
 * event (its window kept for a pending fall, stillness counted from its peak). */
void ws_fall_reset(ws_app_t *app);
void ws_fall_scan(ws_app_t *app, uint32_t newest);
void ws_fall_impact(ws_app_t *app, const ws_imu_event_t *e);

/* activity.c: the IMU front end restarted; an activity window was read into app->window. */
void ws_act_reset(ws_app_t *app);
void ws_act_window(ws_app_t *app);

/* ---- small helpers of more than one file ---- */

static inline uint8_t clamp_hr(uint32_t bpm)
{
    return (uint8_t)(bpm < 20 ? 20 : bpm > 250 ? 250 : bpm);
}

static inline uint8_t mean_hr(uint32_t beats, uint32_t rr_sum_ms)
{
    if (beats == 0 || rr_sum_ms == 0) {
        return 0;
    }
    return clamp_hr((60000u * beats + rr_sum_ms / 2) / rr_sum_ms);
}

/* AFib windows (10.24 s each) in whole seconds. */
static inline uint32_t windows_to_s(uint32_t windows)
{
    return (windows * WS_AF_WINDOW_MS + 500u) / 1000u;
}

static inline int abs8(int8_t v) { return v < 0 ? -(int)v : (int)v; }

#endif /* WS_DETECTORS_H */
