/* Lossless block codec of ECG strips: one of the format's seven fixed predictors (the
 * encoder chooses among three of them) per block, then
 * an adaptive Rice code of the zig-zagged residuals whose parameter follows a running
 * mean, with a 16-bit escape and a verbatim fallback. Block layout bit by bit:
 * docs/strips.md, "Codec". Written for the Cortex-M4: one pass to choose the predictor on
 * every STEP-th sample, one pass to code; no division in the loops, no tables. */
#include "ws_strip_codec.h"

#include <string.h>

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

#define ZIGZAG(e) (((uint32_t)(e) << 1) ^ (uint32_t)((e) >> 31))

/* Two bytes, most significant first: one byte swap and one store on the M4 */
static inline void put_be16(uint8_t *p, uint32_t v)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint16_t be = __builtin_bswap16((uint16_t)v);
    memcpy(p, &be, sizeof be);
#else
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
#endif
}

/* The coder's state lives in code_block's locals (registers on the M4): acc holds the
 * pending bits in its low over + 16 bits (over: -16..-1 between samples, 0 or more once 16
 * or more are pending), s the running mean from which each sample's k comes. */

/* Writes the oldest 16 of the pending bits (over >= 0); NULL from code_block when they
 * would reach the limit. */
#define FLUSH16()                                                                                \
    do {                                                                                         \
        if (p > lim2) {                                                                          \
            return NULL;                                                                         \
        }                                                                                        \
        put_be16(p, acc >> (uint32_t)over);                                                      \
        p += 2;                                                                                  \
        over -= 16;                                                                              \
    } while (0)

/* Codes sample XI whose residual is E. The common case (no escape, fewer than 16 bits
 * pending afterwards) takes one test: the sign of over + nb (nb < 16 when it is negative). */
#define CODE(XI, E)                                                                              \
    do {                                                                                         \
        unsigned k_ = next_k(s);                                                                 \
        int32_t e_ = (E);                                                                        \
        uint32_t u_ = ZIGZAG(e_), q_ = u_ >> k_, nb_ = q_ + k_ + 1u;                             \
        /* a one then the k low bits of u: u less (q - 1) * 2^k */                              \
        uint32_t cw_ = u_ - ((q_ - 1u) << k_);                                                   \
        s += u_ - (s >> SHIFT);                                                                  \
        over += (int32_t)nb_;                                                                    \
        if (over < 0) {                                                                         \
            acc = (acc << nb_) | cw_;                                                            \
        } else if (nb_ <= CODE_BITS) {                                                           \
            acc = (acc << nb_) | cw_; /* fewer than 32 bits pending */                           \
            FLUSH16();                                                                           \
        } else {                                                                                 \
            unsigned z_ = escape_zeros(k_);                                                      \
            over += (int32_t)z_ - (int32_t)nb_;                                                  \
            acc <<= z_;                                                                          \
            if (over >= 0) {                                                                     \
                FLUSH16();                                                                       \
            }                                                                                    \
            acc = (acc << 16) | (uint16_t)(XI);                                                  \
            over += 16;                                                                          \
            if (over >= 0) {                                                                     \
                FLUSH16();                                                                       \
            }                                                                                    \
        }                                                                                        \
    } while (0)

/* Predictor p's residual x[i] - x^ from the last step dn = x[i] - x[i-1] and the one
 * before, dp = x[i-1] - x[i-2], equal to the table's: (7 x1 - 3 x2 + 2) >> 2 is
 * x1 + ((3 dp + 2) >> 2), (6 x1 - 2 x2 + 2) >> 2 is x1 + ((dp + 1) >> 1). */
#define RES_2(dn, dp) ((dn) - (dp))
#define RES_4(dn, dp) ((dn) - ((3 * (dp) + 2) >> 2))
#define RES_5(dn, dp) ((dn) - (((dp) + 1) >> 1))

/* Codes xp[0..end) with predictor RES: one sample first when their count is odd, then two a
 * turn so that the last sample and step (xa, da) and the new ones (xb, db) swap roles
 * without a move. */
#define CODE_LOOP(RES)                                                                           \
    if (((size_t)(end - xp) & 1u) != 0u) {                                                       \
        xb = *xp++;                                                                              \
        db = xb - xa;                                                                            \
        CODE(xb, RES(db, da));                                                                   \
        xa = xb;                                                                                 \
        da = db;                                                                                 \
    }                                                                                            \
    for (; xp != end; xp += 2) {                                                                 \
        xb = xp[0];                                                                              \
        db = xb - xa;                                                                            \
        CODE(xb, RES(db, da));                                                                   \
        xa = xp[1];                                                                              \
        da = xa - xb;                                                                            \
        CODE(xa, RES(da, db));                                                                   \
    }

/* Codes x[1..n) (x[0] is written by the caller) with predictor pred (2, 4 or 5) and the
 * initial parameter k0 from p on; the end of the code, or NULL when it would reach lim (the
 * coded block must stay shorter than its verbatim form). */
