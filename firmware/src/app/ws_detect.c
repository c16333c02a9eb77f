/* The detectors (ws_detect.h; rules and budgets in docs/detectors.md). */
#include "ws_detect.h"

#include <string.h>

#include "ws_afib.h"
#include "ws_protocol.h"

#define AF_WINDOW WS_AFIB_WINDOW /* 125 Hz samples per window; windows do not overlap */
#define ECG_BLOCK 64     /* input samples per front-end call */
#define ECG_OUT_CAP 256  /* at most 64 x 250 / 100 = 160 output samples per call */
#define BEAT_CAP 16
#define Q_CAP 8
#define IMU_WINDOW_BYTES (WS_IMU_WINDOW * WS_IMU_CHANNELS)

static const uint32_t task_input_bytes[3] = {AF_WINDOW, IMU_WINDOW_BYTES, IMU_WINDOW_BYTES};
static const uint32_t task_outputs[3] = {4, 2, WS_ACTIVITY_CLASSES};

static uint8_t clamp_hr(uint32_t bpm)
{
    return (uint8_t)(bpm < 20 ? 20 : bpm > 250 ? 250 : bpm);
}

/* ------------------------------------------------------------------ AF episodes */

void ws_af_logic_init(ws_af_logic_t *l)
{
    if (l != NULL) {
        memset(l, 0, sizeof *l);
    }
}

static uint8_t mean_hr(uint32_t beats, uint32_t rr_sum_ms)
{
    if (beats == 0 || rr_sum_ms == 0) {
        return 0;
    }
    return clamp_hr((60000u * beats + rr_sum_ms / 2) / rr_sum_ms);
}

void ws_af_logic_window(ws_af_logic_t *l, uint32_t index, uint8_t cls, uint8_t af_pct,
                        uint16_t beats, uint32_t rr_sum_ms, ws_af_step_t *out)
{
    if (l == NULL || out == NULL) {
        return;
    }
    memset(out, 0, sizeof *out);
    if (cls == WS_RHYTHM_NOISY) {
        /* Unanalysable: neither AF nor its absence; a long stretch breaks a run before
         * it starts, a very long one ends an episode at its last AF window. */
        l->lost_run++;
        if (!l->in_episode && l->af_run > 0 && l->lost_run >= WS_AF_GAP_WINDOWS) {
            l->af_run = 0;
        }
        if (l->in_episode && l->lost_run >= WS_AF_LOST_WINDOWS) {
            out->ended = 1;
            out->onset = l->run_start;
            out->end = (l->clear_run > 0 ? l->end_start : l->last_af + 1);
            out->hr_bpm = mean_hr(l->beats, l->rr_sum_ms);
            l->in_episode = 0;
            l->af_run = 0;
            l->clear_run = 0;
        }
        return;
    }
    l->lost_run = 0;
    if (cls == WS_RHYTHM_AF) {
        l->clear_run = 0;
        if (!l->in_episode && l->af_run == 0) {
            l->run_start = index;
            l->conf_sum = 0;
            l->beats = 0;
            l->rr_sum_ms = 0;
        }
        l->last_af = index;
        if (l->af_run < 0xFFFF) {
            l->af_run++;
        }
        l->conf_sum += af_pct;
        l->beats += beats;
        l->rr_sum_ms += rr_sum_ms;
        if (!l->in_episode && l->af_run >= WS_AF_START_WINDOWS) {
            l->in_episode = 1;
            out->started = 1;
            out->onset = l->run_start;
            out->confidence = (uint8_t)((l->conf_sum + l->af_run / 2) / l->af_run);
            out->hr_bpm = mean_hr(l->beats, l->rr_sum_ms);
        }
        return;
    }
    /* Analysable and not AF. */
    if (!l->in_episode) {
        l->af_run = 0;
        return;
    }
    if (l->clear_run == 0) {
        l->end_start = index;
    }
    l->clear_run++;
    if (l->clear_run >= WS_AF_END_WINDOWS) {
        out->ended = 1;
        out->onset = l->run_start;
        out->end = l->end_start;
        out->hr_bpm = mean_hr(l->beats, l->rr_sum_ms);
        l->in_episode = 0;
        l->af_run = 0;
        l->clear_run = 0;
    }
}

/* ------------------------------------------------------------------ falls */

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

static int abs8(int8_t v) { return v < 0 ? -(int)v : (int)v; }

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

/* ------------------------------------------------------------------ activity */

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

/* ------------------------------------------------------------------ the app */

