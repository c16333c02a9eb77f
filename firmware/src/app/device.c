/* The device core and its BLE face (ws_device.h). Every write is untrusted: it
 * is decoded by the protocol codec, checked against the device's state, and
 * answered with a documented status; nothing a host sends can stop the core. */
#include "ws_device.h"

#include <string.h>

#include "ws_bytes.h"
#include "ws_strips.h"

#define DEFAULT_FALL_CANCEL_S 30
#define DEFAULT_SUMMARY_MIN 15

size_t ws_device_size(void) { return sizeof(ws_device_t); }

/* Device time: the port's clock, shifted at boot so that it never goes back
 * behind the latest time written to flash (a clock that restarts at 0 after a
 * reset resumes where the flash left off; one that kept running is untouched). */
static uint32_t platform_now(const ws_device_t *dev)
{
    if (dev->platform == NULL || dev->platform->now_s == NULL) {
        return 0;
    }
    return dev->platform->now_s(dev->platform->ctx);
}

static uint32_t now_s(const ws_device_t *dev) { return platform_now(dev) + dev->clock_shift_s; }

static uint16_t model_version(const ws_device_t *dev, uint8_t task)
{
    if (dev->platform == NULL || dev->platform->model_version == NULL) {
        return 0;
    }
    return dev->platform->model_version(dev->platform->ctx, task);
}

uint32_t ws_device_time_s(const ws_device_t *dev) { return dev == NULL ? 0 : now_s(dev); }

uint8_t ws_device_battery_pct(const ws_device_t *dev)
{
    uint8_t pct;
    if (dev == NULL || dev->platform == NULL || dev->platform->battery_pct == NULL) {
        return 0;
    }
    pct = dev->platform->battery_pct(dev->platform->ctx);
    return pct > 100 ? 100 : pct;
}

static uint8_t charging(const ws_device_t *dev)
{
    if (dev->platform == NULL || dev->platform->charging == NULL) {
        return 0;
    }
    return dev->platform->charging(dev->platform->ctx) ? 1 : 0;
}

static ws_status_t check_serial(const char *serial)
{
    size_t n = 0;
    if (serial == NULL) {
        return WS_ERR_ARG;
    }
    while (n <= WS_SERIAL_MAX && serial[n] != '\0') {
        if (serial[n] < 0x21 || serial[n] > 0x7E) {
            return WS_ERR_RANGE;
        }
        n++;
    }
    return n >= 1 && n <= WS_SERIAL_MAX ? WS_OK : WS_ERR_RANGE;
}

ws_status_t ws_device_mount(ws_device_t *dev, const char *serial, const ws_flash_t *flash,
                            const ws_platform_t *platform)
{
    ws_status_t st;
    if (dev == NULL || flash == NULL || platform == NULL) {
        return WS_ERR_ARG;
    }
    st = check_serial(serial);
    if (st != WS_OK) {
        return st;
    }
    memset(dev, 0, sizeof *dev);
    memcpy(dev->serial, serial, strlen(serial) + 1); /* length checked above */
    dev->platform = platform;
    dev->fall_cancel_s = DEFAULT_FALL_CANCEL_S;
    dev->summary_min = DEFAULT_SUMMARY_MIN;
    st = ws_queue_mount(&dev->queue, flash);
    if (st != WS_OK) {
        return st;
    }
    if (dev->queue.last_time_s > platform_now(dev)) {
        dev->clock_shift_s = dev->queue.last_time_s - platform_now(dev);
    }
    dev->queue.now_s = now_s(dev);
    dev->new_epoch = dev->queue.formatted;
    dev->cursor = dev->queue.acked;
    return WS_OK;
}

/* STATUS page 0's flags (and the status record's). */
static uint8_t status_flags(const ws_device_t *dev)
{
    return (uint8_t)((dev->time_synced ? WS_STATUS_TIME_SYNCED : 0) |
                     (charging(dev) ? WS_STATUS_CHARGING : 0) |
                     (dev->new_epoch ? WS_STATUS_NEW_EPOCH : 0) |
                     (dev->posture_calibrated ? WS_STATUS_POSTURE_CALIBRATED : 0));
}

