/* A/B model slots on their own flash partition (ws_model_store.h, docs/model-updates.md). */
#include "ws_model_store.h"

#include <string.h>

#include "ws_bytes.h"
#include "ws_pkg.h"
#include "ws_protocol.h"

#define BEGIN_MAGIC 0x424D5357u /* "WSMB" */
#define ENTRY_PROGRESS 0x31475250u /* "PRG1" */
#define ENTRY_COMMIT 0x314D4F43u   /* "COM1" */
#define ENTRY_BAD 0x31444142u      /* "BAD1" */
#define BEGIN_BODY 46u             /* bytes 0..45: magic .. crc */
#define BEGIN_COMMIT_AT 48u
#define ENTRY_BODY 12u
#define ENTRY_COMMIT_AT 12u

size_t ws_model_store_size(void) { return sizeof(ws_model_store_t); }

static uint32_t max_model(uint8_t task)
{
    switch (task) {
    case WS_PKG_TASK_AFIB: return WS_MODEL_MAX_AFIB;
    case WS_PKG_TASK_FALL: return WS_MODEL_MAX_FALL;
    case WS_PKG_TASK_ACTIVITY: return WS_MODEL_MAX_ACTIVITY;
    default: return 0;
    }
}

uint32_t ws_model_store_max_package(uint8_t task)
{
    uint32_t m = max_model(task);
    if (m == 0) {
        return 0;
    }
    return ((WS_PKG_HEADER_SIZE + m + WS_PKG_ALIGN - 1) / WS_PKG_ALIGN) * WS_PKG_ALIGN +
           WS_PKG_SELFTEST_SIZE + WS_PKG_SIGNATURE_SIZE;
}

static uint32_t data_pages(uint8_t task, uint32_t page_size)
{
    return (ws_model_store_max_package(task) + page_size - 1) / page_size;
}

uint32_t ws_model_store_pages(uint32_t page_size)
{
    uint32_t total = 0;
    uint8_t t;
    if (page_size == 0) {
        return 0;
    }
    for (t = 0; t < WS_MODEL_TASKS; t++) {
        total += WS_MODEL_SLOTS * (1u + data_pages(t, page_size));
    }
    return total;
}

static uint32_t meta_addr(const ws_model_store_t *s, const ws_model_slot_t *sl)
{
    return sl->first_page * s->page_size;
}

static uint32_t data_addr(const ws_model_store_t *s, const ws_model_slot_t *sl)
{
    return (sl->first_page + 1u) * s->page_size;
}

static uint32_t capacity(const ws_model_store_t *s, const ws_model_slot_t *sl)
{
    return sl->data_pages * s->page_size;
}

static int blank(const uint8_t *p, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++) {
        if (p[i] != 0xFF) {
            return 0;
        }
    }
    return 1;
}

/* Progress is recorded at least every `granularity` bytes, so the log never runs out
 * however small the chunks are (entries are kept in reserve for COMMIT and BAD). */
static uint32_t granularity(const ws_model_store_t *s, const ws_model_slot_t *sl)
{
    uint32_t n = s->log_entries - WS_MODEL_STORE_ENTRY_RESERVE;
    return (capacity(s, sl) + n - 1) / n;
}

static void scan_slot(ws_model_store_t *s, ws_model_slot_t *sl, uint8_t task)
{
    const uint8_t *meta = s->mapped + meta_addr(s, sl);
    uint32_t i;
    sl->begun = sl->committed = sl->bad = 0;
    sl->version = 0;
    sl->size = 0;
    sl->generation = 0;
    sl->received = sl->persisted = 0;
    sl->log_next = 0;
    memset(sl->sha256, 0, sizeof sl->sha256);
    if (ws_get_u32(meta) == BEGIN_MAGIC && ws_get_u32(meta + BEGIN_COMMIT_AT) == 0 &&
        ws_crc16(meta, BEGIN_BODY - 2) == ws_get_u16(meta + BEGIN_BODY - 2) && meta[4] == task &&
        meta[5] == 0 && ws_get_u32(meta + 8) >= 1 && ws_get_u32(meta + 8) <= capacity(s, sl) &&
        ws_get_u16(meta + 6) >= 1) {
        sl->begun = 1;
        sl->version = ws_get_u16(meta + 6);
        sl->size = ws_get_u32(meta + 8);
        memcpy(sl->sha256, meta + 12, 32);
    }
    for (i = 0; i < s->log_entries; i++) {
        const uint8_t *e = meta + WS_MODEL_STORE_META_SIZE + i * WS_MODEL_STORE_ENTRY_SIZE;
        uint32_t kind = ws_get_u32(e), value = ws_get_u32(e + 4);
        if (blank(e, WS_MODEL_STORE_ENTRY_SIZE)) {
            break; /* entries are appended in order: the first blank one ends the log */
        }
        sl->log_next = i + 1;
        if (ws_get_u32(e + ENTRY_COMMIT_AT) != 0 || ws_crc16(e, 10) != ws_get_u16(e + 10) ||
            !sl->begun) {
            continue; /* torn (or orphaned by a torn BEGIN): never counts */
        }
        if (kind == ENTRY_PROGRESS && value <= sl->size && value >= sl->persisted) {
            sl->persisted = value;
        } else if (kind == ENTRY_COMMIT && ws_get_u16(e + 8) == sl->version &&
                   sl->persisted == sl->size) {
            sl->committed = 1;
            sl->generation = value;
        } else if (kind == ENTRY_BAD) {
            sl->bad = 1;
        }
    }
    if (!sl->begun) {
        sl->log_next = s->log_entries; /* nothing may be appended before a new BEGIN */
    }
    sl->received = sl->persisted;
}