static uint8_t *code_block(const int16_t *x, size_t n, unsigned pred, unsigned k0, uint8_t *p,
                           uint8_t *lim)
{
    uint8_t *lim2 = lim - 2; /* a flush needs p + 2 <= lim */
    uint32_t acc = 0, s = (1u << k0) << SHIFT;
    unsigned cnt;
    int32_t over = -16, xa, xb, da, db;
    const int16_t *xp = x + 2, *end = x + n;
    if (n > 1u) {
        /* x[1] with the fixed order 1: every predictor the encoder uses reaches back 2 */
        xa = x[1];
        da = xa - x[0];
        CODE(xa, da);
        switch (pred) {
        case 2:
            CODE_LOOP(RES_2)
            break;
        case 4:
            CODE_LOOP(RES_4)
            break;
        default: /* 5 */
            CODE_LOOP(RES_5)
            break;
        }
    }
    /* the pending bits (< 16), padded with zeros to whole bytes */
    for (cnt = (unsigned)(over + 16); cnt > 0u; cnt = cnt > 8u ? cnt - 8u : 0u) {
        if (p >= lim) {
            return NULL;
        }
        *p++ = (uint8_t)(cnt >= 8u ? acc >> (cnt - 8u) : acc << (8u - cnt));
    }
    return p;
}

/* |v|, less 1 when v < 0 (one instruction on the M4; close enough to choose by) */
#define MAG(v) ((uint32_t)((v) ^ ((v) >> 31)))

#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32)
#include <arm_acle.h>

/* Both steps at once: one load of x[i-2], x[i-1], one of x[i-1], x[i] (the M4 allows
 * unaligned word loads), SSUB16 gives d1 (low half) and e1 (high half), each SMUSD one
 * residual: d1 * c_lo - e1 * c_hi. */
typedef int16x2_t steps_t;
static inline int16x2_t load2(const int16_t *p)
{
    int16x2_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
#define PAIR(c_lo, c_hi) ((int16x2_t)(((uint32_t)(c_hi) << 16) | ((uint32_t)(c_lo) & 0xFFFFu)))
#define STEPS(x, i) __ssub16(load2(&(x)[(i) - 1]), load2(&(x)[(i) - 2]))
#define RESIDUAL(st, c_lo, c_hi) __smusd((st), PAIR(c_lo, c_hi))
#else
/* The same arithmetic in portable C: the steps wrap to 16 bits as SSUB16's halves do */
typedef struct {
    int32_t d1, e1;
} steps_t;
static inline int32_t wrap16(int32_t v) { return (int32_t)((v + 32768) & 0xFFFF) - 32768; }
static inline steps_t steps(const int16_t *x, ptrdiff_t i)
{
    steps_t st;
    st.d1 = wrap16(x[i - 1] - x[i - 2]);
    st.e1 = wrap16(x[i] - x[i - 1]);
    return st;
}
#define STEPS(x, i) steps((x), (i))
#define RESIDUAL(st, c_lo, c_hi) ((st).d1 * (c_lo) - (st).e1 * (c_hi))
#endif

/* The predictor among 2, 4 and 5 whose residuals have the least sum of magnitudes on every
 * STEP-th sample; *mean gets that mean. The others are part of the format but not chosen:
 * on CinC and MIT-BIH, 0, 3 and 6 came with longer codes for their lower sums (the adaptive
 * code pays for their larger residuals on QRS complexes) and 1 was chosen for 2 % of the
 * blocks and saved 0.03 % (docs/strips.md); every predictor left out saves instructions. */
static unsigned choose_predictor(const int16_t *x, size_t n, uint32_t *mean)
{
    uint32_t s2 = 0, s4 = 0, s5 = 0, best_sum, count = (uint32_t)(n / STEP);
    unsigned best = 2;
    const int16_t *first = x + 3, *xp;
    if (n < 4u) {
        *mean = 0;
        return best;
    }
    /* samples 3, 3 + STEP, ... < n, the last first (the pointer stays inside the block) */
    for (xp = first + STEP * (count - 1u);; xp -= STEP) {
        /* 4 times the residuals (no rounding, the same scale for MAG's bias), from the last
         * step d1 and this one e1: e2 = e1 - d1, e4 = e1 - 3/4 d1, e5 = e1 - 1/2 d1 */
        int32_t r2, r4, r5;
        const steps_t st = STEPS(xp, 0);
        r2 = RESIDUAL(st, -4, -4);
        r4 = RESIDUAL(st, -3, -4);
        r5 = RESIDUAL(st, -2, -4);
        s2 += MAG(r2);
        s4 += MAG(r4);
        s5 += MAG(r5);
        if (xp == first) {
            break;
        }
    }
    /* Each sum < 2^28 on a block. The smoother predictors are favoured: 2's sum counts
     * 9/8 and 4's 17/16 against 5's, as the adaptive code pays more for their noisier
     * residuals than the sums say (MIT-BIH 0.36 % shorter, CinC 0.5 % longer). */
    best_sum = s5;
    best = 5;
    if (s4 + (s4 >> 4) < s5) {
        best = 4;
        best_sum = s4;
    }
    if (s2 + (s2 >> 3) < (best == 4 ? s4 + (s4 >> 4) : s5)) {
        best = 2;
        best_sum = s2;
    }
    *mean = best_sum / (4u * count);
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
    size_t head, verbatim, i;
    uint32_t mean;
    unsigned pred, k0, shrt;
    uint8_t *end;
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
    out[head] = (uint8_t)((uint16_t)x[0] >> 8);
    out[head + 1u] = (uint8_t)x[0];
    end = code_block(x, n, pred, k0, out + head + 2u, out + verbatim - 1u);
    if (end != NULL) {
        out[2] = (uint8_t)(shrt | (pred << 4) | k0);
        *len = (size_t)(end - out);
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