/* Queues one STATUS page (0 device, 1 models, 2 firmware). */
static ws_status_t queue_status_page(ws_device_t *dev, uint8_t page)
{
    ws_event_t ev;
    ws_status_t st;
    memset(&ev, 0, sizeof ev);
    ev.type = WS_EVENT_STATUS;
    ev.time_s = now_s(dev);
    ev.u.status.page = page;
    if (page == 0) {
        uint32_t free_events = ws_queue_free_events(&dev->queue);
        ev.u.status.p.device.battery_pct = ws_device_battery_pct(dev);
        ev.u.status.p.device.epoch = dev->queue.epoch;
        ev.u.status.p.device.queue_free =
            (uint16_t)(free_events > 0xFFFFu ? 0xFFFFu : free_events);
        ev.u.status.p.device.flags = status_flags(dev);
        ev.u.status.p.device.boot_count = (uint8_t)dev->queue.boot_count;
    } else if (page == 1) {
        ev.u.status.p.models.afib_version = model_version(dev, WS_TASK_AFIB);
        ev.u.status.p.models.fall_version = model_version(dev, WS_TASK_FALL);
        ev.u.status.p.models.activity_version = model_version(dev, WS_TASK_ACTIVITY);
    } else {
        ev.u.status.p.firmware.fw_major = WS_FW_MAJOR;
        ev.u.status.p.firmware.fw_minor = WS_FW_MINOR;
        ev.u.status.p.firmware.fw_patch = WS_FW_PATCH;
        ev.u.status.p.firmware.utc_offset_s = dev->utc_offset_s;
    }
    dev->queue.now_s = ev.time_s;
    st = ws_queue_append(&dev->queue, &ev);
    if (st == WS_OK && page == 0) {
        dev->new_epoch = 0;
    }
    return st;
}

/* STATUS pages 0, 1 and 2: what the host needs after a boot, a new epoch or a
 * time sync. The first failure is returned; the others are still tried. */
static ws_status_t queue_status_pages(ws_device_t *dev)
{
    ws_status_t first = WS_OK;
    uint8_t page;
    for (page = 0; page < 3; page++) {
        ws_status_t st = queue_status_page(dev, page);
        if (st != WS_OK && first == WS_OK) {
            first = st;
        }
    }
    return first;
}

/* Saves the config in force with the given posture calibration (ref NULL: zeros). */
static ws_status_t save_settings(ws_device_t *dev, uint8_t calibrated, const int16_t *ref)
{
    ws_settings_t s;
    memset(&s, 0, sizeof s);
    s.fall_cancel_s = dev->fall_cancel_s;
    s.summary_min = dev->summary_min;
    s.posture_calibrated = calibrated ? 1u : 0u;
    if (calibrated && ref != NULL) {
        memcpy(s.posture_ref, ref, sizeof s.posture_ref);
    }
    return ws_settings_save(&dev->settings, &s);
}

ws_status_t ws_device_attach_settings(ws_device_t *dev, const ws_flash_t *flash)
{
    ws_settings_t defaults;
    ws_status_t st;
    if (dev == NULL) {
        return WS_ERR_ARG;
    }
    memset(&defaults, 0, sizeof defaults);
    defaults.fall_cancel_s = DEFAULT_FALL_CANCEL_S;
    defaults.summary_min = DEFAULT_SUMMARY_MIN;
    st = ws_settings_mount(&dev->settings, flash, &defaults);
    if (st != WS_OK) {
        return st;
    }
    dev->fall_cancel_s = dev->settings.cur.fall_cancel_s;
    dev->summary_min = dev->settings.cur.summary_min;
    dev->posture_calibrated = dev->settings.cur.posture_calibrated;
    if (dev->posture_calibrated) {
        /* the boot's STATUS page 0 went out before the settings were read */
        (void)queue_status_page(dev, 0);
    }
    return WS_OK;
}

const ws_settings_t *ws_device_settings(const ws_device_t *dev)
{
    return dev == NULL ? NULL : &dev->settings.cur;
}

ws_status_t ws_device_save_posture(ws_device_t *dev, uint8_t calibrated, const int16_t *ref)
{
    if (dev == NULL || (calibrated && ref == NULL)) {
        return WS_ERR_ARG;
    }
    calibrated = calibrated ? 1u : 0u;
    if (dev->posture_calibrated != calibrated) {
        dev->posture_calibrated = calibrated;
        (void)queue_status_page(dev, 0); /* the host learns whether one is in force */
    }
    return save_settings(dev, calibrated, ref);
}

