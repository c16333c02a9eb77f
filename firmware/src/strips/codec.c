/* Lossless block codec of ECG strips: fixed polynomial prediction of order 0..3 chosen
 * per block, then an adaptive Rice code of the zig-zagged residuals whose parameter
 * follows a running mean, with a 16-bit escape and a verbatim fallback. Block layout
 * bit by bit: docs/strips.md, "Codec". Written for the Cortex-M4: one pass to choose
 * the predictor on every STEP-th sample, one pass to code; no division, no tables. */
#include "ws_strip_codec.h"

#include "ws_bytes.h"

/* The running mean: s holds 2^SHIFT times the mean of the recent zig-zagged residuals
 * (s += u - s / 2^SHIFT); the Rice parameter is floor(log2(s / 2^SHIFT)), at most K_MAX. */
#define SHIFT 3u
#define K_MAX 15u
#define BIAS 4u
/* q zero bits then a one, then k bits; q >= ESCAPE_Q: ESCAPE_Q zeros then the sample in
 * 16 bits (two's complement). */
#define ESCAPE_Q 20u
/* the predictor is chosen on every STEP-th sample */
#define STEP 2u
/* one sample writes at most ESCAPE_Q + 16 bits: with the 7 pending, 6 bytes */
#define SAMPLE_MAX_BYTES 6u

static unsigned floor_log2(uint32_t v) /* v >= 1 */
{
#if defined(__GNUC__)
    return 31u - (unsigned)__builtin_clz(v);
#else
    unsigned r = 0;
    while (v >>= 1) {
        r++;
    }
    return r;
#endif
}

static unsigned rice_k(uint32_t s)
{
    unsigned k = floor_log2(((s * BIAS) >> (SHIFT + 2u)) | 1u);
    return k > K_MAX ? K_MAX : k;
}

static int32_t predict(unsigned order, int32_t x1, int32_t x2, int32_t x3)
{
    switch (order) {
    case 0:
        return 0;
    case 1:
        return x1;
    case 2:
        return 2 * x1 - x2;
    default:
        return 3 * (x1 - x2) + x3;
    }
}

/* ---------------------------------------------------------------- encoder */

typedef struct {
    uint8_t *p;
    uint8_t *lim; /* the coded form must stay below the verbatim one */
    uint32_t acc; /* pending bits in the low cnt bits */
    unsigned cnt; /* < 8 between puts */
    uint32_t s;
    unsigned k;
} writer_t;

/* nb <= 24 */
static inline void put(writer_t *w, uint32_t v, unsigned nb)
{
    w->acc = (w->acc << nb) | v;
    w->cnt += nb;
    while (w->cnt >= 8u) {
        w->cnt -= 8u;
        *w->p++ = (uint8_t)(w->acc >> w->cnt);
    }
}

/* Codes x[from..to) with the predictor of `order`; 0 when the code reaches the limit. */
static inline int code_run(writer_t *w, const int16_t *x, size_t from, size_t to,
                           unsigned order)
{
    size_t i;
    int32_t x1 = x[from - 1];
    int32_t x2 = from >= 2 ? x[from - 2] : 0;
    int32_t x3 = from >= 3 ? x[from - 3] : 0;
    for (i = from; i < to; i++) {
        int32_t xi = x[i];
        int32_t e = xi - predict(order, x1, x2, x3);
        uint32_t u = ((uint32_t)e << 1) ^ (uint32_t)(e >> 31);
        uint32_t q = u >> w->k;
        if (w->p + SAMPLE_MAX_BYTES > w->lim) {
            return 0;
        }
        if (q < ESCAPE_Q) {
            uint32_t v = (u & ((1u << w->k) - 1u)) | (1u << w->k);
            unsigned nb = (unsigned)q + 1u + w->k;
            if (nb <= 24u) {
                put(w, v, nb);
            } else {
                put(w, 0u, (unsigned)q);
                put(w, v, w->k + 1u);
            }
        } else {
            put(w, 0u, ESCAPE_Q);
            put(w, (uint16_t)xi, 16u);
        }
        w->s += u - (w->s >> SHIFT);
        w->k = rice_k(w->s);
        x3 = x2;
        x2 = x1;
        x1 = xi;
    }
    return 1;
}

/* The order whose residuals have the least sum of magnitudes on every STEP-th sample
 * (order 0 included, for a constant or near-zero signal); *mean gets that mean. */