static void pick_active(ws_model_store_t *s, uint8_t task)
{
    int8_t best = -1;
    uint8_t k;
    for (k = 0; k < WS_MODEL_SLOTS; k++) {
        const ws_model_slot_t *sl = &s->slot[task][k];
        if (sl->committed && !sl->bad &&
            (best < 0 || sl->generation > s->slot[task][best].generation)) {
            best = (int8_t)k;
        }
    }
    s->active[task] = best;
}

ws_status_t ws_model_store_mount(ws_model_store_t *s, const ws_flash_t *flash,
                                 const uint8_t *mapped)
{
    uint32_t page = 0;
    uint8_t t, k;
    if (s == NULL || flash == NULL || mapped == NULL || ((uintptr_t)mapped % WS_PKG_ALIGN) != 0) {
        return WS_ERR_ARG;
    }
    if (flash->page_size < 1024 || flash->page_size % WS_PKG_ALIGN != 0 ||
        flash->page_count < ws_model_store_pages(flash->page_size)) {
        return WS_ERR_RANGE;
    }
    memset(s, 0, sizeof *s);
    s->flash = flash;
    s->mapped = mapped;
    s->page_size = flash->page_size;
    s->log_entries = (s->page_size - WS_MODEL_STORE_META_SIZE) / WS_MODEL_STORE_ENTRY_SIZE;
    for (t = 0; t < WS_MODEL_TASKS; t++) {
        for (k = 0; k < WS_MODEL_SLOTS; k++) {
            ws_model_slot_t *sl = &s->slot[t][k];
            sl->first_page = page;
            sl->data_pages = data_pages(t, s->page_size);
            page += 1u + sl->data_pages;
            scan_slot(s, sl, t);
        }
        pick_active(s, t);
    }
    return WS_OK;
}

static ws_status_t check_task(const ws_model_store_t *s, uint8_t task)
{
    if (s == NULL || s->flash == NULL) {
        return WS_ERR_ARG;
    }
    return task < WS_MODEL_TASKS ? WS_OK : WS_ERR_RANGE;
}

ws_status_t ws_model_store_active(const ws_model_store_t *s, uint8_t task, ws_model_t *out)
{
    const ws_model_slot_t *sl;
    ws_status_t st = check_task(s, task);
    if (st != WS_OK || out == NULL) {
        return st != WS_OK ? st : WS_ERR_ARG;
    }
    memset(out, 0, sizeof *out);
    if (s->active[task] < 0) {
        return WS_ERR_STATE;
    }
    sl = &s->slot[task][s->active[task]];
    out->package = s->mapped + data_addr(s, sl);
    out->package_len = sl->size;
    out->model = out->package + WS_PKG_HEADER_SIZE;
    out->model_len = ws_get_u32(out->package + 16); /* verified before the slot was committed */
    out->version = sl->version;
    out->slot = (uint8_t)s->active[task];
    out->generation = sl->generation;
    return WS_OK;
}

uint16_t ws_model_store_version(const ws_model_store_t *s, uint8_t task)
{
    if (check_task(s, task) != WS_OK || s->active[task] < 0) {
        return 0;
    }
    return s->slot[task][s->active[task]].version;
}

ws_status_t ws_model_store_slot_info(const ws_model_store_t *s, uint8_t task, uint8_t slot,
                                     ws_model_slot_info_t *out)
{
    const ws_model_slot_t *sl;
    ws_status_t st = check_task(s, task);
    if (st != WS_OK || out == NULL || slot >= WS_MODEL_SLOTS) {
        return st != WS_OK ? st : WS_ERR_ARG;
    }
    sl = &s->slot[task][slot];
    out->begun = sl->begun;
    out->committed = sl->committed;
    out->bad = sl->bad;
    out->version = sl->version;
    out->size = sl->size;
    out->received = sl->received;
    out->persisted = sl->persisted;
    out->generation = sl->generation;
    out->log_used = sl->begun ? sl->log_next : 0;
    return WS_OK;
}

