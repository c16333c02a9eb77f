/* The app that runs the detectors (ws_detect.h; rules and budgets in docs/detectors.md):
 * one interpreter and one arena shared by the three models, the events the detectors
 * emit, the IMU stream the fall and activity detectors share (and whether it is
 * believable), the interval summaries and the stats. The detectors themselves are
 * firmware/src/detectors/afib.c, fall.c and activity.c. */
#include "ws_detect.h"

#include <string.h>

#include "ws_afib.h"
#include "ws_protocol.h"

#include "../detectors/detectors.h"

#define IMU_WINDOW_BYTES (WS_IMU_WINDOW * WS_IMU_CHANNELS)

static const uint32_t task_input_bytes[3] = {WS_AFIB_WINDOW, IMU_WINDOW_BYTES, IMU_WINDOW_BYTES};
static const uint32_t task_outputs[3] = {4, 2, WS_ACTIVITY_CLASSES};

size_t ws_app_size(void) { return sizeof(ws_app_t); }

ws_status_t ws_app_emit(ws_app_t *app, ws_event_t *ev, uint8_t task)
{
    ws_status_t st;
    ev->time_s = ws_device_time_s(app->dev);
    ev->model_version = task < 3 ? app->version[task] : 0;
    st = ws_device_append_event(app->dev, ev);
    if (st == WS_OK) {
        app->stats.events++;
    } else {
        app->stats.append_errors++;
    }
    return st;
}

ws_status_t ws_app_attach_strips(ws_app_t *app, struct ws_strips *strips)
{
    if (app == NULL) {
        return WS_ERR_ARG;
    }
    app->strips = strips;
    return WS_OK;
}

static void reset_interval(ws_app_t *app)
{
    app->sum_clean = 0;
    app->sum_af = 0;
    app->sum_windows = 0;
    app->hr_min = 255;
    app->hr_max = 0;
    app->hr_beats = 0;
    app->hr_rr_ms = 0;
}

ws_status_t ws_app_init(ws_app_t *app, ws_device_t *dev)
{
    uint32_t now;
    if (app == NULL || dev == NULL) {
        return WS_ERR_ARG;
    }
    if (ws_ecg_state_size() > sizeof app->ecg_mem || ws_imu_state_size() > sizeof app->imu_mem) {
        return WS_ERR_ARG; /* a front end outgrew its reserved state */
    }
    memset(app, 0, sizeof *app);
    app->dev = dev;
    app->loaded = -1;
    app->ecg = (ws_ecg_t *)(void *)app->ecg_mem;
    app->imu = (ws_imu_t *)(void *)app->imu_mem;
    ws_af_logic_init(&app->af);
    ws_fall_logic_init(&app->fall);
    ws_act_logic_init(&app->act);
    reset_interval(app);
    now = ws_device_time_s(dev);
    app->sum_start_s = now;
    app->act_next_s = now + WS_ACT_SUMMARY_S;
    app->stats.last_af_class = 255;
    app->stats.activity = WS_ACTIVITY_UNKNOWN;
    app->stats.arena_bytes = WS_APP_ARENA_BYTES;
    if (ws_device_settings(dev)->posture_calibrated) {
        /* the wearer's calibration survives a reset; a stored one out of range is forgotten */
        if (ws_posture_restore(&app->posture, ws_device_settings(dev)->posture_ref) != WS_OK) {
            (void)ws_device_save_posture(dev, 0u, NULL);
        }
        app->stats.posture = app->posture.state;
    }
    return WS_OK;
}

/* The interpreter may have been lent (ws_app_interpreter) and used for another model since
 * the last inference: the task's model counts as loaded only if the struct still describes
 * its blob, bound to our arena (reloading the same blob recomputes the same arena data). */
static int still_loaded(const ws_app_t *app, uint8_t task)
{
    return app->loaded == (int8_t)task && app->nn.file == app->blob[task] &&
           app->nn.size == app->blob_len[task] && app->nn.ready && app->nn.arena == app->arena;
}