static unsigned choose_order(const int16_t *x, size_t n, uint32_t *mean)
{
    uint32_t sum[WS_STRIP_MAX_ORDER + 1] = {0, 0, 0, 0};
    uint32_t count = 0;
    unsigned best = 1, o;
    size_t i;
    for (i = 3; i < n; i += STEP) {
        int32_t a = x[i], b = x[i - 1], c = x[i - 2], d = x[i - 3];
        int32_t d1 = a - b;
        int32_t d2 = d1 - (b - c);
        int32_t d3 = d2 - (b - 2 * c + d);
        sum[0] += (uint32_t)(a < 0 ? -a : a);
        sum[1] += (uint32_t)(d1 < 0 ? -d1 : d1);
        sum[2] += (uint32_t)(d2 < 0 ? -d2 : d2);
        sum[3] += (uint32_t)(d3 < 0 ? -d3 : d3);
        count++;
    }
    if (count == 0) {
        *mean = 0;
        return n >= 2 ? 1u : 0u;
    }
    for (o = 0; o <= WS_STRIP_MAX_ORDER; o++) {
        if (sum[o] < sum[best]) {
            best = o;
        }
    }
    *mean = sum[best] / count;
    return best;
}

ws_status_t ws_strip_encode_block(const int16_t *x, size_t n, uint8_t *out, size_t cap,
                                  size_t *len)
{
    size_t verbatim, i, warm;
    uint32_t mean;
    unsigned order, k0;
    int ok = 1;
    writer_t w;
    if (x == NULL || out == NULL || len == NULL || n == 0 || n > WS_STRIP_BLOCK_SAMPLES) {
        return WS_ERR_ARG;
    }
    verbatim = WS_STRIP_BLOCK_HEADER_BYTES + 2u * n;
    if (cap < verbatim) {
        return WS_ERR_ARG;
    }
    order = choose_order(x, n, &mean);
    /* zig-zag doubles the magnitudes: start from a mean of 2 * mean */
    k0 = floor_log2(2u * mean + 1u);
    k0 = k0 > K_MAX ? K_MAX : k0;
    w.p = out + WS_STRIP_BLOCK_HEADER_BYTES;
    w.lim = out + verbatim;
    w.acc = 0;
    w.cnt = 0;
    w.s = (1u << k0) << SHIFT;
    w.k = k0;
    put(&w, (uint16_t)x[0], 16u);
    /* the first `order` samples use the orders below it, as far as they reach back */
    warm = n < order ? n : order;
    for (i = 1; ok && i < warm; i++) {
        ok = code_run(&w, x, i, i + 1u, (unsigned)i);
    }
    if (warm < 1u) {
        warm = 1u;
    }
    /* one loop per order, each with its predictor inlined */
    switch (ok ? order : 4u) {
    case 0:
        ok = code_run(&w, x, warm, n, 0u);
        break;
    case 1:
        ok = code_run(&w, x, warm, n, 1u);
        break;
    case 2:
        ok = code_run(&w, x, warm, n, 2u);
        break;
    case 3:
        ok = code_run(&w, x, warm, n, 3u);
        break;
    default:
        break;
    }
    if (ok && w.p + (w.cnt > 0u) < w.lim) {
        if (w.cnt > 0u) {
            *w.p++ = (uint8_t)(w.acc << (8u - w.cnt));
        }
        out[4] = (uint8_t)((order << 4) | k0);
        *len = (size_t)(w.p - out);
    } else {
        out[4] = WS_STRIP_METHOD_VERBATIM;
        for (i = 0; i < n; i++) {
            ws_put_u16(out + WS_STRIP_BLOCK_HEADER_BYTES + 2u * i, (uint16_t)x[i]);
        }
        *len = verbatim;
    }
    ws_put_u16(out, (uint32_t)*len);
    ws_put_u16(out + 2, (uint32_t)n);
    return WS_OK;
}

/* ---------------------------------------------------------------- decoder */

typedef struct {
    const uint8_t *p;
    const uint8_t *end;
    uint32_t acc;  /* cnt valid bits in the low bits */
    unsigned cnt;
    size_t beyond; /* zero bytes supplied past the end of the block */
} reader_t;

static void refill(reader_t *r)
{
    while (r->cnt <= 24u) {
        uint32_t b = 0;
        if (r->p < r->end) {
            b = *r->p++;
        } else {
            r->beyond++;
        }
        r->acc = (r->acc << 8) | b;
        r->cnt += 8u;
    }
}

