/* The detectors: the device app that ingests ECG and IMU samples at the sensor rates,
 * runs the AFib, fall and activity models on their schedules in one shared arena, and
 * turns per-window classes into protocol events (docs/detectors.md).
 *
 *   ECG --> ws_ecg (250 Hz, normalised) --> ws_afib_input_s8 (125 Hz int8 ring of 1280)
 *       --> every 1280 samples: quality check, AFib model --> AF episode logic
 *       --> AF_START / AF_END / RHYTHM_SUMMARY / HR_SUMMARY / SIGNAL_QUALITY
 *       --> during a recording also every 640 between them --> ECG_RECORDING
 *   IMU --> ws_imu (50 Hz) --> impact window (kept) --> stillness --> fall model --> FALL
 *                          --> activity window every 64 frames --> activity model
 *                              --> debounce --> ACTIVITY_CHANGE / hourly ACTIVITY_SUMMARY
 *   button --> FALL_CANCELLED within the fall-cancel window
 *
 * The three logic blocks (AF episodes, falls, activity) are plain state machines over
 * window verdicts and frames, so C tests drive them without models or signals.
 * Events are stamped with the device time (the platform's now_s hook, which follows the
 * sample clock in replay) and carry the producing model's version. No allocation: the
 * caller owns a ws_app_t (ws_app_size() bytes). */
#ifndef WS_DETECT_H
#define WS_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "ws_device.h"
#include "ws_dsp_ecg.h"
#include "ws_dsp_imu.h"
#include "ws_nn.h"
#include "ws_status.h"

/* The shared arena (bytes): every model must fit; sized for the largest allowed model. */
#ifndef WS_APP_ARENA_BYTES
#define WS_APP_BEATS 72 /* beats kept for the RR features: WS_AFIB_RR_MAX_BEATS + 8 */
#define WS_APP_ARENA_BYTES 10672 /* the largest shipped model (AFib v3) needs 10 672 */
#endif

/* On-demand recording (START_RECORDING d): windows every half window (5.12 s) that end
 * within d s of 125 Hz samples (d x 125), at least one; a window the front end flags
 * leads-off, flat or saturated is not shown to the model (noisy ones are, as in training). */
#define WS_REC_WINDOWS(samples) ((samples) <= 1280u ? 1u : ((samples) - 1280u) / 640u + 1u)
#define WS_REC_UNSEEN (WS_QUALITY_LEADS_OFF | WS_QUALITY_FLAT | WS_QUALITY_SATURATED)
/* A recording whose windows average to normal rhythm is called "other rhythm" when one of
 * its windows gives "other" a probability above this: an intermittent abnormality (ectopic
 * beats, a run of another rhythm) shows in a window or two and is averaged away otherwise
 * (docs/detectors.md; `afib.OTHER_PEAK`, chosen on the validation records). */
#define WS_REC_OTHER_PEAK 0.5f

/* cdef-begin */
/* AF episodes, in AFib windows: 10.24 s each, back to back (one model run per 10.24 s of
 * ECG); a window's verdict stands for its own 10.24 s. */
#define WS_AF_START_WINDOWS 3    /* AF in 3 analysable windows in a row (30.72 s) starts one */
#define WS_AF_END_WINDOWS 3      /* analysable non-AF in 3 windows in a row (30.72 s) ends it */
#define WS_AF_GAP_WINDOWS 3      /* unanalysable windows in a row that break a run before a start */
#define WS_AF_LOST_WINDOWS 59    /* unanalysable windows in a row (10 min) that end an episode */
#define WS_AF_WINDOW_MS 10240
#define WS_SQ_MIN_WINDOWS 2      /* unanalysable windows in a row reported by SIGNAL_QUALITY */
#define WS_IQ_ENTER 4 /* IMU at-rest windows in a row with implausible gravity: the sensor is ... */
#define WS_IQ_LEAVE 4 /* ... unbelievable until this many at-rest windows in a row read 1 g */
#define WS_HR_MIN_BEATS 5        /* beats in a window for its heart rate */

