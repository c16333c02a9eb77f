/* The wearer's settings in two flash pages used in turn (ws_settings.h). */
#include "ws_settings.h"

#include <string.h>

#include "ws_bytes.h"
#include "ws_protocol.h"

#define MAGIC 0x31535357u /* "WSS1" */
#define OFF_SEQ 4
#define OFF_BODY 8 /* fall_cancel_s, summary_min, calibrated, 0, ref[3], 0, 0 */
#define OFF_CRC 22

static void encode(const ws_settings_t *s, uint32_t seq, uint8_t *rec)
{
    int i;
    memset(rec, 0, WS_SETTINGS_RECORD_SIZE);
    ws_put_u32(rec, MAGIC);
    ws_put_u32(rec + OFF_SEQ, seq);
    ws_put_u16(rec + OFF_BODY, s->fall_cancel_s);
    ws_put_u16(rec + OFF_BODY + 2, s->summary_min);
    rec[OFF_BODY + 4] = s->posture_calibrated;
    for (i = 0; i < 3; i++) {
        ws_put_u16(rec + OFF_BODY + 6 + 2 * i, (uint16_t)s->posture_ref[i]);
    }
    ws_put_u16(rec + OFF_CRC, ws_crc16(rec, OFF_CRC));
}

/* 1 with *s and *seq when rec is a whole, valid record; else 0 */
static int decode(const uint8_t *rec, ws_settings_t *s, uint32_t *seq)
{
    int i;
    if (ws_get_u32(rec) != MAGIC || ws_crc16(rec, OFF_CRC) != ws_get_u16(rec + OFF_CRC) ||
        rec[OFF_BODY + 4] > 1u || rec[OFF_BODY + 5] != 0 ||
        ws_get_u16(rec + OFF_BODY + 12) != 0 || ws_get_u32(rec + OFF_SEQ) == 0) {
        return 0;
    }
    memset(s, 0, sizeof *s);
    s->fall_cancel_s = ws_get_u16(rec + OFF_BODY);
    s->summary_min = ws_get_u16(rec + OFF_BODY + 2);
    s->posture_calibrated = rec[OFF_BODY + 4];
    for (i = 0; i < 3; i++) {
        s->posture_ref[i] = ws_get_i16(rec + OFF_BODY + 6 + 2 * i);
    }
    *seq = ws_get_u32(rec + OFF_SEQ);
    /* values SET_CONFIG could never have set: not a record this firmware wrote */
    return s->fall_cancel_s >= WS_FALL_CANCEL_S_MIN && s->fall_cancel_s <= WS_FALL_CANCEL_S_MAX &&
           s->summary_min >= WS_SUMMARY_MIN_MIN && s->summary_min <= WS_SUMMARY_MIN_MAX;
}

static int same(const ws_settings_t *a, const ws_settings_t *b)
{
    return a->fall_cancel_s == b->fall_cancel_s && a->summary_min == b->summary_min &&
           a->posture_calibrated == b->posture_calibrated &&
           a->posture_ref[0] == b->posture_ref[0] && a->posture_ref[1] == b->posture_ref[1] &&
           a->posture_ref[2] == b->posture_ref[2];
}

ws_status_t ws_settings_mount(ws_settings_store_t *store, const ws_flash_t *flash,
                              const ws_settings_t *defaults)
{
    uint8_t rec[WS_SETTINGS_RECORD_SIZE];
    uint32_t page;
    if (store == NULL || defaults == NULL ||
        (flash != NULL && (flash->page_count < WS_SETTINGS_PAGES ||
                           flash->page_size < WS_SETTINGS_RECORD_SIZE))) {
        return WS_ERR_ARG;
    }
    memset(store, 0, sizeof *store);
    store->flash = flash;
    store->cur = *defaults;
    store->page = 1; /* so that the first save goes to page 0 */
    for (page = 0; flash != NULL && page < WS_SETTINGS_PAGES; page++) {
        ws_settings_t s;
        uint32_t seq;
        if (flash->read(flash->ctx, page * flash->page_size, rec, sizeof rec) == WS_OK &&
            decode(rec, &s, &seq) && seq > store->seq) {
            store->cur = s;
            store->seq = seq;
            store->page = (uint8_t)page;
        }
    }
    return WS_OK;
}

ws_status_t ws_settings_save(ws_settings_store_t *store, const ws_settings_t *s)
{
    uint8_t rec[WS_SETTINGS_RECORD_SIZE];
    uint32_t target, addr;
    int wrap;
    const ws_flash_t *f;
    if (store == NULL || s == NULL) {
        return WS_ERR_ARG;
    }
    if (s->posture_calibrated > 1u) {
        return WS_ERR_RANGE;
    }
    f = store->flash;
    if (f == NULL) {
        store->cur = *s;
        return WS_OK;
    }
    if (store->seq != 0 && same(&store->cur, s)) {
        return WS_OK;
    }
    /* the page that does not hold the current record; the current one is not touched until
     * the new one is whole */
    target = store->page ^ 1u;
    addr = target * f->page_size;
    /* the numbering starts again at 1 after the last sequence number (a record found with
     * it); the old record is then erased once the new one is whole, so 1 is not outranked */
    wrap = store->seq == 0xFFFFFFFFu;
    encode(s, wrap ? 1u : store->seq + 1u, rec);
    if (f->erase(f->ctx, target) != WS_OK ||
        f->program(f->ctx, addr + OFF_SEQ, rec + OFF_SEQ, WS_SETTINGS_RECORD_SIZE - OFF_SEQ) !=
            WS_OK ||
        f->program(f->ctx, addr, rec, OFF_SEQ) != WS_OK) {
        return WS_ERR_FLASH;
    }
    if (wrap && f->erase(f->ctx, store->page) != WS_OK) {
        return WS_ERR_FLASH; /* a cut here: the torn page has no magic, the new record wins */
    }
    store->seq = wrap ? 1u : store->seq + 1u;
    store->page = (uint8_t)target;
    store->cur = *s;
    return WS_OK;
}
