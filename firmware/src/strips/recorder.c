/* The strip recorder (ws_strips.h; docs/strips.md): the RAM ring of compressed blocks of
 * the ECG input samples, the requests the detectors make, and the strip images built from
 * the ring. A strip's payload is the ring's blocks it spans, copied as they are, except
 * its first and last blocks, decoded and encoded again when the strip starts or ends
 * inside them, and the samples not yet in a block (the open block), encoded then. */
#include <string.h>

#include "ws_bytes.h"
#include "ws_protocol.h"
#include "strips_internal.h"

/* ---- the RAM ring ---- */

static uint16_t ring_u16(const ws_strips_t *s, uint32_t at)
{
    return (uint16_t)(s->ring[at % WS_STRIP_RING_BYTES] |
                      (s->ring[(at + 1u) % WS_STRIP_RING_BYTES] << 8));
}

/* Copies len bytes from ring position at (circular). */
static void ring_copy(const ws_strips_t *s, uint32_t at, uint8_t *out, uint32_t len)
{
    uint32_t pos = at % WS_STRIP_RING_BYTES;
    uint32_t first = WS_STRIP_RING_BYTES - pos < len ? WS_STRIP_RING_BYTES - pos : len;
    memcpy(out, s->ring + pos, first);
    memcpy(out + first, s->ring, len - first);
}

/* The sample count of the ring's block at position at (its header: ws_strip_codec.h; the
 * bytes after a block shorter than the longest header are the ring's, never read beyond). */
static uint16_t ring_block_samples(const ws_strips_t *s, uint32_t at)
{
    uint8_t head[5];
    uint16_t len = ring_u16(s, at);
    ring_copy(s, at, head, sizeof head);
    return (uint16_t)ws_strip_block_samples(head, len < sizeof head ? len : sizeof head);
}

static void drop_oldest(ws_strips_t *s)
{
    uint16_t len = ring_u16(s, s->tail);
    uint16_t n = ring_block_samples(s, s->tail);
    s->tail = (s->tail + len) % WS_STRIP_RING_BYTES;
    s->used -= len;
    s->oldest += n;
}

void ws_strips_ring_clear(ws_strips_t *s)
{
    s->tail = 0;
    s->used = 0;
    s->stage_n = 0;
    s->oldest = s->total;
}

/* Encodes the open block into the ring (the oldest blocks make room). */
static void close_block(ws_strips_t *s)
{
    size_t len = 0;
    uint32_t head, first;
    if (s->stage_n == 0) {
        return;
    }
    if (ws_strip_encode_block(s->stage, s->stage_n, s->block, sizeof s->block, &len) != WS_OK ||
        len < 4 || len > WS_STRIP_RING_BYTES) {
        /* cannot happen with a conforming codec; the samples are lost to the ring */
        ws_strips_ring_clear(s);
        return;
    }
    while (s->used + len > WS_STRIP_RING_BYTES) {
        drop_oldest(s);
    }
    head = (s->tail + s->used) % WS_STRIP_RING_BYTES;
    first = WS_STRIP_RING_BYTES - head < len ? WS_STRIP_RING_BYTES - head : (uint32_t)len;
    memcpy(s->ring + head, s->block, first);
    memcpy(s->ring, s->block + first, len - first);
    s->used += (uint32_t)len;
    s->stage_n = 0;
}

ws_status_t ws_strips_config(ws_strips_t *s, uint16_t fs_hz, float adc_gain, int32_t adc_zero,
                             uint32_t start_time_s)
{
    if (s == NULL || fs_hz == 0) {
        return WS_ERR_ARG;
    }
    s->streaming = 1;
    s->fs_hz = fs_hz;
    s->adc_gain = adc_gain;
    s->adc_zero = adc_zero;
    s->start_time_s = start_time_s;
    s->total = 0;
    ws_strips_ring_clear(s);
    s->n_pending = 0;
    return WS_OK;
}

uint32_t ws_strips_samples(const ws_strips_t *s) { return s == NULL ? 0 : s->total; }