static ws_status_t load(ws_app_t *app, uint8_t task)
{
    ws_status_t st;
    if (still_loaded(app, task)) {
        return WS_OK;
    }
    app->loaded = -1;
    st = ws_nn_load(&app->nn, app->blob[task], app->blob_len[task]);
    if (st == WS_OK) {
        st = ws_nn_set_arena(&app->nn, app->arena, sizeof app->arena);
    }
    if (st == WS_OK) {
        app->loaded = (int8_t)task;
        app->stats.model_loads++;
    }
    return st;
}

ws_status_t ws_app_set_model(ws_app_t *app, uint8_t task, const uint8_t *blob, size_t len,
                             uint16_t version)
{
    ws_nn_tensor_desc_t in, out;
    ws_status_t st;
    size_t need;
    if (app == NULL || (blob == NULL && len > 0)) {
        return WS_ERR_ARG;
    }
    if (task > WS_TASK_ACTIVITY) {
        return WS_ERR_RANGE;
    }
    app->loaded = -1; /* the check below uses the shared interpreter */
    if (len == 0) {
        app->blob[task] = NULL;
        app->blob_len[task] = 0;
        app->version[task] = 0;
        return WS_OK;
    }
    st = ws_nn_load(&app->nn, blob, len);
    if (st != WS_OK) {
        return st;
    }
    need = ws_nn_arena_size(&app->nn);
    if (need > WS_APP_ARENA_BYTES) {
        return WS_ERR_NN_ARENA;
    }
    if (ws_nn_input_count(&app->nn) != 1 || ws_nn_output_count(&app->nn) != 1 ||
        ws_nn_input_desc(&app->nn, 0, &in) != WS_OK ||
        ws_nn_output_desc(&app->nn, 0, &out) != WS_OK || in.type != WS_NN_TYPE_INT8 ||
        out.type != WS_NN_TYPE_INT8 || out.bytes != task_outputs[task] ||
        (in.bytes != task_input_bytes[task] &&
         !(task == WS_TASK_AFIB && in.bytes == WS_AFIB_WINDOW + WS_AFIB_RR_FEATURES))) {
        return WS_ERR_NN_SHAPE;
    }
    if (task == WS_TASK_AFIB) {
        app->af_rr = in.bytes != WS_AFIB_WINDOW; /* a hybrid model: window + RR features */
    }
    app->blob[task] = blob;
    app->blob_len[task] = (uint32_t)len;
    app->version[task] = version;
    if (need > app->stats.arena_needed) {
        app->stats.arena_needed = (uint32_t)need;
    }
    return WS_OK;
}

int ws_app_run_model(ws_app_t *app, uint8_t task, const int8_t *a, size_t na, size_t start,
                     const int8_t *b, size_t nb, uint8_t *pct, int16_t *level)
{
    ws_nn_tensor_desc_t od;
    const int8_t *o;
    int8_t *in;
    uint32_t k, n = task_outputs[task];
    int best = 0;
    if (app->blob[task] == NULL || load(app, task) != WS_OK) {
        return -1;
    }
    in = (int8_t *)ws_nn_input_data(&app->nn, 0);
    memcpy(in, a + start, na - start);
    memcpy(in + (na - start), a, start);
    if (nb > 0) {
        memcpy(in + na, b, nb);
    }
    if (ws_nn_invoke(&app->nn) != WS_OK || ws_nn_output_desc(&app->nn, 0, &od) != WS_OK) {
        return -1;
    }
    o = (const int8_t *)ws_nn_output_data(&app->nn, 0);
    for (k = 0; k < n; k++) {
        float p = (float)((int32_t)o[k] - od.zero_point) * od.scale * 100.0f + 0.5f;
        pct[k] = (uint8_t)(p <= 0.0f ? 0 : p >= 100.0f ? 100 : (int)p);
        if (level != NULL) {
            level[k] = (int16_t)((int32_t)o[k] - od.zero_point);
        }
        if (o[k] > o[best]) {
            best = (int)k;
        }
    }
    if (task == WS_TASK_AFIB) {
        app->stats.af_runs++;
        app->af_out_scale = od.scale;
    } else if (task == WS_TASK_FALL) {
        app->stats.fall_runs++;
    } else {
        app->stats.activity_runs++;
    }
    return best;
}

