/* The persistent event queue over NOR flash (docs/device-core.md, "Queue format").
 *
 * Every write is made so that a power cut at any byte leaves something recovery
 * can judge: a record is programmed first without its commit word and committed
 * by clearing that word afterwards, so a record counts only when it was complete;
 * a page counts only when its header CRC is right and its retire word untouched;
 * a compaction counts only once its DROP record is committed. All writes go to
 * the newest page, whose header checkpoints the counters, so erasing any older
 * page never loses a counter. */
#include "ws_queue.h"

#include <string.h>

#include "ws_bytes.h"

#define PAGE_MAGIC 0x31515357u /* "WSQ1" */
#define HDR WS_QUEUE_PAGE_HEADER_SIZE
#define HDR_TIME_OFF 18
#define HDR_CRC_OFF 22
#define HDR_RETIRE_OFF 24
#define REC_HEAD 6 /* commit word, kind, length */
#define REC_BODY_MAX 24

enum { KIND_EVENT = 1, KIND_ACK = 2, KIND_BOOT = 3, KIND_DROP = 4 };

typedef struct {
    uint32_t off;
    uint32_t size;
    uint8_t kind;
    uint8_t len;
    uint8_t body[REC_BODY_MAX];
} record_t;

enum { REC_END = 0, REC_OK = 1, REC_TORN = -1 };

static uint32_t record_size(uint32_t body_len) { return (REC_HEAD + body_len + 2 + 3u) & ~3u; }

static uint32_t page_addr(const ws_queue_t *q, uint32_t page)
{
    return page * q->flash->page_size;
}

static ws_status_t flash_read(const ws_queue_t *q, uint32_t addr, uint8_t *out, uint32_t len)
{
    return q->flash->read(q->flash->ctx, addr, out, len);
}

/* Priority tiers: a full queue drops tier 1 first; tier 4 only when nothing
 * else is left. Acknowledged events count as tier 0 (freed without a gap). */
static int event_tier(uint8_t type)
{
    switch (type) {
    case WS_EVENT_ACTIVITY_SUMMARY:
    case WS_EVENT_HR_SUMMARY:
        return 1;
    case WS_EVENT_RHYTHM_SUMMARY:
    case WS_EVENT_ACTIVITY_CHANGE:
    case WS_EVENT_SIGNAL_QUALITY:
    case WS_EVENT_STATUS:
        return 2;
    case WS_EVENT_ECG_RECORDING:
    case WS_EVENT_GAP:
        return 3;
    default: /* AF_START, AF_END, FALL, FALL_CANCELLED */
        return 4;
    }
}

static uint32_t free_pages(const ws_queue_t *q)
{
    uint32_t i, n = 0;
    for (i = 0; i < q->flash->page_count; i++) {
        n += q->live[i] ? 0u : 1u;
    }
    return n;
}