ws_status_t ws_device_boot(ws_device_t *dev, const char *serial, const ws_flash_t *flash,
                           const ws_platform_t *platform)
{
    ws_status_t st = ws_device_mount(dev, serial, flash, platform);
    if (st != WS_OK) {
        return st;
    }
    dev->queue.now_s = now_s(dev);
    st = ws_queue_note_boot(&dev->queue);
    if (st != WS_OK) {
        return st;
    }
    return queue_status_pages(dev);
}

ws_status_t ws_device_on_ack_write(ws_device_t *dev, const uint8_t *buf, size_t len)
{
    ws_ack_t ack;
    ws_status_t st;
    if (dev == NULL || buf == NULL) {
        return WS_ERR_ARG;
    }
    st = ws_ack_decode(buf, len, &ack);
    if (st != WS_OK) {
        return st;
    }
    if (ack.epoch != dev->queue.epoch) {
        return WS_ERR_EPOCH;
    }
    if (ack.kind == WS_ACK_STORED) {
        if (ack.seq > dev->queue.last_seq) {
            return WS_ERR_STATE;
        }
        dev->queue.now_s = now_s(dev);
        st = ws_queue_ack(&dev->queue, ack.seq);
        if (st == WS_OK && dev->cursor < dev->queue.acked) {
            dev->cursor = dev->queue.acked;
        }
        return st;
    }
    /* RESEND_FROM: events up to the acknowledged seq are freed; one past the
     * last assigned seq is allowed (nothing to resend yet). */
    if (ack.seq <= dev->queue.acked || ack.seq > dev->queue.last_seq + 1) {
        return WS_ERR_STATE;
    }
    dev->cursor = ack.seq - 1;
    return WS_OK;
}

static void respond(ws_response_t *rsp, const ws_command_t *cmd, ws_status_t st)
{
    memset(rsp, 0, sizeof *rsp);
    rsp->opcode = cmd->opcode;
    rsp->token = cmd->token;
    rsp->status = (uint8_t)st;
}

static void put_data_u32(ws_response_t *rsp, uint32_t v)
{
    ws_put_u32(rsp->data, v);
    rsp->data_len = 4;
}

static ws_status_t run_command(ws_device_t *dev, const ws_command_t *cmd, ws_response_t *rsp)
{
    ws_status_t st;
    switch (cmd->opcode) {
    case WS_CMD_TIME_SYNC: {
        uint32_t device_s = now_s(dev);
        int64_t offset = (int64_t)cmd->a.time_sync.utc_s - (int64_t)device_s;
        if (cmd->a.time_sync.utc_s > WS_TIME_SYNC_MAX_UTC || offset > INT32_MAX ||
            offset < INT32_MIN) {
            return WS_ERR_RANGE;
        }
        dev->utc_offset_s = (int32_t)offset;
        dev->time_synced = 1;
        put_data_u32(rsp, device_s);
        /* The offset is in force even if the flash cannot take the STATUS events. */
        (void)queue_status_pages(dev);
        return WS_OK;
    }
    case WS_CMD_START_RECORDING:
        if (dev->recording_s != 0) {
            return WS_ERR_BUSY;
        }
        dev->recording_s = cmd->a.start_recording.duration_s;
        return WS_OK;
    case WS_CMD_SET_CONFIG:
        if (cmd->a.set_config.key == WS_CONFIG_FALL_CANCEL_S) {
            dev->fall_cancel_s = cmd->a.set_config.value;
        } else if (cmd->a.set_config.key == WS_CONFIG_POSTURE) {
            dev->posture_request = cmd->a.set_config.value ? 1u : 2u;
            return WS_OK; /* saved by the app when the calibration completes or is forgotten */
        } else {
            dev->summary_min = cmd->a.set_config.value;
        }
        /* in force at once; a flash that cannot take it loses it only at the next reset */
        (void)save_settings(dev, dev->settings.cur.posture_calibrated,
                            dev->settings.cur.posture_ref);
        return WS_OK;
    case WS_CMD_STRIP_GET: {
        uint32_t len = 0, crc = 0;
        if (dev->strips == NULL) {
            return WS_ERR_NOT_FOUND;
        }
        st = ws_strips_get(dev->strips, cmd->a.strip_req.strip_id, cmd->a.strip_req.value, &len, &crc);
        if (st == WS_OK) {
            ws_put_u32(rsp->data, len);
            ws_put_u32(rsp->data + 4, crc);
            rsp->data_len = 8;
        }
        return st;
    }
    case WS_CMD_STRIP_RELEASE:
        if (dev->strips == NULL) {
            return WS_ERR_NOT_FOUND;
        }
        return ws_strips_release(dev->strips, cmd->a.strip_req.strip_id, cmd->a.strip_req.value);
    case WS_CMD_FACTORY_RESET:
        /* the old wearer's ECG strips go first: if a cut stops the erase, the epoch has
         * not changed and the strips left are still the owner's until a reset completes */
        if (dev->strips != NULL) {
            st = ws_strips_erase_all(dev->strips);
            if (st != WS_OK) {
                return st;
            }
        }
        dev->queue.now_s = now_s(dev);
        st = ws_queue_new_epoch(&dev->queue);
        if (st != WS_OK) {
            return st;
        }
        dev->cursor = 0;
        dev->new_epoch = 1;
        /* a new wearer: the settings go back to the defaults, the posture is forgotten */
        dev->fall_cancel_s = DEFAULT_FALL_CANCEL_S;
        dev->summary_min = DEFAULT_SUMMARY_MIN;
        dev->posture_request = 2u;
        (void)save_settings(dev, 0u, NULL);
        (void)queue_status_pages(dev);
        return WS_OK;
    default:
        /* UPDATE_*: the model-update service (ws_update.h) when one is attached. */
        if (dev->update_handler == NULL) {
            return WS_ERR_STATE;
        }
        return dev->update_handler(dev->update_ctx, dev, cmd, rsp);
    }
}