/* Falls, in 50 Hz frames. */
#define WS_FALL_MIN_PCT 50       /* fall probability (%) a kept impact window needs */
#define WS_FALL_KEEP 3           /* impact windows kept while a fall is pending */
#define WS_FALL_SETTLE 50        /* frames after the impact peak before stillness counts */
#define WS_FALL_STILL_FRAMES 100 /* still frames in a row that confirm a fall (2 s) */
#define WS_FALL_DEADLINE 500     /* frames after the settle time to become still (10 s) */
#define WS_FALL_HOLDOFF 250      /* frames after a FALL during which impacts are ignored */
#define WS_FALL_STILL_ACC 8      /* still: ||a| - 1 g| <= 8/32 g ... */
#define WS_FALL_STILL_GYRO 10    /* ... and every gyro axis <= 10 x 4 = 40 deg/s */

/* Activity: the front end offers a 2.56 s window every 1.28 s; every second one is
 * classified (back to back: one model run per 2.56 s of signal). */
#define WS_ACT_EVERY 2           /* classify every 2nd activity window */
#define WS_ACT_DEBOUNCE 2        /* the same new class in 2 windows in a row (5.12 s) is a change, */
#define WS_ACT_SURE_PCT 90       /* ... or in one window with at least this probability (%) */
#define WS_ACT_HOP_MS 2560       /* signal per classified window */
#define WS_ACT_REUSE_MAX 23      /* still windows in a row (about 1 min) that may reuse a posture */
#define WS_ACT_STILL_ACC 3       /* still window: every frame ||a| - 1 g| <= 3/32 g, ... */
#define WS_ACT_STILL_GYRO 4      /* ... every gyro axis <= 4 x 4 = 16 deg/s, ... */
#define WS_ACT_POSTURE_ACC 3     /* ... and the mean acceleration within 3/32 g per axis of the
                                    last classified window's (same posture) */
#define WS_ACT_SUMMARY_S 3600

/* ---- AF episode logic ---- */
typedef struct {
    uint8_t in_episode;
    uint16_t af_run;         /* AF windows in the current run (unanalysable ones skipped) */
    uint16_t clear_run;      /* analysable non-AF windows in a row during an episode */
    uint16_t lost_run;       /* unanalysable windows in a row */
    uint32_t run_start;      /* index of the run's (or episode's) first AF window */
    uint32_t last_af;        /* index of the latest AF window */
    uint32_t end_start;      /* index of the first non-AF window of the ending run */
    uint32_t conf_sum;       /* AF probability (%) summed over the run's AF windows */
    uint32_t beats;          /* beats and RR (ms) summed over the AF windows */
    uint32_t rr_sum_ms;
} ws_af_logic_t;

/* What one window did: started (onset = window index `onset`) or ended an episode
 * (covering windows onset .. end - 1). */
typedef struct {
    uint8_t started;
    uint8_t ended;
    uint32_t onset;
    uint32_t end;
    uint8_t confidence;      /* AF_START: mean AF probability of the run, % */
    uint8_t hr_bpm;          /* mean over the AF windows; 0 when no beats */
} ws_af_step_t;

void ws_af_logic_init(ws_af_logic_t *l);
/* Window `index` (consecutive) with rhythm code `cls` (WS_RHYTHM_NOISY = unanalysable),
 * AF probability `af_pct`, and the beats/RR sum of its central 5.12 s. */
void ws_af_logic_window(ws_af_logic_t *l, uint32_t index, uint8_t cls, uint8_t af_pct,
                        uint16_t beats, uint32_t rr_sum_ms, ws_af_step_t *out);

/* ---- fall logic ----
 * An impact opens (or joins) a pending fall and the caller keeps its window (the last
 * WS_FALL_KEEP of them); when the wearer then lies still, the caller runs the fall model on
 * the kept windows, newest first, and sends a fall if one says so. Impacts followed by
 * movement never reach the model. */
