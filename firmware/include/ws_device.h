/* The device core: identity (serial number), the (epoch, seq) numbering kept by
 * the persistent queue, device time and the wall-clock offset, model versions,
 * battery, and the BLE face: one function per kind of write the device receives
 * and one that yields the next notification. The face takes and returns plain
 * bytes and status codes; nothing here knows which radio carries them.
 * Behaviour and failure cases: docs/device-core.md; wire formats: docs/protocol.md. */
#ifndef WS_DEVICE_H
#define WS_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "ws_flash.h"
#include "ws_protocol.h"
#include "ws_queue.h"
#include "ws_settings.h"
#include "ws_status.h"

/* cdef-begin */
#define WS_FW_MAJOR 0
#define WS_FW_MINOR 1
#define WS_FW_PATCH 0
#define WS_SERIAL_MAX 16
#define WS_TIME_SYNC_MAX_UTC 4102444800
#define WS_NOTIFICATION_MAX 20
#define WS_RESPONSE_MAX_SIZE 19
#define WS_STATUS_RECORD_SIZE 17
#define WS_STATUS_RECORD_VERSION 1

typedef struct ws_device ws_device_t;
typedef struct ws_platform ws_platform_t;
struct ws_strips;

/* A snapshot of the core's state, for the port, the emulator and tests. */
typedef struct {
    uint16_t epoch;
    uint32_t last_seq;   /* last sequence number assigned in this epoch */
    uint32_t acked_seq;  /* highest sequence number the host acknowledged */
    uint32_t cursor_seq; /* last sequence number handed out as a notification */
    uint32_t pending;    /* unacknowledged events held */
    uint32_t queue_free; /* events that still fit before the queue drops any */
    uint16_t boot_count;
    uint32_t time_s;     /* device time, seconds */
    int32_t utc_offset_s;
    uint8_t time_synced;
    uint16_t model_version[3]; /* by ws_task_t */
    uint16_t fall_cancel_s;
    uint16_t summary_min;
    uint8_t recording_s; /* requested ECG recording not yet started, 0 if none */
} ws_device_info_t;

/* Bytes a ws_device_t needs (the caller owns the memory; nothing mallocs). */
size_t ws_device_size(void);

/* Mounts the queue (recovering from any power cut), counts the boot and queues
 * the STATUS pages 0, 1, 2. serial: 1..16 printable ASCII characters. */
ws_status_t ws_device_boot(ws_device_t *dev, const char *serial, const ws_flash_t *flash,
                           const ws_platform_t *platform);

/* Only mounts the queue: no boot record, no STATUS events (inspection, tests). */
ws_status_t ws_device_mount(ws_device_t *dev, const char *serial, const ws_flash_t *flash,
                            const ws_platform_t *platform);

/* Acknowledgement characteristic: ACK STORED and RESEND_FROM frames. The result
 * is the write's status. */
ws_status_t ws_device_on_ack_write(ws_device_t *dev, const uint8_t *buf, size_t len);

/* Command characteristic. The result is the write's status; when the frame
 * named a known opcode, a response frame (to indicate) is written to rsp
 * (cap >= WS_RESPONSE_MAX_SIZE) and *rsp_len is its size, else *rsp_len is 0. */
ws_status_t ws_device_on_command_write(ws_device_t *dev, const uint8_t *buf, size_t len,
                                       uint8_t *rsp, size_t cap, size_t *rsp_len);

/* The next event packet to notify (cap >= WS_NOTIFICATION_MAX); *len is 0 when
 * everything stored has been handed out. */
ws_status_t ws_device_next_notification(ws_device_t *dev, uint8_t *out, size_t cap,
                                         size_t *len);

/* A new link: the next notification is the oldest unacknowledged event. */
void ws_device_on_connect(ws_device_t *dev);

/* Detectors report here: assigns ev->seq and stores the event durably. */
ws_status_t ws_device_append_event(ws_device_t *dev, ws_event_t *ev);

/* A model switched in (model updates call this): queues STATUS pages 0, 1, 2;
 * the versions themselves come from the platform's model_version hook. */
ws_status_t ws_device_models_changed(ws_device_t *dev);

/* Status characteristic (read / notify): the 17-byte status record. */
ws_status_t ws_device_read_status(const ws_device_t *dev, uint8_t *out, size_t cap, size_t *len);