/* Reads the record at off: REC_OK, REC_END (blank rest of page) or REC_TORN. */
static int read_record(const ws_queue_t *q, uint32_t page, uint32_t off, record_t *r)
{
    uint8_t head[REC_HEAD];
    uint8_t tail[2];
    uint32_t base = page_addr(q, page);
    uint32_t page_size = q->flash->page_size;
    uint32_t commit, i;
    if (off + REC_HEAD > page_size) {
        return REC_END;
    }
    if (flash_read(q, base + off, head, REC_HEAD) != WS_OK) {
        return REC_TORN;
    }
    commit = ws_get_u32(head);
    if (commit == 0xFFFFFFFFu && head[4] == 0xFF && head[5] == 0xFF) {
        /* Blank so far: the rest of the page must be blank too, else a write
         * was torn after its first bytes. */
        uint8_t chunk[32];
        for (i = off; i < page_size; i += sizeof chunk) {
            uint32_t n = page_size - i < sizeof chunk ? page_size - i : (uint32_t)sizeof chunk;
            uint32_t k;
            if (flash_read(q, base + i, chunk, n) != WS_OK) {
                return REC_TORN;
            }
            for (k = 0; k < n; k++) {
                if (chunk[k] != 0xFF) {
                    return REC_TORN;
                }
            }
        }
        return REC_END;
    }
    if (commit != 0u || head[5] == 0 || head[5] > REC_BODY_MAX) {
        return REC_TORN;
    }
    r->off = off;
    r->kind = head[4];
    r->len = head[5];
    r->size = record_size(r->len);
    if (off + r->size > page_size) {
        return REC_TORN;
    }
    if (flash_read(q, base + off + REC_HEAD, r->body, r->len) != WS_OK ||
        flash_read(q, base + off + REC_HEAD + r->len, tail, 2) != WS_OK) {
        return REC_TORN;
    }
    if (ws_crc16_update(ws_crc16(head + 4, 2), r->body, r->len) != ws_get_u16(tail)) {
        return REC_TORN;
    }
    switch (r->kind) {
    case KIND_EVENT:
        return r->len >= WS_EVENT_MIN_SIZE && r->len <= WS_EVENT_MAX_SIZE ? REC_OK : REC_TORN;
    case KIND_ACK:
        return r->len == 5 ? REC_OK : REC_TORN;
    case KIND_BOOT:
        return r->len == 6 ? REC_OK : REC_TORN;
    case KIND_DROP:
        return r->len == 4 || r->len == 4 + WS_EVENT_GAP_SIZE ? REC_OK : REC_TORN;
    default:
        return REC_TORN;
    }
}

/* The event packet inside a record (an EVENT, or the GAP of a DROP), or NULL. */
static const uint8_t *record_event(const record_t *r, uint32_t *len)
{
    if (r->kind == KIND_EVENT) {
        *len = r->len;
        return r->body;
    }
    if (r->kind == KIND_DROP && r->len == 4 + WS_EVENT_GAP_SIZE) {
        *len = WS_EVENT_GAP_SIZE;
        return r->body + 4;
    }
    return NULL;
}

/* Programs a record into the head page: body first, then the commit word. */
static ws_status_t write_record(ws_queue_t *q, uint8_t kind, const uint8_t *body, uint8_t len)
{
    uint8_t buf[WS_QUEUE_MAX_RECORD_SIZE];
    static const uint8_t commit[4] = {0, 0, 0, 0};
    uint32_t size = record_size(len);
    uint32_t addr;
    ws_status_t st;
    if (q->head == WS_QUEUE_NO_PAGE || q->end[q->head] + size > q->flash->page_size ||
        len > REC_BODY_MAX) {
        return WS_ERR_ARG;
    }
    addr = page_addr(q, q->head) + q->end[q->head];
    buf[0] = kind;
    buf[1] = len;
    memcpy(buf + 2, body, len);
    ws_put_u16(buf + 2 + len, ws_crc16(buf, 2u + len));
    st = q->flash->program(q->flash->ctx, addr + 4, buf, 4u + len);
    if (st == WS_OK) {
        st = q->flash->program(q->flash->ctx, addr, commit, 4);
    }
    if (st != WS_OK) {
        q->head = WS_QUEUE_NO_PAGE; /* the page's tail is unknown: never write there again */
        return WS_ERR_FLASH;
    }
    q->end[q->head] += size;
    return WS_OK;
}

/* Erases a free page and writes its header (a checkpoint of the counters). */
static ws_status_t open_page(ws_queue_t *q)
{
    uint8_t hdr[HDR - 4];
    uint32_t count = q->flash->page_count;
    uint32_t start = q->newest == WS_QUEUE_NO_PAGE ? 0 : q->newest + 1;
    uint32_t i, page = WS_QUEUE_NO_PAGE;
    for (i = 0; i < count; i++) { /* round robin spreads the erases */
        uint32_t p = (start + i) % count;
        if (!q->live[p]) {
            page = p;
            break;
        }
    }
    if (page == WS_QUEUE_NO_PAGE) {
        return WS_ERR_NOSPACE;
    }
    ws_put_u32(hdr, PAGE_MAGIC);
    ws_put_u32(hdr + 4, q->next_page_seq);
    ws_put_u16(hdr + 8, q->epoch);
    ws_put_u24(hdr + 10, q->last_seq);
    ws_put_u24(hdr + 13, q->acked);
    ws_put_u16(hdr + 16, q->boot_count);
    ws_put_u32(hdr + HDR_TIME_OFF, q->now_s);
    ws_put_u16(hdr + HDR_CRC_OFF, ws_crc16(hdr, HDR_CRC_OFF));
    q->next_page_seq++;
    if (q->flash->erase(q->flash->ctx, page) != WS_OK ||
        q->flash->program(q->flash->ctx, page_addr(q, page), hdr, sizeof hdr) != WS_OK) {
        q->head = WS_QUEUE_NO_PAGE;
        return WS_ERR_FLASH;
    }
    q->live[page] = 1;
    q->page_seq[page] = q->next_page_seq - 1;
    q->end[page] = HDR;
    q->max_seq[page] = 0;
    q->head = page;
    q->newest = page;
    return WS_OK;
}

