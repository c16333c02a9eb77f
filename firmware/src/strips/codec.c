/* Lossless block codec of ECG strips: one of the format's seven fixed predictors (the
 * encoder chooses among four of them) per block, then
 * an adaptive Rice code of the zig-zagged residuals whose parameter follows a running
 * mean, with a 16-bit escape and a verbatim fallback. Block layout bit by bit:
 * docs/strips.md, "Codec". Written for the Cortex-M4: one pass to choose the predictor on
 * every STEP-th sample, one pass to code; no division in the loops, no tables. */
#include "ws_strip_codec.h"

#include "ws_bytes.h"

/* The Rice parameter of the next sample: s holds 2^SHIFT times the running mean of the
 * zig-zagged residuals (s += u - s / 2^SHIFT); k = floor(log2(s / 2^SHIFT)), 0 when
 * s < 2^SHIFT. On int16 samples k stays below 20 (docs/strips.md). */
#define SHIFT 3u
#define K0_MAX 15u /* the initial k, 4 bits of the method byte */
/* A residual u is coded as q = u >> k zero bits, a one, then the k low bits of u, when that
 * takes at most CODE_BITS bits; otherwise it is escaped: escape_zeros(k) zero bits then the
 * sample itself in 16 bits (two's complement). */
#define CODE_BITS 16u
/* the predictor is chosen on every STEP-th sample */
#define STEP 4u
/* method byte: SHORT set when the block holds fewer than WS_STRIP_BLOCK_SAMPLES samples
 * (a u16 count follows), predictor in bits 6..4 (PRED_VERBATIM: samples stored as int16),
 * k0 in bits 3..0 */
#define METHOD_SHORT 0x80u
#define PRED_VERBATIM 7u

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

static inline unsigned next_k(uint32_t s) { return floor_log2(s | (1u << SHIFT)) - SHIFT; }

/* no code word is shorter than k + 1 bits: from k = CODE_BITS on, every sample is escaped
 * and the escape needs no prefix */
static inline unsigned escape_zeros(unsigned k) { return k < CODE_BITS ? CODE_BITS - k : 0u; }

/* The predictors: x^[i] = (c1 x[i-1] + c2 x[i-2] + c3 x[i-3] + 2) >> 2 (arithmetic shift).
 * 0..3: the fixed polynomials of order 0..3; 4, 5: order 2 damped (x1 + 3/4 or 1/2 of the
 * last step), 6: between orders 2 and 3. TAPS: how far each reaches back. */
#define N_PRED 7u
static const int8_t COEF[N_PRED][3] = {
    {0, 0, 0}, {4, 0, 0}, {8, -4, 0}, {12, -12, 4}, {7, -3, 0}, {6, -2, 0}, {11, -10, 3},
};
static const uint8_t TAPS[N_PRED] = {0, 1, 2, 3, 2, 2, 3};

static int32_t predict(unsigned p, int32_t x1, int32_t x2, int32_t x3)
{
    return (COEF[p][0] * x1 + COEF[p][1] * x2 + COEF[p][2] * x3 + 2) >> 2;
}

/* ---------------------------------------------------------------- encoder */

typedef struct {
    uint8_t *p;
    uint8_t *lim; /* the coded form must stay shorter than the verbatim one */
    uint32_t acc; /* pending bits in the low cnt bits */
    unsigned cnt; /* < 16 between samples */
    uint32_t s;
    unsigned k;
} coder_t;

/* Predictor p's estimate from xp[-1], xp[-2], as the table says, written out so that each
 * coding loop below has its own inlined (the encoder codes with 1, 2, 4 and 5 only). */
#define PRED_1 xp[-1]
#define PRED_2 (2 * xp[-1] - xp[-2])
#define PRED_4 ((7 * xp[-1] - 3 * xp[-2] + 2) >> 2)
#define PRED_5 ((6 * xp[-1] - 2 * xp[-2] + 2) >> 2)

/* Emits 16 bits when that many are pending: fewer than 16 stay. */
#define FLUSH()                                                                                  \
    if (cnt >= 16u) {                                                                            \
        uint32_t v_;                                                                             \
        if (p + 2 > lim) {                                                                       \
            return 0;                                                                            \
        }                                                                                        \
        cnt -= 16u;                                                                              \
        v_ = acc >> cnt;                                                                         \
        p[0] = (uint8_t)(v_ >> 8);                                                               \
        p[1] = (uint8_t)v_;                                                                      \
        p += 2;                                                                                  \
    }

/* Codes the samples from xp up to end. The common case (no escape, fewer than 16 bits
 * pending afterwards) takes one test: cnt + nb < 16 implies nb < 16. */