/* The slot a transfer goes to: never the running one. */
static ws_model_slot_t *idle_slot(ws_model_store_t *s, uint8_t task)
{
    return &s->slot[task][s->active[task] == 0 ? 1 : 0];
}

/* Appends one log entry: body, then the commit word. */
static ws_status_t append(ws_model_store_t *s, ws_model_slot_t *sl, uint32_t kind,
                          uint32_t value, uint16_t aux, uint32_t reserve)
{
    uint8_t e[ENTRY_BODY];
    static const uint8_t zero[4] = {0, 0, 0, 0};
    uint32_t addr;
    ws_status_t st;
    if (sl->log_next + reserve >= s->log_entries) {
        return WS_ERR_NOSPACE;
    }
    addr = meta_addr(s, sl) + WS_MODEL_STORE_META_SIZE + sl->log_next * WS_MODEL_STORE_ENTRY_SIZE;
    sl->log_next++; /* a failed program still uses the entry: nothing is written over it */
    ws_put_u32(e, kind);
    ws_put_u32(e + 4, value);
    ws_put_u16(e + 8, aux);
    ws_put_u16(e + 10, ws_crc16(e, 10));
    st = s->flash->program(s->flash->ctx, addr, e, ENTRY_BODY);
    if (st == WS_OK) {
        st = s->flash->program(s->flash->ctx, addr + ENTRY_COMMIT_AT, zero, 4);
    }
    return st;
}

static ws_status_t start_slot(ws_model_store_t *s, ws_model_slot_t *sl, uint8_t task,
                              uint16_t version, uint32_t size, const uint8_t sha256[32])
{
    uint8_t rec[BEGIN_BODY];
    static const uint8_t zero[4] = {0, 0, 0, 0};
    uint32_t p;
    ws_status_t st;
    /* Forget the slot before touching the flash: whatever happens next, it is not run. */
    sl->begun = sl->committed = 0;
    sl->bad = 1;
    sl->log_next = s->log_entries;
    for (p = 0; p <= sl->data_pages; p++) {
        st = s->flash->erase(s->flash->ctx, sl->first_page + p);
        if (st != WS_OK) {
            return st;
        }
    }
    memset(rec, 0, sizeof rec);
    ws_put_u32(rec, BEGIN_MAGIC);
    rec[4] = task;
    ws_put_u16(rec + 6, version);
    ws_put_u32(rec + 8, size);
    memcpy(rec + 12, sha256, 32);
    ws_put_u16(rec + 44, ws_crc16(rec, 44));
    st = s->flash->program(s->flash->ctx, meta_addr(s, sl), rec, BEGIN_BODY);
    if (st == WS_OK) {
        st = s->flash->program(s->flash->ctx, meta_addr(s, sl) + BEGIN_COMMIT_AT, zero, 4);
    }
    if (st != WS_OK) {
        return st;
    }
    scan_slot(s, sl, task);
    return sl->begun ? WS_OK : WS_ERR_FLASH;
}

ws_status_t ws_model_store_begin(ws_model_store_t *s, uint8_t task, uint16_t version,
                                 uint32_t size, const uint8_t sha256[32])
{
    ws_model_slot_t *sl;
    ws_status_t st = check_task(s, task);
    if (st != WS_OK || sha256 == NULL) {
        return st != WS_OK ? st : WS_ERR_ARG;
    }
    sl = idle_slot(s, task);
    if (size == 0 || size > ws_model_store_max_package(task) || size > capacity(s, sl)) {
        return WS_ERR_NOSPACE;
    }
    if (sl->begun && !sl->committed && !sl->bad && sl->version == version && sl->size == size &&
        memcmp(sl->sha256, sha256, 32) == 0 && sl->log_next + 1 < s->log_entries) {
        return WS_OK; /* the same package: resume where it stopped */
    }
    return start_slot(s, sl, task, version, size, sha256);
}

ws_status_t ws_model_store_transfer(const ws_model_store_t *s, uint8_t task,
                                    ws_model_slot_info_t *info, const uint8_t **package,
                                    const uint8_t **sha256)
{
    const ws_model_slot_t *sl;
    ws_status_t st = check_task(s, task);
    if (st != WS_OK) {
        return st;
    }
    sl = &s->slot[task][s->active[task] == 0 ? 1 : 0];
    if (!sl->begun || sl->committed || sl->bad) {
        return WS_ERR_STATE;
    }
    if (info != NULL) {
        (void)ws_model_store_slot_info(s, task, (uint8_t)(sl - s->slot[task]), info);
    }
    if (package != NULL) {
        *package = s->mapped + data_addr(s, sl);
    }
    if (sha256 != NULL) {
        *sha256 = sl->sha256;
    }
    return WS_OK;
}