typedef struct {
    uint32_t survivors_bytes;
    uint32_t dropped;
    uint32_t first;
    uint32_t last;
} drop_plan_t;

/* What compacting page at tier would keep and drop. */
static ws_status_t plan_drop(const ws_queue_t *q, uint32_t page, int tier, drop_plan_t *plan)
{
    record_t r;
    uint32_t off = HDR;
    memset(plan, 0, sizeof *plan);
    while (off < q->end[page] && read_record(q, page, off, &r) == REC_OK) {
        uint32_t len, seq;
        const uint8_t *packet = record_event(&r, &len);
        off += r.size;
        if (packet == NULL) {
            continue; /* ACK, BOOT, DROP without gap: the new page's header covers them */
        }
        seq = ws_event_packet_seq(packet);
        if (seq <= q->acked) {
            continue;
        }
        if (event_tier(ws_event_packet_type(packet)) > tier) {
            plan->survivors_bytes += record_size(len);
            continue;
        }
        if (plan->dropped == 0 || seq < plan->first) {
            plan->first = seq;
        }
        if (seq > plan->last) {
            plan->last = seq;
        }
        plan->dropped++;
        if (ws_event_packet_type(packet) == WS_EVENT_GAP) {
            /* A dropped GAP folds into the new one: its range and count carry over,
             * so every dropped seq stays reported by exactly one GAP. */
            uint32_t gap_first;
            uint16_t gap_dropped;
            ws_event_packet_gap(packet, &gap_first, &gap_dropped);
            if (gap_first < plan->first) {
                plan->first = gap_first;
            }
            plan->dropped += gap_dropped;
        }
    }
    return WS_OK;
}

/* Makes room when only the reserve page is free: copies the events worth
 * keeping from a victim page into a fresh page, commits a DROP record (with a
 * GAP event if unacknowledged events were dropped), then erases the victim. */