#define CODE_LOOP(PRED)                                                                          \
    for (; xp < end; xp++) {                                                                     \
        int32_t xi = xp[0];                                                                      \
        int32_t e = xi - (int32_t)(PRED);                                                        \
        uint32_t u = ((uint32_t)e << 1) ^ (uint32_t)(e >> 31);                                   \
        uint32_t q = u >> k;                                                                     \
        uint32_t nb = q + k + 1u;                                                                \
        if (cnt + nb < 16u) {                                                                    \
            /* a one then the k low bits of u: u less (q - 1) * 2^k */                          \
            acc = (acc << nb) | (u - ((q - 1u) << k));                                           \
            cnt += nb;                                                                           \
        } else {                                                                                 \
            if (nb <= CODE_BITS) {                                                               \
                acc = (acc << nb) | (u - ((q - 1u) << k)); /* cnt < 16: fits in 31 bits */      \
                cnt += nb;                                                                       \
            } else {                                                                             \
                unsigned z_ = escape_zeros(k);                                                   \
                acc <<= z_;                                                                      \
                cnt += z_;                                                                       \
                FLUSH()                                                                          \
                acc = (acc << 16) | (uint16_t)xi;                                                \
                cnt += 16u;                                                                      \
            }                                                                                    \
            FLUSH()                                                                              \
        }                                                                                        \
        s += u - (s >> SHIFT);                                                                   \
        k = next_k(s);                                                                           \
    }

/* Codes x[from..to) (from >= TAPS[pred], from >= 1) with predictor pred (1, 2, 4 or 5);
 * 0 when the code reaches the limit. */
static int code_samples(coder_t *c, const int16_t *x, size_t from, size_t to, unsigned pred)
{
    uint8_t *p = c->p, *lim = c->lim;
    uint32_t acc = c->acc, s = c->s;
    unsigned cnt = c->cnt, k = c->k;
    const int16_t *xp = x + from, *end = x + to;
    switch (pred) {
    case 1:
        CODE_LOOP(PRED_1)
        break;
    case 2:
        CODE_LOOP(PRED_2)
        break;
    case 4:
        CODE_LOOP(PRED_4)
        break;
    default: /* 5 */
        CODE_LOOP(PRED_5)
        break;
    }
    c->p = p;
    c->acc = acc;
    c->cnt = cnt;
    c->s = s;
    c->k = k;
    return 1;
}

/* |v|, less 1 when v < 0 (two instructions on the M4; close enough to choose by) */
#define MAG(v) ((uint32_t)((v) ^ ((v) >> 31)))

/* The predictor among 1, 2, 4 and 5 whose residuals have the least sum of magnitudes on
 * every STEP-th sample; *mean gets that mean. The others (0, 3, 6) are part of the format
 * but not chosen: on CinC and MIT-BIH their lower sums of magnitudes came with longer codes
 * (docs/strips.md), and every predictor left out of this loop saves instructions. */
static unsigned choose_predictor(const int16_t *x, size_t n, uint32_t *mean)
{
    uint32_t s1 = 0, s2 = 0, s4 = 0, s5 = 0, count = 0, best_sum;
    unsigned best = 1;
    size_t i;
    for (i = 3; i < n; i += STEP) {
        /* the residual of each predictor, written from the last step d1 */
        int32_t d1 = x[i - 1] - x[i - 2];
        int32_t e1 = x[i] - x[i - 1], e2 = e1 - d1;
        int32_t e4 = e1 - ((3 * d1 + 2) >> 2), e5 = e1 - ((d1 + 1) >> 1);
        s1 += MAG(e1);
        s2 += MAG(e2);
        s4 += MAG(e4);
        s5 += MAG(e5);
        count++;
    }
    if (count == 0) {
        *mean = 0;
        return 1;
    }
    best_sum = s1;
    if (s2 < best_sum) {
        best = 2;
        best_sum = s2;
    }
    if (s4 < best_sum) {
        best = 4;
        best_sum = s4;
    }
    if (s5 < best_sum) {
        best = 5;
        best_sum = s5;
    }
    *mean = best_sum / count;
    return best;
}

/* The header's length: 3 bytes for a full block, 5 when a count follows the method byte */
static size_t header_bytes(size_t n)
{
    return n == WS_STRIP_BLOCK_SAMPLES ? WS_STRIP_BLOCK_HEADER_BYTES
                                       : WS_STRIP_BLOCK_SHORT_HEADER_BYTES;
}

