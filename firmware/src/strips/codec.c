/* TEMPORARY: replaced by helper A's codec at merge.
 * A verbatim block codec with the contract's framing (u16 total length, u16 n, then the
 * n samples as int16 LE), so that the strip recorder builds and is tested before the
 * real codec lands. */
#include "ws_strip_codec.h"

#include "ws_bytes.h"

ws_status_t ws_strip_encode_block(const int16_t *x, size_t n, uint8_t *out, size_t cap,
                                  size_t *len)
{
    size_t i, total = 4 + 2 * n;
    if (x == NULL || out == NULL || len == NULL) {
        return WS_ERR_ARG;
    }
    if (n == 0 || n > WS_STRIP_BLOCK_SAMPLES) {
        return WS_ERR_RANGE;
    }
    if (cap < total) {
        return WS_ERR_ARG;
    }
    ws_put_u16(out, (uint32_t)total);
    ws_put_u16(out + 2, (uint32_t)n);
    for (i = 0; i < n; i++) {
        ws_put_u16(out + 4 + 2 * i, (uint32_t)(uint16_t)x[i]);
    }
    *len = total;
    return WS_OK;
}

ws_status_t ws_strip_decode_block(const uint8_t *in, size_t len, int16_t *x, size_t cap,
                                  size_t *n, size_t *used)
{
    size_t i, total, count;
    if (in == NULL || x == NULL || n == NULL || used == NULL) {
        return WS_ERR_ARG;
    }
    if (len < 4) {
        return WS_ERR_LENGTH;
    }
    total = ws_get_u16(in);
    count = ws_get_u16(in + 2);
    if (count == 0 || count > WS_STRIP_BLOCK_SAMPLES || total != 4 + 2 * count) {
        return WS_ERR_RANGE;
    }
    if (total > len) {
        return WS_ERR_LENGTH;
    }
    if (cap < count) {
        return WS_ERR_ARG;
    }
    for (i = 0; i < count; i++) {
        x[i] = (int16_t)ws_get_u16(in + 4 + 2 * i);
    }
    *n = count;
    *used = total;
    return WS_OK;
}
