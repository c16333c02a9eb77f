/* The app runs the model store's models (ws_app_store.h). */
#include "ws_app_store.h"

#include <string.h>

size_t ws_app_store_size(void) { return sizeof(ws_app_store_t); }

void ws_app_store_get_info(const ws_app_store_t *link, ws_app_store_info_t *out)
{
    if (link != NULL && out != NULL) {
        *out = link->info;
    }
}

void ws_app_store_models_hook(void *ctx, uint8_t task, const ws_model_t *m)
{
    ws_app_store_t *link = ctx;
    ws_status_t st = WS_OK;
    const ws_model_t *running = NULL;
    if (link == NULL || link->app == NULL || task > WS_TASK_ACTIVITY) {
        return;
    }
    if (m != NULL) {
        st = ws_app_set_model(link->app, task, m->model, m->model_len, m->version);
        if (st == WS_OK) {
            running = m;
        } else {
            link->info.refused[task]++;
        }
    }
    if (running == NULL) {
        /* No model, or one the app refused: the detector stops rather than keep a pointer
         * into a slot the next transfer may erase. */
        (void)ws_app_set_model(link->app, task, NULL, 0, 0);
    }
    link->info.last_status[task] = (uint8_t)st;
    link->info.running[task] = running != NULL ? running->version : 0;
    if (link->then != NULL) {
        link->then(link->then_ctx, task, running);
    }
}

void ws_app_follow_store(ws_app_store_t *link, ws_app_t *app, ws_update_t *upd,
                         ws_app_store_then_t then, void *then_ctx)
{
    if (link == NULL || app == NULL || upd == NULL) {
        return;
    }
    memset(link, 0, sizeof *link);
    link->app = app;
    link->then = then;
    link->then_ctx = then_ctx;
    ws_update_set_models_hook(upd, ws_app_store_models_hook, link);
}
