/* The AFib detector (ws_detect.h; rules and budgets in docs/detectors.md): the AF episode
 * logic, and the app's ECG stream, which only this detector reads: the front end's beats
 * and quality verdicts, 10.24 s windows of 125 Hz int8 for the model (plus the RR features
 * of a hybrid model), AF_START / AF_END, the heart rate and unanalysable stretches for the
 * summaries (SIGNAL_QUALITY), and on-demand recordings (ECG_RECORDING). */
#include "ws_detect.h"

#include <string.h>

#include "ws_afib.h"
#include "ws_protocol.h"
#include "ws_strips.h"

#include "detectors.h"

#define AF_WINDOW WS_AFIB_WINDOW /* 125 Hz samples per window; windows do not overlap */
#define ECG_BLOCK 64     /* input samples per front-end call */
#define ECG_OUT_CAP 256  /* at most 64 x 250 / 100 = 160 output samples per call */
#define BEAT_CAP 16
#define Q_CAP 8

/* ------------------------------------------------------------------ AF episodes */

void ws_af_logic_init(ws_af_logic_t *l)
{
    if (l != NULL) {
        memset(l, 0, sizeof *l);
    }
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

/* ------------------------------------------------------------------ the ECG stream */

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
    if (app->strips != NULL) {
        (void)ws_strips_config(app->strips, c.fs_in_hz, c.adc_gain, c.adc_zero,
                               ws_device_time_s(app->dev));
    }
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

void ws_af_emit_signal_quality(ws_app_t *app)
{
    ws_event_t ev;
    uint32_t dur = windows_to_s(app->sq_run);
    if (app->sq_run >= WS_SQ_MIN_WINDOWS) {
        memset(&ev, 0, sizeof ev);
        ev.type = WS_EVENT_SIGNAL_QUALITY;
        ev.u.signal_quality.source = WS_SOURCE_ECG;
        ev.u.signal_quality.flags = app->sq_flags ? app->sq_flags : WS_QUALITY_NOISY;
        ev.u.signal_quality.duration_s = (uint16_t)(dur > 0xFFFF ? 0xFFFF : dur);
        ws_app_emit(app, &ev, 0xFF);
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
    return ws_app_run_model(app, WS_TASK_AFIB, app->af_ring, AF_WINDOW, end % AF_WINDOW,
                            rr_features, n_rr, pct, level);
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
    if (ws_app_emit(app, &ev, WS_TASK_AFIB) == WS_OK && app->strips != NULL) {
        /* the strip: the recording's samples, at most WS_STRIP_SECONDS of them */
        uint32_t fs = app->strips->fs_hz;
        uint32_t first = (uint32_t)((uint64_t)app->rec_start * fs / WS_AFIB_RATE_HZ);
        uint32_t want = (seconds < WS_STRIP_SECONDS ? seconds : WS_STRIP_SECONDS) * fs;
        (void)ws_strips_request(app->strips, WS_STRIP_REASON_RECORDING, ev.seq, first, want);
    }
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
            ws_af_emit_signal_quality(app);
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
        if (ws_app_emit(app, &ev, WS_TASK_AFIB) == WS_OK && app->strips != NULL) {
            /* the strip: from WS_STRIP_PRE_ONSET_S before the onset (input samples) */
            uint32_t fs = app->strips->fs_hz;
            uint32_t at = (uint32_t)((uint64_t)onset * fs / WS_AFIB_RATE_HZ);
            uint32_t pre = WS_STRIP_PRE_ONSET_S * fs;
            (void)ws_strips_request(app->strips, WS_STRIP_REASON_AF_ONSET, ev.seq,
                                    at > pre ? at - pre : 0, WS_STRIP_SECONDS * fs);
        }
    }
    if (step.ended) {
        memset(&ev, 0, sizeof ev);
        ev.type = WS_EVENT_AF_END;
        ev.u.af_end.duration_s = windows_to_s(step.end - step.onset);
        ev.u.af_end.mean_hr_bpm = clamp_hr(step.hr_bpm);
        ws_app_emit(app, &ev, WS_TASK_AFIB);
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
        ws_status_t st;
        if (app->strips != NULL) {
            (void)ws_strips_feed(app->strips, samples + done, chunk);
        }
        st = ws_ecg_process(app->ecg, samples + done, chunk, out, ECG_OUT_CAP, &n_out);
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
