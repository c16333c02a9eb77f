/* Model packages on the device: parsing and verification before a model may run.
 * docs/model-package.md is the format; wearsense.updates.package builds and signs them.
 *
 * ws_pkg_verify runs every check in this order and returns the first failure:
 *   1 header bounds    WS_ERR_PKG_FORMAT (magic, format version), WS_ERR_PKG_BOUNDS
 *                      (sizes, offsets, alignment, ranges, reserved bytes, truncation)
 *   2 hash             WS_ERR_PKG_HASH      SHA-256 of the model vs the header
 *   3 signature        WS_ERR_PKG_KEY       key id is not the trusted key's
 *                      WS_ERR_PKG_SIGNATURE Ed25519 over bytes [0, signed_size)
 *   4 task, placement  WS_ERR_PKG_TASK, WS_ERR_PKG_CLASSES (class map invalid for the
 *                      task), WS_ERR_PKG_PLACEMENT
 *   5 anti-rollback    WS_ERR_PKG_ROLLBACK  version must exceed the installed one
 *   6 interpreter      WS_ERR_PKG_MODEL     ops->validate_model said no
 *   7 self-test        WS_ERR_PKG_SELFTEST  ops->run_self_test failed, or its int8
 *                                           output differs from the expected one
 * Nothing of the package is trusted before step 3 passes except what step 1 bounds; the
 * hooks of steps 6 and 7 only ever see a package that passed steps 1-5. */
#ifndef WS_PKG_H
#define WS_PKG_H

#include <stddef.h>
#include <stdint.h>

#include "ws_crypto.h"
#include "ws_status.h"

/* cdef-begin */
#define WS_PKG_FORMAT_VERSION 1
#define WS_PKG_HEADER_SIZE 128
#define WS_PKG_SELFTEST_SIZE 32
#define WS_PKG_SIGNATURE_SIZE 64
#define WS_PKG_ALIGN 16
#define WS_PKG_MAX_SIZE 262144
#define WS_PKG_MAX_OUTPUTS 16
#define WS_PKG_KEY_ID_SIZE 8
#define WS_PKG_FLAG_DEV_KEY 1
#define WS_PKG_DTYPE_INT8 1
#define WS_PKG_PRNG_XORSHIFT32 1

/* Tasks (protocol §3) and placements on the body. */
#define WS_PKG_TASK_AFIB 0
#define WS_PKG_TASK_FALL 1
#define WS_PKG_TASK_ACTIVITY 2
#define WS_PKG_PLACEMENT_CHEST 0
#define WS_PKG_PLACEMENT_WAIST 1
#define WS_PKG_PLACEMENT_WRIST 2
#define WS_PKG_PLACEMENT_THIGH 3
#define WS_PKG_PLACEMENT_ANKLE 4

/* The decoded header and self-test section (docs/model-package.md). */
typedef struct {
    uint8_t format_version;
    uint8_t task;
    uint8_t placement;
    uint8_t flags;
    uint16_t model_version;
    uint32_t model_offset;
    uint32_t model_size;
    uint32_t selftest_offset;
    uint32_t signed_size;
    uint8_t model_sha256[32];
    uint8_t key_id[8];
    uint16_t sample_rate_hz;
    uint16_t window_samples;
    uint8_t channels;
    int8_t input_zero_point;
    float input_scale;
    uint8_t output_count;
    int8_t output_zero_point;
    float output_scale;
    uint8_t class_codes[16];
    uint32_t selftest_seed;
    int8_t selftest_expected[16];
} ws_pkg_header_t;

/* What this device accepts for the slot being updated. */
typedef struct {
    uint8_t task;
    uint8_t placement;
    uint16_t installed_version; /* 0 when the slot holds no model */
} ws_pkg_expect_t;

/* The interpreter's part of verification, called only after steps 1-5 passed
 * (ws_pkg_nn.h provides the hooks on the int8 interpreter).
 * validate_model: WS_OK when the interpreter can run `model` (model_size bytes, 16-byte
 *   aligned when the package is) with the header's input and output specification.
 * run_self_test: fills the model's input tensor (window_samples * channels int8 values)
 *   with ws_pkg_selftest_input(header->selftest_seed, ...), runs the model and writes its
 *   header->output_count int8 outputs to `output`; WS_OK unless the run itself failed.
 * Any status other than WS_OK from a hook fails that step. */
typedef struct ws_pkg_ops {
    void *ctx;
    ws_status_t (*validate_model)(void *ctx, const ws_pkg_header_t *header,
                                  const uint8_t *model);
    ws_status_t (*run_self_test)(void *ctx, const ws_pkg_header_t *header,
                                 const uint8_t *model, int8_t *output);
} ws_pkg_ops_t;

/* Step 1 alone: decodes and bounds-checks the header of pkg[0..len). */
ws_status_t ws_pkg_parse_header(const uint8_t *pkg, size_t len, ws_pkg_header_t *out);

/* Steps 1-5 (everything that needs no interpreter). out may be NULL. */
ws_status_t ws_pkg_check(const uint8_t *pkg, size_t len, const uint8_t public_key[32],
                         const ws_pkg_expect_t *expect, ws_pkg_header_t *out);

/* Steps 1-7. ops and both hooks are required (WS_ERR_ARG otherwise). out may be NULL. */
ws_status_t ws_pkg_verify(const uint8_t *pkg, size_t len, const uint8_t public_key[32],
                          const ws_pkg_expect_t *expect, const ws_pkg_ops_t *ops,
                          ws_pkg_header_t *out);

/* The self-test input: xorshift32 (x ^= x << 13; x ^= x >> 17; x ^= x << 5) from the
 * seed; element i is the top byte of the state after step i + 1, as int8. */
void ws_pkg_selftest_input(uint32_t seed, int8_t *out, size_t count);

/* The first 8 bytes of SHA-256(public key), as stored in a package's header. */
void ws_pkg_key_id(const uint8_t public_key[32], uint8_t key_id[8]);

/* The public key this firmware trusts (firmware/src/updates/trusted_key.c: a build
 * option, the DEVELOPMENT key with WS_TRUST_DEV_KEY=1, a maker's key with
 * WS_TRUSTED_KEY_HEADER), and whether it is the development key (1) or a production
 * key (0). */
const uint8_t *ws_pkg_trusted_key(void);
int ws_pkg_trusted_key_is_dev(void);
/* cdef-end */

#endif
