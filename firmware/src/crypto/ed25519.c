/* Ed25519 signature verification, written from RFC 8032 (sections 5.1.1-5.1.7).
 *
 * Field elements of GF(p), p = 2^255 - 19, are ten unsigned limbs in radix 2^25.5: limb i
 * starts at bit ceil(25.5 i) and is 26 bits wide for even i, 25 for odd i. Every function
 * returns its result "carried" (each limb at most a few bits over its width), which keeps
 * every 32x32-bit product sum of a multiplication below 2^63 and every limb of a
 * subtraction non-negative. Only unsigned arithmetic is used: no shift of a negative value.
 *
 * Points are in extended homogeneous coordinates (X:Y:Z:T), x = X/Z, y = Y/Z, xy = T/Z, with
 * the addition and doubling formulas of RFC 8032 section 5.1.4. Verification is variable-
 * time (it handles public data only). */
#include <string.h>

#include "ws_crypto.h"

typedef struct {
    uint32_t v[10];
} fe_t;

typedef struct {
    fe_t x, y, z, t;
} ge_t;

/* Constants as 32-byte little-endian integers (computed from their definitions in RFC
 * 8032 section 5.1: d = -121665/121666, 2d, sqrt(-1) = 2^((p-1)/4), and the base point B
 * with y = 4/5 and x even). */
static const uint8_t CONST_D[32] = {
    0xa3, 0x78, 0x59, 0x13, 0xca, 0x4d, 0xeb, 0x75, 0xab, 0xd8, 0x41, 0x41, 0x4d, 0x0a, 0x70, 0x00,
    0x98, 0xe8, 0x79, 0x77, 0x79, 0x40, 0xc7, 0x8c, 0x73, 0xfe, 0x6f, 0x2b, 0xee, 0x6c, 0x03, 0x52,
};
static const uint8_t CONST_2D[32] = {
    0x59, 0xf1, 0xb2, 0x26, 0x94, 0x9b, 0xd6, 0xeb, 0x56, 0xb1, 0x83, 0x82, 0x9a, 0x14, 0xe0, 0x00,
    0x30, 0xd1, 0xf3, 0xee, 0xf2, 0x80, 0x8e, 0x19, 0xe7, 0xfc, 0xdf, 0x56, 0xdc, 0xd9, 0x06, 0x24,
};
static const uint8_t CONST_SQRTM1[32] = {
    0xb0, 0xa0, 0x0e, 0x4a, 0x27, 0x1b, 0xee, 0xc4, 0x78, 0xe4, 0x2f, 0xad, 0x06, 0x18, 0x43, 0x2f,
    0xa7, 0xd7, 0xfb, 0x3d, 0x99, 0x00, 0x4d, 0x2b, 0x0b, 0xdf, 0xc1, 0x4f, 0x80, 0x24, 0x83, 0x2b,
};
static const uint8_t CONST_BX[32] = {
    0x1a, 0xd5, 0x25, 0x8f, 0x60, 0x2d, 0x56, 0xc9, 0xb2, 0xa7, 0x25, 0x95, 0x60, 0xc7, 0x2c, 0x69,
    0x5c, 0xdc, 0xd6, 0xfd, 0x31, 0xe2, 0xa4, 0xc0, 0xfe, 0x53, 0x6e, 0xcd, 0xd3, 0x36, 0x69, 0x21,
};
static const uint8_t CONST_BY[32] = {
    0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
    0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
};
/* The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
static const uint8_t GROUP_ORDER[32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
};

/* ---- field arithmetic ------------------------------------------------------------- */

static unsigned limb_bits(unsigned i) { return (i & 1u) ? 25u : 26u; }

#define MASK26 ((((uint64_t)1) << 26) - 1u)
#define MASK25 ((((uint64_t)1) << 25) - 1u)

/* Carries a wide accumulator into a carried field element. Each t[i] < 2^63. */
static void fe_carry(fe_t *h, uint64_t t[10])
{
    unsigned i;
    uint64_t c;
    for (i = 0; i < 9; i += 2) {
        t[i + 1] += t[i] >> 26;
        t[i] &= MASK26;
        if (i + 2 < 10) {
            t[i + 2] += t[i + 1] >> 25;
            t[i + 1] &= MASK25;
        }
    }
    c = t[9] >> 25;
    t[9] &= MASK25;
    t[0] += 19u * c; /* 2^255 = 19 (mod p) */
    t[1] += t[0] >> 26;
    t[0] &= MASK26;
    for (i = 0; i < 10; i++) {
        h->v[i] = (uint32_t)t[i];
    }
}

