/* The model store: A/B slots per task in a flash partition of its own (a second
 * ws_flash_t, memory-mapped for reading so a model runs where it lies).
 *
 * Each slot is one meta page followed by the data pages that hold one package. The meta
 * page holds a BEGIN record (which package is arriving: task, version, size, SHA-256) and
 * an append-only log of 16-byte entries: PROGRESS (bytes received and programmed,
 * contiguous from 0), COMMIT (the slot is switched in, with a generation number) and BAD
 * (the slot must not run). Every record is programmed body first and made valid by a
 * separate 32-bit commit word, so a record torn by a power cut at any byte is never
 * accepted. The running model of a task is the committed, not-BAD slot with the highest
 * generation: writing one COMMIT entry is the atomic switch, and the old slot stays
 * untouched until the next transfer begins. Layout and failure table: docs/model-updates.md. */
#ifndef WS_MODEL_STORE_H
#define WS_MODEL_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "ws_flash.h"
#include "ws_status.h"

/* cdef-begin */
#define WS_MODEL_TASKS 3
#define WS_MODEL_SLOTS 2
/* Largest model (.tflite bytes) each task's slots accept. */
#define WS_MODEL_MAX_AFIB 32768
#define WS_MODEL_MAX_FALL 16384
#define WS_MODEL_MAX_ACTIVITY 16384
#define WS_MODEL_STORE_META_SIZE 64
#define WS_MODEL_STORE_ENTRY_SIZE 16
#define WS_MODEL_STORE_ENTRY_RESERVE 8
/* Reference partition: 4 KiB pages, afib 2 x (1 + 9), fall and activity 2 x (1 + 5). */
#define WS_MODEL_STORE_PAGE_SIZE 4096
#define WS_MODEL_STORE_PAGES 44

typedef struct ws_model_store ws_model_store_t;

/* The running model of a task: everything points into memory-mapped flash. */
typedef struct {
    const uint8_t *package; /* the whole verified package (header at offset 0) */
    uint32_t package_len;
    const uint8_t *model; /* the .tflite flatbuffer inside it, 16-byte aligned */
    uint32_t model_len;
    uint16_t version;
    uint8_t slot;
    uint32_t generation;
} ws_model_t;

/* A slot as the store sees it (tests, diagnostics). */
typedef struct {
    uint8_t begun;     /* a valid BEGIN record */
    uint8_t committed; /* a valid COMMIT entry */
    uint8_t bad;       /* a valid BAD entry */
    uint16_t version;
    uint32_t size;
    uint32_t received;  /* bytes received and programmed (RAM) */
    uint32_t persisted; /* bytes recorded by PROGRESS entries (what a reset keeps) */
    uint32_t generation;
    uint32_t log_used; /* log entries written (valid or torn) */
} ws_model_slot_info_t;

size_t ws_model_store_size(void);
/* Pages the store needs for a given page size (WS_MODEL_STORE_PAGES at 4 KiB). */
uint32_t ws_model_store_pages(uint32_t page_size);
/* Largest package a task's slots hold: align16(128 + max model) + 32 + 64. */
uint32_t ws_model_store_max_package(uint8_t task);

/* Reads every meta page; picks each task's running slot by generation. mapped is where
 * the partition is readable in memory (16-byte aligned). No verification here: the
 * update service re-verifies the running models at boot (ws_update.h). */
ws_status_t ws_model_store_mount(ws_model_store_t *s, const ws_flash_t *flash,
                                 const uint8_t *mapped);

/* The running model of a task; WS_ERR_STATE when the task has none. */
ws_status_t ws_model_store_active(const ws_model_store_t *s, uint8_t task, ws_model_t *out);
uint16_t ws_model_store_version(const ws_model_store_t *s, uint8_t task);
ws_status_t ws_model_store_slot_info(const ws_model_store_t *s, uint8_t task, uint8_t slot,
                                     ws_model_slot_info_t *out);
/* cdef-end */

/* A transfer into the task's idle slot: keeps it when the same package (version, size,
 * SHA-256) is already partly there, else erases the slot and writes a BEGIN record.
 * WS_ERR_NOSPACE when size exceeds the slot. */
ws_status_t ws_model_store_begin(ws_model_store_t *s, uint8_t task, uint16_t version,
                                 uint32_t size, const uint8_t sha256[32]);
/* The idle slot's transfer (begun, not committed, not BAD), or WS_ERR_STATE. */
ws_status_t ws_model_store_transfer(const ws_model_store_t *s, uint8_t task,
                                    ws_model_slot_info_t *info, const uint8_t **package,
                                    const uint8_t **sha256);
/* Programs data at offset (which must equal the bytes received: else WS_ERR_STATE, and
 * WS_ERR_RANGE beyond the announced size) and records progress. When the flash holds bytes
 * that cannot be programmed over (NOR), the transfer restarts from 0 (WS_ERR_FLASH). */
ws_status_t ws_model_store_write(ws_model_store_t *s, uint8_t task, uint32_t offset,
                                 const uint8_t *data, uint32_t len);
/* Switches the idle slot in (one COMMIT entry). */
ws_status_t ws_model_store_commit(ws_model_store_t *s, uint8_t task);
/* Marks the idle slot's transfer BAD (a failed verification, an abort). */
ws_status_t ws_model_store_discard(ws_model_store_t *s, uint8_t task);
/* Marks the running slot BAD (it failed its boot self-test) and falls back to the other
 * slot when that one is committed and not BAD. */
ws_status_t ws_model_store_reject(ws_model_store_t *s, uint8_t task);

typedef struct {
    uint32_t first_page; /* the meta page */
    uint32_t data_pages;
    uint8_t begun, committed, bad;
    uint16_t version;
    uint32_t size;
    uint8_t sha256[32];
    uint32_t generation;
    uint32_t received;
    uint32_t persisted;
    uint32_t log_next; /* next blank log entry */
} ws_model_slot_t;

struct ws_model_store {
    const ws_flash_t *flash;
    const uint8_t *mapped;
    uint32_t page_size;
    uint32_t log_entries;
    ws_model_slot_t slot[WS_MODEL_TASKS][WS_MODEL_SLOTS];
    int8_t active[WS_MODEL_TASKS]; /* running slot, -1 for none */
};

#endif
