/* Lossless block codec of ECG strips (docs/strips.md, "Codec"): up to 512 int16 samples
 * per self-delimiting block, each block decodable on its own (no state carried from one
 * block to the next), so a RAM ring of blocks can drop its oldest block.
 *
 * A block: u16 LE total length in bytes (this field included), one method byte (a short-
 * block flag, one of seven fixed predictors and the initial Rice parameter, or
 * "verbatim"), a u16 LE sample count only when the block holds fewer than
 * WS_STRIP_BLOCK_SAMPLES samples, then the bit stream: the first sample in 16 bits and the
 * zig-zagged prediction residuals of the others in an adaptive Rice code whose
 * parameter follows a running mean of the residuals; samples the code cannot reach
 * cheaply are escaped in 16 bits. A block the code does not shrink is stored verbatim,
 * so no block exceeds WS_STRIP_BLOCK_MAX_BYTES. Decoding checks every length and value:
 * any malformed block gives WS_ERR_RANGE and nothing is read or written out of bounds. */
#ifndef WS_STRIP_CODEC_H
#define WS_STRIP_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "ws_status.h"

/* cdef-begin */
#define WS_STRIP_BLOCK_SAMPLES 512 /* at most this many samples per block */
#define WS_STRIP_BLOCK_HEADER_BYTES 3 /* length, method: a full block */
#define WS_STRIP_BLOCK_SHORT_HEADER_BYTES 5 /* length, method, count: a shorter block */
/* the largest block: the verbatim form of WS_STRIP_BLOCK_SAMPLES samples (or of
 * WS_STRIP_BLOCK_SAMPLES - 1 samples with the count) */
#define WS_STRIP_BLOCK_MAX_BYTES 1027
#define WS_STRIP_METHOD_VERBATIM 0x70 /* method byte of a full verbatim block */

/* Encodes x[0..n) (1 <= n <= WS_STRIP_BLOCK_SAMPLES) into one block at out; *len gets
 * its length. cap must be at least the verbatim size: 3 + 2 * n for a full block, 5 + 2 * n
 * for a shorter one (WS_STRIP_BLOCK_MAX_BYTES always suffices). WS_ERR_ARG for NULL
 * pointers, n out of range or cap too small. */
ws_status_t ws_strip_encode_block(const int16_t *x, size_t n, uint8_t *out, size_t cap,
                                  size_t *len);

/* Decodes the block at in[0..len) (len may run past the block: the block's own length
 * field says where it ends) into x[0..*n); *used gets the block's length in bytes.
 * cap is the room in x, at least WS_STRIP_BLOCK_SAMPLES or the block's n.
 * WS_ERR_ARG for NULL pointers; WS_ERR_RANGE for any malformed block (shorter than its
 * header or its length field, a length or count out of range, an unknown method, a
 * bit stream that ends early, runs past the block or leaves nonzero padding, a sample
 * outside int16) or a count above cap. On an error *n and *used are 0. */
ws_status_t ws_strip_decode_block(const uint8_t *in, size_t len, int16_t *x, size_t cap,
                                  size_t *n, size_t *used);

/* The sample count the header of the block at in[0..len) announces, without decoding it:
 * WS_STRIP_BLOCK_SAMPLES for a full block, the count field of a shorter one; 0 when in is
 * NULL, len is shorter than the header or the count is out of range (0 or not below
 * WS_STRIP_BLOCK_SAMPLES). The block itself is checked only by ws_strip_decode_block. */
size_t ws_strip_block_samples(const uint8_t *in, size_t len);
/* cdef-end */

#endif /* WS_STRIP_CODEC_H */
