/* The strip partition (ws_strips.h; format and recovery: docs/strips.md): a ring of
 * extents over NOR flash pages, each one strip image behind a 32-byte extent header:
 *
 *   0  u32 magic "WSXT"        16 u16 CRC-16 of bytes 0..15
 *   4  u32 extent sequence     18 u16 0xFFFF
 *   8  u32 image length        20 u32 commit word "COMM"
 *   12 u32 image CRC-32        24 u32 announced: 0xFFFFFFFF until its STRIP event is queued
 *                              28 u32 released: 0xFFFFFFFF until STRIP_RELEASE
 *
 * A strip is written as: erase its pages, program the image, program bytes 0..23 of the
 * header in one operation (the commit word last). A torn program of the header leaves
 * the commit word incomplete; anything torn before leaves no header. Mount takes an
 * extent only when its header CRC, commit word, image header CRC, payload CRC-32 and
 * image CRC-32 all check, and only when no newer extent overlaps its pages. */
#include <string.h>

#include "ws_bytes.h"
#include "ws_protocol.h"
#include "strips_internal.h"

#define EXTENT_MAGIC 0x54585357u /* "WSXT" */
#define COMMIT_WORD 0x4D4D4F43u  /* "COMM" */
#define OFF_CRC 16
#define OFF_COMMIT 20
#define OFF_ANNOUNCED 24
#define OFF_RELEASED 28
#define HDR WS_STRIP_EXTENT_HEADER
#define IMG WS_STRIP_IMAGE_HEADER
#define IMAGE_MAGIC 0x52545357u /* "WSTR" */

static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
    0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
    0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu};

uint32_t ws_crc32_update(uint32_t crc, const uint8_t *data, size_t len)
{
    size_t i;
    crc = ~crc;
    for (i = 0; i < len; i++) {
        crc ^= data[i];
        crc = (crc >> 4) ^ crc_nibble[crc & 0x0Fu];
        crc = (crc >> 4) ^ crc_nibble[crc & 0x0Fu];
    }
    return ~crc;
}

size_t ws_strips_size(void) { return sizeof(ws_strips_t); }

static uint32_t part_bytes(const ws_strips_t *s)
{
    return s->flash->page_size * s->flash->page_count;
}

/* Logical addresses run modulo the partition: an extent may wrap past the last page. */
static ws_status_t rd(const ws_strips_t *s, uint32_t addr, uint8_t *out, uint32_t len)
{
    uint32_t total = part_bytes(s), first;
    addr %= total;
    first = total - addr < len ? total - addr : len;
    if (s->flash->read(s->flash->ctx, addr, out, first) != WS_OK) {
        return WS_ERR_FLASH;
    }
    if (first < len && s->flash->read(s->flash->ctx, 0, out + first, len - first) != WS_OK) {
        return WS_ERR_FLASH;
    }
    return WS_OK;
}

static ws_status_t wr(ws_strips_t *s, uint32_t addr, const uint8_t *data, uint32_t len)
{
    uint32_t total = part_bytes(s), first;
    addr %= total;
    first = total - addr < len ? total - addr : len;
    if (s->flash->program(s->flash->ctx, addr, data, first) != WS_OK ||
        (first < len && s->flash->program(s->flash->ctx, 0, data + first, len - first) != WS_OK)) {
        s->stats.flash_errors++;
        return WS_ERR_FLASH;
    }
    return WS_OK;
}

static uint32_t extent_addr(const ws_strips_t *s, const ws_strip_entry_t *e)
{
    return (uint32_t)e->first_page * s->flash->page_size;
}

static uint32_t pages_for(const ws_strips_t *s, uint32_t image_len)
{
    return (HDR + image_len + s->flash->page_size - 1u) / s->flash->page_size;
}

/* 1 when page p lies in the extent (circularly). */
static int covers(const ws_strips_t *s, uint32_t first, uint32_t pages, uint32_t p)
{
    uint32_t n = s->flash->page_count;
    return ((p + n - first) % n) < pages;
}

static int page_used(const ws_strips_t *s, uint32_t p)
{
    uint16_t i;
    for (i = 0; i < s->n_entries; i++) {
        if (covers(s, s->entry[i].first_page, s->entry[i].pages, p)) {
            return 1;
        }
    }
    return 0;
}

static void recount(ws_strips_t *s)
{
    uint16_t i;
    s->stats.held = s->n_entries;
    s->stats.unreleased = 0;
    for (i = 0; i < s->n_entries; i++) {
        if (!s->entry[i].released) {
            s->stats.unreleased++;
        }
    }
}

