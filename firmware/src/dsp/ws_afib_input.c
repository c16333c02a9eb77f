#include "ws_afib.h"

ws_status_t ws_afib_input_s8(const int16_t *in, size_t n_in, int8_t *out)
{
    size_t i;
    if (in == NULL || out == NULL || (n_in & 1u) != 0) {
        return WS_ERR_ARG;
    }
    for (i = 0; i < n_in / 2; i++) {
        /* The sum of two int16 fits int32; >> of a negative int32 is arithmetic on every
         * compiler we target (the port test checks it). */
        int32_t v = ((int32_t)in[2 * i] + (int32_t)in[2 * i + 1] + 128) >> 8;
        out[i] = (int8_t)(v > 127 ? 127 : (v < -128 ? -128 : v));
    }
    return WS_OK;
}