typedef struct {
    uint8_t pending;         /* an impact waiting for stillness */
    uint32_t impact_frame;   /* the latest impact of the pending fall */
    uint16_t impact_mg;      /* the strongest */
    uint16_t still_run;      /* still frames in a row after the settle time */
    uint32_t holdoff_until;  /* impacts before this frame are ignored */
} ws_fall_logic_t;

void ws_fall_logic_init(ws_fall_logic_t *l);
/* An impact peak at `frame`. Returns 0 when ignored (hold-off), 1 when it opened or
 * joined the pending fall (keep its window; stillness is counted from the latest impact). */
int ws_fall_logic_impact(ws_fall_logic_t *l, uint32_t frame, uint16_t impact_mg);
/* The int8 frame (WS_IMU_CHANNELS values) with index `frame`, in order. Returns 1 when the
 * wearer has been still long enough after the impact: classify the kept window now
 * (*stillness_s = seconds still; the pending fall is closed); -1 when it expired. */
int ws_fall_logic_frame(ws_fall_logic_t *l, uint32_t frame, const int8_t *values,
                        uint8_t *stillness_s);
/* A FALL was sent at `frame`: impacts in the hold-off after it are ignored. */
void ws_fall_logic_fell(ws_fall_logic_t *l, uint32_t frame);
/* The wearer pressed the button: drops a pending fall (returns 1 if there was one). */
int ws_fall_logic_button(ws_fall_logic_t *l);

/* ---- activity logic ---- */
typedef struct {
    uint8_t current;         /* debounced class, WS_ACTIVITY_UNKNOWN before the first */
    uint8_t candidate;
    uint8_t run;
    uint16_t conf_sum;
    uint16_t windows[8];     /* windows per debounced class since the last summary */
    uint16_t total;          /* windows since the last summary */
} ws_act_logic_t;

void ws_act_logic_init(ws_act_logic_t *l);
/* One window's class and its probability (%). Returns 1 on a change: *from, *to and
 * *confidence (mean probability of the debounce windows) are set. */
int ws_act_logic_window(ws_act_logic_t *l, uint8_t cls, uint8_t pct, uint8_t *from,
                        uint8_t *to, uint8_t *confidence);
/* Minutes per class since the last summary (sum <= 60), then starts a new hour.
 * Returns 0 when no window came in. */
int ws_act_logic_summary(ws_act_logic_t *l, uint8_t minutes[8]);

/* ---- the app ---- */
typedef struct ws_app ws_app_t;

typedef struct {
    uint32_t ecg_samples;    /* input samples taken */
    uint32_t imu_samples;
    uint32_t af_windows;     /* AFib windows judged */
    uint32_t af_noisy;       /* of which unanalysable */
    uint32_t af_af;          /* of which AF */
    uint32_t af_runs;        /* model invocations per task */
    uint32_t fall_runs;
    uint32_t activity_runs;
    uint32_t activity_windows; /* activity windows classified (by the model or reused) */
    uint32_t activity_reused;  /* of which a still posture reused the previous class */
    uint32_t impacts;
    uint32_t model_loads;    /* switches of the shared arena from one model to another */
    uint32_t events;         /* events appended */
    uint32_t append_errors;  /* appends the queue refused */
    uint8_t activity;        /* debounced activity class */
    uint8_t in_af;
    uint8_t fall_pending;
    uint8_t last_af_class;   /* class of the latest AFib window (255 before any) */
    uint8_t posture;         /* ws_app_posture_state */
    uint8_t imu_implausible; /* the IMU is unbelievable now (gravity at rest is not 1 g) */
    uint32_t arena_bytes;    /* the shared arena's size */
    uint32_t arena_needed;   /* the largest arena a loaded model needs */
} ws_app_stats_t;