ws_status_t ws_strip_encode_block(const int16_t *x, size_t n, uint8_t *out, size_t cap,
                                  size_t *len)
{
    size_t head, verbatim, i, taps;
    uint32_t mean;
    unsigned pred, k0, shrt;
    int ok = 1;
    coder_t c;
    if (x == NULL || out == NULL || len == NULL || n == 0 || n > WS_STRIP_BLOCK_SAMPLES) {
        return WS_ERR_ARG;
    }
    head = header_bytes(n);
    shrt = n < WS_STRIP_BLOCK_SAMPLES ? METHOD_SHORT : 0u;
    verbatim = head + 2u * n;
    if (cap < verbatim) {
        return WS_ERR_ARG;
    }
    pred = choose_predictor(x, n, &mean);
    /* zig-zag doubles the magnitudes: start from a mean of 2 * mean */
    k0 = floor_log2(2u * mean + 1u);
    k0 = k0 > K0_MAX ? K0_MAX : k0;
    /* the first sample in 16 bits */
    c.p = out + head + 2u;
    c.lim = out + verbatim - 1u;
    out[head] = (uint8_t)((uint16_t)x[0] >> 8);
    out[head + 1u] = (uint8_t)x[0];
    c.acc = 0;
    c.cnt = 0;
    c.s = (1u << k0) << SHIFT;
    c.k = k0;
    /* the samples before the predictor reaches back far enough use the fixed order i */
    taps = TAPS[pred] < n ? TAPS[pred] : n;
    for (i = 1; ok && i < taps; i++) {
        ok = code_samples(&c, x, i, i + 1u, (unsigned)i);
    }
    if (ok) {
        ok = code_samples(&c, x, taps > 1u ? taps : 1u, n, pred);
    }
    /* the pending bits (< 16), padded with zeros to whole bytes */
    for (; ok && c.cnt > 0u; c.cnt = c.cnt > 8u ? c.cnt - 8u : 0u) {
        ok = c.p < c.lim;
        if (ok) {
            *c.p++ = (uint8_t)(c.cnt >= 8u ? c.acc >> (c.cnt - 8u) : c.acc << (8u - c.cnt));
        }
    }
    if (ok) {
        out[2] = (uint8_t)(shrt | (pred << 4) | k0);
        *len = (size_t)(c.p - out);
    } else {
        out[2] = (uint8_t)(shrt | (PRED_VERBATIM << 4));
        for (i = 0; i < n; i++) {
            ws_put_u16(out + head + 2u * i, (uint16_t)x[i]);
        }
        *len = verbatim;
    }
    ws_put_u16(out, (uint32_t)*len);
    if (shrt != 0u) {
        ws_put_u16(out + 3, (uint32_t)n);
    }
    return WS_OK;
}

size_t ws_strip_block_samples(const uint8_t *in, size_t len)
{
    size_t n;
    if (in == NULL || len < WS_STRIP_BLOCK_HEADER_BYTES) {
        return 0;
    }
    if ((in[2] & METHOD_SHORT) == 0u) {
        return WS_STRIP_BLOCK_SAMPLES;
    }
    if (len < WS_STRIP_BLOCK_SHORT_HEADER_BYTES) {
        return 0;
    }
    n = ws_get_u16(in + 3);
    return n < WS_STRIP_BLOCK_SAMPLES ? n : 0u;
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
    size_t blen, count, head, i, data_bytes, bits;
    unsigned method, pred, k;
    reader_t r;
    uint32_t s;
    int32_t x1 = 0, x2 = 0, x3 = 0;
    if (in == NULL || x == NULL || n == NULL || used == NULL) {
        return WS_ERR_ARG;
    }
    *n = 0;
    *used = 0;
    count = ws_strip_block_samples(in, len);
    if (count == 0) {
        return WS_ERR_RANGE;
    }
    blen = ws_get_u16(in);
    method = in[2];
    head = header_bytes(count);
    if (blen < head || blen > WS_STRIP_BLOCK_MAX_BYTES || blen > len || count > cap) {
        return WS_ERR_RANGE;
    }
    data_bytes = blen - head;
    pred = (method >> 4) & 7u;
    k = method & 0x0Fu;
    if (pred == PRED_VERBATIM) {
        if (data_bytes != 2u * count || k != 0u) {
            return WS_ERR_RANGE;
        }
        for (i = 0; i < count; i++) {
            x[i] = ws_get_i16(in + head + 2u * i);
        }
        *n = count;
        *used = blen;
        return WS_OK;
    }
    r.p = in + head;
    r.end = in + blen;
    r.acc = 0;
    r.cnt = 0;
    r.beyond = 0;
    s = (1u << k) << SHIFT;
    for (i = 0; i < count; i++) {
        int32_t xi;
        if (i == 0) {
            xi = (int16_t)get(&r, 16u);
        } else {
            unsigned o = i < TAPS[pred] ? (unsigned)i : pred;
            int32_t e = 0, est = predict(o, x1, x2, x3);
            uint32_t u, top = 0, zeros = escape_zeros(k);
            refill(&r);
            if (zeros > 0u) {
                top = (r.acc >> (r.cnt - zeros)) & ((1u << zeros) - 1u);
            }
            if (top == 0u) {
                r.cnt -= zeros;
                xi = (int16_t)get(&r, 16u);
                e = xi - est;
                u = ((uint32_t)e << 1) ^ (uint32_t)(e >> 31);
                if ((u >> k) + 1u + k <= CODE_BITS) {
                    return WS_ERR_RANGE; /* the encoder escapes only what needs it */
                }
            } else {
                uint32_t q = zeros - 1u - floor_log2(top);
                r.cnt -= (unsigned)q + 1u;
                u = (q << k) | get(&r, k);
                e = (int32_t)(u >> 1) ^ -(int32_t)(u & 1u);
                xi = est + e;
                if (xi < -32768 || xi > 32767) {
                    return WS_ERR_RANGE;
                }
            }
            s += u - (s >> SHIFT);
            k = next_k(s);
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
    bits = 8u * ((size_t)(r.p - (in + head)) + r.beyond) - r.cnt;
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
