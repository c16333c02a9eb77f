/* The detectors follow the model store (ws_app_store.h), natively under ASan/UBSan and on
 * the emulated M4: the glue's hook fires for every task at init (a blank store: nothing
 * runs), and again when a package is switched in; a model the update service accepts but
 * the app cannot run (here the DEV-signed vector package: an activity model whose input
 * window is not the activity detector's) is refused by the app, counted, and the port is
 * told the task runs nothing. The accepted path (shipped models on replayed recordings) is
 * tested from Python: tests/test_updatable_wearable.py. */
#include <string.h>

#include "ws_app_store.h"
#include "ws_crypto.h"
#include "ws_device.h"
#include "ws_model_store.h"
#include "ws_pkg_vectors.h"
#include "ws_protocol.h"
#include "ws_ram_flash.h"
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
static ws_app_t app;
static ws_app_store_t store_link;
static ws_nn_model_t nn_model;
static uint8_t arena[WS_VEC_NN_ARENA + 64] WS_VEC_ALIGNED;
static uint16_t reported[WS_MODEL_TASKS];
static int then_calls;

static uint32_t now(void *ctx) { (void)ctx; return 0; }
static uint8_t battery(void *ctx) { (void)ctx; return 90; }
static uint8_t charging(void *ctx) { (void)ctx; return 0; }
static uint16_t model_version(void *ctx, uint8_t task)
{
    (void)ctx;
    return task < WS_MODEL_TASKS ? reported[task] : 0;
}
static const ws_platform_t platform = {now, battery, charging, model_version, NULL};

/* The port's own follow-up: what it reports is what the detectors run. */
static void then(void *ctx, uint8_t task, const ws_model_t *m)
{
    (void)ctx;
    then_calls++;
    reported[task] = m != NULL ? m->version : 0;
}

static ws_status_t command(const ws_command_t *cmd)
{
    uint8_t frame[64], out[WS_RESPONSE_MAX_SIZE];
    size_t len = 0, out_len = 0;
    ws_response_t rsp;
    if (ws_command_encode(cmd, frame, sizeof frame, &len) != WS_OK) {
        return WS_ERR_ARG;
    }
    (void)ws_device_on_command_write(&dev, frame, len, out, sizeof out, &out_len);
    if (out_len < 3 || ws_response_decode(out, out_len, &rsp) != WS_OK) {
        return WS_ERR_ARG;
    }
    return (ws_status_t)rsp.status;
}

static ws_status_t install(void)
{
    ws_command_t cmd;
    uint8_t frame[CHUNK + WS_CHUNK_OVERHEAD], note[WS_TRANSFER_NOTIFY_SIZE];
    size_t len, note_len;
    uint32_t off;
    ws_status_t st;
    memset(&cmd, 0, sizeof cmd);
    cmd.opcode = WS_CMD_UPDATE_BEGIN;
    cmd.token = 1;
    cmd.a.update_begin.task = TASK;
    cmd.a.update_begin.version = 1;
    cmd.a.update_begin.size = WS_VEC_NN_PKG_SIZE;
    ws_sha256(WS_VEC_NN_PKG, WS_VEC_NN_PKG_SIZE, cmd.a.update_begin.sha256);
    st = command(&cmd);
    if (st != WS_OK) {
        return st;
    }
    for (off = 0; off < WS_VEC_NN_PKG_SIZE; off += CHUNK) {
        uint32_t n = WS_VEC_NN_PKG_SIZE - off < CHUNK ? WS_VEC_NN_PKG_SIZE - off : CHUNK;
        if (ws_chunk_encode(off, WS_VEC_NN_PKG + off, n, frame, sizeof frame, &len) != WS_OK) {
            return WS_ERR_ARG;
        }
        st = ws_update_on_transfer_write(&upd, frame, len, note, sizeof note, &note_len);
        if (st != WS_OK) {
            return st;
        }
    }
    memset(&cmd, 0, sizeof cmd);
    cmd.opcode = WS_CMD_UPDATE_COMMIT;
    cmd.token = 2;
    cmd.a.update_task.task = TASK;
    return command(&cmd);
}

static void test_a_blank_store_runs_nothing(void)
{
    ws_app_store_info_t info;
    uint8_t t;
    WS_TEST_ASSERT_EQ_INT(ws_ram_flash_init(&store_flash, store_mem, PAGE, WS_MODEL_STORE_PAGES),
                          WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_ram_flash_init(&queue_flash, queue_mem, PAGE, QUEUE_PAGES), WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_update_init(&upd, &store_flash.iface, store_mem,
                                         WS_PKG_PLACEMENT_CHEST, ws_pkg_trusted_key(), &nn_model,
                                         arena, sizeof arena),
                          WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_device_boot(&dev, "WS-TEST", &queue_flash.iface, &platform), WS_OK);
    ws_update_attach(&upd, &dev);
    WS_TEST_ASSERT_EQ_INT(ws_app_init(&app, &dev), WS_OK);
    ws_app_follow_store(&store_link, &app, &upd, then, NULL);
    WS_TEST_ASSERT_EQ_INT(then_calls, 3); /* every task announced at once */
    ws_app_store_get_info(&store_link, &info);
    for (t = 0; t < WS_MODEL_TASKS; t++) {
        WS_TEST_ASSERT_EQ_INT(info.running[t], 0);
        WS_TEST_ASSERT_EQ_INT(info.refused[t], 0);
        WS_TEST_ASSERT_EQ_INT(reported[t], 0);
    }
}

static void test_a_switched_model_the_app_cannot_run_is_refused_not_run(void)
{
    ws_app_store_info_t info;
    ws_app_stats_t stats;
    ws_model_t m;
    WS_TEST_ASSERT_EQ_INT(install(), WS_OK);
    /* The store switched it in (the package passed all seven steps) ... */
    WS_TEST_ASSERT_EQ_INT(ws_update_active(&upd, TASK, &m), WS_OK);
    WS_TEST_ASSERT_EQ_INT(m.version, 1);
    WS_TEST_ASSERT_EQ_INT(then_calls, 4);
    /* ... but its input is not the activity detector's window: the app refuses it, the
     * detector stays idle and the port reports no model for the task. */
    ws_app_store_get_info(&store_link, &info);
    WS_TEST_ASSERT_EQ_INT(info.refused[TASK], 1);
    WS_TEST_ASSERT_EQ_INT(info.last_status[TASK], WS_ERR_NN_SHAPE);
    WS_TEST_ASSERT_EQ_INT(info.running[TASK], 0);
    WS_TEST_ASSERT_EQ_INT(reported[TASK], 0);
    WS_TEST_ASSERT_EQ_INT(ws_app_get_stats(&app, &stats), WS_OK);
    WS_TEST_ASSERT_EQ_INT(stats.arena_needed, 0);
    /* The hook ignores what is not its business. */
    ws_app_store_models_hook(&store_link, 7, &m);
    ws_app_store_models_hook(NULL, TASK, &m);
    WS_TEST_ASSERT_EQ_INT(then_calls, 4);
}

int ws_test_run(void)
{
    test_a_blank_store_runs_nothing();
    test_a_switched_model_the_app_cannot_run_is_refused_not_run();
    return ws_test_failures();
}