/* Keeps the wearer's settings (ws_settings.h) in `flash` (WS_SETTINGS_PAGES pages of its
 * own; NULL: in RAM only, as before any attach): reads them and puts the stored fall
 * cancel window and summary interval in force. Called by the port after every boot or
 * mount, before ws_app_init (which takes the stored posture calibration). From then on
 * SET_CONFIG and the posture calibration are saved as they change, and FACTORY_RESET
 * restores the defaults. WS_ERR_ARG for NULL dev or a flash too small. */
ws_status_t ws_device_attach_settings(ws_device_t *dev, const ws_flash_t *flash);

/* The settings as stored (the defaults when nothing is). */
const ws_settings_t *ws_device_settings(const ws_device_t *dev);

/* The app's posture calibration completed (calibrated 1, ref its standing gravity) or was
 * forgotten (0): saved with the other settings, and when that changes whether one is in
 * force, STATUS page 0 is queued with the flag POSTURE_CALIBRATED as it now stands.
 * WS_ERR_FLASH when the flash failed (the calibration stays in force until a reset). */
ws_status_t ws_device_save_posture(ws_device_t *dev, uint8_t calibrated, const int16_t *ref);

/* ECG strips (ws_strips.h): STRIP_GET and STRIP_RELEASE go to `strips` (mounted on this
 * core) once attached; before, they are answered NOT_FOUND. Cleared by every boot/mount. */
ws_status_t ws_device_attach_strips(ws_device_t *dev, struct ws_strips *strips);

/* The next Strip transfer frame (cap: the link's ATT MTU - 3, at least 9 bytes); *len is 0
 * when no transfer is running or its last frame went out. */
ws_status_t ws_device_next_strip_frame(ws_device_t *dev, uint8_t *out, size_t cap, size_t *len);

/* The ECG recording a START_RECORDING asked for has started: clears the request. */
void ws_device_recording_started(ws_device_t *dev);

const char *ws_device_serial(const ws_device_t *dev);
uint32_t ws_device_time_s(const ws_device_t *dev);
uint8_t ws_device_battery_pct(const ws_device_t *dev);
ws_status_t ws_device_get_info(const ws_device_t *dev, ws_device_info_t *info);
/* cdef-end */

/* Platform hooks: the port supplies the clock, the battery gauge and the model
 * store's running versions. Any hook may be NULL (reads as 0). */
struct ws_platform {
    uint32_t (*now_s)(void *ctx);       /* seconds since an arbitrary origin (RTC or uptime) */
    uint8_t (*battery_pct)(void *ctx);  /* 0..100 (larger values are reported as 100) */
    uint8_t (*charging)(void *ctx);     /* non-zero while on the charger */
    uint16_t (*model_version)(void *ctx, uint8_t task); /* running version, 0 if none */
    void *ctx;
};

/* Model updates (ws_update.h): UPDATE_* commands go to this handler when one is set
 * (ws_update_attach), else they are answered with STATE. Cleared by every boot/mount. */
typedef ws_status_t (*ws_update_handler_t)(void *ctx, ws_device_t *dev, const ws_command_t *cmd,
                                           ws_response_t *rsp);
void ws_device_set_update_handler(ws_device_t *dev, ws_update_handler_t handler, void *ctx);

struct ws_device {
    char serial[WS_SERIAL_MAX + 1];
    const ws_platform_t *platform;
    ws_queue_t queue;
    uint32_t cursor;      /* last seq handed out as a notification */
    uint32_t clock_shift_s; /* added to the port's clock so device time never goes back */
    int32_t utc_offset_s;
    uint8_t time_synced;
    uint8_t new_epoch; /* report WS_STATUS_NEW_EPOCH in the next STATUS page 0 */
    uint16_t fall_cancel_s;
    uint16_t summary_min;
    uint8_t recording_s;
    uint8_t posture_request; /* SET_CONFIG POSTURE not yet taken by the app: 1 calibrate, 2 forget */
    ws_settings_store_t settings; /* the wearer's settings in flash (ws_device_attach_settings) */
    uint8_t posture_calibrated;   /* the app's posture calibration is in force (STATUS flag) */
    ws_update_handler_t update_handler;
    void *update_ctx;
    struct ws_strips *strips; /* ECG strips (ws_device_attach_strips), NULL if none */
};

#endif
