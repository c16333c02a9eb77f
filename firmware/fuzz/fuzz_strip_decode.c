/* libFuzzer target for the strip block decoder (firmware/src/strips/codec.c): every input
 * is a candidate block. A block the decoder accepts must hold 1..512 samples and say how
 * many bytes it used; its samples are encoded again and must decode to the same samples.
 * Built with clang -fsanitize=fuzzer,address,undefined by `make fuzz-build` (mk/fuzz.mk). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws_strip_codec.h"

static int16_t x[WS_STRIP_BLOCK_SAMPLES], y[WS_STRIP_BLOCK_SAMPLES];
static uint8_t block[WS_STRIP_BLOCK_MAX_BYTES];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n = 0, used = 0, len = 0, n2 = 0, used2 = 0;
    ws_status_t st = ws_strip_decode_block(data, size, x, WS_STRIP_BLOCK_SAMPLES, &n, &used);
    if (st != WS_OK) {
        if (st != WS_ERR_RANGE || n != 0 || used != 0) {
            abort();
        }
        return 0;
    }
    if (n < 1 || n > WS_STRIP_BLOCK_SAMPLES || used < WS_STRIP_BLOCK_HEADER_BYTES || used > size) {
        abort();
    }
    if (ws_strip_encode_block(x, n, block, sizeof block, &len) != WS_OK ||
        ws_strip_decode_block(block, len, y, WS_STRIP_BLOCK_SAMPLES, &n2, &used2) != WS_OK ||
        n2 != n || used2 != len || memcmp(x, y, n * sizeof x[0]) != 0) {
        abort();
    }
    return 0;
}
