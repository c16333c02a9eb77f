/* Host port of the device core (device.h). */
#include "device.h"

#include <string.h>

static uint32_t host_now(void *ctx) { return ((ws_host_platform_t *)ctx)->clock->now_s; }
static uint8_t host_battery(void *ctx) { return ((ws_host_platform_t *)ctx)->clock->battery_pct; }
static uint8_t host_charging(void *ctx) { return ((ws_host_platform_t *)ctx)->clock->charging; }

static uint16_t host_model_version(void *ctx, uint8_t task)
{
    return task < 3 ? ((ws_host_platform_t *)ctx)->clock->model_version[task] : 0;
}

size_t ws_host_platform_size(void) { return sizeof(ws_host_platform_t); }

void ws_host_platform_init(ws_host_platform_t *hp, ws_host_clock_t *clock)
{
    if (hp == NULL || clock == NULL) {
        return;
    }
    hp->clock = clock;
    hp->iface.now_s = host_now;
    hp->iface.battery_pct = host_battery;
    hp->iface.charging = host_charging;
    hp->iface.model_version = host_model_version;
    hp->iface.ctx = hp;
}

const ws_platform_t *ws_host_platform_iface(const ws_host_platform_t *hp)
{
    return hp == NULL ? NULL : &hp->iface;
}

ws_status_t ws_host_inject_event(ws_device_t *dev, const uint8_t *packet, size_t len,
                                 uint32_t *seq)
{
    ws_event_t ev;
    ws_status_t st;
    if (dev == NULL || packet == NULL || seq == NULL) {
        return WS_ERR_ARG;
    }
    if (len < WS_EVENT_MIN_SIZE || len > WS_EVENT_MAX_SIZE) {
        return WS_ERR_LENGTH;
    }
    st = ws_event_decode(packet, len, &ev);
    if (st != WS_OK) {
        return st;
    }
    st = ws_device_append_event(dev, &ev);
    *seq = st == WS_OK ? ev.seq : 0;
    return st;
}

void ws_host_device_rebind(ws_device_t *dev, const ws_flash_t *flash,
                           const ws_flash_t *settings_flash, const ws_platform_t *platform)
{
    if (dev != NULL) {
        dev->queue.flash = flash;
        dev->settings.flash = settings_flash;
        dev->platform = platform;
    }
}

ws_status_t ws_host_event_after(const ws_device_t *dev, uint32_t after, uint8_t *out,
                                size_t cap, size_t *len)
{
    uint32_t seq = 0;
    if (dev == NULL) {
        return WS_ERR_ARG;
    }
    return ws_queue_next(&dev->queue, after, out, cap, len, &seq);
}