static void fe_set_small(fe_t *h, uint32_t value)
{
    memset(h, 0, sizeof *h);
    h->v[0] = value;
}

static void fe_add(fe_t *h, const fe_t *f, const fe_t *g)
{
    uint64_t t[10];
    unsigned i;
    for (i = 0; i < 10; i++) {
        t[i] = (uint64_t)f->v[i] + g->v[i];
    }
    fe_carry(h, t);
}

/* f - g computed as f + 4p - g, limb by limb, so no limb goes negative. */
static void fe_sub(fe_t *h, const fe_t *f, const fe_t *g)
{
    uint64_t t[10];
    unsigned i;
    for (i = 0; i < 10; i++) {
        uint64_t four_p = 4u * ((((uint64_t)1) << limb_bits(i)) - (i == 0 ? 19u : 1u));
        t[i] = (uint64_t)f->v[i] + four_p - g->v[i];
    }
    fe_carry(h, t);
}

static void fe_neg(fe_t *h, const fe_t *f)
{
    fe_t zero;
    fe_set_small(&zero, 0);
    fe_sub(h, &zero, f);
}

/* Schoolbook product. Limb exponents add up to the exponent of limb i+j, plus one bit when
 * both i and j are odd (hence the factor 2); exponents of 255 and above wrap with 19. */
/* Products are 32 x 32 -> 64 bits (one UMLAL on the M4): carried limbs are below 2^27,
 * so 2f and 19g fit in 32 bits. */
static uint64_t mul32(uint32_t a, uint32_t b) { return (uint64_t)a * b; }

/* sum over i of a[i] * x[-i], i = 0..9 */
static uint64_t column(const uint32_t a[10], const uint32_t *x)
{
    return mul32(a[0], x[0]) + mul32(a[1], x[-1]) + mul32(a[2], x[-2]) + mul32(a[3], x[-3]) +
           mul32(a[4], x[-4]) + mul32(a[5], x[-5]) + mul32(a[6], x[-6]) + mul32(a[7], x[-7]) +
           mul32(a[8], x[-8]) + mul32(a[9], x[-9]);
}

/* Schoolbook product, one output limb (column) at a time. Limb exponents add up to the
 * exponent of limb i+j, plus one bit when both i and j are odd (a factor 2, which only
 * happens in even columns, so even columns use f with its odd limbs doubled); exponents
 * of 255 and above wrap with 19. Column k is sum_i a[i] * x[k + 10 - i] with
 * x[n] = 19 g[n] for n < 10 and x[n] = g[n - 10] for n >= 10. */
static void fe_mul(fe_t *h, const fe_t *f, const fe_t *g)
{
    uint64_t t[10];
    uint32_t x[20], f_even[10];
    unsigned i, k;
    for (i = 0; i < 10; i++) {
        x[i] = 19u * g->v[i];
        x[i + 10] = g->v[i];
        f_even[i] = (i & 1u) ? 2u * f->v[i] : f->v[i];
    }
    for (k = 0; k < 10; k++) {
        t[k] = column((k & 1u) ? f->v : f_even, x + k + 10);
    }
    fe_carry(h, t);
}

static void fe_sq(fe_t *h, const fe_t *f) { fe_mul(h, f, f); }

static void fe_sq_times(fe_t *h, const fe_t *f, unsigned times)
{
    unsigned i;
    *h = *f;
    for (i = 0; i < times; i++) {
        fe_sq(h, h);
    }
}

/* z^(2^250 - 1), the common part of inversion and square root, by the chain
 * z^(2^(a+b)-1) = (z^(2^a-1))^(2^b) * z^(2^b-1). */
static void fe_pow_2_250_minus_1(fe_t *out, const fe_t *z)
{
    fe_t e2, e4, e5, e10, e20, e40, e50, e100, e200, t;
    fe_sq(&t, z);
    fe_mul(&e2, &t, z); /* 2^2 - 1 */
    fe_sq_times(&t, &e2, 2);
    fe_mul(&e4, &t, &e2); /* 2^4 - 1 */
    fe_sq(&t, &e4);
    fe_mul(&e5, &t, z); /* 2^5 - 1 */
    fe_sq_times(&t, &e5, 5);
    fe_mul(&e10, &t, &e5);
    fe_sq_times(&t, &e10, 10);
    fe_mul(&e20, &t, &e10);
    fe_sq_times(&t, &e20, 20);
    fe_mul(&e40, &t, &e20);
    fe_sq_times(&t, &e40, 10);
    fe_mul(&e50, &t, &e10);
    fe_sq_times(&t, &e50, 50);
    fe_mul(&e100, &t, &e50);
    fe_sq_times(&t, &e100, 100);
    fe_mul(&e200, &t, &e100);
    fe_sq_times(&t, &e200, 50);
    fe_mul(out, &t, &e50); /* 2^250 - 1 */
}