/* ---- IMU ---- */

ws_status_t ws_app_config_imu(ws_app_t *app, const ws_imu_config_t *cfg)
{
    ws_status_t st;
    if (app == NULL || cfg == NULL) {
        return WS_ERR_ARG;
    }
    app->imu_ready = 0;
    st = ws_imu_init(app->imu, cfg);
    if (st != WS_OK) {
        return st;
    }
    ws_fall_reset(app);
    ws_act_reset(app);
    app->imu_ready = 1;
    return WS_OK;
}

/* SIGNAL_QUALITY (source IMU, IMPLAUSIBLE) for the unbelievable stretch so far: its
 * windows x 1.28 s. */
static void emit_imu_quality(ws_app_t *app)
{
    ws_event_t ev;
    uint32_t dur = ((uint32_t)app->iq_run * 64u + 25u) / 50u;
    if (app->iq_run > 0) {
        memset(&ev, 0, sizeof ev);
        ev.type = WS_EVENT_SIGNAL_QUALITY;
        ev.u.signal_quality.source = WS_SOURCE_IMU;
        ev.u.signal_quality.flags = WS_QUALITY_IMPLAUSIBLE;
        ev.u.signal_quality.duration_s = (uint16_t)(dur > 0xFFFF ? 0xFFFF : dur);
        ws_app_emit(app, &ev, 0xFF);
    }
    app->iq_run = 0;
}

/* Is the IMU believable (docs/imu-front-end.md)? Judged on every activity window, with
 * or without models: WS_IQ_ENTER at-rest windows in a row whose gravity is not 1 g make it
 * unbelievable (the falls and activities it sees are not to be trusted: a scale fault, a
 * dead axis); WS_IQ_LEAVE at-rest windows in a row that read 1 g end that, and the stretch
 * is reported (at a summary boundary too, as the ECG's). Windows in motion change nothing. */
static void judge_imu_quality(ws_app_t *app)
{
    int g = ws_imu_rest_gravity(app->window);
    if (app->iq_bad && app->iq_run < 0xFFFFu) {
        app->iq_run++;
    }
    if (g < 0) {
        return;
    }
    if ((g == 1) == (app->iq_bad != 0)) {
        app->iq_in = 0; /* the state holds */
        return;
    }
    if (++app->iq_in < (app->iq_bad ? WS_IQ_LEAVE : WS_IQ_ENTER)) {
        return;
    }
    app->iq_in = 0;
    if (app->iq_bad) {
        app->iq_run = (uint16_t)(app->iq_run > WS_IQ_LEAVE ? app->iq_run - WS_IQ_LEAVE : 0);
        emit_imu_quality(app);
        app->iq_bad = 0;
    } else {
        app->iq_bad = 1;
        app->iq_run = WS_IQ_ENTER;
    }
    app->stats.imu_implausible = app->iq_bad;
}

static void on_imu_event(ws_app_t *app, const ws_imu_event_t *e)
{
    if (ws_imu_window(app->imu, app->window, sizeof app->window) != WS_OK) {
        return;
    }
    ws_fall_scan(app, e->frame);
    if (e->flags & WS_IMU_EV_IMPACT) {
        app->stats.impacts++;
        ws_fall_impact(app, e);
    }
    if (e->flags & WS_IMU_EV_WINDOW) {
        judge_imu_quality(app);
        ws_act_window(app);
    }
}

