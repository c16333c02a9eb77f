/* The wearer's settings, kept in flash so a reset or a flat battery does not lose them:
 * what SET_CONFIG set (fall cancel window, summary interval) and the posture calibration
 * (the standing gravity the activity detector's sit/stand calls are measured from).
 *
 * Two flash pages of their own, used in turn: a save erases the page that does not hold
 * the current record and programs the new one there, so the current record is never
 * touched and a power cut at any point leaves either the old settings or the new ones.
 * A record is 24 bytes at the start of its page: magic "WSS1", a sequence number (u32,
 * the higher wins), the settings (14 bytes) and a CRC-16 (the protocol's) over everything
 * before it, all little-endian (docs/device-core.md, "Settings"). The magic is programmed
 * last, so a record counts only once all of it is in flash. A page without a whole, valid
 * record (blank, torn, another format, a value SET_CONFIG could not set) counts as empty;
 * with neither page valid the defaults apply. After sequence number 0xFFFFFFFF the next
 * save writes 1 and then erases the old page. */
#ifndef WS_SETTINGS_H
#define WS_SETTINGS_H

#include <stdint.h>

#include "ws_flash.h"
#include "ws_status.h"

/* cdef-begin */
#define WS_SETTINGS_PAGES 2        /* flash pages the settings use */
#define WS_SETTINGS_RECORD_SIZE 24 /* bytes of one stored record */

typedef struct {
    uint16_t fall_cancel_s;
    uint16_t summary_min;
    uint8_t posture_calibrated; /* 1: posture_ref holds a completed calibration */
    int16_t posture_ref[3];     /* standing gravity, ws_posture_t.ref */
} ws_settings_t;
/* cdef-end */

typedef struct {
    const ws_flash_t *flash; /* NULL: nothing persists (settings live in RAM only) */
    uint32_t seq;            /* sequence number of the current record, 0 if none */
    uint8_t page;            /* page of the current record */
    ws_settings_t cur;       /* what the flash holds (the defaults when nothing) */
} ws_settings_store_t;

/* Reads both pages and keeps the valid record with the higher sequence number in
 * store->cur; `defaults` when there is none. flash may be NULL (no persistence); a flash
 * needs WS_SETTINGS_PAGES pages of at least WS_SETTINGS_RECORD_SIZE bytes (WS_ERR_ARG
 * otherwise, as for NULL store or defaults). A read failure counts as an empty page. */
ws_status_t ws_settings_mount(ws_settings_store_t *store, const ws_flash_t *flash,
                              const ws_settings_t *defaults);

/* Stores s (nothing is written when the flash already holds it; with no flash, store->cur
 * just becomes s). WS_ERR_FLASH when the flash failed: the flash still holds the older
 * record and store->cur stays it (the caller keeps s in force until a reset). WS_ERR_ARG
 * for NULL; WS_ERR_RANGE for posture_calibrated other than 0 or 1. */
ws_status_t ws_settings_save(ws_settings_store_t *store, const ws_settings_t *s);

#endif
