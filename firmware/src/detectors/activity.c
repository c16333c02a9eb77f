/* The activity detector (ws_detect.h; rules in docs/detectors.md): the debounce logic and
 * the hourly minutes, and on every activity window the app offers: posture calibration,
 * a still posture's class reused, the activity model refined by the tilt (ws_posture_*),
 * ACTIVITY_CHANGE. */
#include "ws_detect.h"

#include <string.h>

#include "ws_protocol.h"

#include "detectors.h"

/* ------------------------------------------------------------------ the activity logic */

void ws_act_logic_init(ws_act_logic_t *l)
{
    if (l != NULL) {
        memset(l, 0, sizeof *l);
        l->current = WS_ACTIVITY_UNKNOWN;
        l->candidate = WS_ACTIVITY_UNKNOWN;
    }
}

int ws_act_logic_window(ws_act_logic_t *l, uint8_t cls, uint8_t pct, uint8_t *from,
                        uint8_t *to, uint8_t *confidence)
{
    int changed = 0;
    if (l == NULL || cls >= WS_ACTIVITY_CLASSES) {
        return 0;
    }
    if (cls == l->current) {
        l->run = 0;
        l->candidate = WS_ACTIVITY_UNKNOWN;
    } else {
        if (cls == l->candidate) {
            l->run++;
            l->conf_sum = (uint16_t)(l->conf_sum + pct);
        } else {
            l->candidate = cls;
            l->run = 1;
            l->conf_sum = pct;
        }
        if (l->run >= WS_ACT_DEBOUNCE || (l->run == 1 && pct >= WS_ACT_SURE_PCT)) {
            if (from != NULL) {
                *from = l->current;
            }
            if (to != NULL) {
                *to = cls;
            }
            if (confidence != NULL) {
                *confidence = (uint8_t)((l->conf_sum + l->run / 2u) / l->run);
            }
            l->current = cls;
            l->candidate = WS_ACTIVITY_UNKNOWN;
            l->run = 0;
            changed = 1;
        }
    }
    if (l->current < WS_ACTIVITY_CLASSES && l->windows[l->current] < 0xFFFF) {
        l->windows[l->current]++;
    }
    if (l->total < 0xFFFF) {
        l->total++;
    }
    return changed;
}

int ws_act_logic_summary(ws_act_logic_t *l, uint8_t minutes[8])
{
    uint32_t sum = 0;
    int k, any;
    if (l == NULL || minutes == NULL) {
        return 0;
    }
    any = l->total > 0;
    for (k = 0; k < 8; k++) {
        uint32_t m = ((uint32_t)l->windows[k] * WS_ACT_HOP_MS + 30000u) / 60000u;
        minutes[k] = (uint8_t)(m > 60 ? 60 : m);
        sum += minutes[k];
    }
    while (sum > 60) { /* rounding (or a late summary) may overshoot the hour */
        int big = 0;
        for (k = 1; k < 8; k++) {
            if (minutes[k] > minutes[big]) {
                big = k;
            }
        }
        minutes[big]--;
        sum--;
    }
    memset(l->windows, 0, sizeof l->windows);
    l->total = 0;
    return any;
}

/* ------------------------------------------------------------------ on the IMU stream */

void ws_act_reset(ws_app_t *app)
{
    app->act_phase = 0;
    app->act_reuse = 0;
    app->act_moved = 1;
}

ws_status_t ws_app_posture(ws_app_t *app, uint8_t calibrate)
{
    if (app == NULL) {
        return WS_ERR_ARG;
    }
    if (calibrate) {
        return ws_posture_start(&app->posture);
    }
    (void)ws_device_save_posture(app->dev, 0u, NULL); /* forgotten across resets too */
    return ws_posture_reset(&app->posture);
}

uint8_t ws_app_posture_state(const ws_app_t *app)
{
    return app == NULL ? 0u : app->posture.state;
}

