/* UPDATE_* commands and the model-transfer characteristic over the A/B model store
 * (ws_update.h, docs/model-updates.md). */
#include "ws_update.h"

#include <string.h>

#include "ws_bytes.h"
#include "ws_crypto.h"
#include "ws_protocol.h"

size_t ws_update_size(void) { return sizeof(ws_update_t); }

static void announce(ws_update_t *upd, uint8_t task)
{
    ws_model_t m;
    if (upd->hook == NULL) {
        return;
    }
    if (ws_model_store_active(&upd->store, task, &m) == WS_OK) {
        upd->hook(upd->hook_ctx, task, &m);
    } else {
        upd->hook(upd->hook_ctx, task, NULL);
    }
}

/* All seven package steps on a package in the store; installed is the version it must
 * exceed (0 at boot: the running model is checked against itself). */
static ws_status_t verify(ws_update_t *upd, uint8_t task, const uint8_t *pkg, uint32_t len,
                          uint16_t installed)
{
    ws_pkg_expect_t expect;
    expect.task = task;
    expect.placement = upd->placement;
    expect.installed_version = installed;
    return ws_pkg_verify_nn(pkg, len, upd->public_key, &expect, &upd->nn, NULL);
}

ws_status_t ws_update_init(ws_update_t *upd, const ws_flash_t *flash, const uint8_t *mapped,
                           uint8_t placement, const uint8_t public_key[32], void *nn_model,
                           uint8_t *arena, size_t arena_size)
{
    ws_status_t st;
    uint8_t t;
    if (upd == NULL || public_key == NULL || nn_model == NULL || arena == NULL) {
        return WS_ERR_ARG;
    }
    memset(upd, 0, sizeof *upd);
    upd->public_key = public_key;
    upd->placement = placement;
    upd->transfer_task = -1;
    upd->nn.model = (ws_nn_model_t *)nn_model;
    upd->nn.arena = arena;
    upd->nn.arena_size = arena_size;
    st = ws_model_store_mount(&upd->store, flash, mapped);
    if (st != WS_OK) {
        return st;
    }
    for (t = 0; t < WS_MODEL_TASKS; t++) {
        ws_model_t m;
        /* A running model that fails now (flash corrupted since, or a model that passed at
         * commit but not after the reset) is rolled back; then the other slot is checked. */
        while (ws_model_store_active(&upd->store, t, &m) == WS_OK &&
               verify(upd, t, m.package, m.package_len, 0) != WS_OK) {
            upd->rolled_back[t]++;
            /* The slot is dropped in RAM even if its BAD entry cannot be written (it would
             * fail again at the next boot), so this loop ends after both slots. */
            (void)ws_model_store_reject(&upd->store, t);
        }
    }
    return WS_OK;
}

void ws_update_set_models_hook(ws_update_t *upd, ws_update_models_hook_t hook, void *ctx)
{
    uint8_t t;
    if (upd == NULL) {
        return;
    }
    upd->hook = hook;
    upd->hook_ctx = ctx;
    for (t = 0; t < WS_MODEL_TASKS; t++) {
        announce(upd, t);
    }
}

void ws_update_attach(ws_update_t *upd, ws_device_t *dev)
{
    if (upd != NULL && dev != NULL) {
        ws_device_set_update_handler(dev, ws_update_on_command, upd);
    }
}

static ws_status_t commit(ws_update_t *upd, ws_device_t *dev, uint8_t task)
{
    ws_model_slot_info_t info;
    const uint8_t *pkg, *expected_sha;
    uint8_t sha[32];
    ws_status_t st = ws_model_store_transfer(&upd->store, task, &info, &pkg, &expected_sha);
    if (st != WS_OK || info.received != info.size) {
        return WS_ERR_STATE;
    }
    if (info.persisted != info.size) {
        return WS_ERR_FLASH; /* the last PROGRESS entry could not be written */
    }
    ws_sha256(pkg, info.size, sha);
    if (memcmp(sha, expected_sha, sizeof sha) != 0) {
        st = WS_ERR_PKG_HASH;
    } else {
        st = verify(upd, task, pkg, info.size, ws_model_store_version(&upd->store, task));
    }
    if (st != WS_OK) {
        (void)ws_model_store_discard(&upd->store, task);
        return st;
    }
    st = ws_model_store_commit(&upd->store, task);
    if (st != WS_OK) {
        return st; /* not switched: the old model runs; COMMIT may be sent again */
    }
    if ((int8_t)task == upd->transfer_task) {
        upd->transfer_task = -1;
    }
    announce(upd, task);
    if (dev != NULL) {
        (void)ws_device_models_changed(dev); /* STATUS pages; the switch stands regardless */
    }
    return WS_OK;
}

