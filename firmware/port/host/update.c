/* Host port of the model-update service (update.h). */
#include "update.h"

static void host_models_changed(void *ctx, uint8_t task, const ws_model_t *m)
{
    ws_host_platform_t *hp = ctx;
    if (task < WS_MODEL_TASKS) {
        hp->clock->model_version[task] = m != NULL ? m->version : 0;
    }
}

void ws_host_update_bind(ws_update_t *upd, ws_host_platform_t *hp)
{
    if (upd != NULL && hp != NULL && hp->clock != NULL) {
        ws_update_set_models_hook(upd, host_models_changed, hp);
    }
}

void ws_host_update_bind_app(ws_update_t *upd, ws_host_platform_t *hp, ws_app_store_t *link,
                             ws_app_t *app)
{
    if (upd != NULL && hp != NULL && hp->clock != NULL && link != NULL && app != NULL) {
        ws_app_follow_store(link, app, upd, host_models_changed, hp);
    }
}