size_t ws_app_size(void) { return sizeof(ws_app_t); }

static void emit(ws_app_t *app, ws_event_t *ev, uint8_t task)
{
    ev->time_s = ws_device_time_s(app->dev);
    ev->model_version = task < 3 ? app->version[task] : 0;
    if (ws_device_append_event(app->dev, ev) == WS_OK) {
        app->stats.events++;
    } else {
        app->stats.append_errors++;
    }
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
         !(task == WS_TASK_AFIB && in.bytes == AF_WINDOW + WS_AFIB_RR_FEATURES))) {
        return WS_ERR_NN_SHAPE;
    }
    if (task == WS_TASK_AFIB) {
        app->af_rr = in.bytes != AF_WINDOW; /* a hybrid model: window + RR features */
    }
    app->blob[task] = blob;
    app->blob_len[task] = (uint32_t)len;
    app->version[task] = version;
    if (need > app->stats.arena_needed) {
        app->stats.arena_needed = (uint32_t)need;
    }
    return WS_OK;
}

/* Runs a task's model on input a (na values, read circularly from index `start`: a
 * ring's oldest value first) followed by b (nb values). Fills pct (percent per output) and,
 * when level is not NULL, each output's quantized level above its zero point; returns the
 * best output, -1 when the model cannot run. */