static ws_status_t compact(ws_queue_t *q, uint32_t needed)
{
    uint32_t count = q->flash->page_count;
    uint32_t capacity = q->flash->page_size - HDR;
    uint32_t victim = WS_QUEUE_NO_PAGE, p, off;
    drop_plan_t plan, best;
    uint8_t body[4 + WS_EVENT_GAP_SIZE];
    int tier, best_tier = 0;
    record_t r;
    ws_status_t st;
    if (free_pages(q) < 1) {
        return WS_ERR_NOSPACE;
    }
    memset(&best, 0, sizeof best);
    for (tier = 0; tier <= 4 && victim == WS_QUEUE_NO_PAGE; tier++) {
        for (p = 0; p < count; p++) {
            uint32_t drop_size;
            if (!q->live[p]) {
                continue;
            }
            plan_drop(q, p, tier, &plan);
            drop_size = record_size(plan.dropped ? 4 + WS_EVENT_GAP_SIZE : 4);
            if (plan.dropped > 0xFFFFu || plan.dropped > plan.last - plan.first + 1 ||
                plan.survivors_bytes + drop_size + needed > capacity) {
                continue;
            }
            if (victim == WS_QUEUE_NO_PAGE || q->page_seq[p] < q->page_seq[victim]) {
                victim = p;
                best = plan;
                best_tier = tier;
            }
        }
    }
    if (victim == WS_QUEUE_NO_PAGE) {
        return WS_ERR_NOSPACE;
    }
    if (best.dropped && q->last_seq >= WS_SEQ_MAX) {
        return WS_ERR_NOSPACE;
    }
    st = open_page(q);
    if (st != WS_OK) {
        return st;
    }
    off = HDR;
    while (off < q->end[victim] && read_record(q, victim, off, &r) == REC_OK) {
        uint32_t len;
        const uint8_t *packet = record_event(&r, &len);
        off += r.size;
        if (packet != NULL && ws_event_packet_seq(packet) > q->acked &&
            event_tier(ws_event_packet_type(packet)) > best_tier) {
            st = write_record(q, KIND_EVENT, packet, (uint8_t)len);
            if (st != WS_OK) {
                return st;
            }
            if (ws_event_packet_seq(packet) > q->max_seq[q->head]) {
                q->max_seq[q->head] = ws_event_packet_seq(packet);
            }
        }
    }
    ws_put_u32(body, q->page_seq[victim]);
    if (best.dropped) {
        ws_event_t gap;
        size_t gap_len = 0;
        memset(&gap, 0, sizeof gap);
        gap.type = WS_EVENT_GAP;
        gap.seq = q->last_seq + 1;
        gap.time_s = q->now_s;
        gap.u.gap.first_seq = best.first;
        gap.u.gap.last_seq = best.last;
        gap.u.gap.dropped = (uint16_t)best.dropped;
        st = ws_event_encode(&gap, body + 4, WS_EVENT_GAP_SIZE, &gap_len);
        if (st != WS_OK) {
            return st;
        }
    }
    st = write_record(q, KIND_DROP, body, best.dropped ? 4 + WS_EVENT_GAP_SIZE : 4);
    if (st != WS_OK) {
        return st;
    }
    if (best.dropped) {
        q->last_seq++;
        q->max_seq[q->head] = q->last_seq;
    }
    /* Superseded by the DROP record. Erased now, not when reused: once the page
     * holding the DROP record is itself compacted away, nothing would say that
     * the victim's dropped events are gone. */
    q->live[victim] = 0;
    if (q->flash->erase(q->flash->ctx, victim) != WS_OK) {
        return WS_ERR_FLASH;
    }
    return WS_OK;
}

/* Guarantees the head page has room for a record of size bytes, opening a new
 * page or compacting as needed; one page always stays free for compaction. */
static ws_status_t ensure_space(ws_queue_t *q, uint32_t size)
{
    uint32_t iter;
    ws_status_t st;
    for (iter = 0; iter < 4u * q->flash->page_count; iter++) {
        if (q->head != WS_QUEUE_NO_PAGE && q->end[q->head] + size <= q->flash->page_size) {
            return WS_OK;
        }
        st = free_pages(q) >= 2 ? open_page(q) : compact(q, size);
        if (st != WS_OK) {
            return st;
        }
    }
    return WS_ERR_NOSPACE;
}

ws_status_t ws_queue_append(ws_queue_t *q, ws_event_t *ev)
{
    uint8_t packet[WS_EVENT_MAX_SIZE];
    size_t len = 0;
    uint32_t page;
    int size;
    ws_status_t st;
    if (q == NULL || ev == NULL || q->flash == NULL) {
        return WS_ERR_ARG;
    }
    size = ws_event_size(ev->type);
    if (size < 0) {
        return WS_ERR_TYPE;
    }
    /* Leave one number for the GAP a compaction may need. */
    if (q->last_seq + 2 > WS_SEQ_MAX) {
        return WS_ERR_NOSPACE;
    }
    ev->seq = 1; /* validated before any flash is touched */
    st = ws_event_validate(ev);
    if (st != WS_OK) {
        return st;
    }
    st = ensure_space(q, record_size((uint32_t)size));
    if (st != WS_OK) {
        return st;
    }
    ev->seq = q->last_seq + 1;
    st = ws_event_encode(ev, packet, sizeof packet, &len);
    if (st != WS_OK) {
        return st;
    }
    page = q->head;
    st = write_record(q, KIND_EVENT, packet, (uint8_t)len);
    if (st != WS_OK) {
        return st;
    }
    q->last_seq = ev->seq;
    q->max_seq[page] = ev->seq;
    return WS_OK;
}

