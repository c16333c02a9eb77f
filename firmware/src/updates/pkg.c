/* Model package verification (ws_pkg.h): the device's side of docs/model-package.md.
 * Every offset and size comes from untrusted bytes, so each is checked against the
 * fixed layout of format version 1 before anything is read through it. */
#include "ws_pkg.h"

#include <string.h>

#include "ws_bytes.h"

/* Header offsets (docs/model-package.md, "Header"). */
enum {
    OFF_MAGIC = 0,
    OFF_FORMAT = 4,
    OFF_TASK = 5,
    OFF_PLACEMENT = 6,
    OFF_FLAGS = 7,
    OFF_MODEL_VERSION = 8,
    OFF_HEADER_SIZE = 10,
    OFF_MODEL_OFFSET = 12,
    OFF_MODEL_SIZE = 16,
    OFF_SELFTEST_OFFSET = 20,
    OFF_SELFTEST_SIZE = 24,
    OFF_SIGNED_SIZE = 28,
    OFF_SHA256 = 32,
    OFF_KEY_ID = 64,
    OFF_SAMPLE_RATE = 72,
    OFF_WINDOW = 74,
    OFF_CHANNELS = 76,
    OFF_INPUT_DTYPE = 77,
    OFF_INPUT_ZERO = 78,
    OFF_INPUT_RESERVED = 79,
    OFF_INPUT_SCALE = 80,
    OFF_RESERVED_A = 84, /* 4 bytes */
    OFF_OUTPUT_COUNT = 88,
    OFF_OUTPUT_DTYPE = 89,
    OFF_OUTPUT_ZERO = 90,
    OFF_OUTPUT_RESERVED = 91,
    OFF_OUTPUT_SCALE = 92,
    OFF_CLASS_CODES = 96,
    OFF_RESERVED_B = 112 /* 16 bytes, to the end of the header */
};

/* Self-test section offsets, relative to its start. */
enum {
    ST_SEED = 0,
    ST_PRNG = 4,
    ST_COUNT = 5,
    ST_RESERVED_A = 6, /* 2 bytes */
    ST_EXPECTED = 8,   /* 16 bytes */
    ST_RESERVED_B = 24 /* 8 bytes */
};

static const uint8_t MAGIC[4] = {'W', 'S', 'P', 'K'};
#define MAX_CHANNELS 16u
#define MAX_SAMPLE_RATE_HZ 10000u

static int all_zero(const uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (p[i] != 0) {
            return 0;
        }
    }
    return 1;
}

/* A quantization scale must be a positive, normal, finite IEEE-754 single. */
static int scale_ok(uint32_t bits)
{
    uint32_t exponent = (bits >> 23) & 0xFFu;
    return (bits >> 31) == 0 && exponent != 0 && exponent != 0xFFu;
}

