/* The AFib model's input: the ECG front end's normalised 250 Hz output (R peaks near
 * WS_ECG_NORMALISED_R = 8192) averaged over pairs of samples to 125 Hz and scaled to
 * int8 (R peaks near 64), followed, for a model whose input has WS_AFIB_RR_FEATURES more
 * values, by int8 features of the beat-to-beat (RR) intervals the front end's beat
 * detector found (docs/detectors.md). One implementation, called by the device and by
 * training. */
#ifndef WS_AFIB_H
#define WS_AFIB_H

#include <stddef.h>
#include <stdint.h>

#include "ws_dsp_ecg.h"
#include "ws_status.h"

/* cdef-begin */
#define WS_AFIB_RATE_HZ 125
#define WS_AFIB_WINDOW 1280 /* samples per model input: 10.24 s */
#define WS_AFIB_HOP 640     /* a new window every 5.12 s */

/* out[i] = saturate_s8((in[2i] + in[2i+1] + 128) >> 8) for i < n_in / 2; n_in must be
 * even. WS_ERR_ARG for a NULL pointer or an odd count. */
ws_status_t ws_afib_input_s8(const int16_t *in, size_t n_in, int8_t *out);

#define WS_AFIB_RR_FEATURES 16  /* int8 RR features after the ECG samples (hybrid models) */
#define WS_AFIB_RR_SPAN 5120    /* 250 Hz output samples of beats they describe (20.48 s) ... */
#define WS_AFIB_RR_GUARD 125    /* ... ending this many (0.5 s) before the window's end */
#define WS_AFIB_RR_MAX_BEATS 64 /* at most the latest this many beats of the span count */

/* The RR features of a window ending at 250 Hz output sample `end`: over the beats of
 * beats[0..n) (oldest first) whose R peak lies in [end - GUARD - SPAN, end - GUARD) and
 * that the detector took before output sample `end` (sample + lag < end: what a device
 * judging the window as it ends has, however its ECG arrives), at most the latest MAX_BEATS
 * of them; RR intervals outside 240..3000 ms are left out of
 * the interval statistics. out[0..16): valid intervals; mean, median and longest RR / 16
 * ms; coefficient of variation, RMSSD / mean, mean and median |successive difference| /
 * mean (each x 256); fractions (x 127) of successive differences over 50 ms, over 1/8 of
 * the interval, of turning points and of short-long pairs (ectopic beats); |R| amplitude
 * coefficient of variation x 256; longest / median x 32; shortest / median x 127; share
 * of search-back beats x 127. Every value is rounded and saturated to 0..127; statistics
 * that need three intervals (two amplitudes) are 0 without them. Integer arithmetic
 * only, so every build gives the same bytes. WS_ERR_ARG for NULL pointers. */
ws_status_t ws_afib_rr_features(const ws_ecg_beat_t *beats, size_t n, uint32_t end,
                                int8_t *out);
/* cdef-end */

#endif