/* z^(p-2) = z^(2^255 - 21) = (z^(2^250-1))^(2^5) * z^11. */
static void fe_invert(fe_t *out, const fe_t *z)
{
    fe_t e250, z2, z8, z11, t;
    fe_pow_2_250_minus_1(&e250, z);
    fe_sq(&z2, z);
    fe_sq_times(&z8, &z2, 2);
    fe_mul(&z11, &z8, &z2);
    fe_mul(&z11, &z11, z);
    fe_sq_times(&t, &e250, 5);
    fe_mul(out, &t, &z11);
}

/* z^((p-5)/8) = z^(2^252 - 3) = (z^(2^250-1))^4 * z. */
static void fe_pow_p58(fe_t *out, const fe_t *z)
{
    fe_t e250, t;
    fe_pow_2_250_minus_1(&e250, z);
    fe_sq_times(&t, &e250, 2);
    fe_mul(out, &t, z);
}

/* Reads the low 255 bits of a little-endian integer (bit 255 is ignored). */
static void fe_frombytes(fe_t *h, const uint8_t s[32])
{
    uint64_t acc = 0;
    unsigned have = 0, pos = 0, i;
    for (i = 0; i < 10; i++) {
        unsigned need = limb_bits(i);
        while (have < need) {
            acc |= (uint64_t)s[pos++] << have;
            have += 8;
        }
        h->v[i] = (uint32_t)(acc & (((uint64_t)1 << need) - 1u));
        acc >>= need;
        have -= need;
    }
}

/* The canonical encoding (the unique representative in [0, p)), little-endian. */
static void fe_tobytes(uint8_t s[32], const fe_t *f)
{
    uint64_t t[10], acc = 0;
    uint64_t q;
    unsigned i, pass, have = 0, pos = 0;
    for (i = 0; i < 10; i++) {
        t[i] = f->v[i];
    }
    /* Three fold-and-carry passes leave every limb within its width, value < 2^255. */
    for (pass = 0; pass < 3; pass++) {
        t[0] += 19u * (t[9] >> 25);
        t[9] &= ((uint64_t)1 << 25) - 1u;
        for (i = 0; i < 9; i++) {
            t[i + 1] += t[i] >> limb_bits(i);
            t[i] &= ((uint64_t)1 << limb_bits(i)) - 1u;
        }
    }
    /* q = 1 exactly when value + 19 >= 2^255, i.e. value >= p; then subtract p. */
    q = (t[0] + 19u) >> 26;
    for (i = 1; i < 10; i++) {
        q = (t[i] + q) >> limb_bits(i);
    }
    t[0] += 19u * q;
    for (i = 0; i < 9; i++) {
        t[i + 1] += t[i] >> limb_bits(i);
        t[i] &= ((uint64_t)1 << limb_bits(i)) - 1u;
    }
    t[9] &= ((uint64_t)1 << 25) - 1u;
    for (i = 0; i < 10; i++) {
        acc |= t[i] << have;
        have += limb_bits(i);
        while (have >= 8) {
            s[pos++] = (uint8_t)acc;
            acc >>= 8;
            have -= 8;
        }
    }
    s[31] = (uint8_t)acc; /* the last 7 bits; bit 255 is zero */
}

static int fe_is_zero(const fe_t *f)
{
    uint8_t s[32];
    uint8_t any = 0;
    unsigned i;
    fe_tobytes(s, f);
    for (i = 0; i < 32; i++) {
        any |= s[i];
    }
    return any == 0;
}

static int fe_is_negative(const fe_t *f)
{
    uint8_t s[32];
    fe_tobytes(s, f);
    return s[0] & 1;
}

static int fe_equal(const fe_t *f, const fe_t *g)
{
    fe_t diff;
    fe_sub(&diff, f, g);
    return fe_is_zero(&diff);
}

/* ---- group arithmetic ------------------------------------------------------------- */

static void ge_identity(ge_t *p)
{
    fe_set_small(&p->x, 0);
    fe_set_small(&p->y, 1);
    fe_set_small(&p->z, 1);
    fe_set_small(&p->t, 0);
}

