/* The AFib model's input: the ECG front end's normalised 250 Hz output (R peaks near
 * WS_ECG_NORMALISED_R = 8192) averaged over pairs of samples to 125 Hz and scaled to
 * int8 (R peaks near 64). One implementation, called by the device and by training. */
#ifndef WS_AFIB_H
#define WS_AFIB_H

#include <stddef.h>
#include <stdint.h>

#include "ws_status.h"

/* cdef-begin */
#define WS_AFIB_RATE_HZ 125
#define WS_AFIB_WINDOW 1280 /* samples per model input: 10.24 s */
#define WS_AFIB_HOP 640     /* a new window every 5.12 s */

/* out[i] = saturate_s8((in[2i] + in[2i+1] + 128) >> 8) for i < n_in / 2; n_in must be
 * even. WS_ERR_ARG for a NULL pointer or an odd count. */
ws_status_t ws_afib_input_s8(const int16_t *in, size_t n_in, int8_t *out);
/* cdef-end */

#endif
