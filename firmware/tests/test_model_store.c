/* The model store and the update service (ws_model_store.h, ws_update.h) on RAM-backed
 * NOR flash, natively under ASan/UBSan and on the emulated M4: a DEV-signed real-model
 * package (build/gen/ws_pkg_vectors.h, activity task) is transferred in chunks through
 * the device core's command face, verified and switched in; progress survives a
 * remount; bad chunks are dropped with the resume offset notified; a model corrupted in
 * flash after its switch is rolled back at the next boot. Power cuts at every operation
 * are exercised from Python (tests/test_model_updates.py, benchmarks/bench_updates.py)
 * with the host flash simulator that tears operations. */
#include <string.h>

#include "ws_bytes.h"
#include "ws_device.h"
#include "ws_model_store.h"
#include "ws_protocol.h"
#include "ws_ram_flash.h"
#include "ws_crypto.h"
#include "ws_pkg_vectors.h"
#include "ws_test.h"
#include "ws_update.h"

#define PAGE 4096u
#define QUEUE_PAGES 4u
#define CHUNK 238u
#define TASK WS_PKG_TASK_ACTIVITY

static uint8_t store_mem[WS_MODEL_STORE_PAGES * PAGE] WS_VEC_ALIGNED;
static uint8_t queue_mem[QUEUE_PAGES * PAGE];
static ws_ram_flash_t store_flash, queue_flash;
static ws_update_t upd;
static ws_device_t dev;
static ws_nn_model_t nn_model;
static uint8_t arena[WS_VEC_NN_ARENA + 64] WS_VEC_ALIGNED;
static uint16_t seen_version[WS_MODEL_TASKS];
static int hook_calls;

static uint32_t now(void *ctx) { (void)ctx; return 0; }
static uint8_t battery(void *ctx) { (void)ctx; return 90; }
static uint8_t charging(void *ctx) { (void)ctx; return 0; }
static uint16_t model_version(void *ctx, uint8_t task)
{
    (void)ctx;
    return ws_update_model_version(&upd, task);
}
static const ws_platform_t platform = {now, battery, charging, model_version, NULL};

static void models_hook(void *ctx, uint8_t task, const ws_model_t *m)
{
    (void)ctx;
    hook_calls++;
    seen_version[task] = m != NULL ? m->version : 0;
}

/* A boot: the update service first (it re-verifies the running models), then the core. */
static int boot(void)
{
    WS_TEST_ASSERT_EQ_INT(ws_update_init(&upd, &store_flash.iface, store_mem,
                                         WS_PKG_PLACEMENT_CHEST, ws_pkg_trusted_key(), &nn_model,
                                         arena, sizeof arena),
                          WS_OK);
    ws_update_set_models_hook(&upd, models_hook, NULL);
    WS_TEST_ASSERT_EQ_INT(ws_device_boot(&dev, "WS-TEST", &queue_flash.iface, &platform), WS_OK);
    ws_update_attach(&upd, &dev);
    return 0;
}

static ws_status_t command(const ws_command_t *cmd, ws_response_t *rsp)
{
    uint8_t frame[64], out[WS_RESPONSE_MAX_SIZE];
    size_t len = 0, out_len = 0;
    if (ws_command_encode(cmd, frame, sizeof frame, &len) != WS_OK) {
        return WS_ERR_ARG;
    }
    (void)ws_device_on_command_write(&dev, frame, len, out, sizeof out, &out_len);
    if (out_len < 3 || ws_response_decode(out, out_len, rsp) != WS_OK) {
        return WS_ERR_ARG;
    }
    return (ws_status_t)rsp->status;
}

static ws_status_t begin(uint16_t version, uint32_t size)
{
    ws_command_t cmd;
    ws_response_t rsp;
    memset(&cmd, 0, sizeof cmd);
    cmd.opcode = WS_CMD_UPDATE_BEGIN;
    cmd.token = 1;
    cmd.a.update_begin.task = TASK;
    cmd.a.update_begin.version = version;
    cmd.a.update_begin.size = size;
    ws_sha256(WS_VEC_NN_PKG, WS_VEC_NN_PKG_SIZE, cmd.a.update_begin.sha256);
    return command(&cmd, &rsp);
}