ws_status_t ws_queue_ack(ws_queue_t *q, uint32_t seq)
{
    uint8_t body[5];
    uint32_t p;
    ws_status_t st;
    if (q == NULL || q->flash == NULL || seq > q->last_seq) {
        return WS_ERR_ARG;
    }
    if (seq <= q->acked) {
        return WS_OK;
    }
    ws_put_u16(body, q->epoch);
    ws_put_u24(body + 2, seq);
    /* The host holds these events from now on: a compaction needed to make room
     * for the ACK record may drop them without a GAP. */
    q->acked = seq;
    st = ensure_space(q, record_size(sizeof body));
    if (st == WS_OK) {
        st = write_record(q, KIND_ACK, body, sizeof body);
    }
    if (st != WS_OK) {
        return st;
    }
    /* Pages holding only acknowledged events are free; like every free page they
     * are erased when reused, and until then recovery sees them as acknowledged. */
    for (p = 0; p < q->flash->page_count; p++) {
        if (q->live[p] && p != q->newest && q->max_seq[p] <= q->acked) {
            q->live[p] = 0;
        }
    }
    return WS_OK;
}

ws_status_t ws_queue_new_epoch(ws_queue_t *q)
{
    uint32_t p, old_last, old_acked;
    uint16_t old_epoch;
    ws_status_t st;
    if (q == NULL || q->flash == NULL) {
        return WS_ERR_ARG;
    }
    if (q->epoch == 0xFFFFu) {
        return WS_ERR_RANGE;
    }
    old_epoch = q->epoch;
    old_last = q->last_seq;
    old_acked = q->acked;
    q->epoch++;
    q->last_seq = 0;
    q->acked = 0;
    /* The new epoch exists once its first page header is written; the old
     * pages then no longer count and are erased when reused. */
    st = open_page(q);
    if (st != WS_OK) {
        q->epoch = old_epoch;
        q->last_seq = old_last;
        q->acked = old_acked;
        return st;
    }
    for (p = 0; p < q->flash->page_count; p++) {
        if (p != q->head) {
            q->live[p] = 0;
        }
    }
    return WS_OK;
}

ws_status_t ws_queue_note_boot(ws_queue_t *q)
{
    uint8_t body[6];
    ws_status_t st;
    if (q == NULL || q->flash == NULL) {
        return WS_ERR_ARG;
    }
    ws_put_u16(body, (uint32_t)q->boot_count + 1u);
    ws_put_u32(body + 2, q->now_s);
    st = ensure_space(q, record_size(sizeof body));
    if (st == WS_OK) {
        st = write_record(q, KIND_BOOT, body, sizeof body);
    }
    if (st == WS_OK) {
        q->boot_count++;
    }
    return st;
}

/* Scans page p for the event with the smallest seq above after that is below *best (0:
 * none yet), keeping it in *found. 1 when that seq is after + 1, which nothing can beat. */
static int next_in_page(const ws_queue_t *q, uint32_t p, uint32_t after, uint32_t *best,
                        record_t *found)
{
    uint32_t off = HDR;
    record_t r;
    while (off < q->end[p] && read_record(q, p, off, &r) == REC_OK) {
        uint32_t n;
        const uint8_t *packet = record_event(&r, &n);
        if (packet != NULL) {
            uint32_t s = ws_event_packet_seq(packet);
            if (s > after && (*best == 0 || s < *best)) {
                *best = s;
                *found = r;
                if (s == after + 1u) {
                    return 1;
                }
            }
        }
        off += r.size;
    }
    return 0;
}

