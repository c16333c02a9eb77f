/* The strip block codec (firmware/src/strips/codec.c): round trips of the edge cases
 * (one sample, a full block, a constant, full-scale alternation, noise that falls back to
 * verbatim, a synthetic ECG), argument checks, and every truncation and every single-byte
 * corruption of coded blocks refused or decoded without a fault (ASan/UBSan on the host). */
#include <stdint.h>
#include <string.h>

#include "ws_strip_codec.h"
#include "ws_test.h"

#define N WS_STRIP_BLOCK_SAMPLES

static int16_t in[N], out[N];
static uint8_t blk[WS_STRIP_BLOCK_MAX_BYTES], bad[WS_STRIP_BLOCK_MAX_BYTES];
static uint32_t rng = 12345u;

static uint32_t next_rand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return rng >> 8;
}

/* the header: length, method, and the count only in a block shorter than N */
static size_t head(size_t n) { return n == N ? 3u : 5u; }

static size_t round_trip(size_t n)
{
    size_t len = 0, got = 0, used = 0;
    WS_TEST_ASSERT_EQ_INT(ws_strip_encode_block(in, n, blk, sizeof blk, &len), WS_OK);
    WS_TEST_ASSERT(len >= head(n) && len <= head(n) + 2u * n);
    WS_TEST_ASSERT_EQ_INT(blk[0] | (blk[1] << 8), len);
    WS_TEST_ASSERT_EQ_INT((blk[2] & 0x80u) != 0u, n < N);
    if (n < N) {
        WS_TEST_ASSERT_EQ_INT(blk[3] | (blk[4] << 8), n);
    }
    WS_TEST_ASSERT_EQ_INT(ws_strip_block_samples(blk, len), n);
    /* trailing bytes after the block are not part of it */
    memset(blk + len, 0xA5, sizeof blk - len);
    WS_TEST_ASSERT_EQ_INT(ws_strip_decode_block(blk, sizeof blk, out, N, &got, &used), WS_OK);
    WS_TEST_ASSERT_EQ_INT(got, n);
    WS_TEST_ASSERT_EQ_INT(used, len);
    WS_TEST_ASSERT(memcmp(in, out, n * sizeof in[0]) == 0);
    return len;
}

/* every shorter length is refused; every one-byte change is refused or decodes cleanly */
static void abuse(size_t len)
{
    size_t cut, at, got, used;
    for (cut = 0; cut < len; cut++) {
        memcpy(bad, blk, cut);
        WS_TEST_ASSERT_EQ_INT(ws_strip_decode_block(bad, cut, out, N, &got, &used),
                              WS_ERR_RANGE);
        WS_TEST_ASSERT_EQ_INT(got + used, 0);
    }
    for (at = 0; at < len; at++) {
        unsigned v;
        for (v = 0; v < 256u; v += 37u) {
            ws_status_t st;
            memcpy(bad, blk, len);
            bad[at] ^= (uint8_t)(v | 1u);
            st = ws_strip_decode_block(bad, len, out, N, &got, &used);
            WS_TEST_ASSERT(st == WS_OK || st == WS_ERR_RANGE);
            WS_TEST_ASSERT(st != WS_OK || (got >= 1u && got <= N && used <= len));
        }
    }
}

int ws_test_run(void)
{
    size_t i, len, got, used;
    /* one sample */
    in[0] = -1234;
    abuse(round_trip(1));
    /* a constant: a few bits per sample */
    for (i = 0; i < N; i++) {
        in[i] = 777;
    }
    len = round_trip(N);
    WS_TEST_ASSERT(len < 3u + N / 4u);
    /* full scale, alternating -32768 / 32767 */
    for (i = 0; i < N; i++) {
        in[i] = (int16_t)((i & 1u) ? 32767 : -32768);
    }
    abuse(round_trip(N));
    /* white noise over the full range: verbatim */
    for (i = 0; i < N; i++) {
        in[i] = (int16_t)(next_rand() & 0xFFFFu);
    }
    len = round_trip(N);
    WS_TEST_ASSERT_EQ_INT(len, 3u + 2u * N);
    WS_TEST_ASSERT_EQ_INT(blk[2], WS_STRIP_METHOD_VERBATIM);
    len = round_trip(N - 1u);
    WS_TEST_ASSERT_EQ_INT(len, WS_STRIP_BLOCK_MAX_BYTES);
    WS_TEST_ASSERT_EQ_INT(blk[2], 0x80u | WS_STRIP_METHOD_VERBATIM);
    abuse(len);
    /* a smooth wave with spikes and small noise, like an ECG: compresses */
    for (i = 0; i < N; i++) {
        int32_t v = (int32_t)((i * 3u) % 200u) - 100 + (int32_t)(next_rand() % 7u);
        if (i % 90u == 45u) {
            v += 1500;
        }
        in[i] = (int16_t)v;
    }
    len = round_trip(N);
    WS_TEST_ASSERT(len < N); /* under 4 bits per sample */
    abuse(len);
    for (i = 2; i < N; i += 122u) {
        abuse(round_trip(i));
    }
    /* a count field must be 1..N-1 */
    len = round_trip(100);
    blk[3] = 0;
    blk[4] = 0;
    WS_TEST_ASSERT_EQ_INT(ws_strip_block_samples(blk, len), 0);
    WS_TEST_ASSERT_EQ_INT(ws_strip_decode_block(blk, len, out, N, &got, &used), WS_ERR_RANGE);
    blk[3] = (uint8_t)N;
    blk[4] = (uint8_t)(N >> 8);
    WS_TEST_ASSERT_EQ_INT(ws_strip_block_samples(blk, len), 0);
    WS_TEST_ASSERT_EQ_INT(ws_strip_decode_block(blk, len, out, N, &got, &used), WS_ERR_RANGE);
    WS_TEST_ASSERT_EQ_INT(ws_strip_block_samples(blk, 4), 0);
    WS_TEST_ASSERT_EQ_INT(ws_strip_block_samples(NULL, 5), 0);
    /* arguments */
    WS_TEST_ASSERT_EQ_INT(ws_strip_encode_block(in, 0, blk, sizeof blk, &len), WS_ERR_ARG);
    WS_TEST_ASSERT_EQ_INT(ws_strip_encode_block(in, N + 1u, blk, sizeof blk, &len), WS_ERR_ARG);
    WS_TEST_ASSERT_EQ_INT(ws_strip_encode_block(in, N, blk, 2u + 2u * N, &len), WS_ERR_ARG);
    WS_TEST_ASSERT_EQ_INT(ws_strip_encode_block(in, N - 1u, blk, 4u + 2u * (N - 1u), &len),
                          WS_ERR_ARG);
    WS_TEST_ASSERT_EQ_INT(ws_strip_encode_block(NULL, 1, blk, sizeof blk, &len), WS_ERR_ARG);
    len = round_trip(N);
    WS_TEST_ASSERT_EQ_INT(ws_strip_decode_block(blk, len, out, N - 1u, &got, &used),
                          WS_ERR_RANGE);
    WS_TEST_ASSERT_EQ_INT(ws_strip_decode_block(blk, len, NULL, N, &got, &used), WS_ERR_ARG);
    return ws_test_failures();
}