/* ---- building an image ---- */

typedef struct {
    ws_strips_t *s;
    ws_strip_writer_t *w; /* NULL: only count the bytes and their CRC */
    uint32_t len;
    uint32_t crc;
    ws_status_t st;
} sink_t;

static void emit(sink_t *k, const uint8_t *data, uint32_t len)
{
    if (k->st != WS_OK) {
        return;
    }
    if (k->w != NULL) {
        k->st = ws_strips_put(k->s, k->w, data, len);
    }
    k->len += len;
    k->crc = ws_crc32_update(k->crc, data, len);
}

static void emit_samples(sink_t *k, const int16_t *x, uint32_t n)
{
    size_t len = 0;
    if (k->st == WS_OK &&
        ws_strip_encode_block(x, n, k->s->block, sizeof k->s->block, &len) != WS_OK) {
        k->st = WS_ERR_STATE;
        return;
    }
    emit(k, k->s->block, (uint32_t)len);
}

/* The payload of samples [from, to): blocks of the ring, then the open block. */
static void walk(sink_t *k, uint32_t from, uint32_t to)
{
    ws_strips_t *s = k->s;
    uint32_t at = s->tail, left = s->used, b0 = s->oldest;
    uint32_t enc_end = s->total - s->stage_n;
    while (left > 0 && b0 < to && k->st == WS_OK) {
        uint16_t len = ring_u16(s, at), n = ring_block_samples(s, at);
        uint32_t b1 = b0 + n;
        if (b1 > from) {
            ring_copy(s, at, s->block, len);
            if (b0 >= from && b1 <= to) {
                emit(k, s->block, len); /* the whole block, as it is */
            } else {
                size_t got = 0, used = 0;
                uint32_t lo = from > b0 ? from - b0 : 0, hi = (to < b1 ? to : b1) - b0;
                if (ws_strip_decode_block(s->block, len, s->work, WS_STRIP_BLOCK_SAMPLES, &got,
                                          &used) != WS_OK ||
                    got != n) {
                    k->st = WS_ERR_STATE;
                    return;
                }
                emit_samples(k, s->work + lo, hi - lo);
            }
        }
        at += len;
        left -= len;
        b0 = b1;
    }
    if (to > enc_end && k->st == WS_OK) {
        uint32_t lo = from > enc_end ? from - enc_end : 0;
        emit_samples(k, s->stage + lo, to - enc_end - lo);
    }
}

static void put_header(const ws_strips_t *s, uint8_t *h, const ws_strip_entry_t *meta,
                       uint32_t first, uint32_t n, uint32_t payload_len, uint32_t payload_crc)
{
    uint32_t gain_bits;
    uint64_t ms = (uint64_t)first * 1000u / s->fs_hz;
    memcpy(h, "WSTR", 4);
    h[4] = 1;
    h[5] = meta->reason;
    ws_put_u16(h + 6, meta->strip_id);
    ws_put_u16(h + 8, meta->epoch);
    ws_put_u32(h + 10, (uint32_t)(s->start_time_s + ms / 1000u));
    ws_put_u16(h + 14, (uint32_t)(ms % 1000u));
    ws_put_u16(h + 16, s->fs_hz);
    memcpy(&gain_bits, &s->adc_gain, 4);
    ws_put_u32(h + 18, gain_bits);
    ws_put_u32(h + 22, (uint32_t)s->adc_zero);
    ws_put_u32(h + 26, n);
    ws_put_u32(h + 30, meta->subject_seq);
    ws_put_u32(h + 34, payload_len);
    ws_put_u32(h + 38, payload_crc);
    ws_put_u16(h + 42, ws_crc16(h, 42));
}

/* Writes the strip of request r from the ring once its last sample is in: samples
 * [first, first + n), or from the ring's oldest sample when the ring no longer reaches
 * back to `first` (a shorter strip). */