ws_status_t ws_queue_next(const ws_queue_t *q, uint32_t after, uint8_t *out, size_t cap,
                          size_t *len, uint32_t *seq)
{
    uint32_t p, best = 0, first = WS_QUEUE_NO_PAGE;
    record_t found;
    if (q == NULL || q->flash == NULL || out == NULL || len == NULL || seq == NULL) {
        return WS_ERR_ARG;
    }
    *len = 0;
    *seq = 0;
    memset(&found, 0, sizeof found);
    if (after < q->acked) {
        after = q->acked;
    }
    /* The next event is almost always in the page with the lowest max_seq above after
     * and is after + 1: scan that page first and stop there when it is, rather than
     * reading (and CRC-checking) every record of every page for each notification.
     * Otherwise every other page is scanned too, so the result is the smallest seq. */
    for (p = 0; p < q->flash->page_count; p++) {
        if (q->live[p] && q->max_seq[p] > after &&
            (first == WS_QUEUE_NO_PAGE || q->max_seq[p] < q->max_seq[first])) {
            first = p;
        }
    }
    if (first == WS_QUEUE_NO_PAGE) {
        return WS_OK;
    }
    if (!next_in_page(q, first, after, &best, &found)) {
        for (p = 0; p < q->flash->page_count; p++) {
            if (p != first && q->live[p] && q->max_seq[p] > after &&
                next_in_page(q, p, after, &best, &found)) {
                break;
            }
        }
    }
    if (best != 0) {
        uint32_t n;
        const uint8_t *packet = record_event(&found, &n);
        if (packet == NULL || cap < n) {
            return WS_ERR_ARG;
        }
        memcpy(out, packet, n);
        *len = n;
        *seq = best;
    }
    return WS_OK;
}

uint32_t ws_queue_free_events(const ws_queue_t *q)
{
    uint32_t per_page, n = 0, free_n;
    uint32_t size = record_size(WS_EVENT_MAX_SIZE);
    if (q == NULL || q->flash == NULL) {
        return 0;
    }
    per_page = (q->flash->page_size - HDR) / size;
    free_n = free_pages(q);
    if (free_n > 1) {
        n = (free_n - 1) * per_page;
    }
    if (q->head != WS_QUEUE_NO_PAGE) {
        n += (q->flash->page_size - q->end[q->head]) / size;
    }
    return n;
}

uint32_t ws_queue_pending(const ws_queue_t *q)
{
    uint32_t p, n = 0;
    record_t r;
    if (q == NULL || q->flash == NULL) {
        return 0;
    }
    for (p = 0; p < q->flash->page_count; p++) {
        uint32_t off = HDR;
        if (!q->live[p]) {
            continue;
        }
        while (off < q->end[p] && read_record(q, p, off, &r) == REC_OK) {
            uint32_t len;
            const uint8_t *packet = record_event(&r, &len);
            if (packet != NULL && ws_event_packet_seq(packet) > q->acked) {
                n++;
            }
            off += r.size;
        }
    }
    return n;
}

/* ---- recovery ---- */

typedef struct {
    uint32_t page_seq;
    uint16_t epoch;
    uint32_t last_seq;
    uint32_t acked;
    uint16_t boot_count;
    uint32_t time_s;
} page_header_t;

/* 1 when the page holds a valid header, whether retired (*retired) or not. */
static int read_header(const ws_queue_t *q, uint32_t page, page_header_t *h, int *retired)
{
    uint8_t raw[HDR];
    if (flash_read(q, page_addr(q, page), raw, HDR) != WS_OK) {
        return 0;
    }
    if (ws_get_u32(raw) != PAGE_MAGIC ||
        ws_crc16(raw, HDR_CRC_OFF) != ws_get_u16(raw + HDR_CRC_OFF)) {
        return 0;
    }
    h->page_seq = ws_get_u32(raw + 4);
    h->epoch = ws_get_u16(raw + 8);
    h->last_seq = ws_get_u24(raw + 10);
    h->acked = ws_get_u24(raw + 13);
    h->boot_count = ws_get_u16(raw + 16);
    h->time_s = ws_get_u32(raw + HDR_TIME_OFF);
    *retired = ws_get_u32(raw + HDR_RETIRE_OFF) != 0xFFFFFFFFu;
    return 1;
}

/* Scans a live page's records into the counters; returns 1 when it holds any
 * record other than events (so it is not a mere copy). */