void ws_device_set_update_handler(ws_device_t *dev, ws_update_handler_t handler, void *ctx)
{
    if (dev != NULL) {
        dev->update_handler = handler;
        dev->update_ctx = ctx;
    }
}

ws_status_t ws_device_on_command_write(ws_device_t *dev, const uint8_t *buf, size_t len,
                                       uint8_t *rsp_buf, size_t cap, size_t *rsp_len)
{
    ws_command_t cmd;
    ws_response_t rsp;
    ws_status_t st;
    if (dev == NULL || buf == NULL || rsp_buf == NULL || rsp_len == NULL ||
        cap < WS_RESPONSE_MAX_SIZE) {
        return WS_ERR_ARG;
    }
    *rsp_len = 0;
    st = ws_command_decode(buf, len, &cmd);
    if (st == WS_ERR_LENGTH && len < 2) {
        return st; /* no opcode and token to answer under: the write itself fails */
    }
    if (st == WS_ERR_TYPE) {
        /* Unknown opcode: answered with TYPE under the opcode and token it named
         * (the codec only encodes known opcodes, so the three bytes are set here). */
        rsp_buf[0] = (uint8_t)(buf[0] | 0x80u);
        rsp_buf[1] = buf[1];
        rsp_buf[2] = (uint8_t)st;
        *rsp_len = 3;
        return st;
    }
    if (st != WS_OK) {
        cmd.opcode = buf[0];
        cmd.token = buf[1];
        respond(&rsp, &cmd, st);
    } else {
        respond(&rsp, &cmd, WS_OK);
        st = run_command(dev, &cmd, &rsp);
        if (st != WS_OK) {
            respond(&rsp, &cmd, st);
        }
    }
    if (ws_response_encode(&rsp, rsp_buf, cap, rsp_len) != WS_OK) {
        *rsp_len = 0;
        return WS_ERR_ARG;
    }
    return st;
}

ws_status_t ws_device_next_notification(ws_device_t *dev, uint8_t *out, size_t cap, size_t *len)
{
    uint32_t seq = 0;
    ws_status_t st;
    if (dev == NULL || out == NULL || len == NULL || cap < WS_NOTIFICATION_MAX) {
        return WS_ERR_ARG;
    }
    st = ws_queue_next(&dev->queue, dev->cursor, out, cap, len, &seq);
    if (st == WS_OK && *len > 0) {
        dev->cursor = seq;
    }
    return st;
}

void ws_device_on_connect(ws_device_t *dev)
{
    if (dev != NULL) {
        dev->cursor = dev->queue.acked;
        ws_strips_cancel(dev->strips);
    }
}

