/* Host port of the model-update service: the running model versions reach the host
 * platform's model_version hook (so STATUS page 1 and ws_device_get_info report what the
 * model store runs). With the detectors, ws_host_update_bind_app also hands each running
 * model to the app first (ws_app_store.h), as a device port does in its models hook. */
#ifndef WS_HOST_UPDATE_H
#define WS_HOST_UPDATE_H

#include "ws_app_store.h"
#include "device.h"
#include "ws_update.h"

/* cdef-begin */
/* From now on the platform's model versions follow the update service's store. */
void ws_host_update_bind(ws_update_t *upd, ws_host_platform_t *hp);
/* From now on the app runs the store's models and the platform reports the versions the
 * app runs (0 for a task whose model the app refused). link: ws_app_store_size() bytes. */
void ws_host_update_bind_app(ws_update_t *upd, ws_host_platform_t *hp, ws_app_store_t *link,
                             ws_app_t *app);
/* cdef-end */

#endif