ws_status_t ws_app_feed_imu(ws_app_t *app, const float *frames, size_t n)
{
    size_t done = 0;
    if (app == NULL || (frames == NULL && n > 0)) {
        return WS_ERR_ARG;
    }
    if (!app->imu_ready) {
        return WS_ERR_STATE;
    }
    while (done < n) {
        size_t consumed = 0;
        ws_imu_event_t e;
        ws_status_t st = ws_imu_process(app->imu, frames + done * WS_IMU_AXES, n - done,
                                        &consumed, &e);
        if (st == WS_ERR_RANGE) {
            consumed++; /* a non-finite sample (sensor glitch): dropped */
        } else if (st != WS_OK) {
            return st;
        }
        done += consumed;
        app->stats.imu_samples += (uint32_t)consumed;
        if (st == WS_OK && e.flags != 0) {
            on_imu_event(app, &e);
        }
        if (consumed == 0) {
            break; /* defensive: the front end always takes at least one frame */
        }
    }
    return ws_app_tick(app);
}

/* ---- summaries ---- */

ws_status_t ws_app_tick(ws_app_t *app)
{
    uint32_t now;
    ws_event_t ev;
    if (app == NULL) {
        return WS_ERR_ARG;
    }
    now = ws_device_time_s(app->dev);
    /* the interval is read at every tick, so SET_CONFIG applies to the running one */
    if (now >= app->sum_start_s + 60u * (app->dev->summary_min ? app->dev->summary_min : 15u)) {
        uint32_t interval = now - app->sum_start_s;
        if (interval > 0xFFFF) {
            interval = 0xFFFF;
        }
        if (app->sum_windows > 0 && interval >= 1) {
            uint32_t analysable = windows_to_s(app->sum_clean);
            uint32_t af = windows_to_s(app->sum_af);
            ws_af_emit_signal_quality(app);
            analysable = analysable > interval ? interval : analysable;
            af = af > analysable ? analysable : af;
            memset(&ev, 0, sizeof ev);
            ev.type = WS_EVENT_RHYTHM_SUMMARY;
            ev.u.rhythm_summary.interval_s = (uint16_t)interval;
            ev.u.rhythm_summary.analysable_s = (uint16_t)analysable;
            ev.u.rhythm_summary.af_s = (uint16_t)af;
            ws_app_emit(app, &ev, WS_TASK_AFIB);
        }
        if (app->hr_beats > 0 && interval >= 1) {
            uint8_t mean = mean_hr(app->hr_beats, app->hr_rr_ms);
            memset(&ev, 0, sizeof ev);
            ev.type = WS_EVENT_HR_SUMMARY;
            ev.u.hr_summary.interval_s = (uint16_t)interval;
            ev.u.hr_summary.min_bpm = app->hr_min < mean ? app->hr_min : mean;
            ev.u.hr_summary.mean_bpm = mean;
            ev.u.hr_summary.max_bpm = app->hr_max > mean ? app->hr_max : mean;
            ws_app_emit(app, &ev, 0xFF);
        }
        if (app->iq_bad) {
            emit_imu_quality(app); /* an unbelievable IMU is reported every interval too */
        }
        reset_interval(app);
        app->sum_start_s = now;
    }
    if (now >= app->act_next_s) {
        memset(&ev, 0, sizeof ev);
        ev.type = WS_EVENT_ACTIVITY_SUMMARY;
        if (ws_act_logic_summary(&app->act, ev.u.activity_summary.minutes)) {
            ws_app_emit(app, &ev, WS_TASK_ACTIVITY);
        }
        app->act_next_s = now + WS_ACT_SUMMARY_S;
    }
    return WS_OK;
}

ws_nn_model_t *ws_app_interpreter(ws_app_t *app, uint8_t **arena, size_t *arena_size)
{
    if (app == NULL) {
        return NULL;
    }
    if (arena != NULL) {
        *arena = app->arena;
    }
    if (arena_size != NULL) {
        *arena_size = sizeof app->arena;
    }
    return &app->nn;
}

ws_status_t ws_app_get_stats(const ws_app_t *app, ws_app_stats_t *out)
{
    if (app == NULL || out == NULL) {
        return WS_ERR_ARG;
    }
    *out = app->stats;
    return WS_OK;
}