/* A still window whose posture (mean acceleration) matches the last classified one's:
 * the wearer has not moved, the class cannot have changed. */
static int same_still_posture(const ws_app_t *app, int16_t mean[3])
{
    int32_t sum[3] = {0, 0, 0};
    int still = 1, f, a;
    for (f = 0; f < WS_IMU_WINDOW; f++) {
        const int8_t *v = app->window + f * WS_IMU_CHANNELS;
        if (abs8(v[3]) > WS_ACT_STILL_ACC || abs8(v[4]) > WS_ACT_STILL_GYRO ||
            abs8(v[5]) > WS_ACT_STILL_GYRO || abs8(v[6]) > WS_ACT_STILL_GYRO) {
            still = 0;
        }
        for (a = 0; a < 3; a++) {
            sum[a] += v[a];
        }
    }
    for (a = 0; a < 3; a++) {
        mean[a] = (int16_t)(sum[a] / WS_IMU_WINDOW);
        if (mean[a] - app->act_mean[a] > WS_ACT_POSTURE_ACC ||
            app->act_mean[a] - mean[a] > WS_ACT_POSTURE_ACC) {
            still = 0;
        }
    }
    return still;
}

void ws_act_window(ws_app_t *app)
{
    uint8_t pct[WS_ACTIVITY_CLASSES];
    uint8_t from, to, conf, cls, p;
    int16_t mean[3];
    int best, still;
    if (app->blob[WS_TASK_ACTIVITY] == NULL) {
        return;
    }
    /* every offered window is checked: a movement between two classified windows (a
     * sit-to-stand, say) forbids reusing the class */
    still = app->stats.activity_windows > 0 && same_still_posture(app, mean);
    if (!still) {
        app->act_moved = 1;
    }
    if (app->dev->posture_request != 0) { /* SET_CONFIG POSTURE from the companion */
        (void)ws_app_posture(app, app->dev->posture_request == 1u);
        app->dev->posture_request = 0;
    }
    if (ws_posture_feed(&app->posture, app->window)) {
        app->act_moved = 1; /* classify the next window with the new calibration */
        (void)ws_device_save_posture(app->dev, 1u, app->posture.ref); /* kept across resets */
    }
    app->stats.posture = app->posture.state;
    app->act_phase++;
    if (app->act_phase < WS_ACT_EVERY) {
        return;
    }
    app->act_phase = 0;
    if (still && !app->act_moved && app->act_reuse < WS_ACT_REUSE_MAX) {
        cls = app->act_last_cls;
        p = app->act_last_pct;
        app->act_reuse++;
        app->stats.activity_reused++;
    } else {
        best = ws_app_run_model(app, WS_TASK_ACTIVITY, app->window, sizeof app->window, 0, NULL,
                                0, pct, NULL);
        if (best < 0) {
            return;
        }
        (void)same_still_posture(app, mean);
        cls = ws_posture_refine(&app->posture, app->window, (uint8_t)best);
        /* a class the tilt re-decided (sit/stand, cycle to lie): the model's confidence in
         * its call and the new class together */
        p = cls == (uint8_t)best ? pct[best] : (uint8_t)(pct[best] + pct[cls]);
        app->act_last_cls = cls;
        app->act_last_pct = p;
        memcpy(app->act_mean, mean, sizeof app->act_mean);
        app->act_reuse = 0;
    }
    app->act_moved = 0;
    app->stats.activity_windows++;
    if (ws_act_logic_window(&app->act, cls, p, &from, &to, &conf)) {
        ws_event_t ev;
        memset(&ev, 0, sizeof ev);
        ev.type = WS_EVENT_ACTIVITY_CHANGE;
        ev.u.activity_change.from_class = from;
        ev.u.activity_change.to_class = to;
        ev.u.activity_change.confidence = conf > 100 ? 100 : conf;
        ws_app_emit(app, &ev, WS_TASK_ACTIVITY);
    }
    app->stats.activity = app->act.current;
}
