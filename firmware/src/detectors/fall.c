/* The fall detector (ws_detect.h; rules in docs/detectors.md): the fall logic, and on the
 * app's IMU events the impact windows a pending fall keeps, the stillness check after the
 * impact and the fall model on the kept windows (FALL); the button (FALL_CANCELLED). */
#include "ws_detect.h"

#include <string.h>

#include "ws_protocol.h"

#include "detectors.h"

/* ------------------------------------------------------------------ the fall logic */

void ws_fall_logic_init(ws_fall_logic_t *l)
{
    if (l != NULL) {
        memset(l, 0, sizeof *l);
    }
}

int ws_fall_logic_impact(ws_fall_logic_t *l, uint32_t frame, uint16_t impact_mg)
{
    if (l == NULL || frame < l->holdoff_until) {
        return 0;
    }
    if (!l->pending || impact_mg > l->impact_mg) {
        l->impact_mg = impact_mg;
    }
    l->pending = 1; /* one pending fall, one event, however many impacts */
    l->impact_frame = frame;
    l->still_run = 0;
    return 1;
}

int ws_fall_logic_frame(ws_fall_logic_t *l, uint32_t frame, const int8_t *values,
                        uint8_t *stillness_s)
{
    int still;
    if (l == NULL || values == NULL || !l->pending || frame < l->impact_frame + WS_FALL_SETTLE) {
        return 0;
    }
    if (frame > l->impact_frame + WS_FALL_SETTLE + WS_FALL_DEADLINE) {
        l->pending = 0; /* moved on: not a fall that left the wearer down */
        return -1;
    }
    still = abs8(values[3]) <= WS_FALL_STILL_ACC && abs8(values[4]) <= WS_FALL_STILL_GYRO &&
            abs8(values[5]) <= WS_FALL_STILL_GYRO && abs8(values[6]) <= WS_FALL_STILL_GYRO;
    l->still_run = still ? (uint16_t)(l->still_run + 1) : 0;
    if (l->still_run < WS_FALL_STILL_FRAMES) {
        return 0;
    }
    l->pending = 0;
    if (stillness_s != NULL) {
        *stillness_s = (uint8_t)(l->still_run / WS_IMU_RATE_HZ);
    }
    return 1;
}

void ws_fall_logic_fell(ws_fall_logic_t *l, uint32_t frame)
{
    if (l != NULL) {
        l->holdoff_until = frame + WS_FALL_HOLDOFF;
    }
}

int ws_fall_logic_button(ws_fall_logic_t *l)
{
    if (l == NULL || !l->pending) {
        return 0;
    }
    l->pending = 0;
    return 1;
}

/* ------------------------------------------------------------------ on the IMU stream */

void ws_fall_reset(ws_app_t *app)
{
    app->imu_next_frame = 0;
    app->fall_kept = 0;
    ws_fall_logic_init(&app->fall);
}

/* Down and still after impacts: the model judges the kept impact windows, newest first;
 * the first that says fall is sent. */
static void judge_fall(ws_app_t *app, uint32_t frame, uint8_t still_s)
{
    uint8_t i;
    for (i = 0; i < app->fall_kept; i++) {
        uint8_t slot = (uint8_t)((app->fall_head + WS_FALL_KEEP - 1u - i) % WS_FALL_KEEP);
        uint8_t pct[2];
        if (ws_app_run_model(app, WS_TASK_FALL, app->fall_window[slot],
                             sizeof app->fall_window[slot], 0, NULL, 0, pct, NULL) >= 0 &&
            pct[WS_FALL_CLASS_FALL] >= WS_FALL_MIN_PCT) {
            ws_event_t ev;
            memset(&ev, 0, sizeof ev);
            ev.type = WS_EVENT_FALL;
            ev.u.fall.impact_mg = app->fall_mg[slot];
            ev.u.fall.confidence = pct[WS_FALL_CLASS_FALL];
            ev.u.fall.stillness_s = still_s;
            ws_app_emit(app, &ev, WS_TASK_FALL);
            app->fall_seq = ev.seq;
            app->fall_time_s = ev.time_s;
            app->fall_cancelled = 0;
            ws_fall_logic_fell(&app->fall, frame);
            break;
        }
    }
    app->fall_kept = 0;
}

/* Frames imu_next_frame .. newest of the window (the fall logic's stillness check). */
void ws_fall_scan(ws_app_t *app, uint32_t newest)
{
    uint32_t first = newest + 1 >= WS_IMU_WINDOW ? newest + 1 - WS_IMU_WINDOW : 0;
    uint32_t f;
    if (app->imu_next_frame < first) {
        app->imu_next_frame = first;
    }
    for (f = app->imu_next_frame; f <= newest; f++) {
        uint8_t still_s = 0;
        const int8_t *v = app->window + (WS_IMU_WINDOW - 1 - (newest - f)) * WS_IMU_CHANNELS;
        int r = ws_fall_logic_frame(&app->fall, f, v, &still_s);
        if (r == 1) {
            judge_fall(app, f, still_s);
        } else if (r == -1) {
            app->fall_kept = 0;
        }
    }
    app->imu_next_frame = newest + 1;
    app->stats.fall_pending = app->fall.pending;
}

void ws_fall_impact(ws_app_t *app, const ws_imu_event_t *e)
{
    float mg = e->impact_g * 1000.0f + 0.5f;
    uint16_t impact_mg = (uint16_t)(mg >= 65535.0f ? 65535 : (uint32_t)mg);
    if (app->blob[WS_TASK_FALL] != NULL &&
        ws_fall_logic_impact(&app->fall, e->impact_frame, impact_mg)) {
        uint8_t slot = app->fall_head;
        memcpy(app->fall_window[slot], app->window, sizeof app->fall_window[slot]);
        app->fall_mg[slot] = impact_mg;
        app->fall_head = (uint8_t)((slot + 1u) % WS_FALL_KEEP);
        if (app->fall_kept < WS_FALL_KEEP) {
            app->fall_kept++;
        }
        app->imu_next_frame = e->impact_frame + 1; /* stillness after this peak */
        ws_fall_scan(app, e->frame);
    }
}

ws_status_t ws_app_button(ws_app_t *app)
{
    uint32_t now, delay;
    ws_event_t ev;
    if (app == NULL) {
        return WS_ERR_ARG;
    }
    if (ws_fall_logic_button(&app->fall)) {
        app->fall_kept = 0;
        app->stats.fall_pending = 0;
        return WS_OK; /* answered before the alarm went out: nothing to send */
    }
    now = ws_device_time_s(app->dev);
    if (app->fall_seq == 0 || app->fall_cancelled || now < app->fall_time_s) {
        return WS_OK;
    }
    delay = now - app->fall_time_s;
    if (delay > app->dev->fall_cancel_s || delay > 255) {
        return WS_OK;
    }
    memset(&ev, 0, sizeof ev);
    ev.type = WS_EVENT_FALL_CANCELLED;
    ev.u.fall_cancelled.fall_seq = app->fall_seq;
    ev.u.fall_cancelled.delay_s = (uint8_t)delay;
    ws_app_emit(app, &ev, WS_TASK_FALL);
    app->fall_cancelled = 1;
    return WS_OK;
}
