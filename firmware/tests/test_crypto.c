/* SHA-256, SHA-512 and Ed25519 against the NIST examples and the RFC 8032 section 7.1
 * vectors (build/gen/ws_crypto_vectors.h, generated from tests/vectors/), plus the
 * rejection rules of ws_crypto.h. Runs on the host (ASan/UBSan) and on the M4.
 *
 * On the M4 it also times one verification with SysTick on the processor clock and prints
 *   WS-M4-TICKS calibration=<ticks for 2 000 000 instructions>
 *   WS-M4-TICKS ed25519_verify=<ticks> stack_used=<bytes>
 * Run under QEMU with -icount shift=0 (one instruction per virtual nanosecond) these tick
 * counts are instruction counts divided by a constant that the calibration loop measures;
 * benchmarks/bench_updates.py does that run (docs/firmware-port.md, "Instruction counts"). */
#include <string.h>

#include "ws_crypto.h"
#include "ws_crypto_vectors.h"
#include "ws_test.h"

#if defined(WS_PORT_CORTEX_M4)
#include "platform.h"
#endif

static const uint8_t GROUP_ORDER[32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
};

static void check_sha2(void)
{
    size_t i;
    uint32_t r;
    for (i = 0; i < WS_VEC_SHA2_COUNT; i++) {
        const ws_vec_sha2_t *v = &WS_VEC_SHA2[i];
        const uint8_t *msg = (const uint8_t *)v->message;
        size_t len = strlen(v->message);
        uint8_t digest[64];
        if (v->bits == 256) {
            ws_sha256_t ctx;
            ws_sha256_init(&ctx);
            for (r = 0; r < v->repeat; r++) {
                ws_sha256_update(&ctx, msg, len);
            }
            ws_sha256_final(&ctx, digest);
            WS_TEST_ASSERT(memcmp(digest, v->digest, 32) == 0);
        } else {
            ws_sha512_t ctx;
            ws_sha512_init(&ctx);
            for (r = 0; r < v->repeat; r++) {
                ws_sha512_update(&ctx, msg, len);
            }
            ws_sha512_final(&ctx, digest);
            WS_TEST_ASSERT(memcmp(digest, v->digest, 64) == 0);
        }
    }
}

