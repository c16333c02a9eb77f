#include "ws_afib.h"

#include <string.h>

ws_status_t ws_afib_input_s8(const int16_t *in, size_t n_in, int8_t *out)
{
    size_t i;
    if (in == NULL || out == NULL || (n_in & 1u) != 0) {
        return WS_ERR_ARG;
    }
    for (i = 0; i < n_in / 2; i++) {
        /* The sum of two int16 fits int32; >> of a negative int32 is arithmetic on every
         * compiler we target (the port test checks it). */
        int32_t v = ((int32_t)in[2 * i] + (int32_t)in[2 * i + 1] + 128) >> 8;
        out[i] = (int8_t)(v > 127 ? 127 : (v < -128 ? -128 : v));
    }
    return WS_OK;
}

/* round(num / den) for num >= 0, den > 0, saturated to 0..127 */
static int8_t ratio(uint64_t num, uint64_t den)
{
    uint64_t q = (num + den / 2u) / den;
    return (int8_t)(q > 127u ? 127u : q);
}

static uint32_t isqrt64(uint64_t v)
{
    uint64_t r = 0, bit = (uint64_t)1 << 62;
    while (bit > v) {
        bit >>= 2;
    }
    while (bit != 0) {
        if (v >= r + bit) {
            v -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
        bit >>= 2;
    }
    return (uint32_t)r;
}

static void sort_u16(uint16_t *v, size_t n)
{
    size_t i, j;
    for (i = 1; i < n; i++) {
        uint16_t x = v[i];
        for (j = i; j > 0 && v[j - 1] > x; j--) {
            v[j] = v[j - 1];
        }
        v[j] = x;
    }
}

/* twice the median of v[0..n), n >= 1 (sorts v) */
static uint32_t median2(uint16_t *v, size_t n)
{
    sort_u16(v, n);
    return (n & 1u) ? 2u * (uint32_t)v[n / 2] : (uint32_t)v[n / 2 - 1] + v[n / 2];
}

ws_status_t ws_afib_rr_features(const ws_ecg_beat_t *beats, size_t n, uint32_t end,
                                int8_t *out)
{
    uint16_t r[WS_AFIB_RR_MAX_BEATS], s[WS_AFIB_RR_MAX_BEATS], ad[WS_AFIB_RR_MAX_BEATS];
    uint32_t hi = end > WS_AFIB_RR_GUARD ? end - WS_AFIB_RR_GUARD : 0u;
    uint32_t lo = hi > WS_AFIB_RR_SPAN ? hi - WS_AFIB_RR_SPAN : 0u;
    size_t first, last, i, nr = 0, nd, taken, flagged = 0;
    int64_t asum = 0, asq = 0;
    uint64_t rsum = 0, rsq = 0, dsq = 0, dabs = 0;
    uint32_t nn50 = 0, big = 0, turns = 0, ectopic = 0, med2, rmax = 0, rmin = 0xFFFFu;
    if (beats == NULL || out == NULL) {
        return WS_ERR_ARG;
    }
    memset(out, 0, WS_AFIB_RR_FEATURES);
    /* the span's beats: [first, last) in beats[], then the latest MAX_BEATS of them; a
     * beat the detector took only at the window's end or later does not count (beats are
     * taken in order), so a device judging the window as it ends sees exactly these */
    last = n;
    while (last > 0 && (beats[last - 1].sample >= hi ||
                        (uint32_t)beats[last - 1].sample + beats[last - 1].lag >= end)) {
        last--;
    }
    first = last;
    while (first > 0 && beats[first - 1].sample >= lo && last - first < WS_AFIB_RR_MAX_BEATS) {
        first--;
    }
    taken = last - first;
    if (taken == 0) {
        return WS_OK;
    }
    for (i = first; i < last; i++) {
        int32_t amp = beats[i].amp_uv < 0 ? -(int32_t)beats[i].amp_uv : beats[i].amp_uv;
        asum += amp;
        asq += (int64_t)amp * amp;
        flagged += (beats[i].flags & WS_BEAT_SEARCHBACK) ? 1u : 0u;
        if (beats[i].rr_ms >= 240 && beats[i].rr_ms <= 3000) {
            r[nr++] = beats[i].rr_ms;
        }
    }
    out[0] = (int8_t)(nr > 127 ? 127 : nr);
    out[15] = ratio(127u * flagged, taken);
    if (taken >= 2 && asum != 0) {
        /* coefficient of variation = sqrt(n * sum(a^2) - sum(a)^2) / |sum(a)| */
        uint64_t spread = (uint64_t)((int64_t)taken * asq - asum * asum);
        out[12] = ratio((uint64_t)isqrt64(spread) * 256u, (uint64_t)asum);
    }
    if (nr < 3) {
        return WS_OK;
    }
    nd = nr - 1;
    for (i = 0; i < nr; i++) {
        rsum += r[i];
        rsq += (uint64_t)r[i] * r[i];
        rmax = r[i] > rmax ? r[i] : rmax;
        rmin = r[i] < rmin ? r[i] : rmin;
        s[i] = r[i];
    }
    for (i = 0; i < nd; i++) {
        int32_t d = (int32_t)r[i + 1] - (int32_t)r[i];
        uint32_t a = (uint32_t)(d < 0 ? -d : d);
        ad[i] = (uint16_t)a;
        dsq += (uint64_t)a * a;
        dabs += a;
        nn50 += a > 50u ? 1u : 0u;
        big += 8u * a > r[i + 1] ? 1u : 0u;
        if (i + 1 < nd) {
            int32_t e = (int32_t)r[i + 2] - (int32_t)r[i + 1];
            turns += ((d < 0 && e > 0) || (d > 0 && e < 0)) ? 1u : 0u;
        }
    }
    med2 = median2(s, nr);
    for (i = 0; i < nd; i++) {
        /* short (< 0.85 x median) then long (> 1.15 x median) */
        ectopic += (40u * r[i] < 17u * med2 && 40u * r[i + 1] > 23u * med2) ? 1u : 0u;
    }
    out[1] = ratio(rsum, 16u * nr);
    out[2] = ratio(med2, 32u);
    out[3] = ratio(rmax, 16u);
    out[4] = ratio((uint64_t)isqrt64((nr * rsq - rsum * rsum) << 16), rsum);
    out[5] = ratio((uint64_t)isqrt64((dsq << 16) / nd) * nr, rsum);
    out[6] = ratio(256u * dabs * nr, nd * rsum);
    out[7] = ratio(128u * (uint64_t)median2(ad, nd) * nr, rsum);
    out[8] = ratio(127u * nn50, nd);
    out[9] = ratio(127u * big, nd);
    out[10] = ratio(127u * turns, nd > 1 ? nd - 1 : 1);
    out[11] = ratio(127u * ectopic, nd);
    out[13] = ratio(64u * rmax, med2);
    out[14] = ratio(254u * rmin, med2);
    return WS_OK;
}
