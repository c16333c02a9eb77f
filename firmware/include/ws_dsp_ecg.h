/* The ECG front end: one streaming chain from raw ADC samples to what the models
 * and the rhythm logic read (docs/ecg-front-end.md).
 *
 *   raw int16 @ fs_in --> mV --> polyphase resampler --> 250 Hz
 *     --> baseline removal (0.5 Hz high-pass) --> 40 Hz low-pass --> gain normalisation
 *         --> int16 output samples
 *     --> 5-15 Hz band-pass --> derivative --> square --> 150 ms integrator
 *         --> Pan-Tompkins-style QRS decision (adaptive thresholds, search-back,
 *             T-wave rejection) --> R-peak located on the filtered signal --> RR
 *   raw + filtered --> signal-quality flags per 2 s window (WS_QUALITY_* bits)
 *
 * float32 arithmetic throughout (a Cortex-M4F has a single-precision FPU), no libm,
 * no allocation: the caller owns a ws_ecg_t (ws_ecg_state_size() bytes). Every sample
 * is processed by the same code whatever the block size, so the output of one call
 * with a whole recording equals the output of many calls with pieces of it. */
#ifndef WS_DSP_ECG_H
#define WS_DSP_ECG_H

#include <stddef.h>
#include <stdint.h>

#include "ws_status.h"

/* cdef-begin */
#define WS_ECG_RATE_HZ 250          /* the device rate every ECG is resampled to */
#define WS_ECG_MAX_BLOCK 2048       /* most input samples one ws_ecg_process call takes */
#define WS_ECG_MAX_PHASES 32        /* largest interpolation factor L of fs_in -> 250 Hz */
#define WS_ECG_TAPS_PER_PHASE 24    /* resampler taps per polyphase branch */
#define WS_ECG_QUALITY_WINDOW 500   /* output samples (2 s) per signal-quality verdict */
#define WS_ECG_BEAT_QUEUE 64        /* beats held until read */
#define WS_ECG_QUALITY_QUEUE 16     /* quality verdicts held until read */
#define WS_ECG_NORMALISED_R 8192    /* output LSB of one typical R amplitude (normalised mode) */

typedef enum {
    WS_ECG_OUT_MICROVOLT = 0,  /* output sample = filtered ECG in uV (saturating int16) */
    WS_ECG_OUT_NORMALISED = 1  /* output sample = filtered ECG * 8192 / typical R amplitude */
} ws_ecg_output_mode_t;

typedef struct {
    uint16_t fs_in_hz;   /* input rate; 100..2000 Hz with 250/gcd(fs,250) <= 32 */
    float adc_gain;      /* ADC counts per mV, 0.1..1e6 */
    int32_t adc_zero;    /* ADC count of 0 mV */
    int32_t adc_min;     /* lowest and highest count the ADC can produce (rails) */
    int32_t adc_max;
    uint8_t output_mode; /* ws_ecg_output_mode_t */
} ws_ecg_config_t;

/* Beat flag bits. */
#define WS_BEAT_SEARCHBACK 1 /* found by search-back with the lowered threshold */

typedef struct {
    uint32_t sample;  /* R peak, index in the 250 Hz output stream */
    uint16_t rr_ms;   /* from the previous beat, 0 for the first; saturates at 65535 */
    int16_t amp_uv;   /* filtered signal at the R peak, uV */
    uint8_t flags;    /* WS_BEAT_* */
    uint16_t lag;     /* output samples from the R peak until the detector took the beat
                       * (sample + lag: the output sample being made then; saturates) */
} ws_ecg_beat_t;

typedef struct {
    uint32_t start;   /* first output sample of the window */
    uint8_t flags;    /* WS_QUALITY_* of ws_protocol.h */
    uint8_t beats;    /* beats detected during the window */
} ws_ecg_quality_t;

typedef struct ws_ecg ws_ecg_t;

/* Bytes a ws_ecg_t needs (the caller provides them, aligned for float). */
size_t ws_ecg_state_size(void);

/* Resets st for the ADC cfg describes. WS_ERR_ARG (NULL), WS_ERR_DSP_RATE,
 * WS_ERR_DSP_CONFIG. */
ws_status_t ws_ecg_init(ws_ecg_t *st, const ws_ecg_config_t *cfg);

/* Most output samples n_in input samples can produce (out must hold that many);
 * 0 when n_in is 0 or over WS_ECG_MAX_BLOCK. */
size_t ws_ecg_max_output(const ws_ecg_t *st, size_t n_in);

/* Feeds n_in raw samples; writes the output samples they complete to out and their
 * count to *n_out. Beats and quality verdicts go to internal queues (read them with
 * ws_ecg_read_beats / ws_ecg_read_quality after each call). WS_ERR_ARG (NULL
 * pointer, out_cap < ws_ecg_max_output), WS_ERR_RANGE (n_in > WS_ECG_MAX_BLOCK),
 * WS_ERR_STATE (st not initialised). On error nothing is consumed. */
ws_status_t ws_ecg_process(ws_ecg_t *st, const int16_t *in, size_t n_in, int16_t *out,
                           size_t out_cap, size_t *n_out);

/* Hardware leads-off comparator (AFE): while set, every window is flagged LEADS_OFF. */
void ws_ecg_set_leads_off(ws_ecg_t *st, uint8_t leads_off);

/* Moves up to cap queued beats / verdicts to out, oldest first; returns how many. */
size_t ws_ecg_read_beats(ws_ecg_t *st, ws_ecg_beat_t *out, size_t cap);
size_t ws_ecg_read_quality(ws_ecg_t *st, ws_ecg_quality_t *out, size_t cap);

/* Beats or verdicts lost because a queue was full (read more often). */
uint32_t ws_ecg_dropped(const ws_ecg_t *st);

/* Delay of the resampler in microseconds: output sample k shows the input at time
 * k / 250 s - delay. */
uint32_t ws_ecg_delay_us(const ws_ecg_t *st);
/* cdef-end */

#endif