static void check_ed25519_vectors(void)
{
    size_t i;
    unsigned bit;
    for (i = 0; i < WS_VEC_ED25519_COUNT; i++) {
        const ws_vec_ed25519_t *v = &WS_VEC_ED25519[i];
        uint8_t sig[64], key[32];
        int before = ws_test_failures();
        WS_TEST_ASSERT_EQ_INT(ws_ed25519_verify(v->signature, v->message, v->message_len,
                                                v->public_key),
                              WS_OK);
        /* a few bits of R, of S and of the key, spread over the bytes */
        for (bit = 3; bit < 512; bit += 61) {
            memcpy(sig, v->signature, 64);
            sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            WS_TEST_ASSERT_EQ_INT(ws_ed25519_verify(sig, v->message, v->message_len, v->public_key),
                                  WS_ERR_PKG_SIGNATURE);
        }
        for (bit = 5; bit < 256; bit += 83) {
            memcpy(key, v->public_key, 32);
            key[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            WS_TEST_ASSERT_EQ_INT(ws_ed25519_verify(v->signature, v->message, v->message_len, key),
                                  WS_ERR_PKG_SIGNATURE);
        }
        if (v->message_len > 0) {
            WS_TEST_ASSERT_EQ_INT(ws_ed25519_verify(v->signature, v->message, v->message_len - 1,
                                                    v->public_key),
                                  WS_ERR_PKG_SIGNATURE);
        }
        if (ws_test_failures() != before) {
            ws_test_puts("  vector: ");
            ws_test_log(v->name);
        }
    }
}

/* S + L passes the group equation exactly as S does; only the S < L rule rejects it. */
static void check_noncanonical_s(void)
{
    const ws_vec_ed25519_t *v = &WS_VEC_ED25519[0];
    uint8_t sig[64];
    unsigned i, carry = 0;
    memcpy(sig, v->signature, 64);
    for (i = 0; i < 32; i++) {
        unsigned sum = (unsigned)sig[32 + i] + GROUP_ORDER[i] + carry;
        sig[32 + i] = (uint8_t)sum;
        carry = sum >> 8;
    }
    WS_TEST_ASSERT_EQ_INT(carry, 0);
    WS_TEST_ASSERT_EQ_INT(ws_ed25519_verify(sig, v->message, v->message_len, v->public_key),
                          WS_ERR_PKG_SIGNATURE);
    memcpy(sig + 32, GROUP_ORDER, 32); /* S = L exactly */
    WS_TEST_ASSERT_EQ_INT(ws_ed25519_verify(sig, v->message, v->message_len, v->public_key),
                          WS_ERR_PKG_SIGNATURE);
}

/* The identity as public key with R = identity and S = 0 satisfies [S]B = R + [k]A for
 * every message; the small-order rule must reject it. Also y >= p and "negative zero". */
static void check_bad_keys(void)
{
    uint8_t key[32], sig[64];
    const uint8_t msg[3] = {1, 2, 3};
    memset(key, 0, sizeof key);
    key[0] = 1;
    memset(sig, 0, sizeof sig);
    sig[0] = 1;
    WS_TEST_ASSERT_EQ_INT(ws_ed25519_verify(sig, msg, sizeof msg, key), WS_ERR_PKG_SIGNATURE);
    key[31] = 0x80; /* x = 0 with the sign bit set */
    WS_TEST_ASSERT_EQ_INT(ws_ed25519_verify(sig, msg, sizeof msg, key), WS_ERR_PKG_SIGNATURE);
    memset(key, 0xff, sizeof key); /* y = 2^255 - 1 >= p */
    key[31] = 0x7f;
    WS_TEST_ASSERT_EQ_INT(ws_ed25519_verify(sig, msg, sizeof msg, key), WS_ERR_PKG_SIGNATURE);
    WS_TEST_ASSERT_EQ_INT(ws_ed25519_verify(NULL, msg, sizeof msg, key), WS_ERR_ARG);
    WS_TEST_ASSERT_EQ_INT(ws_ed25519_verify(sig, NULL, 1, key), WS_ERR_ARG);
    WS_TEST_ASSERT_EQ_INT(ws_ed25519_verify(sig, msg, sizeof msg, NULL), WS_ERR_ARG);
}

#if defined(WS_PORT_CORTEX_M4)
#include "systick.h"

static void measure(void)
{
    uint32_t start, ticks;
    const ws_vec_ed25519_t *v = &WS_VEC_ED25519[2]; /* TEST 3, 2-byte message */
    ws_status_t status;
    ws_test_puts("WS-M4-TICKS calibration=");
    ws_test_put_uint(ws_systick_calibrate());
    ws_test_puts(" instructions=");
    ws_test_put_uint(WS_SYSTICK_CALIBRATION_INSTRUCTIONS);
    ws_test_puts("\n");
    start = ws_systick_start();
    status = ws_ed25519_verify(v->signature, v->message, v->message_len, v->public_key);
    ticks = ws_systick_elapsed(start);
    WS_TEST_ASSERT_EQ_INT(status, WS_OK);
    ws_test_puts("WS-M4-TICKS ed25519_verify=");
    ws_test_put_uint(ticks);
    ws_test_puts(" stack_used=");
    ws_test_put_uint(ws_port_stack_used());
    ws_test_puts("\n");
}
#endif

int ws_test_run(void)
{
    check_sha2();
    check_ed25519_vectors();
    check_noncanonical_s();
    check_bad_keys();
#if defined(WS_PORT_CORTEX_M4)
    measure();
#endif
    return ws_test_failures();
}
