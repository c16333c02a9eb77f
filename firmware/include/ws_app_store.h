/* The detectors run what the model store runs: glue between the model-update service
 * (ws_update.h) and the app (ws_detect.h). Its models hook fires at init (every task),
 * after a switch and after a rollback; each time it hands the task's running model to
 * the app where it lies in store flash (no copy: packages start on a page, so the .tflite
 * at offset 128 is 16-byte aligned, as the interpreter needs), with the package's version
 * stamped into the detector's events. The same code runs on the host and on the M4.
 *
 * The package was verified (signature, hash, schema, self-test) before the switch; the
 * app also checks that the model fits its shared arena and has the task's input and
 * output shapes. A model the app refuses is not run: the task's detector stops (its old
 * model's slot may be erased by the next transfer, so it is not kept), the refusal is
 * counted, and the port is told the task runs nothing (version 0 on STATUS page 1). */
#ifndef WS_APP_STORE_H
#define WS_APP_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "ws_detect.h"
#include "ws_update.h"

/* cdef-begin */
typedef struct {
    uint16_t running[3];   /* version the detectors run per task, 0 when none */
    uint8_t refused[3];    /* models of the store the app refused, per task */
    uint8_t last_status[3]; /* ws_app_set_model's verdict on the latest model, per task */
} ws_app_store_info_t;

typedef struct ws_app_store ws_app_store_t;

size_t ws_app_store_size(void);
void ws_app_store_get_info(const ws_app_store_t *link, ws_app_store_info_t *out);
/* cdef-end */

/* Called after the app took (or refused) a task's model: m is the model the detectors
 * now run, NULL when none (the port reports its version, e.g. on STATUS page 1). */
typedef void (*ws_app_store_then_t)(void *ctx, uint8_t task, const ws_model_t *m);

struct ws_app_store {
    ws_app_t *app;
    ws_app_store_then_t then;
    void *then_ctx;
    ws_app_store_info_t info;
};

/* From now on the app runs the store's models: installs the hook on upd, which at once
 * hands every task's running model to the app. `then` (may be NULL) follows each hand-over. */
void ws_app_follow_store(ws_app_store_t *link, ws_app_t *app, ws_update_t *upd,
                         ws_app_store_then_t then, void *then_ctx);

/* The hook itself (ctx is the ws_app_store_t), for ports that chain hooks their own way. */
void ws_app_store_models_hook(void *ctx, uint8_t task, const ws_model_t *m);

#endif