ws_status_t ws_model_store_write(ws_model_store_t *s, uint8_t task, uint32_t offset,
                                 const uint8_t *data, uint32_t len)
{
    ws_model_slot_t *sl;
    const uint8_t *dst;
    uint32_t i;
    ws_status_t st = check_task(s, task);
    if (st != WS_OK || data == NULL || len == 0) {
        return st != WS_OK ? st : WS_ERR_ARG;
    }
    if (ws_model_store_transfer(s, task, NULL, NULL, NULL) != WS_OK) {
        return WS_ERR_STATE;
    }
    sl = idle_slot(s, task);
    if (offset != sl->received) {
        return WS_ERR_STATE;
    }
    if (len > sl->size - offset) {
        return WS_ERR_RANGE;
    }
    /* Bytes past the recorded progress may already hold this chunk (a power cut before
     * its PROGRESS entry): programming the same bytes again is harmless on NOR. Anything
     * else cannot be programmed over, so the transfer starts again on an erased slot. */
    dst = s->mapped + data_addr(s, sl) + offset;
    for (i = 0; i < len; i++) {
        if ((dst[i] & data[i]) != data[i]) {
            uint8_t sha[32];
            memcpy(sha, sl->sha256, sizeof sha);
            st = start_slot(s, sl, task, sl->version, sl->size, sha);
            return st == WS_OK ? WS_ERR_FLASH : st;
        }
    }
    st = s->flash->program(s->flash->ctx, data_addr(s, sl) + offset, data, len);
    if (st != WS_OK) {
        return st;
    }
    sl->received = offset + len;
    if (sl->received == sl->size || sl->received - sl->persisted >= granularity(s, sl)) {
        st = append(s, sl, ENTRY_PROGRESS, sl->received, 0, WS_MODEL_STORE_ENTRY_RESERVE);
        if (st == WS_OK) {
            sl->persisted = sl->received;
        } else if (st == WS_ERR_NOSPACE) {
            st = WS_OK; /* unreachable by granularity; the bytes stay in RAM progress */
        }
    }
    return st;
}

ws_status_t ws_model_store_commit(ws_model_store_t *s, uint8_t task)
{
    ws_model_slot_t *sl;
    uint32_t generation = 1;
    ws_status_t st = check_task(s, task);
    if (st != WS_OK) {
        return st;
    }
    if (ws_model_store_transfer(s, task, NULL, NULL, NULL) != WS_OK) {
        return WS_ERR_STATE;
    }
    sl = idle_slot(s, task);
    if (sl->persisted != sl->size) {
        return WS_ERR_STATE;
    }
    if (s->active[task] >= 0) {
        generation = s->slot[task][s->active[task]].generation + 1u;
    }
    st = append(s, sl, ENTRY_COMMIT, generation, sl->version, 1);
    if (st != WS_OK) {
        return st;
    }
    sl->committed = 1;
    sl->generation = generation;
    s->active[task] = (int8_t)(sl - s->slot[task]);
    return WS_OK;
}

ws_status_t ws_model_store_discard(ws_model_store_t *s, uint8_t task)
{
    ws_model_slot_t *sl;
    ws_status_t st = check_task(s, task);
    if (st != WS_OK) {
        return st;
    }
    if (ws_model_store_transfer(s, task, NULL, NULL, NULL) != WS_OK) {
        return WS_OK; /* nothing in progress */
    }
    sl = idle_slot(s, task);
    sl->bad = 1; /* in RAM at once; a torn BAD entry only means a later BEGIN erases it */
    st = append(s, sl, ENTRY_BAD, 0, 0, 0);
    return st == WS_ERR_NOSPACE ? WS_OK : st;
}

ws_status_t ws_model_store_reject(ws_model_store_t *s, uint8_t task)
{
    ws_model_slot_t *sl;
    ws_status_t st = check_task(s, task);
    if (st != WS_OK) {
        return st;
    }
    if (s->active[task] < 0) {
        return WS_ERR_STATE;
    }
    sl = &s->slot[task][s->active[task]];
    sl->bad = 1;
    /* The log keeps room for this entry; if it cannot be written the slot is still
     * rejected at every boot, because it fails the same verification again. */
    st = append(s, sl, ENTRY_BAD, 0, 0, 0);
    pick_active(s, task);
    return st == WS_ERR_NOSPACE ? WS_OK : st;
}