static void ge_add(ge_t *r, const ge_t *p, const ge_t *q)
{
    fe_t a, b, c, d, e, f, g, h, t1, t2, d2;
    fe_sub(&t1, &p->y, &p->x);
    fe_sub(&t2, &q->y, &q->x);
    fe_mul(&a, &t1, &t2);
    fe_add(&t1, &p->y, &p->x);
    fe_add(&t2, &q->y, &q->x);
    fe_mul(&b, &t1, &t2);
    fe_frombytes(&d2, CONST_2D);
    fe_mul(&c, &p->t, &q->t);
    fe_mul(&c, &c, &d2);
    fe_mul(&d, &p->z, &q->z);
    fe_add(&d, &d, &d);
    fe_sub(&e, &b, &a);
    fe_sub(&f, &d, &c);
    fe_add(&g, &d, &c);
    fe_add(&h, &b, &a);
    fe_mul(&r->x, &e, &f);
    fe_mul(&r->y, &g, &h);
    fe_mul(&r->t, &e, &h);
    fe_mul(&r->z, &f, &g);
}

static void ge_double(ge_t *r, const ge_t *p)
{
    fe_t a, b, c, e, f, g, h, t;
    fe_sq(&a, &p->x);
    fe_sq(&b, &p->y);
    fe_sq(&c, &p->z);
    fe_add(&c, &c, &c);
    fe_add(&h, &a, &b);
    fe_add(&t, &p->x, &p->y);
    fe_sq(&t, &t);
    fe_sub(&e, &h, &t);
    fe_sub(&g, &a, &b);
    fe_add(&f, &c, &g);
    fe_mul(&r->x, &e, &f);
    fe_mul(&r->y, &g, &h);
    fe_mul(&r->t, &e, &h);
    fe_mul(&r->z, &f, &g);
}

static void ge_negate(ge_t *r, const ge_t *p)
{
    fe_neg(&r->x, &p->x);
    r->y = p->y;
    r->z = p->z;
    fe_neg(&r->t, &p->t);
}

/* RFC 8032 section 5.1.3. Returns 0 when the encoding is not canonical (y >= p), when no x
 * exists for y, or when x = 0 but the sign bit is set. */
static int ge_decode(ge_t *p, const uint8_t s[32])
{
    fe_t y, u, v, v3, v7, x, vx2, d, one, t, sqrtm1;
    int sign = s[31] >> 7;
    unsigned i;
    int all_ones = (s[31] & 0x7f) == 0x7f && s[0] >= 0xed;
    for (i = 1; i < 31 && all_ones; i++) {
        all_ones = s[i] == 0xff;
    }
    if (all_ones) {
        return 0; /* y >= p: 2^255 - 19 .. 2^255 - 1 */
    }
    fe_frombytes(&y, s);
    fe_frombytes(&d, CONST_D);
    fe_set_small(&one, 1);
    fe_sq(&u, &y);
    fe_mul(&v, &u, &d);
    fe_sub(&u, &u, &one); /* u = y^2 - 1 */
    fe_add(&v, &v, &one); /* v = d y^2 + 1 */
    fe_sq(&v3, &v);
    fe_mul(&v3, &v3, &v);
    fe_sq(&v7, &v3);
    fe_mul(&v7, &v7, &v);
    fe_mul(&t, &u, &v7);
    fe_pow_p58(&t, &t);
    fe_mul(&x, &u, &v3);
    fe_mul(&x, &x, &t); /* x = u v^3 (u v^7)^((p-5)/8) */
    fe_sq(&vx2, &x);
    fe_mul(&vx2, &vx2, &v);
    if (!fe_equal(&vx2, &u)) {
        fe_neg(&t, &u);
        if (!fe_equal(&vx2, &t)) {
            return 0; /* x^2 = u/v has no root */
        }
        fe_frombytes(&sqrtm1, CONST_SQRTM1);
        fe_mul(&x, &x, &sqrtm1);
    }
    if (fe_is_zero(&x) && sign) {
        return 0;
    }
    if (fe_is_negative(&x) != sign) {
        fe_neg(&x, &x);
    }
    p->x = x;
    p->y = y;
    fe_set_small(&p->z, 1);
    fe_mul(&p->t, &x, &y);
    return 1;
}