static void remove_entry(ws_strips_t *s, uint16_t i)
{
    memmove(&s->entry[i], &s->entry[i + 1],
            (size_t)(s->n_entries - i - 1u) * sizeof s->entry[0]);
    s->n_entries--;
    recount(s);
}

/* Checks the extent starting at page p; fills e when it is a complete strip. */
static int check_extent(ws_strips_t *s, uint32_t p, ws_strip_entry_t *e)
{
    uint8_t h[HDR], img[IMG], buf[64];
    uint32_t base = p * s->flash->page_size, len, crc_img, crc_pay, off, n_samples, fs;
    if (rd(s, base, h, HDR) != WS_OK || ws_get_u32(h) != EXTENT_MAGIC) {
        return 0;
    }
    if (ws_crc16(h, OFF_CRC) != ws_get_u16(h + OFF_CRC)) {
        return -1;
    }
    if (ws_get_u32(h + OFF_COMMIT) != COMMIT_WORD) {
        return -1;
    }
    len = ws_get_u32(h + 8);
    if (len < IMG || len > part_bytes(s) - HDR) {
        return -1;
    }
    if (rd(s, base + HDR, img, IMG) != WS_OK || ws_get_u32(img) != IMAGE_MAGIC || img[4] != 1 ||
        ws_crc16(img, 42) != ws_get_u16(img + 42) || ws_get_u32(img + 34) + IMG != len) {
        return -1;
    }
    crc_img = ws_crc32_update(0, img, IMG);
    crc_pay = 0;
    for (off = IMG; off < len; off += (uint32_t)sizeof buf) {
        uint32_t k = len - off < sizeof buf ? len - off : (uint32_t)sizeof buf;
        if (rd(s, base + HDR + off, buf, k) != WS_OK) {
            return -1;
        }
        crc_img = ws_crc32_update(crc_img, buf, k);
        crc_pay = ws_crc32_update(crc_pay, buf, k);
    }
    if (crc_pay != ws_get_u32(img + 38) || crc_img != ws_get_u32(h + 12)) {
        return -1;
    }
    memset(e, 0, sizeof *e);
    e->seq = ws_get_u32(h + 4);
    e->image_len = len;
    e->image_crc32 = crc_img;
    e->first_page = (uint16_t)p;
    e->pages = (uint16_t)pages_for(s, len);
    e->announced = ws_get_u32(h + OFF_ANNOUNCED) != 0xFFFFFFFFu;
    e->released = ws_get_u32(h + OFF_RELEASED) != 0xFFFFFFFFu;
    e->reason = img[5];
    e->strip_id = ws_get_u16(img + 6);
    e->epoch = ws_get_u16(img + 8);
    fs = ws_get_u16(img + 16);
    n_samples = ws_get_u32(img + 26);
    e->subject_seq = ws_get_u32(img + 30);
    e->duration_s = (uint8_t)(fs == 0 ? 0 : (n_samples + fs / 2u) / fs > 255u ? 255u
                                                : (n_samples + fs / 2u) / fs);
    return 1;
}

ws_status_t ws_strips_mount(ws_strips_t *s, const ws_flash_t *flash, ws_device_t *dev)
{
    uint32_t p;
    uint16_t i;
    if (s == NULL || flash == NULL || dev == NULL || flash->read == NULL ||
        flash->program == NULL || flash->erase == NULL) {
        return WS_ERR_ARG;
    }
    if (flash->page_count < WS_STRIP_MIN_PAGES || flash->page_count > 0xFFFFu ||
        flash->page_size < 256u || flash->page_size > (1u << 20)) {
        return WS_ERR_ARG;
    }
    memset(s, 0, sizeof *s);
    s->flash = flash;
    s->dev = dev;
    s->next_seq = 1;
    for (p = 0; p < flash->page_count; p++) {
        ws_strip_entry_t e;
        uint16_t at;
        int r = check_extent(s, p, &e);
        if (r < 0) {
            s->stats.discarded++;
        }
        if (r <= 0) {
            continue;
        }
        if (e.seq >= s->next_seq) {
            s->next_seq = e.seq + 1u;
        }
        /* keep the table sorted by seq, oldest first; when full the oldest goes */
        at = s->n_entries;
        while (at > 0 && s->entry[at - 1u].seq > e.seq) {
            at--;
        }
        if (s->n_entries == WS_STRIP_MAX_ENTRIES) {
            if (at == 0) {
                continue;
            }
            remove_entry(s, 0);
            at--;
        }
        memmove(&s->entry[at + 1u], &s->entry[at], (size_t)(s->n_entries - at) * sizeof e);
        s->entry[at] = e;
        s->n_entries++;
    }
    /* a newer extent written over an older one's pages wins */
    i = s->n_entries;
    while (i > 0) {
        uint16_t j;
        int overlapped = 0;
        i--;
        for (j = (uint16_t)(i + 1u); j < s->n_entries && !overlapped; j++) {
            uint32_t k;
            for (k = 0; k < s->entry[i].pages && !overlapped; k++) {
                uint32_t pg = (s->entry[i].first_page + k) % flash->page_count;
                overlapped = covers(s, s->entry[j].first_page, s->entry[j].pages, pg);
            }
        }
        if (overlapped) {
            remove_entry(s, i);
            s->stats.discarded++;
        }
    }
    for (i = 0; i < s->n_entries; i++) {
        if (!s->entry[i].announced && !s->entry[i].released) {
            s->late = 1;
        }
    }
    recount(s);
    return WS_OK;
}

