/* The model-update service: UPDATE_BEGIN / QUERY / COMMIT / ABORT and the model-transfer
 * characteristic (docs/protocol.md sections 6-7) on top of the A/B model store
 * (ws_model_store.h). A package is verified exactly as ws_pkg_verify_nn defines
 * (docs/model-package.md) before its slot is switched in; at every boot each running
 * model is verified again, self-test included, and one that fails is rolled back to the
 * other slot. The device core hands UPDATE_* commands here through
 * ws_device_set_update_handler; the port calls ws_update_on_transfer_write for each
 * write to the model-transfer characteristic and notifies what it returns.
 * Behaviour and failure table: docs/model-updates.md. */
#ifndef WS_UPDATE_H
#define WS_UPDATE_H

#include <stddef.h>
#include <stdint.h>

#include "ws_device.h"
#include "ws_model_store.h"
#include "ws_pkg_nn.h"

/* cdef-begin */
#define WS_TRANSFER_NOTIFY_SIZE 5
/* A resume-offset notification after this many accepted chunks (and after every
 * dropped chunk, and when the last byte arrived). */
#define WS_TRANSFER_WINDOW 8

typedef struct ws_update ws_update_t;

size_t ws_update_size(void);

/* Mounts the model store on flash (read through `mapped`), then verifies every running
 * model (all seven package steps, installed version 0) and rolls back any that fails.
 * The interpreter storage is the caller's: nn_model of ws_nn_model_struct_size() bytes,
 * an arena of arena_size bytes (WS_NN_ARENA_ALIGN-aligned) large enough for the largest
 * model. placement: where this device is worn (WS_PKG_PLACEMENT_*). */
ws_status_t ws_update_init(ws_update_t *upd, const ws_flash_t *flash, const uint8_t *mapped,
                           uint8_t placement, const uint8_t public_key[32], void *nn_model,
                           uint8_t *arena, size_t arena_size);

/* Routes the device core's UPDATE_* commands here (call after every ws_device_boot). */
void ws_update_attach(ws_update_t *upd, ws_device_t *dev);

/* A write to the model-transfer characteristic. When a notification is due, *out_len is
 * WS_TRANSFER_NOTIFY_SIZE and out holds `u32 resume_offset, u8 status`; else 0. The
 * result is the chunk's status (OK, LENGTH, CRC, STATE, RANGE, FLASH). */
ws_status_t ws_update_on_transfer_write(ws_update_t *upd, const uint8_t *buf, size_t len,
                                        uint8_t *out, size_t cap, size_t *out_len);

/* The running model of a task (WS_ERR_STATE when none) and its version (0 when none). */
ws_status_t ws_update_active(const ws_update_t *upd, uint8_t task, ws_model_t *out);
uint16_t ws_update_model_version(const ws_update_t *upd, uint8_t task);
/* Models rolled back at the last boot because they failed verification, by task. */
uint8_t ws_update_rolled_back(const ws_update_t *upd, uint8_t task);
const ws_model_store_t *ws_update_store(const ws_update_t *upd);
/* cdef-end */

/* Called when a task's running model changed (at init for every task, after a switch,
 * after a rollback): the place to hand the model to the detectors, e.g.
 * ws_app_set_model(app, task, m->model, m->model_len, m->version). m is NULL when the
 * task has no model. */
typedef void (*ws_update_models_hook_t)(void *ctx, uint8_t task, const ws_model_t *m);
void ws_update_set_models_hook(ws_update_t *upd, ws_update_models_hook_t hook, void *ctx);

/* The command handler ws_update_attach installs (ctx is the ws_update_t). */
ws_status_t ws_update_on_command(void *ctx, ws_device_t *dev, const ws_command_t *cmd,
                                 ws_response_t *rsp);

struct ws_update {
    ws_model_store_t store;
    ws_pkg_nn_t nn;
    const uint8_t *public_key;
    uint8_t placement;
    int8_t transfer_task; /* the task of the last UPDATE_BEGIN, -1 when none */
    uint8_t since_notify;
    uint8_t rolled_back[WS_MODEL_TASKS];
    ws_update_models_hook_t hook;
    void *hook_ctx;
};

#endif
