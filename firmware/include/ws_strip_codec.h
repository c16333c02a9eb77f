/* TEMPORARY: replaced by helper A's codec at merge (issue #31).
 * The strip block codec's API (docs: the strips contract). A block encodes 1..256 int16
 * samples on its own: bytes 0..1 u16 LE total block length (this field included), bytes
 * 2..3 u16 LE sample count n, then the coded samples. */
#ifndef WS_STRIP_CODEC_H
#define WS_STRIP_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "ws_status.h"

/* cdef-begin */
#define WS_STRIP_BLOCK_SAMPLES 256
#define WS_STRIP_BLOCK_MAX_BYTES 532 /* 4 + 2 * 256 + 16 */

ws_status_t ws_strip_encode_block(const int16_t *x, size_t n, uint8_t *out, size_t cap,
                                  size_t *len);
ws_status_t ws_strip_decode_block(const uint8_t *in, size_t len, int16_t *x, size_t cap,
                                  size_t *n, size_t *used);
/* cdef-end */

#endif