uint16_t ws_strips_next_id(ws_strips_t *s, uint16_t epoch)
{
    uint32_t next = 1;
    uint16_t i;
    for (i = 0; i < s->n_entries; i++) {
        if (s->entry[i].epoch == epoch && s->entry[i].strip_id >= next) {
            next = s->entry[i].strip_id + 1u;
        }
    }
    if (s->id_epoch == epoch && s->next_id > next) {
        next = s->next_id;
    }
    return next > 0xFFFFu ? 0 : (uint16_t)next;
}

/* A run of `pages` free pages, searched from the page after the newest extent. */
static int find_room(const ws_strips_t *s, uint32_t pages, uint32_t *first)
{
    uint32_t n = s->flash->page_count, start = 0, i, k;
    if (s->n_entries > 0) {
        const ws_strip_entry_t *newest = &s->entry[s->n_entries - 1u];
        start = ((uint32_t)newest->first_page + newest->pages) % n;
    }
    for (i = 0; i < n; i++) {
        uint32_t p0 = (start + i) % n;
        for (k = 0; k < pages && !page_used(s, (p0 + k) % n); k++) {
        }
        if (k == pages) {
            *first = p0;
            return 1;
        }
    }
    return 0;
}

ws_status_t ws_strips_begin(ws_strips_t *s, uint32_t image_len, ws_strip_writer_t *w)
{
    uint32_t pages = pages_for(s, image_len), first = 0, k;
    if (pages > s->flash->page_count) {
        return WS_ERR_NOSPACE;
    }
    while (!find_room(s, pages, &first) || s->n_entries == WS_STRIP_MAX_ENTRIES) {
        uint16_t i, victim = 0;
        int found = 0;
        if (s->n_entries == 0) {
            return WS_ERR_NOSPACE;
        }
        for (i = 0; i < s->n_entries && !found; i++) { /* the oldest released one first */
            if (s->entry[i].released || s->entry[i].epoch != s->dev->queue.epoch) {
                victim = i;
                found = 1;
            }
        }
        if (found) {
            s->stats.reused++;
        } else {
            s->stats.overwritten++; /* then the oldest unreleased one */
        }
        if (s->xfer_active && s->entry[victim].strip_id == s->xfer_id) {
            s->xfer_active = 0;
        }
        remove_entry(s, victim);
    }
    for (k = 0; k < pages; k++) {
        if (s->flash->erase(s->flash->ctx, (first + k) % s->flash->page_count) != WS_OK) {
            s->stats.flash_errors++;
            return WS_ERR_FLASH;
        }
    }
    w->first_page = first;
    w->pages = pages;
    w->image_len = image_len;
    w->pos = 0;
    w->crc = 0;
    return WS_OK;
}

ws_status_t ws_strips_put(ws_strips_t *s, ws_strip_writer_t *w, const uint8_t *data,
                          uint32_t len)
{
    ws_status_t st;
    if (len == 0) {
        return WS_OK;
    }
    if (w->pos + len > w->image_len) {
        return WS_ERR_ARG;
    }
    st = wr(s, w->first_page * s->flash->page_size + HDR + w->pos, data, len);
    if (st != WS_OK) {
        return st;
    }
    w->crc = ws_crc32_update(w->crc, data, len);
    w->pos += len;
    return WS_OK;
}