static int run_model(ws_app_t *app, uint8_t task, const int8_t *a, size_t na, size_t start,
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

/* ---- ECG ---- */

ws_status_t ws_app_config_ecg(ws_app_t *app, const ws_ecg_config_t *cfg)
{
    ws_ecg_config_t c;
    ws_status_t st;
    if (app == NULL || cfg == NULL) {
        return WS_ERR_ARG;
    }
    c = *cfg;
    c.output_mode = WS_ECG_OUT_NORMALISED;
    app->ecg_ready = 0;
    st = ws_ecg_init(app->ecg, &c);
    if (st != WS_OK) {
        return st;
    }
    if (ws_ecg_max_output(app->ecg, ECG_BLOCK) > ECG_OUT_CAP) {
        return WS_ERR_DSP_RATE;
    }
    app->ecg_out_count = 0;
    app->ecg_has_pair = 0;
    app->af_count = 0;
    app->beat_n = 0;
    app->q_n = 0;
    app->q_head = 0;
    memset(app->bin_id, 0xFF, sizeof app->bin_id);
    ws_af_logic_init(&app->af);
    app->sq_run = 0;
    app->sq_flags = 0;
    app->ecg_ready = 1;
    ws_ecg_set_leads_off(app->ecg, app->leads_off);
    return WS_OK;
}

ws_status_t ws_app_set_leads_off(ws_app_t *app, uint8_t leads_off)
{
    if (app == NULL) {
        return WS_ERR_ARG;
    }
    app->leads_off = leads_off ? 1 : 0;
    if (app->ecg_ready) {
        ws_ecg_set_leads_off(app->ecg, app->leads_off);
    }
    return WS_OK;
}

static void add_beat(ws_app_t *app, const ws_ecg_beat_t *b)
{
    uint32_t bin, slot;
    /* every beat, for the RR features (the latest WS_APP_BEATS, oldest first) */
    if (app->beat_n == WS_APP_BEATS) {
        memmove(&app->beats[0], &app->beats[1], (WS_APP_BEATS - 1) * sizeof app->beats[0]);
        app->beat_n--;
    }
    app->beats[app->beat_n++] = *b;
    if (b->rr_ms < 240 || b->rr_ms > 3000) {
        return; /* the first beat has no RR; RR outside 20..250 bpm is not a heart rate */
    }
    bin = b->sample / (2u * AF_WINDOW); /* the AFib window the beat falls in */
    slot = bin & 3u;
    if (app->bin_id[slot] != bin) {
        app->bin_id[slot] = bin;
        app->bin_beats[slot] = 0;
        app->bin_rr[slot] = 0;
    }
    app->bin_beats[slot]++;
    app->bin_rr[slot] += b->rr_ms;
}

static void add_quality(ws_app_t *app, const ws_ecg_quality_t *q)
{
    app->q_start[app->q_head] = q->start;
    app->q_flags[app->q_head] = q->flags;
    app->q_head = (uint8_t)((app->q_head + 1) % Q_CAP);
    if (app->q_n < Q_CAP) {
        app->q_n++;
    }
}

/* Quality flags of the verdicts that end within 250 Hz samples (begin, end]: those that
 * overlap the window and were made by its end, whatever the chunks the ECG came in. */
static uint8_t quality_over(const ws_app_t *app, uint32_t begin, uint32_t end)
{
    uint8_t flags = 0, k;
    for (k = 0; k < app->q_n; k++) {
        uint32_t e = app->q_start[k] + WS_ECG_QUALITY_WINDOW;
        if (e > begin && e <= end) {
            flags |= app->q_flags[k];
        }
    }
    return flags;
}

static uint32_t windows_to_s(uint32_t windows)
{
    return (windows * WS_AF_WINDOW_MS + 500u) / 1000u;
}

static void emit_signal_quality(ws_app_t *app)
{
    ws_event_t ev;
    uint32_t dur = windows_to_s(app->sq_run);
    if (app->sq_run >= WS_SQ_MIN_WINDOWS) {
        memset(&ev, 0, sizeof ev);
        ev.type = WS_EVENT_SIGNAL_QUALITY;
        ev.u.signal_quality.source = WS_SOURCE_ECG;
        ev.u.signal_quality.flags = app->sq_flags ? app->sq_flags : WS_QUALITY_NOISY;
        ev.u.signal_quality.duration_s = (uint16_t)(dur > 0xFFFF ? 0xFFFF : dur);
        emit(app, &ev, 0xFF);
    }
    app->sq_run = 0;
    app->sq_flags = 0;
}

ws_status_t ws_app_afib_rr_features(const ws_app_t *app, uint32_t window, int8_t *out)
{
    if (app == NULL || out == NULL) {
        return WS_ERR_ARG;
    }
    if (!app->ecg_ready) {
        return WS_ERR_STATE;
    }
    if (window >= app->af_count / AF_WINDOW) {
        return WS_ERR_RANGE;
    }
    /* the window ends at 250 Hz output sample (window + 1) x 2 x AF_WINDOW */
    return ws_afib_rr_features(app->beats, app->beat_n, (window + 1u) * 2u * AF_WINDOW, out);
}

/* Quality flags of the AFib window ending at 125 Hz sample `end` (quality_over). */
static uint8_t window_flags(const ws_app_t *app, uint32_t end)
{
    return quality_over(app, 2u * (end - AF_WINDOW), 2u * end);
}

/* The AFib model on the window ending at 125 Hz sample `end` (the ring as it stands, then
 * the RR features made by then for a hybrid model): pct and level as run_model. */
static int run_afib(ws_app_t *app, uint32_t end, uint8_t *pct, int16_t *level)
{
    int8_t rr_features[WS_AFIB_RR_FEATURES];
    size_t n_rr = 0;
    if (app->af_rr) {
        (void)ws_afib_rr_features(app->beats, app->beat_n, 2u * end, rr_features);
        n_rr = WS_AFIB_RR_FEATURES;
    }
    return run_model(app, WS_TASK_AFIB, app->af_ring, AF_WINDOW, end % AF_WINDOW, rr_features,
                     n_rr, pct, level);
}

/* Takes a pending START_RECORDING: the recording starts with the AFib window that begins
 * next and judges the windows every half window (5.12 s) that end within its d seconds, at
 * least one (WS_REC_WINDOWS). */
static void start_recording(ws_app_t *app)
{
    uint32_t samples = (uint32_t)app->dev->recording_s * WS_AFIB_RATE_HZ;
    app->rec_windows = (uint8_t)WS_REC_WINDOWS(samples);
    app->rec_left = app->rec_windows;
    app->rec_start = app->af_count;
    app->rec_analysed = 0;
    app->rec_quality = 0;
    app->rec_beats = 0;
    app->rec_rr_ms = 0;
    app->rec_peak_other = 0;
    memset(app->rec_sum, 0, sizeof app->rec_sum);
    ws_device_recording_started(app->dev);
}

/* On-demand recording (START_RECORDING d, docs/detectors.md). Called for every AFib window
 * that ends during one (`end`: its last 125 Hz sample + 1), every half window: `level` is
 * the model's output when the caller ran it (NULL: run here, on the ring), `flags` the
 * front end's over the window, beats and rr those of a back-to-back window (0 for the
 * windows in between). The record is judged as `wearsense evaluate afib` judges a CinC
 * record: every window the model can see (not leads-off, flat or saturated) counts, noisy
 * or not, and the class is the largest sum of quantized output levels (the largest mean
 * probability), except that normal rhythm with one window above WS_REC_OTHER_PEAK for
 * "other" is other rhythm (its confidence: that window's). One ECG_RECORDING after the
 * last window: NOISY when no window could be analysed (no guess); the mean heart rate of
 * the beats of the back-to-back windows the front end did not flag; the quality flags
 * seen; the seconds judged. */
static void record_window(ws_app_t *app, uint32_t end, const int16_t *level, uint8_t flags,
                          uint16_t beats, uint32_t rr)
{
    ws_event_t ev;
    int16_t own[4];
    uint8_t pct[4];
    uint32_t best = 0, i, seconds;
    if (app->rec_left == 0 || end < app->rec_start + AF_WINDOW) {
        return;
    }
    app->rec_quality |= flags;
    if ((flags & WS_REC_UNSEEN) == 0) {
        if (level == NULL && run_afib(app, end, pct, own) >= 0) {
            level = own;
        }
        if (level != NULL) {
            for (i = 0; i < 4; i++) {
                app->rec_sum[i] = (uint16_t)(app->rec_sum[i] + level[i]);
            }
            if (level[WS_RHYTHM_OTHER] > app->rec_peak_other) {
                app->rec_peak_other = level[WS_RHYTHM_OTHER];
            }
            app->rec_analysed++;
        } else {
            app->rec_quality |= WS_QUALITY_NOISY;
        }
    }
    if (flags == 0) { /* the heart rate only from clean windows */
        app->rec_beats = (uint16_t)(app->rec_beats + beats);
        app->rec_rr_ms += rr;
    }
    if (--app->rec_left > 0) {
        return;
    }
    memset(&ev, 0, sizeof ev);
    ev.type = WS_EVENT_ECG_RECORDING;
    if (app->rec_analysed == 0) {
        best = WS_RHYTHM_NOISY;
    } else {
        for (i = 1; i < 4; i++) {
            best = app->rec_sum[i] > app->rec_sum[best] ? i : best;
        }
        ev.u.ecg_recording.confidence = (uint8_t)(
            (float)app->rec_sum[best] * app->af_out_scale * 100.0f / (float)app->rec_analysed +
            0.5f);
        if (best == WS_RHYTHM_NORMAL &&
            (float)app->rec_peak_other * app->af_out_scale > WS_REC_OTHER_PEAK) {
            best = WS_RHYTHM_OTHER;
            ev.u.ecg_recording.confidence =
                (uint8_t)((float)app->rec_peak_other * app->af_out_scale * 100.0f + 0.5f);
        }
    }
    ev.u.ecg_recording.rhythm_class = (uint8_t)best;
    if (app->rec_beats >= WS_HR_MIN_BEATS && app->rec_rr_ms > 0) {
        ev.u.ecg_recording.hr_bpm =
            clamp_hr((60000u * app->rec_beats + app->rec_rr_ms / 2u) / app->rec_rr_ms);
    }
    /* the windows span 10.24 s + 5.12 s per further window */
    seconds = (((uint32_t)app->rec_windows + 1u) * WS_AF_WINDOW_MS / 2u + 500u) / 1000u;
    ev.u.ecg_recording.duration_s = (uint8_t)(seconds > 60u ? 60u : seconds);
    ev.u.ecg_recording.quality = app->rec_quality & 0x0Fu;
    emit(app, &ev, WS_TASK_AFIB);
}

static void judge_window(ws_app_t *app, uint32_t k)
{
    uint8_t pct[4] = {0, 0, 0, 0};
    int16_t level[4];
    uint8_t flags, seen, cls, ran = 0;
    uint16_t beats = 0;
    uint32_t rr = 0, slot = k & 3u;
    ws_af_step_t step;
    ws_event_t ev;
    int best;
    if (app->blob[WS_TASK_AFIB] == NULL) {
        return; /* no AFib model: no rhythm verdicts (heart rate still counts below) */
    }
    flags = seen = window_flags(app, app->af_count);
    if (flags != 0) {
        cls = WS_RHYTHM_NOISY; /* the front end says no: no guess, no model run */
    } else {
        best = run_afib(app, app->af_count, pct, level);
        if (best < 0) {
            return;
        }
        ran = 1;
        cls = (uint8_t)best;
        if (cls == WS_RHYTHM_NOISY) {
            flags = WS_QUALITY_NOISY;
        }
    }
    app->stats.af_windows++;
    app->stats.last_af_class = cls;
    app->sum_windows++;
    if (app->bin_id[slot] == k) {
        beats = app->bin_beats[slot];
        rr = app->bin_rr[slot];
    }
    if (cls != WS_RHYTHM_NOISY) {
        app->sum_clean++;
        if (cls == WS_RHYTHM_AF) {
            app->sum_af++;
            app->stats.af_af++;
        }
        if (beats >= WS_HR_MIN_BEATS && rr > 0) {
            uint32_t bpm = (60000u * beats + rr / 2) / rr;
            if (bpm >= 20 && bpm <= 250) {
                app->hr_min = bpm < app->hr_min ? (uint8_t)bpm : app->hr_min;
                app->hr_max = bpm > app->hr_max ? (uint8_t)bpm : app->hr_max;
                app->hr_beats += beats;
                app->hr_rr_ms += rr;
            }
        }
        if (app->sq_run > 0) {
            emit_signal_quality(app);
        }
    } else {
        app->stats.af_noisy++;
        app->sq_run++;
        app->sq_flags |= flags;
    }
    if (app->rec_left > 0) {
        record_window(app, app->af_count, ran ? level : NULL, seen, beats, rr);
    } else if (app->dev->recording_s != 0) { /* a request during this window: from the next */
        start_recording(app);
    }
    ws_af_logic_window(&app->af, k, cls, pct[WS_RHYTHM_AF], beats, rr, &step);
    app->stats.in_af = app->af.in_episode;
    if (step.started) {
        /* now: the end of window k, in 125 Hz samples; onset: the first AF window's start */
        uint32_t onset = step.onset * AF_WINDOW;
        uint32_t lag = (app->af_count - onset + WS_AFIB_RATE_HZ / 2) / WS_AFIB_RATE_HZ +
                       (ws_ecg_delay_us(app->ecg) + 500000u) / 1000000u;
        memset(&ev, 0, sizeof ev);
        ev.type = WS_EVENT_AF_START;
        ev.u.af_start.hr_bpm = clamp_hr(step.hr_bpm);
        ev.u.af_start.confidence = step.confidence > 100 ? 100 : step.confidence;
        ev.u.af_start.onset_lag_s = (uint16_t)(lag > 0xFFFF ? 0xFFFF : lag);
        emit(app, &ev, WS_TASK_AFIB);
    }
    if (step.ended) {
        memset(&ev, 0, sizeof ev);
        ev.type = WS_EVENT_AF_END;
        ev.u.af_end.duration_s = windows_to_s(step.end - step.onset);
        ev.u.af_end.mean_hr_bpm = clamp_hr(step.hr_bpm);
        emit(app, &ev, WS_TASK_AFIB);
    }
}

static void push_afib_sample(ws_app_t *app, int8_t v)
{
    if (app->af_count % AF_WINDOW == 0 && app->rec_left == 0 && app->dev->recording_s != 0 &&
        app->blob[WS_TASK_AFIB] != NULL) {
        start_recording(app); /* a request between windows: this window is the first */
    }
    app->af_ring[app->af_count % AF_WINDOW] = v;
    app->af_count++;
    if (app->af_count % AF_WINDOW == 0) {
        judge_window(app, app->af_count / AF_WINDOW - 1u);
    } else if (app->af_count % (AF_WINDOW / 2u) == 0 && app->rec_left > 0) {
        /* a recording also judges the windows in between */
        record_window(app, app->af_count, NULL, window_flags(app, app->af_count), 0, 0);
    }
}

ws_status_t ws_app_feed_ecg(ws_app_t *app, const int16_t *samples, size_t n)
{
    int16_t out[ECG_OUT_CAP];
    ws_ecg_beat_t beats[BEAT_CAP];
    ws_ecg_quality_t q[Q_CAP];
    size_t done = 0;
    if (app == NULL || (samples == NULL && n > 0)) {
        return WS_ERR_ARG;
    }
    if (!app->ecg_ready) {
        return WS_ERR_STATE;
    }
    while (done < n) {
        size_t chunk = n - done < ECG_BLOCK ? n - done : ECG_BLOCK;
        size_t n_out = 0, i, nb;
        ws_status_t st = ws_ecg_process(app->ecg, samples + done, chunk, out, ECG_OUT_CAP, &n_out);
        if (st != WS_OK) {
            return st;
        }
        done += chunk;
        app->stats.ecg_samples += (uint32_t)chunk;
        while ((nb = ws_ecg_read_beats(app->ecg, beats, BEAT_CAP)) > 0) {
            for (i = 0; i < nb; i++) {
                add_beat(app, &beats[i]);
            }
        }
        while ((nb = ws_ecg_read_quality(app->ecg, q, Q_CAP)) > 0) {
            for (i = 0; i < nb; i++) {
                add_quality(app, &q[i]);
            }
        }
        for (i = 0; i < n_out; i++) {
            if (!app->ecg_has_pair) {
                app->ecg_pair = out[i];
                app->ecg_has_pair = 1;
            } else {
                int16_t pair[2];
                int8_t v;
                pair[0] = app->ecg_pair;
                pair[1] = out[i];
                app->ecg_has_pair = 0;
                (void)ws_afib_input_s8(pair, 2, &v);
                push_afib_sample(app, v);
            }
        }
        app->ecg_out_count += (uint32_t)n_out;
    }
    return ws_app_tick(app);
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
    app->imu_next_frame = 0;
    app->fall_kept = 0;
    app->act_phase = 0;
    app->act_reuse = 0;
    app->act_moved = 1;
    ws_fall_logic_init(&app->fall);
    app->imu_ready = 1;
    return WS_OK;
}

/* Down and still after impacts: the model judges the kept impact windows, newest first;
 * the first that says fall is sent. */
static void judge_fall(ws_app_t *app, uint32_t frame, uint8_t still_s)
{
    uint8_t i;
    for (i = 0; i < app->fall_kept; i++) {
        uint8_t slot = (uint8_t)((app->fall_head + WS_FALL_KEEP - 1u - i) % WS_FALL_KEEP);
        uint8_t pct[2];
        if (run_model(app, WS_TASK_FALL, app->fall_window[slot], sizeof app->fall_window[slot], 0,
                      NULL, 0, pct, NULL) >= 0 &&
            pct[WS_FALL_CLASS_FALL] >= WS_FALL_MIN_PCT) {
            ws_event_t ev;
            memset(&ev, 0, sizeof ev);
            ev.type = WS_EVENT_FALL;
            ev.u.fall.impact_mg = app->fall_mg[slot];
            ev.u.fall.confidence = pct[WS_FALL_CLASS_FALL];
            ev.u.fall.stillness_s = still_s;
            emit(app, &ev, WS_TASK_FALL);
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
static void scan_frames(ws_app_t *app, uint32_t newest)
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
        emit(app, &ev, 0xFF);
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

static void classify_activity(ws_app_t *app)
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
        best = run_model(app, WS_TASK_ACTIVITY, app->window, sizeof app->window, 0, NULL, 0, pct,
                         NULL);
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
        emit(app, &ev, WS_TASK_ACTIVITY);
    }
    app->stats.activity = app->act.current;
}

static void on_imu_event(ws_app_t *app, const ws_imu_event_t *e)
{
    if (ws_imu_window(app->imu, app->window, sizeof app->window) != WS_OK) {
        return;
    }
    scan_frames(app, e->frame);
    if (e->flags & WS_IMU_EV_IMPACT) {
        float mg = e->impact_g * 1000.0f + 0.5f;
        uint16_t impact_mg = (uint16_t)(mg >= 65535.0f ? 65535 : (uint32_t)mg);
        app->stats.impacts++;
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
            scan_frames(app, e->frame);
        }
    }
    if (e->flags & WS_IMU_EV_WINDOW) {
        judge_imu_quality(app);
        classify_activity(app);
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
    emit(app, &ev, WS_TASK_FALL);
    app->fall_cancelled = 1;
    return WS_OK;
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
            emit_signal_quality(app);
            analysable = analysable > interval ? interval : analysable;
            af = af > analysable ? analysable : af;
            memset(&ev, 0, sizeof ev);
            ev.type = WS_EVENT_RHYTHM_SUMMARY;
            ev.u.rhythm_summary.interval_s = (uint16_t)interval;
            ev.u.rhythm_summary.analysable_s = (uint16_t)analysable;
            ev.u.rhythm_summary.af_s = (uint16_t)af;
            emit(app, &ev, WS_TASK_AFIB);
        }
        if (app->hr_beats > 0 && interval >= 1) {
            uint8_t mean = mean_hr(app->hr_beats, app->hr_rr_ms);
            memset(&ev, 0, sizeof ev);
            ev.type = WS_EVENT_HR_SUMMARY;
            ev.u.hr_summary.interval_s = (uint16_t)interval;
            ev.u.hr_summary.min_bpm = app->hr_min < mean ? app->hr_min : mean;
            ev.u.hr_summary.mean_bpm = mean;
            ev.u.hr_summary.max_bpm = app->hr_max > mean ? app->hr_max : mean;
            emit(app, &ev, 0xFF);
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
            emit(app, &ev, WS_TASK_ACTIVITY);
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