static int scan_page(ws_queue_t *q, uint32_t p)
{
    record_t r;
    uint32_t off = HDR;
    int rc, other = 0;
    q->max_seq[p] = 0;
    while ((rc = read_record(q, p, off, &r)) == REC_OK) {
        uint32_t len;
        const uint8_t *packet = record_event(&r, &len);
        off += r.size;
        if (packet != NULL) {
            uint32_t s = ws_event_packet_seq(packet);
            if (s > q->max_seq[p]) {
                q->max_seq[p] = s;
            }
            if (s > q->last_seq) {
                q->last_seq = s;
            }
            if (ws_event_packet_time(packet) > q->last_time_s) {
                q->last_time_s = ws_event_packet_time(packet);
            }
        }
        if (r.kind == KIND_ACK && ws_get_u16(r.body) == q->epoch &&
            ws_get_u24(r.body + 2) > q->acked) {
            q->acked = ws_get_u24(r.body + 2);
        }
        if (r.kind == KIND_BOOT && ws_get_u16(r.body) > q->boot_count) {
            q->boot_count = ws_get_u16(r.body);
        }
        if (r.kind == KIND_BOOT && ws_get_u32(r.body + 2) > q->last_time_s) {
            q->last_time_s = ws_get_u32(r.body + 2);
        }
        other |= r.kind != KIND_EVENT;
    }
    /* A torn tail (rc == REC_TORN) ends the page: nothing is written after it. */
    q->end[p] = rc == REC_END ? off : q->flash->page_size;
    return other;
}

/* 1 when an event with seq exists in a live page other than skip. */
static int event_elsewhere(const ws_queue_t *q, uint32_t skip, uint32_t seq)
{
    uint32_t p;
    record_t r;
    for (p = 0; p < q->flash->page_count; p++) {
        uint32_t off = HDR;
        if (p == skip || !q->live[p] || q->max_seq[p] < seq) {
            continue;
        }
        while (off < q->end[p] && read_record(q, p, off, &r) == REC_OK) {
            uint32_t len;
            const uint8_t *packet = record_event(&r, &len);
            if (packet != NULL && ws_event_packet_seq(packet) == seq) {
                return 1;
            }
            off += r.size;
        }
    }
    return 0;
}

/* An interrupted compaction leaves a newest page that only holds copies of
 * events that still live in their old page: it carries nothing of its own. */
static int newest_is_redundant(const ws_queue_t *q, int has_other_records)
{
    uint32_t p, off = HDR, n = q->newest;
    int same_epoch_elsewhere = 0;
    record_t r;
    if (has_other_records) {
        return 0;
    }
    for (p = 0; p < q->flash->page_count; p++) {
        same_epoch_elsewhere |= q->live[p] && p != n;
    }
    if (!same_epoch_elsewhere) {
        return 0; /* it may be the page that carries a new epoch */
    }
    while (off < q->end[n] && read_record(q, n, off, &r) == REC_OK) {
        uint32_t len;
        const uint8_t *packet = record_event(&r, &len);
        off += r.size;
        if (packet != NULL && ws_event_packet_seq(packet) > q->acked &&
            !event_elsewhere(q, n, ws_event_packet_seq(packet))) {
            return 0;
        }
    }
    return 1;
}

static void pick_newest(ws_queue_t *q)
{
    uint32_t p;
    q->newest = WS_QUEUE_NO_PAGE;
    for (p = 0; p < q->flash->page_count; p++) {
        if (q->live[p] && (q->newest == WS_QUEUE_NO_PAGE ||
                           q->page_seq[p] > q->page_seq[q->newest])) {
            q->newest = p;
        }
    }
}