static ws_status_t make_strip(ws_strips_t *s, const ws_strip_request_t *r)
{
    uint8_t h[WS_STRIP_IMAGE_HEADER];
    uint32_t from = r->first > s->oldest ? r->first : s->oldest;
    uint32_t to = r->first + r->n;
    ws_strip_entry_t meta;
    ws_strip_writer_t w;
    sink_t k;
    ws_status_t st;
    if (to <= from) {
        return WS_ERR_STATE;
    }
    memset(&meta, 0, sizeof meta);
    meta.reason = r->reason;
    meta.subject_seq = r->subject_seq;
    meta.epoch = s->dev->queue.epoch;
    meta.strip_id = ws_strips_next_id(s, meta.epoch);
    meta.duration_s = (uint8_t)(((to - from) + s->fs_hz / 2u) / s->fs_hz);
    if (meta.strip_id == 0) {
        return WS_ERR_NOSPACE;
    }
    memset(&k, 0, sizeof k);
    k.s = s;
    walk(&k, from, to); /* first the payload's length and CRC */
    if (k.st != WS_OK) {
        return k.st;
    }
    put_header(s, h, &meta, from, to - from, k.len, k.crc);
    st = ws_strips_begin(s, WS_STRIP_IMAGE_HEADER + k.len, &w);
    if (st == WS_OK) {
        st = ws_strips_put(s, &w, h, sizeof h);
    }
    if (st == WS_OK) {
        memset(&k, 0, sizeof k);
        k.s = s;
        k.w = &w;
        walk(&k, from, to);
        st = k.st;
    }
    if (st == WS_OK) {
        st = ws_strips_commit(s, &w, &meta);
    }
    return st;
}

/* Makes the pending strips whose samples are all in. */
static void serve(ws_strips_t *s)
{
    while (s->n_pending > 0) {
        const ws_strip_request_t *r = &s->pending[0];
        if (r->first + r->n > s->total) {
            return; /* its last sample is not in yet */
        }
        if (make_strip(s, r) != WS_OK) {
            s->stats.dropped++;
        }
        memmove(&s->pending[0], &s->pending[1], (size_t)(s->n_pending - 1u) * sizeof s->pending[0]);
        s->n_pending--;
    }
}

ws_status_t ws_strips_request(ws_strips_t *s, uint8_t reason, uint32_t subject_seq,
                              uint32_t first, uint32_t n_samples)
{
    if (s == NULL) {
        return WS_ERR_ARG;
    }
    if (reason < WS_STRIP_REASON_AF_ONSET || reason > WS_STRIP_REASON_RECORDING ||
        subject_seq == 0 || subject_seq > WS_SEQ_MAX || n_samples == 0) {
        return WS_ERR_RANGE;
    }
    if (!s->streaming) {
        s->stats.dropped++;
        return WS_ERR_STATE;
    }
    if (s->n_pending == WS_STRIP_PENDING) {
        s->stats.dropped++;
        return WS_ERR_BUSY;
    }
    s->stats.requested++;
    s->pending[s->n_pending].reason = reason;
    s->pending[s->n_pending].subject_seq = subject_seq;
    s->pending[s->n_pending].first = first;
    s->pending[s->n_pending].n = n_samples;
    s->n_pending++;
    serve(s);
    return WS_OK;
}

ws_status_t ws_strips_feed(ws_strips_t *s, const int16_t *x, size_t n)
{
    size_t i;
    if (s == NULL || (x == NULL && n > 0)) {
        return WS_ERR_ARG;
    }
    if (s->late) {
        ws_strips_announce_late(s);
    }
    if (!s->streaming) {
        return WS_ERR_STATE;
    }
    for (i = 0; i < n; i++) {
        s->stage[s->stage_n++] = x[i];
        s->total++;
        if (s->stage_n == WS_STRIP_BLOCK_SAMPLES) {
            close_block(s);
            if (s->n_pending > 0) {
                serve(s);
            }
        }
    }
    if (s->n_pending > 0) {
        serve(s);
    }
    s->stats.ring_samples = s->total - s->oldest;
    s->stats.ring_bytes_used = s->used;
    return WS_OK;
}