/* nb <= 24 */
static uint32_t get(reader_t *r, unsigned nb)
{
    uint32_t v;
    if (nb == 0u) {
        return 0;
    }
    refill(r);
    v = (r->acc >> (r->cnt - nb)) & ((1u << nb) - 1u);
    r->cnt -= nb;
    return v;
}

ws_status_t ws_strip_decode_block(const uint8_t *in, size_t len, int16_t *x, size_t cap,
                                  size_t *n, size_t *used)
{
    size_t blen, count, i, data_bytes, bits;
    unsigned method, order, k0;
    reader_t r;
    uint32_t s;
    unsigned k;
    int32_t x1 = 0, x2 = 0, x3 = 0;
    if (in == NULL || x == NULL || n == NULL || used == NULL) {
        return WS_ERR_ARG;
    }
    *n = 0;
    *used = 0;
    if (len < WS_STRIP_BLOCK_HEADER_BYTES) {
        return WS_ERR_RANGE;
    }
    blen = ws_get_u16(in);
    count = ws_get_u16(in + 2);
    method = in[4];
    if (blen < WS_STRIP_BLOCK_HEADER_BYTES || blen > WS_STRIP_BLOCK_MAX_BYTES || blen > len ||
        count == 0 || count > WS_STRIP_BLOCK_SAMPLES || count > cap) {
        return WS_ERR_RANGE;
    }
    data_bytes = blen - WS_STRIP_BLOCK_HEADER_BYTES;
    if (method == WS_STRIP_METHOD_VERBATIM) {
        if (data_bytes != 2u * count) {
            return WS_ERR_RANGE;
        }
        for (i = 0; i < count; i++) {
            x[i] = ws_get_i16(in + WS_STRIP_BLOCK_HEADER_BYTES + 2u * i);
        }
        *n = count;
        *used = blen;
        return WS_OK;
    }
    order = method >> 4;
    k0 = method & 0x0Fu;
    if (order > WS_STRIP_MAX_ORDER || k0 > K_MAX) {
        return WS_ERR_RANGE;
    }
    r.p = in + WS_STRIP_BLOCK_HEADER_BYTES;
    r.end = in + blen;
    r.acc = 0;
    r.cnt = 0;
    r.beyond = 0;
    s = (1u << k0) << SHIFT;
    k = k0;
    for (i = 0; i < count; i++) {
        int32_t xi;
        if (i == 0) {
            xi = (int16_t)get(&r, 16u);
        } else {
            unsigned o = i < order ? (unsigned)i : order;
            int32_t pred = predict(o, x1, x2, x3);
            int32_t e;
            uint32_t u, top;
            refill(&r);
            top = (r.acc >> (r.cnt - ESCAPE_Q)) & ((1u << ESCAPE_Q) - 1u);
            if (top == 0u) {
                r.cnt -= ESCAPE_Q;
                xi = (int16_t)get(&r, 16u);
                e = xi - pred;
                u = ((uint32_t)e << 1) ^ (uint32_t)(e >> 31);
                if ((u >> k) < ESCAPE_Q) { /* the encoder escapes only what needs it */
                    return WS_ERR_RANGE;
                }
            } else {
                uint32_t q = ESCAPE_Q - 1u - floor_log2(top);
                r.cnt -= (unsigned)q + 1u;
                u = (q << k) | get(&r, k);
                e = (int32_t)(u >> 1) ^ -(int32_t)(u & 1u);
                xi = pred + e;
                if (xi < -32768 || xi > 32767) {
                    return WS_ERR_RANGE;
                }
            }
            s += u - (s >> SHIFT);
            k = rice_k(s);
        }
        if (r.beyond > 4u) {
            return WS_ERR_RANGE; /* consumed bits past the end: the stream is too short */
        }
        x[i] = (int16_t)xi;
        x3 = x2;
        x2 = x1;
        x1 = xi;
    }
    /* bits consumed: every byte loaded (real or past the end) less those still pending */
    bits = 8u * ((size_t)(r.p - (in + WS_STRIP_BLOCK_HEADER_BYTES)) + r.beyond) - r.cnt;
    if ((bits + 7u) / 8u != data_bytes) {
        return WS_ERR_RANGE; /* ends early, or ran past the end */
    }
    if (r.cnt > 0u && (r.acc & ((r.cnt >= 32u ? 0u : (1u << r.cnt)) - 1u)) != 0u) {
        return WS_ERR_RANGE; /* nonzero padding */
    }
    *n = count;
    *used = blen;
    return WS_OK;
}