ws_status_t ws_queue_mount(ws_queue_t *q, const ws_flash_t *flash)
{
    uint32_t p, count, max_page_seq = 0;
    uint8_t other[WS_QUEUE_MAX_PAGES];
    uint16_t epoch = 0;
    int any = 0, any_header = 0;
    page_header_t h;
    record_t r;
    if (q == NULL || flash == NULL || flash->read == NULL || flash->program == NULL ||
        flash->erase == NULL) {
        return WS_ERR_ARG;
    }
    if (flash->page_count < WS_QUEUE_MIN_PAGES || flash->page_count > WS_QUEUE_MAX_PAGES ||
        flash->page_size < WS_QUEUE_MIN_PAGE_SIZE || flash->page_size > WS_QUEUE_MAX_PAGE_SIZE ||
        flash->page_size % 4 != 0) {
        return WS_ERR_RANGE;
    }
    memset(q, 0, sizeof *q);
    q->flash = flash;
    q->head = WS_QUEUE_NO_PAGE;
    q->newest = WS_QUEUE_NO_PAGE;
    count = flash->page_count;
    /* Pass 1: headers. Only the highest epoch counts; page sequence numbers
     * stay unique across everything ever written. */
    for (p = 0; p < count; p++) {
        int retired = 0;
        if (!read_header(q, p, &h, &retired)) {
            continue;
        }
        if (!any_header || h.page_seq > max_page_seq) {
            max_page_seq = h.page_seq;
        }
        any_header = 1;
        if (retired) {
            continue;
        }
        q->live[p] = 1;
        q->page_seq[p] = h.page_seq;
        if (!any || h.epoch > epoch) {
            epoch = h.epoch;
        }
        any = 1;
    }
    q->next_page_seq = any_header ? max_page_seq + 1 : 1;
    if (!any) { /* blank (or never completely formatted): epoch 1 */
        q->epoch = 1;
        q->formatted = 1;
        return open_page(q);
    }
    q->epoch = epoch;
    /* Pass 2: counters from the checkpoints of this epoch's pages. */
    for (p = 0; p < count; p++) {
        int retired = 0;
        if (!q->live[p]) {
            continue;
        }
        if (!read_header(q, p, &h, &retired) || h.epoch != epoch) {
            q->live[p] = 0;
            continue;
        }
        if (h.last_seq > q->last_seq) {
            q->last_seq = h.last_seq;
        }
        if (h.acked > q->acked) {
            q->acked = h.acked;
        }
        if (h.boot_count > q->boot_count) {
            q->boot_count = h.boot_count;
        }
        if (h.time_s > q->last_time_s) {
            q->last_time_s = h.time_s;
        }
    }
    /* Pass 3: records. */
    for (p = 0; p < count; p++) {
        other[p] = q->live[p] ? (uint8_t)scan_page(q, p) : 0;
    }
    /* Pass 4: a committed DROP record supersedes its victim page. */
    for (p = 0; p < count; p++) {
        uint32_t off = HDR;
        if (!q->live[p]) {
            continue;
        }
        while (off < q->end[p] && read_record(q, p, off, &r) == REC_OK) {
            off += r.size;
            if (r.kind == KIND_DROP) {
                uint32_t victim_seq = ws_get_u32(r.body), v;
                for (v = 0; v < count; v++) {
                    if (v != p && q->live[v] && q->page_seq[v] == victim_seq) {
                        q->live[v] = 0; /* a compaction cut before its erase: finish it */
                        if (flash->erase(flash->ctx, v) != WS_OK) {
                            return WS_ERR_FLASH;
                        }
                    }
                }
            }
        }
    }
    pick_newest(q);
    if (q->newest == WS_QUEUE_NO_PAGE) {
        return WS_ERR_FLASH; /* headers read a moment ago no longer read back */
    }
    if (newest_is_redundant(q, other[q->newest])) {
        static const uint8_t retire[4] = {0, 0, 0, 0};
        uint32_t n = q->newest;
        if (flash->program(flash->ctx, page_addr(q, n) + HDR_RETIRE_OFF, retire, 4) != WS_OK) {
            return WS_ERR_FLASH;
        }
        q->live[n] = 0;
        pick_newest(q);
        if (q->newest == WS_QUEUE_NO_PAGE) {
            return WS_ERR_FLASH;
        }
    }
    /* Pages that only hold acknowledged events are free (erased when reused). */
    for (p = 0; p < count; p++) {
        if (q->live[p] && p != q->newest && q->max_seq[p] <= q->acked) {
            q->live[p] = 0;
        }
    }
    if (q->end[q->newest] < flash->page_size) {
        q->head = q->newest;
    }
    return WS_OK;
}