static ws_status_t task_command(uint8_t opcode, ws_response_t *rsp)
{
    ws_command_t cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.opcode = opcode;
    cmd.token = 2;
    cmd.a.update_task.task = TASK;
    return command(&cmd, rsp);
}

static uint32_t query(void)
{
    ws_response_t rsp;
    if (task_command(WS_CMD_UPDATE_QUERY, &rsp) != WS_OK || rsp.data_len != 6) {
        return 0xFFFFFFFFu;
    }
    return ws_get_u32(rsp.data);
}

/* Sends [from, to) in chunks; returns the last notification's status (or OK). */
static ws_status_t send(uint32_t from, uint32_t to, uint32_t *notified)
{
    uint8_t frame[CHUNK + WS_CHUNK_OVERHEAD], note[WS_TRANSFER_NOTIFY_SIZE];
    size_t len, note_len;
    ws_status_t st = WS_OK;
    uint32_t off;
    for (off = from; off < to; off += CHUNK) {
        uint32_t n = to - off < CHUNK ? to - off : CHUNK;
        if (ws_chunk_encode(off, WS_VEC_NN_PKG + off, n, frame, sizeof frame, &len) != WS_OK) {
            return WS_ERR_ARG;
        }
        st = ws_update_on_transfer_write(&upd, frame, len, note, sizeof note, &note_len);
        if (note_len == WS_TRANSFER_NOTIFY_SIZE && notified != NULL) {
            *notified = ws_get_u32(note);
        }
        if (st != WS_OK) {
            return st;
        }
    }
    return st;
}

static void test_blank_store_runs_nothing_and_update_is_wired(void)
{
    ws_response_t rsp;
    WS_TEST_ASSERT_EQ_INT(ws_model_store_pages(PAGE), WS_MODEL_STORE_PAGES);
    WS_TEST_ASSERT_EQ_INT(ws_ram_flash_init(&store_flash, store_mem, PAGE, WS_MODEL_STORE_PAGES),
                          WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_ram_flash_init(&queue_flash, queue_mem, PAGE, QUEUE_PAGES), WS_OK);
    WS_TEST_ASSERT_EQ_INT(boot(), 0);
    WS_TEST_ASSERT_EQ_INT(ws_update_model_version(&upd, TASK), 0);
    WS_TEST_ASSERT_EQ_INT(hook_calls, WS_MODEL_TASKS);
    /* QUERY through the device core's face: nothing in progress. */
    WS_TEST_ASSERT_EQ_INT(task_command(WS_CMD_UPDATE_QUERY, &rsp), WS_OK);
    WS_TEST_ASSERT_EQ_INT(rsp.data_len, 6);
    WS_TEST_ASSERT_EQ_INT(task_command(WS_CMD_UPDATE_COMMIT, &rsp), WS_ERR_STATE);
}

static void test_bad_chunks_and_sizes(void)
{
    uint8_t frame[CHUNK + WS_CHUNK_OVERHEAD], note[WS_TRANSFER_NOTIFY_SIZE];
    size_t len, note_len;
    WS_TEST_ASSERT_EQ_INT(begin(1, ws_model_store_max_package(TASK) + 1), WS_ERR_NOSPACE);
    WS_TEST_ASSERT_EQ_INT(begin(1, WS_VEC_NN_PKG_SIZE), WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_chunk_encode(0, WS_VEC_NN_PKG, CHUNK, frame, sizeof frame, &len),
                          WS_OK);
    frame[10] ^= 1; /* CRC fails */
    WS_TEST_ASSERT_EQ_INT(ws_update_on_transfer_write(&upd, frame, len, note, sizeof note,
                                                      &note_len),
                          WS_ERR_CRC);
    WS_TEST_ASSERT_EQ_INT(note_len, WS_TRANSFER_NOTIFY_SIZE);
    WS_TEST_ASSERT_EQ_INT(note[4], WS_ERR_CRC);
    WS_TEST_ASSERT_EQ_INT(ws_chunk_encode(CHUNK, WS_VEC_NN_PKG, CHUNK, frame, sizeof frame, &len),
                          WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_update_on_transfer_write(&upd, frame, len, note, sizeof note,
                                                      &note_len),
                          WS_ERR_STATE); /* not the next expected byte */
    WS_TEST_ASSERT_EQ_INT(note[0] | note[1] | note[2] | note[3], 0);
    WS_TEST_ASSERT_EQ_INT(query(), 0);
}