ws_status_t ws_update_on_command(void *ctx, ws_device_t *dev, const ws_command_t *cmd,
                                 ws_response_t *rsp)
{
    ws_update_t *upd = ctx;
    ws_model_slot_info_t info;
    ws_status_t st;
    if (upd == NULL || cmd == NULL || rsp == NULL) {
        return WS_ERR_ARG;
    }
    switch (cmd->opcode) {
    case WS_CMD_UPDATE_BEGIN: {
        const ws_cmd_update_begin_t *b = &cmd->a.update_begin;
        if (b->version <= ws_model_store_version(&upd->store, b->task)) {
            return WS_ERR_PKG_ROLLBACK; /* refused before a byte is sent */
        }
        st = ws_model_store_begin(&upd->store, b->task, b->version, b->size, b->sha256);
        if (st == WS_OK) {
            upd->transfer_task = (int8_t)b->task;
            upd->since_notify = 0;
        }
        return st;
    }
    case WS_CMD_UPDATE_QUERY: {
        uint32_t offset = 0;
        uint16_t version = 0;
        if (ws_model_store_transfer(&upd->store, cmd->a.update_task.task, &info, NULL, NULL) ==
            WS_OK) {
            offset = info.received;
            version = info.version;
        }
        ws_put_u32(rsp->data, offset);
        ws_put_u16(rsp->data + 4, version);
        rsp->data_len = 6;
        return WS_OK;
    }
    case WS_CMD_UPDATE_COMMIT:
        return commit(upd, dev, cmd->a.update_task.task);
    case WS_CMD_UPDATE_ABORT:
        if ((int8_t)cmd->a.update_task.task == upd->transfer_task) {
            upd->transfer_task = -1;
        }
        return ws_model_store_discard(&upd->store, cmd->a.update_task.task);
    default:
        return WS_ERR_TYPE;
    }
}

ws_status_t ws_update_on_transfer_write(ws_update_t *upd, const uint8_t *buf, size_t len,
                                        uint8_t *out, size_t cap, size_t *out_len)
{
    ws_chunk_t chunk;
    ws_model_slot_info_t info;
    ws_status_t st;
    uint32_t resume = 0;
    memset(&info, 0, sizeof info);
    if (upd == NULL || buf == NULL || out == NULL || out_len == NULL ||
        cap < WS_TRANSFER_NOTIFY_SIZE) {
        return WS_ERR_ARG;
    }
    *out_len = 0;
    st = ws_chunk_decode(buf, len, &chunk);
    if (st == WS_OK && upd->transfer_task < 0) {
        st = WS_ERR_STATE; /* no UPDATE_BEGIN since the boot */
    }
    if (st == WS_OK) {
        st = ws_model_store_write(&upd->store, (uint8_t)upd->transfer_task, chunk.offset,
                                  chunk.data, (uint32_t)chunk.data_len);
    }
    if (upd->transfer_task >= 0 &&
        ws_model_store_transfer(&upd->store, (uint8_t)upd->transfer_task, &info, NULL, NULL) ==
            WS_OK) {
        resume = info.received;
    }
    if (st == WS_OK) {
        upd->since_notify++;
        if (upd->since_notify < WS_TRANSFER_WINDOW && resume != info.size) {
            return WS_OK;
        }
    }
    upd->since_notify = 0;
    ws_put_u32(out, resume);
    out[4] = (uint8_t)st;
    *out_len = WS_TRANSFER_NOTIFY_SIZE;
    return st;
}

ws_status_t ws_update_active(const ws_update_t *upd, uint8_t task, ws_model_t *out)
{
    return upd == NULL ? WS_ERR_ARG : ws_model_store_active(&upd->store, task, out);
}

uint16_t ws_update_model_version(const ws_update_t *upd, uint8_t task)
{
    return upd == NULL ? 0 : ws_model_store_version(&upd->store, task);
}

uint8_t ws_update_rolled_back(const ws_update_t *upd, uint8_t task)
{
    return upd == NULL || task >= WS_MODEL_TASKS ? 0 : upd->rolled_back[task];
}

const ws_model_store_t *ws_update_store(const ws_update_t *upd)
{
    return upd == NULL ? NULL : &upd->store;
}