static void ge_encode(uint8_t s[32], const ge_t *p)
{
    fe_t zi, x, y;
    fe_invert(&zi, &p->z);
    fe_mul(&x, &p->x, &zi);
    fe_mul(&y, &p->y, &zi);
    fe_tobytes(s, &y);
    s[31] |= (uint8_t)(fe_is_negative(&x) << 7);
}

/* 8P is the identity exactly when P has order 1, 2, 4 or 8. The identity is the only
 * point of 8E with X = 0 (the other, (0, -1), has order 2 and is not a multiple of 8). */
static int ge_has_small_order(const ge_t *p)
{
    ge_t q;
    ge_double(&q, p);
    ge_double(&q, &q);
    ge_double(&q, &q);
    return fe_is_zero(&q.x);
}

/* ---- scalars ---------------------------------------------------------------------- */

/* Little-endian 256-bit comparison: 1 when a < b. */
static int scalar_less(const uint8_t a[32], const uint8_t b[32])
{
    int i;
    for (i = 31; i >= 0; i--) {
        if (a[i] != b[i]) {
            return a[i] < b[i];
        }
    }
    return 0;
}

/* out = (512-bit little-endian h) mod L, one bit at a time from the top: r = 2r + bit, then
 * subtract L when r >= L. r < L < 2^253 so 2r + 1 fits in 256 bits. */
static void scalar_reduce(uint8_t out[32], const uint8_t h[64])
{
    uint8_t r[32];
    int bit;
    unsigned i;
    memset(r, 0, sizeof r);
    for (bit = 511; bit >= 0; bit--) {
        unsigned carry = (h[bit >> 3] >> (bit & 7)) & 1u;
        for (i = 0; i < 32; i++) {
            unsigned next = r[i] >> 7;
            r[i] = (uint8_t)((r[i] << 1) | carry);
            carry = next;
        }
        if (!scalar_less(r, GROUP_ORDER)) {
            unsigned borrow = 0;
            for (i = 0; i < 32; i++) {
                unsigned diff = (unsigned)r[i] - GROUP_ORDER[i] - borrow;
                r[i] = (uint8_t)diff;
                borrow = (diff >> 8) & 1u;
            }
        }
    }
    memcpy(out, r, sizeof r);
}

static unsigned scalar_bit(const uint8_t s[32], unsigned i) { return (s[i >> 3] >> (i & 7)) & 1u; }

/* ---- verification (RFC 8032 section 5.1.7) ---------------------------------------- */

ws_status_t ws_ed25519_verify(const uint8_t signature[64], const uint8_t *msg, size_t msg_len,
                              const uint8_t public_key[32])
{
    ge_t base, neg_a, base_minus_a, acc;
    ws_sha512_t hash;
    uint8_t digest[64], k[32], check[32];
    int i;
    if (signature == NULL || public_key == NULL || (msg == NULL && msg_len > 0)) {
        return WS_ERR_ARG;
    }
    if (!scalar_less(signature + 32, GROUP_ORDER)) {
        return WS_ERR_PKG_SIGNATURE; /* S >= L: not canonical */
    }
    if (!ge_decode(&neg_a, public_key) || ge_has_small_order(&neg_a)) {
        return WS_ERR_PKG_SIGNATURE;
    }
    ws_sha512_init(&hash);
    ws_sha512_update(&hash, signature, 32);
    ws_sha512_update(&hash, public_key, 32);
    ws_sha512_update(&hash, msg, msg_len);
    ws_sha512_final(&hash, digest);
    scalar_reduce(k, digest);

    /* [S]B + [k](-A) by one double-and-add over both scalars (Straus), from bit 252. */
    ge_negate(&neg_a, &neg_a);
    fe_frombytes(&base.x, CONST_BX);
    fe_frombytes(&base.y, CONST_BY);
    fe_set_small(&base.z, 1);
    fe_mul(&base.t, &base.x, &base.y);
    ge_add(&base_minus_a, &base, &neg_a);
    ge_identity(&acc);
    for (i = 252; i >= 0; i--) {
        unsigned s_bit = scalar_bit(signature + 32, (unsigned)i);
        unsigned k_bit = scalar_bit(k, (unsigned)i);
        ge_double(&acc, &acc);
        if (s_bit && k_bit) {
            ge_add(&acc, &acc, &base_minus_a);
        } else if (s_bit) {
            ge_add(&acc, &acc, &base);
        } else if (k_bit) {
            ge_add(&acc, &acc, &neg_a);
        }
    }
    ge_encode(check, &acc);
    return memcmp(check, signature, 32) == 0 ? WS_OK : WS_ERR_PKG_SIGNATURE;
}