/* The STRIP event of entry e, then its announced word. */
static ws_status_t announce(ws_strips_t *s, ws_strip_entry_t *e)
{
    ws_event_t ev;
    static const uint8_t zero[4] = {0, 0, 0, 0};
    memset(&ev, 0, sizeof ev);
    ev.type = WS_EVENT_STRIP;
    ev.time_s = ws_device_time_s(s->dev);
    ev.u.strip.strip_id = e->strip_id;
    ev.u.strip.reason = e->reason;
    ev.u.strip.duration_s = e->duration_s == 0 ? 1 : e->duration_s;
    ev.u.strip.subject_seq = e->subject_seq;
    if (e->epoch != s->dev->queue.epoch) {
        e->announced = 1; /* another epoch's strip: not announced any more */
        return WS_OK;
    }
    if (ws_device_append_event(s->dev, &ev) != WS_OK) {
        s->stats.announce_errors++;
        return WS_ERR_FLASH;
    }
    e->announced = 1;
    return wr(s, extent_addr(s, e) + OFF_ANNOUNCED, zero, 4);
}

void ws_strips_announce_late(ws_strips_t *s)
{
    uint16_t i;
    s->late = 0;
    for (i = 0; i < s->n_entries; i++) {
        if (!s->entry[i].announced && !s->entry[i].released &&
            announce(s, &s->entry[i]) != WS_OK && !s->entry[i].announced) {
            s->late = 1;
        }
    }
}

ws_status_t ws_strips_commit(ws_strips_t *s, ws_strip_writer_t *w, const ws_strip_entry_t *meta)
{
    uint8_t h[OFF_ANNOUNCED];
    ws_strip_entry_t e;
    ws_status_t st;
    if (w->pos != w->image_len) {
        return WS_ERR_ARG;
    }
    ws_put_u32(h, EXTENT_MAGIC);
    ws_put_u32(h + 4, s->next_seq);
    ws_put_u32(h + 8, w->image_len);
    ws_put_u32(h + 12, w->crc);
    ws_put_u16(h + OFF_CRC, ws_crc16(h, OFF_CRC));
    ws_put_u16(h + 18, 0xFFFFu);
    ws_put_u32(h + OFF_COMMIT, COMMIT_WORD);
    st = wr(s, w->first_page * s->flash->page_size, h, sizeof h);
    if (st != WS_OK) {
        return st;
    }
    e = *meta;
    e.seq = s->next_seq++;
    e.image_len = w->image_len;
    e.image_crc32 = w->crc;
    e.first_page = (uint16_t)w->first_page;
    e.pages = (uint16_t)w->pages;
    e.released = 0;
    e.announced = 0;
    s->entry[s->n_entries++] = e; /* begin made room in the table */
    s->id_epoch = e.epoch;
    s->next_id = (uint16_t)(e.strip_id + 1u);
    s->stats.made++;
    recount(s);
    if (announce(s, &s->entry[s->n_entries - 1u]) != WS_OK &&
        !s->entry[s->n_entries - 1u].announced) {
        s->late = 1; /* the queue refused it: tried again on the next feed */
    }
    return WS_OK;
}

static ws_strip_entry_t *find(const ws_strips_t *s, uint16_t strip_id)
{
    uint16_t i;
    for (i = 0; i < s->n_entries; i++) {
        const ws_strip_entry_t *e = &s->entry[i];
        if (e->strip_id == strip_id && e->epoch == s->dev->queue.epoch) {
            return (ws_strip_entry_t *)(uintptr_t)e;
        }
    }
    return NULL;
}

ws_status_t ws_strips_get(ws_strips_t *s, uint16_t strip_id, uint32_t offset,
                          uint32_t *image_len, uint32_t *image_crc32)
{
    const ws_strip_entry_t *e;
    if (s == NULL || image_len == NULL || image_crc32 == NULL) {
        return WS_ERR_ARG;
    }
    e = find(s, strip_id);
    if (e == NULL) {
        return WS_ERR_NOT_FOUND;
    }
    if (offset > e->image_len) {
        return WS_ERR_RANGE;
    }
    *image_len = e->image_len;
    *image_crc32 = e->image_crc32;
    s->xfer_active = offset < e->image_len;
    s->xfer_id = strip_id;
    s->xfer_offset = offset;
    return WS_OK;
}

