/* Host port of the device core: a platform whose clock and battery the caller
 * sets, and test-only entry points (append events directly, clone a running
 * core, list stored events) so the link, store and UI can be tested before
 * the detectors exist. Not part of a device build. */
#ifndef WS_HOST_DEVICE_H
#define WS_HOST_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "ws_device.h"
#include "flash.h"

/* cdef-begin */
typedef struct {
    uint32_t now_s;
    uint8_t battery_pct;
    uint8_t charging;
    uint16_t model_version[3]; /* by ws_task_t */
} ws_host_clock_t;

typedef struct ws_host_platform ws_host_platform_t;

size_t ws_host_platform_size(void);
/* Binds a platform to a clock the caller owns and updates. */
void ws_host_platform_init(ws_host_platform_t *hp, ws_host_clock_t *clock);
const ws_platform_t *ws_host_platform_iface(const ws_host_platform_t *hp);

/* Appends an event given as wire bytes (its seq is ignored and assigned);
 * *seq receives the assigned number. */
ws_status_t ws_host_inject_event(ws_device_t *dev, const uint8_t *packet, size_t len,
                                 uint32_t *seq);

/* After the bytes of a ws_device_t were copied: points the copy at its own
 * flash, settings flash and platform. */
void ws_host_device_rebind(ws_device_t *dev, const ws_flash_t *flash,
                           const ws_flash_t *settings_flash, const ws_platform_t *platform);

/* The stored event with the smallest seq after `after`, without moving the
 * notification cursor; *len is 0 when there is none. */
ws_status_t ws_host_event_after(const ws_device_t *dev, uint32_t after, uint8_t *out,
                                size_t cap, size_t *len);
/* cdef-end */

struct ws_host_platform {
    ws_platform_t iface;
    ws_host_clock_t *clock;
};

#endif
