/* Host port of the model-update service: the running model versions reach the host
 * platform's model_version hook (so STATUS page 1 and ws_device_get_info report what the
 * model store runs). A device port does the same in its own models hook, where it also
 * hands each new model to the detectors. */
#ifndef WS_HOST_UPDATE_H
#define WS_HOST_UPDATE_H

#include "ws_host_device.h"
#include "ws_update.h"

/* cdef-begin */
/* From now on the platform's model versions follow the update service's store. */
void ws_host_update_bind(ws_update_t *upd, ws_host_platform_t *hp);
/* cdef-end */

#endif
