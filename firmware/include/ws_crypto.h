/* Cryptography for model packages: SHA-256 and SHA-512 (FIPS 180-4) and Ed25519
 * signature verification (RFC 8032, section 5.1.7). Verification only: the device never
 * signs, so nothing here handles a secret and nothing needs to be constant-time.
 *
 * No malloc, no recursion, no variable-length arrays: every function uses a fixed amount
 * of stack. Hash contexts are plain structs the caller owns, so a package held in flash
 * can be hashed piece by piece.
 *
 * Ed25519 policy (docs/model-package.md, "Signature"):
 *   - S must be canonical (S < L), else rejected;
 *   - the public key must decode as RFC 8032 section 5.1.3 says (y < p, x recoverable,
 *     no "negative zero" x), else rejected;
 *   - a public key of small order (8A = identity) is rejected: with such a key anyone can
 *     forge a signature for any message;
 *   - the check is [S]B - [k]A, encoded canonically, equal to the 32 bytes of R (the
 *     cofactorless equation RFC 8032 allows); a non-canonical or off-curve R therefore
 *     never verifies. */
#ifndef WS_CRYPTO_H
#define WS_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "ws_status.h"

/* cdef-begin */
#define WS_SHA256_DIGEST_SIZE 32
#define WS_SHA256_BLOCK_SIZE 64
#define WS_SHA512_DIGEST_SIZE 64
#define WS_SHA512_BLOCK_SIZE 128
#define WS_ED25519_PUBLIC_KEY_SIZE 32
#define WS_ED25519_SIGNATURE_SIZE 64

typedef struct {
    uint32_t state[8];
    uint64_t length;       /* bytes hashed so far */
    uint8_t block[64];     /* the partial block */
    uint32_t block_used;
} ws_sha256_t;

typedef struct {
    uint64_t state[8];
    uint64_t length;       /* bytes hashed so far (packages are far below 2^64 bytes) */
    uint8_t block[128];
    uint32_t block_used;
} ws_sha512_t;

void ws_sha256_init(ws_sha256_t *ctx);
void ws_sha256_update(ws_sha256_t *ctx, const uint8_t *data, size_t len);
void ws_sha256_final(ws_sha256_t *ctx, uint8_t digest[32]);
/* One-shot: digest of data[0..len). */
void ws_sha256(const uint8_t *data, size_t len, uint8_t digest[32]);

void ws_sha512_init(ws_sha512_t *ctx);
void ws_sha512_update(ws_sha512_t *ctx, const uint8_t *data, size_t len);
void ws_sha512_final(ws_sha512_t *ctx, uint8_t digest[64]);
void ws_sha512(const uint8_t *data, size_t len, uint8_t digest[64]);

/* Verifies an Ed25519 signature (PureEdDSA, no context) of msg[0..msg_len) under
 * public_key. Returns WS_OK when it verifies, WS_ERR_PKG_SIGNATURE when it does not or
 * when the signature or key is malformed (see the policy above), WS_ERR_ARG for a NULL
 * pointer (msg may be NULL when msg_len is 0). */
ws_status_t ws_ed25519_verify(const uint8_t signature[64], const uint8_t *msg, size_t msg_len,
                              const uint8_t public_key[32]);
/* cdef-end */

#endif