size_t ws_app_size(void);
/* Binds the app to a booted device core; summaries start from its current time. */
ws_status_t ws_app_init(ws_app_t *app, ws_device_t *dev);
/* Hands a model to a task (WS_TASK_*): checks it loads, fits the arena and has the
 * task's input and output shapes. blob must stay valid, 16-byte aligned. len 0 removes
 * the task's model (its detector stops). WS_ERR_ARG, WS_ERR_RANGE (task), WS_ERR_NN_*
 * (the interpreter's verdict), WS_ERR_NN_ARENA (too large), WS_ERR_NN_SHAPE. */
ws_status_t ws_app_set_model(ws_app_t *app, uint8_t task, const uint8_t *blob, size_t len,
                             uint16_t version);
/* The ECG ADC (output_mode is forced to normalised) and the IMU; restart the front end. */
ws_status_t ws_app_config_ecg(ws_app_t *app, const ws_ecg_config_t *cfg);
ws_status_t ws_app_config_imu(ws_app_t *app, const ws_imu_config_t *cfg);
/* Samples as they arrive (any count); WS_ERR_STATE before the front end is configured. */
ws_status_t ws_app_feed_ecg(ws_app_t *app, const int16_t *samples, size_t n);
ws_status_t ws_app_feed_imu(ws_app_t *app, const float *frames, size_t n);
/* The AFE's leads-off comparator (kept when the ECG front end is configured again). */
ws_status_t ws_app_set_leads_off(ws_app_t *app, uint8_t leads_off);
/* The button: cancels the latest FALL within the fall-cancel window (FALL_CANCELLED). */
ws_status_t ws_app_button(ws_app_t *app);
/* Emits summaries whose interval has passed (also done after every feed). */
ws_status_t ws_app_tick(ws_app_t *app);
ws_status_t ws_app_get_stats(const ws_app_t *app, ws_app_stats_t *out);
/* The RR features (ws_afib_rr_features) of AFib window `window` (10.24 s windows back to
 * back from the ECG stream's start) over the beats the front end has reported so far:
 * what a hybrid AFib model is given after the window's samples. WS_ERR_ARG (NULL),
 * WS_ERR_STATE (no ECG stream), WS_ERR_RANGE (the window has not ended yet). */
ws_status_t ws_app_afib_rr_features(const ws_app_t *app, uint32_t window, int8_t *out);
/* Posture calibration (also SET_CONFIG POSTURE over the radio): `calibrate` 1 starts one
 * over the next activity windows (the wearer stands upright and still; ws_posture_feed),
 * 0 forgets it. Then the activity detector reports sit or stand by the tilt from the
 * calibrated standing gravity (ws_posture_refine). WS_ERR_ARG (NULL). */
ws_status_t ws_app_posture(ws_app_t *app, uint8_t calibrate);
/* 0 uncalibrated, 1 calibrating, 2 calibrated, 3 calibrating again (the previous one in
 * use meanwhile); 0 for NULL. */
uint8_t ws_app_posture_state(const ws_app_t *app);
/* The app's interpreter struct and shared arena, to lend to the model-update service
 * (ws_update_init's nn_model, arena, arena_size) between feeds: its package verification
 * may load other models into them; the next inference notices and reloads its model. */
ws_nn_model_t *ws_app_interpreter(ws_app_t *app, uint8_t **arena, size_t *arena_size);
/* ECG strips (ws_strips.h, mounted by the port): the input samples go to its RAM ring, and
 * every AF_START (from WS_STRIP_PRE_ONSET_S before the onset) and on-demand recording
 * makes a strip. Set after ws_app_init (which clears it), before ws_app_config_ecg. */
ws_status_t ws_app_attach_strips(ws_app_t *app, struct ws_strips *strips);
/* cdef-end */