ws_status_t ws_device_attach_strips(ws_device_t *dev, struct ws_strips *strips)
{
    if (dev == NULL) {
        return WS_ERR_ARG;
    }
    dev->strips = strips;
    return WS_OK;
}

ws_status_t ws_device_next_strip_frame(ws_device_t *dev, uint8_t *out, size_t cap, size_t *len)
{
    if (dev == NULL || out == NULL || len == NULL) {
        return WS_ERR_ARG;
    }
    if (dev->strips == NULL) {
        *len = 0;
        return WS_OK;
    }
    return ws_strips_next_frame(dev->strips, out, cap, len);
}

ws_status_t ws_device_append_event(ws_device_t *dev, ws_event_t *ev)
{
    ws_status_t st;
    if (dev == NULL || ev == NULL) {
        return WS_ERR_ARG;
    }
    dev->queue.now_s = now_s(dev);
    st = ws_queue_append(&dev->queue, ev);
    if (st == WS_ERR_NOSPACE && dev->queue.last_seq + 2 > WS_SEQ_MAX) {
        /* Sequence numbers of this epoch are used up: start the next epoch. */
        st = ws_queue_new_epoch(&dev->queue);
        if (st != WS_OK) {
            return st;
        }
        dev->cursor = 0;
        dev->new_epoch = 1;
        (void)queue_status_pages(dev);
        st = ws_queue_append(&dev->queue, ev);
    }
    return st;
}

ws_status_t ws_device_models_changed(ws_device_t *dev)
{
    if (dev == NULL || dev->queue.flash == NULL) {
        return WS_ERR_ARG;
    }
    return queue_status_pages(dev);
}

ws_status_t ws_device_read_status(const ws_device_t *dev, uint8_t *out, size_t cap, size_t *len)
{
    ws_status_record_t rec;
    uint32_t free_events;
    if (dev == NULL || out == NULL || len == NULL || cap < WS_STATUS_RECORD_SIZE) {
        return WS_ERR_ARG;
    }
    free_events = ws_queue_free_events(&dev->queue);
    rec.battery_pct = ws_device_battery_pct(dev);
    rec.epoch = dev->queue.epoch;
    rec.last_seq = dev->queue.last_seq;
    rec.acked_seq = dev->queue.acked;
    rec.queue_free = (uint16_t)(free_events > 0xFFFFu ? 0xFFFFu : free_events);
    rec.device_time_s = now_s(dev);
    /* bits 0-2 only: a companion reads this record to connect, and one that predates the
     * posture bit would refuse it (the bit goes out in STATUS page 0 events, which such a
     * companion stores undecoded) */
    rec.flags = (uint8_t)(status_flags(dev) & 0x07u);
    /* the queue keeps acked <= last_seq <= WS_SEQ_MAX and the battery is clamped to 100,
     * so the codec's range check always passes */
    return ws_status_record_encode(&rec, out, cap, len);
}

void ws_device_recording_started(ws_device_t *dev)
{
    if (dev != NULL) {
        dev->recording_s = 0;
    }
}

const char *ws_device_serial(const ws_device_t *dev) { return dev == NULL ? "" : dev->serial; }

ws_status_t ws_device_get_info(const ws_device_t *dev, ws_device_info_t *info)
{
    if (dev == NULL || info == NULL) {
        return WS_ERR_ARG;
    }
    memset(info, 0, sizeof *info);
    info->epoch = dev->queue.epoch;
    info->last_seq = dev->queue.last_seq;
    info->acked_seq = dev->queue.acked;
    info->cursor_seq = dev->cursor;
    info->pending = ws_queue_pending(&dev->queue);
    info->queue_free = ws_queue_free_events(&dev->queue);
    info->boot_count = dev->queue.boot_count;
    info->time_s = now_s(dev);
    info->utc_offset_s = dev->utc_offset_s;
    info->time_synced = dev->time_synced;
    info->model_version[WS_TASK_AFIB] = model_version(dev, WS_TASK_AFIB);
    info->model_version[WS_TASK_FALL] = model_version(dev, WS_TASK_FALL);
    info->model_version[WS_TASK_ACTIVITY] = model_version(dev, WS_TASK_ACTIVITY);
    info->fall_cancel_s = dev->fall_cancel_s;
    info->summary_min = dev->summary_min;
    info->recording_s = dev->recording_s;
    return WS_OK;
}