ws_status_t ws_strips_next_frame(ws_strips_t *s, uint8_t *out, size_t cap, size_t *len)
{
    const ws_strip_entry_t *e;
    uint32_t k;
    if (s == NULL || out == NULL || len == NULL || cap < WS_STRIP_FRAME_OVERHEAD + 1u) {
        return WS_ERR_ARG;
    }
    *len = 0;
    if (!s->xfer_active) {
        return WS_OK;
    }
    e = find(s, s->xfer_id);
    if (e == NULL || s->xfer_offset >= e->image_len) {
        s->xfer_active = 0;
        return WS_OK;
    }
    k = e->image_len - s->xfer_offset;
    if (k > cap - WS_STRIP_FRAME_OVERHEAD) {
        k = (uint32_t)(cap - WS_STRIP_FRAME_OVERHEAD);
    }
    ws_put_u16(out, s->xfer_id);
    ws_put_u32(out + 2, s->xfer_offset);
    if (rd(s, extent_addr(s, e) + HDR + s->xfer_offset, out + 6, k) != WS_OK) {
        s->xfer_active = 0;
        return WS_ERR_FLASH;
    }
    ws_put_u16(out + 6 + k, ws_crc16(out, 6u + k));
    *len = 8u + k;
    s->xfer_offset += k;
    if (s->xfer_offset >= e->image_len) {
        s->xfer_active = 0;
    }
    return WS_OK;
}

ws_status_t ws_strips_erase_all(ws_strips_t *s)
{
    uint32_t p;
    if (s == NULL || s->flash == NULL) {
        return WS_ERR_ARG;
    }
    s->xfer_active = 0;
    s->n_pending = 0;
    /* the ring's samples are the old wearer's: none of them goes into a new strip */
    ws_strips_ring_clear(s);
    for (p = 0; p < s->flash->page_count; p++) {
        if (s->flash->erase(s->flash->ctx, p) != WS_OK) {
            s->stats.flash_errors++;
            return WS_ERR_FLASH; /* the table still names what may be left: mount decides */
        }
    }
    s->n_entries = 0;
    s->late = 0;
    recount(s);
    return WS_OK;
}

void ws_strips_cancel(ws_strips_t *s)
{
    if (s != NULL) {
        s->xfer_active = 0;
    }
}

ws_status_t ws_strips_release(ws_strips_t *s, uint16_t strip_id, uint32_t image_crc32)
{
    static const uint8_t zero[4] = {0, 0, 0, 0};
    ws_strip_entry_t *e;
    if (s == NULL) {
        return WS_ERR_ARG;
    }
    e = find(s, strip_id);
    if (e == NULL) {
        return WS_ERR_NOT_FOUND;
    }
    if (e->image_crc32 != image_crc32) {
        return WS_ERR_STATE;
    }
    if (e->released) {
        return WS_OK;
    }
    if (s->xfer_active && s->xfer_id == strip_id) {
        s->xfer_active = 0;
    }
    if (wr(s, extent_addr(s, e) + OFF_RELEASED, zero, 4) != WS_OK) {
        return WS_ERR_FLASH;
    }
    e->released = 1;
    recount(s);
    return WS_OK;
}

ws_status_t ws_strips_list(const ws_strips_t *s, ws_strip_entry_t *out, size_t cap, size_t *n)
{
    size_t i;
    if (s == NULL || n == NULL || (out == NULL && cap > 0)) {
        return WS_ERR_ARG;
    }
    for (i = 0; i < s->n_entries && i < cap; i++) {
        out[i] = s->entry[i];
    }
    *n = i;
    return WS_OK;
}

ws_status_t ws_strips_read(const ws_strips_t *s, uint16_t strip_id, uint32_t offset,
                           uint8_t *out, uint32_t len)
{
    const ws_strip_entry_t *e;
    if (s == NULL || (out == NULL && len > 0)) {
        return WS_ERR_ARG;
    }
    e = find(s, strip_id);
    if (e == NULL) {
        return WS_ERR_NOT_FOUND;
    }
    if (offset > e->image_len || len > e->image_len - offset) {
        return WS_ERR_RANGE;
    }
    return len == 0 ? WS_OK : rd(s, extent_addr(s, e) + HDR + offset, out, len);
}

ws_status_t ws_strips_get_stats(const ws_strips_t *s, ws_strips_stats_t *out)
{
    if (s == NULL || out == NULL) {
        return WS_ERR_ARG;
    }
    *out = s->stats;
    return WS_OK;
}