static void test_transfer_resumes_after_a_remount_then_switches_in(void)
{
    ws_response_t rsp;
    ws_model_t m;
    uint32_t half = (WS_VEC_NN_PKG_SIZE / 2 / CHUNK) * CHUNK, notified = 0;
    WS_TEST_ASSERT_EQ_INT(send(0, half, &notified), WS_OK);
    WS_TEST_ASSERT_EQ_INT(query(), half);
    WS_TEST_ASSERT_EQ_INT(boot(), 0); /* a reset: RAM state gone */
    WS_TEST_ASSERT_EQ_INT(query(), half); /* progress was recorded in flash */
    /* Chunks wait for BEGIN to name the package again (the transfer characteristic
     * carries no task); the same package keeps what arrived. */
    WS_TEST_ASSERT_EQ_INT(send(half, half + CHUNK, NULL), WS_ERR_STATE);
    WS_TEST_ASSERT_EQ_INT(begin(1, WS_VEC_NN_PKG_SIZE), WS_OK);
    WS_TEST_ASSERT_EQ_INT(query(), half);
    WS_TEST_ASSERT_EQ_INT(send(half, WS_VEC_NN_PKG_SIZE, &notified), WS_OK);
    WS_TEST_ASSERT_EQ_INT(notified, WS_VEC_NN_PKG_SIZE); /* the last byte is notified */
    WS_TEST_ASSERT_EQ_INT(task_command(WS_CMD_UPDATE_COMMIT, &rsp), WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_update_model_version(&upd, TASK), 1);
    WS_TEST_ASSERT_EQ_INT(seen_version[TASK], 1);
    WS_TEST_ASSERT_EQ_INT(ws_update_active(&upd, TASK, &m), WS_OK);
    WS_TEST_ASSERT(m.package >= store_mem && m.package < store_mem + sizeof store_mem);
    WS_TEST_ASSERT_EQ_INT(m.package_len, WS_VEC_NN_PKG_SIZE);
    WS_TEST_ASSERT(memcmp(m.package, WS_VEC_NN_PKG, WS_VEC_NN_PKG_SIZE) == 0);
    WS_TEST_ASSERT(m.model == m.package + WS_PKG_HEADER_SIZE);
    WS_TEST_ASSERT_EQ_INT(((uintptr_t)m.model) % 16u, 0);
    /* Not newer than what runs: refused before a byte is sent. */
    WS_TEST_ASSERT_EQ_INT(begin(1, WS_VEC_NN_PKG_SIZE), WS_ERR_PKG_ROLLBACK);
    WS_TEST_ASSERT_EQ_INT(boot(), 0);
    WS_TEST_ASSERT_EQ_INT(ws_update_model_version(&upd, TASK), 1);
    WS_TEST_ASSERT_EQ_INT(ws_update_rolled_back(&upd, TASK), 0);
    WS_TEST_ASSERT_EQ_INT(store_flash.violations, 0);
}

static void test_a_model_corrupted_in_flash_is_rolled_back_at_boot(void)
{
    ws_model_t m;
    ws_model_slot_info_t info;
    WS_TEST_ASSERT_EQ_INT(ws_update_active(&upd, TASK, &m), WS_OK);
    store_mem[(size_t)(m.model - store_mem) + 40u] ^= 0x01; /* a bit flips in the model */
    WS_TEST_ASSERT_EQ_INT(boot(), 0);
    WS_TEST_ASSERT_EQ_INT(ws_update_rolled_back(&upd, TASK), 1);
    /* Nothing older was ever installed in this test: the task has no model now, and the
     * core reports version 0 rather than run a damaged one. */
    WS_TEST_ASSERT_EQ_INT(ws_update_model_version(&upd, TASK), 0);
    WS_TEST_ASSERT_EQ_INT(seen_version[TASK], 0);
    WS_TEST_ASSERT_EQ_INT(ws_model_store_slot_info(ws_update_store(&upd), TASK, m.slot, &info),
                          WS_OK);
    WS_TEST_ASSERT(info.bad);
}

int ws_test_run(void)
{
    test_blank_store_runs_nothing_and_update_is_wired();
    test_bad_chunks_and_sizes();
    test_transfer_resumes_after_a_remount_then_switches_in();
    test_a_model_corrupted_in_flash_is_rolled_back_at_boot();
    return ws_test_failures();
}