static float as_float(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static uint32_t align_up(uint32_t v) { return (v + (WS_PKG_ALIGN - 1u)) & ~(uint32_t)(WS_PKG_ALIGN - 1u); }

ws_status_t ws_pkg_parse_header(const uint8_t *pkg, size_t len, ws_pkg_header_t *out)
{
    ws_pkg_header_t h;
    uint32_t model_end, selftest_offset;
    const uint8_t *st;
    unsigned i;
    if (pkg == NULL || out == NULL) {
        return WS_ERR_ARG;
    }
    if (len < WS_PKG_HEADER_SIZE) {
        return WS_ERR_PKG_BOUNDS;
    }
    if (memcmp(pkg + OFF_MAGIC, MAGIC, sizeof MAGIC) != 0 ||
        pkg[OFF_FORMAT] != WS_PKG_FORMAT_VERSION) {
        return WS_ERR_PKG_FORMAT;
    }
    memset(&h, 0, sizeof h);
    h.format_version = pkg[OFF_FORMAT];
    h.task = pkg[OFF_TASK];
    h.placement = pkg[OFF_PLACEMENT];
    h.flags = pkg[OFF_FLAGS];
    h.model_version = ws_get_u16(pkg + OFF_MODEL_VERSION);
    h.model_offset = ws_get_u32(pkg + OFF_MODEL_OFFSET);
    h.model_size = ws_get_u32(pkg + OFF_MODEL_SIZE);
    h.selftest_offset = ws_get_u32(pkg + OFF_SELFTEST_OFFSET);
    h.signed_size = ws_get_u32(pkg + OFF_SIGNED_SIZE);

    /* The layout is fixed by the sizes: header, model at 128, zero padding to 16, the
     * self-test, the signature, nothing after it. Compare in 32 bits only after bounding
     * model_size, so no sum can wrap. */
    if (ws_get_u16(pkg + OFF_HEADER_SIZE) != WS_PKG_HEADER_SIZE ||
        h.model_offset != WS_PKG_HEADER_SIZE || h.model_size == 0 ||
        h.model_size > WS_PKG_MAX_SIZE) {
        return WS_ERR_PKG_BOUNDS;
    }
    model_end = h.model_offset + h.model_size;
    selftest_offset = align_up(model_end);
    if (h.selftest_offset != selftest_offset ||
        ws_get_u32(pkg + OFF_SELFTEST_SIZE) != WS_PKG_SELFTEST_SIZE ||
        h.signed_size != selftest_offset + WS_PKG_SELFTEST_SIZE ||
        (size_t)h.signed_size + WS_PKG_SIGNATURE_SIZE != len || len > WS_PKG_MAX_SIZE) {
        return WS_ERR_PKG_BOUNDS;
    }
    /* From here every offset below len is known to be inside the package. */
    memcpy(h.model_sha256, pkg + OFF_SHA256, sizeof h.model_sha256);
    memcpy(h.key_id, pkg + OFF_KEY_ID, sizeof h.key_id);
    h.sample_rate_hz = ws_get_u16(pkg + OFF_SAMPLE_RATE);
    h.window_samples = ws_get_u16(pkg + OFF_WINDOW);
    h.channels = pkg[OFF_CHANNELS];
    h.input_zero_point = (int8_t)pkg[OFF_INPUT_ZERO];
    h.input_scale = as_float(ws_get_u32(pkg + OFF_INPUT_SCALE));
    h.output_count = pkg[OFF_OUTPUT_COUNT];
    h.output_zero_point = (int8_t)pkg[OFF_OUTPUT_ZERO];
    h.output_scale = as_float(ws_get_u32(pkg + OFF_OUTPUT_SCALE));
    memcpy(h.class_codes, pkg + OFF_CLASS_CODES, sizeof h.class_codes);
    st = pkg + selftest_offset;
    h.selftest_seed = ws_get_u32(st + ST_SEED);
    for (i = 0; i < WS_PKG_MAX_OUTPUTS; i++) {
        h.selftest_expected[i] = (int8_t)st[ST_EXPECTED + i];
    }

    if (h.task > WS_PKG_TASK_ACTIVITY || h.placement > WS_PKG_PLACEMENT_ANKLE ||
        (h.flags & ~WS_PKG_FLAG_DEV_KEY) != 0 || h.model_version == 0 ||
        h.sample_rate_hz == 0 || h.sample_rate_hz > MAX_SAMPLE_RATE_HZ ||
        h.window_samples == 0 || h.channels == 0 || h.channels > MAX_CHANNELS ||
        pkg[OFF_INPUT_DTYPE] != WS_PKG_DTYPE_INT8 || pkg[OFF_INPUT_RESERVED] != 0 ||
        !scale_ok(ws_get_u32(pkg + OFF_INPUT_SCALE)) || !all_zero(pkg + OFF_RESERVED_A, 4) ||
        h.output_count == 0 || h.output_count > WS_PKG_MAX_OUTPUTS ||
        pkg[OFF_OUTPUT_DTYPE] != WS_PKG_DTYPE_INT8 || pkg[OFF_OUTPUT_RESERVED] != 0 ||
        !scale_ok(ws_get_u32(pkg + OFF_OUTPUT_SCALE)) ||
        !all_zero(pkg + OFF_RESERVED_B, WS_PKG_HEADER_SIZE - OFF_RESERVED_B)) {
        return WS_ERR_PKG_BOUNDS;
    }
    /* Entries past output_count are reserved: zero class codes, zero expected outputs. */
    if (!all_zero(h.class_codes + h.output_count, WS_PKG_MAX_OUTPUTS - h.output_count) ||
        !all_zero(st + ST_EXPECTED + h.output_count, WS_PKG_MAX_OUTPUTS - h.output_count)) {
        return WS_ERR_PKG_BOUNDS;
    }
    if (!all_zero(pkg + model_end, selftest_offset - model_end) || h.selftest_seed == 0 ||
        st[ST_PRNG] != WS_PKG_PRNG_XORSHIFT32 || st[ST_COUNT] != h.output_count ||
        !all_zero(st + ST_RESERVED_A, 2) ||
        !all_zero(st + ST_RESERVED_B, WS_PKG_SELFTEST_SIZE - ST_RESERVED_B)) {
        return WS_ERR_PKG_BOUNDS;
    }
    *out = h;
    return WS_OK;
}

void ws_pkg_key_id(const uint8_t public_key[32], uint8_t key_id[8])
{
    uint8_t digest[WS_SHA256_DIGEST_SIZE];
    ws_sha256(public_key, WS_ED25519_PUBLIC_KEY_SIZE, digest);
    memcpy(key_id, digest, WS_PKG_KEY_ID_SIZE);
}

/* The class codes of protocol §3 a task's outputs may map to: rhythm 0-3, fall 0-1,
 * activity 0-7 or 255 (unknown); each at most once. */
static int class_map_ok(const ws_pkg_header_t *h)
{
    unsigned i, j;
    for (i = 0; i < h->output_count; i++) {
        uint8_t code = h->class_codes[i];
        int known;
        switch (h->task) {
        case WS_PKG_TASK_AFIB:
            known = code <= 3;
            break;
        case WS_PKG_TASK_FALL:
            known = code <= 1;
            break;
        default:
            known = code <= 7 || code == 255;
            break;
        }
        if (!known) {
            return 0;
        }
        for (j = 0; j < i; j++) {
            if (h->class_codes[j] == code) {
                return 0;
            }
        }
    }
    return 1;
}

ws_status_t ws_pkg_check(const uint8_t *pkg, size_t len, const uint8_t public_key[32],
                         const ws_pkg_expect_t *expect, ws_pkg_header_t *out)
{
    ws_pkg_header_t h;
    uint8_t digest[WS_SHA256_DIGEST_SIZE];
    uint8_t key_id[WS_PKG_KEY_ID_SIZE];
    ws_status_t status;
    if (pkg == NULL || public_key == NULL || expect == NULL) {
        return WS_ERR_ARG;
    }
    /* 1 header bounds */
    status = ws_pkg_parse_header(pkg, len, &h);
    if (status != WS_OK) {
        return status;
    }
    /* 2 hash of the model */
    ws_sha256(pkg + h.model_offset, h.model_size, digest);
    if (memcmp(digest, h.model_sha256, sizeof digest) != 0) {
        return WS_ERR_PKG_HASH;
    }
    /* 3 signature: the key named, then Ed25519 over everything before the signature */
    ws_pkg_key_id(public_key, key_id);
    if (memcmp(key_id, h.key_id, sizeof key_id) != 0) {
        return WS_ERR_PKG_KEY;
    }
    if (ws_ed25519_verify(pkg + h.signed_size, pkg, h.signed_size, public_key) != WS_OK) {
        return WS_ERR_PKG_SIGNATURE;
    }
    /* 4 task (and its class map), placement */
    if (h.task != expect->task) {
        return WS_ERR_PKG_TASK;
    }
    if (!class_map_ok(&h)) {
        return WS_ERR_PKG_CLASSES;
    }
    if (h.placement != expect->placement) {
        return WS_ERR_PKG_PLACEMENT;
    }
    /* 5 anti-rollback */
    if (h.model_version <= expect->installed_version) {
        return WS_ERR_PKG_ROLLBACK;
    }
    if (out != NULL) {
        *out = h;
    }
    return WS_OK;
}

ws_status_t ws_pkg_verify(const uint8_t *pkg, size_t len, const uint8_t public_key[32],
                          const ws_pkg_expect_t *expect, const ws_pkg_ops_t *ops,
                          ws_pkg_header_t *out)
{
    ws_pkg_header_t h;
    int8_t output[WS_PKG_MAX_OUTPUTS];
    ws_status_t status;
    if (ops == NULL || ops->validate_model == NULL || ops->run_self_test == NULL) {
        return WS_ERR_ARG;
    }
    status = ws_pkg_check(pkg, len, public_key, expect, &h);
    if (status != WS_OK) {
        return status;
    }
    /* 6 the interpreter accepts the model */
    if (ops->validate_model(ops->ctx, &h, pkg + h.model_offset) != WS_OK) {
        return WS_ERR_PKG_MODEL;
    }
    /* 7 the self-test reproduces the expected int8 output exactly */
    memset(output, 0, sizeof output);
    if (ops->run_self_test(ops->ctx, &h, pkg + h.model_offset, output) != WS_OK ||
        memcmp(output, h.selftest_expected, h.output_count) != 0) {
        return WS_ERR_PKG_SELFTEST;
    }
    if (out != NULL) {
        *out = h;
    }
    return WS_OK;
}

void ws_pkg_selftest_input(uint32_t seed, int8_t *out, size_t count)
{
    uint32_t x = seed;
    size_t i;
    if (out == NULL) {
        return;
    }
    for (i = 0; i < count; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out[i] = (int8_t)(uint8_t)(x >> 24);
    }
}