struct ws_app {
    ws_device_t *dev;
    struct ws_strips *strips;       /* ECG strips, NULL if none */
    /* models: one interpreter struct and one arena, shared; loaded = task in the arena */
    const uint8_t *blob[3];
    uint32_t blob_len[3];
    uint16_t version[3];
    int8_t loaded;
    ws_nn_model_t nn;
    uint8_t arena[WS_APP_ARENA_BYTES] __attribute__((aligned(WS_NN_ARENA_ALIGN)));
    /* ECG */
    uint8_t ecg_ready;
    uint8_t leads_off;              /* the AFE's comparator, kept across a reconfiguration */
    ws_ecg_t *ecg;
    uint32_t ecg_out_count;         /* 250 Hz samples produced */
    int16_t ecg_pair;               /* first half of a 250 Hz pair */
    uint8_t ecg_has_pair;
    int8_t af_ring[1280];           /* 125 Hz int8, circular */
    uint32_t af_count;              /* 125 Hz samples produced */
    uint32_t q_start[8];            /* the last 8 quality verdicts (250 Hz start, flags) */
    uint8_t q_flags[8];
    uint8_t q_n, q_head;
    ws_ecg_beat_t beats[WS_APP_BEATS]; /* the latest beats, oldest first (RR features) */
    uint8_t beat_n;
    uint8_t af_rr;                  /* the AFib model takes RR features after the window */
    uint32_t bin_id[4];             /* beats per AFib window (bin k = window k) */
    uint16_t bin_beats[4];
    uint32_t bin_rr[4];
    ws_af_logic_t af;
    uint16_t sq_run;                /* unanalysable windows in a row not yet reported */
    uint16_t iq_run;                /* IMU windows (every 1.28 s) of an unbelievable stretch not yet reported */
    uint8_t iq_bad;                 /* the IMU is unbelievable (WS_IQ_ENTER) */
    uint8_t iq_in;                  /* at-rest windows in a row that argue for the other state */
    uint8_t sq_flags;
    /* rhythm and HR summaries of the current interval */
    uint32_t sum_start_s;            /* device time the interval began */
    uint32_t sum_clean, sum_af, sum_windows;
    uint8_t hr_min, hr_max;
    uint32_t hr_beats, hr_rr_ms;
    /* on-demand recording (START_RECORDING): AFib windows left, their sums */
    uint8_t rec_left, rec_windows, rec_analysed, rec_quality;
    uint32_t rec_start;             /* 125 Hz sample the recording's first window starts at */
    uint16_t rec_sum[4];            /* output levels above the zero point, summed */
    int16_t rec_peak_other;         /* the largest "other" level of one window */
    float af_out_scale;             /* the AFib model's output scale */
    uint16_t rec_beats;
    uint32_t rec_rr_ms;
    /* IMU */
    uint8_t imu_ready;
    ws_imu_t *imu;
    int8_t window[128 * 7];
    uint32_t imu_next_frame;        /* next frame the fall logic examines */
    ws_fall_logic_t fall;
    int8_t fall_window[WS_FALL_KEEP][128 * 7]; /* impact windows of the pending fall */
    uint16_t fall_mg[WS_FALL_KEEP];
    uint8_t fall_head, fall_kept;   /* next slot of the ring, windows kept (<= WS_FALL_KEEP) */
    uint32_t fall_seq, fall_time_s;
    uint8_t fall_cancelled;
    ws_act_logic_t act;
    uint32_t act_next_s;
    uint8_t act_phase;              /* activity windows offered since the last classified */
    uint8_t act_reuse;              /* still windows in a row that reused the class */
    uint8_t act_moved;              /* a window since the last classified one was not still */
    uint8_t act_last_cls, act_last_pct;
    int16_t act_mean[3];            /* mean acc (int8 units) of the last classified window */
    ws_posture_t posture;           /* sit/stand by tilt after a calibration (ws_dsp_imu.h) */
    ws_app_stats_t stats;
    /* front-end states (float aligned): ws_ecg_state_size() and ws_imu_state_size(), 5948
     * and 6400 bytes on the host and the M4 (the IMU state holds two impact candidates),
     * rounded up; ws_app_init checks they fit */
    uint8_t ecg_mem[5952] __attribute__((aligned(8)));
    uint8_t imu_mem[6400] __attribute__((aligned(8)));
};

#endif
