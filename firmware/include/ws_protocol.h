/* The WearSense wire protocol: event packets, acknowledgements, commands and
 * model-transfer chunks. Byte layouts are specified in docs/protocol.md and
 * mirrored by wearsense.protocol; tests/vectors/protocol.json keeps both equal.
 * Pure functions: no I/O, no allocation. */
#ifndef WS_PROTOCOL_H
#define WS_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "ws_status.h"

/* cdef-begin */
#define WS_PROTOCOL_VERSION 1
#define WS_EVENT_HEADER_SIZE 10
#define WS_EVENT_CRC_SIZE 2
#define WS_EVENT_MAX_PAYLOAD 8
#define WS_EVENT_MAX_SIZE 20
#define WS_EVENT_MIN_SIZE 12
#define WS_EVENT_GAP_SIZE 20 /* a GAP packet: header, 8-byte payload, CRC */
#define WS_SEQ_MAX 16777215
#define WS_ACK_FRAME_SIZE 6
#define WS_CHUNK_HEADER_SIZE 4
#define WS_CHUNK_OVERHEAD 6
#define WS_ACTIVITY_CLASSES 8
#define WS_SHA256_SIZE 32
#define WS_COMMAND_MAX_ARGS 40
#define WS_RESPONSE_MAX_DATA 16

typedef enum {
    WS_EVENT_AF_START = 1,
    WS_EVENT_AF_END = 2,
    WS_EVENT_RHYTHM_SUMMARY = 3,
    WS_EVENT_HR_SUMMARY = 4,
    WS_EVENT_FALL = 5,
    WS_EVENT_FALL_CANCELLED = 6,
    WS_EVENT_ACTIVITY_CHANGE = 7,
    WS_EVENT_ACTIVITY_SUMMARY = 8,
    WS_EVENT_SIGNAL_QUALITY = 9,
    WS_EVENT_GAP = 10,
    WS_EVENT_STATUS = 11,
    WS_EVENT_ECG_RECORDING = 12,
    WS_EVENT_STRIP = 13
} ws_event_type_t;

/* Class codes fixed by the protocol; a model package maps its outputs onto them. */
typedef enum {
    WS_RHYTHM_NORMAL = 0,
    WS_RHYTHM_AF = 1,
    WS_RHYTHM_OTHER = 2,
    WS_RHYTHM_NOISY = 3
} ws_rhythm_class_t;

typedef enum {
    WS_ACTIVITY_WALK = 0,
    WS_ACTIVITY_RUN = 1,
    WS_ACTIVITY_CYCLE = 2,
    WS_ACTIVITY_UPSTAIRS = 3,
    WS_ACTIVITY_DOWNSTAIRS = 4,
    WS_ACTIVITY_SIT = 5,
    WS_ACTIVITY_STAND = 6,
    WS_ACTIVITY_LIE = 7,
    WS_ACTIVITY_UNKNOWN = 255
} ws_activity_class_t;

typedef enum {
    WS_FALL_CLASS_ADL = 0,
    WS_FALL_CLASS_FALL = 1
} ws_fall_class_t;

typedef enum {
    WS_SOURCE_ECG = 0,
    WS_SOURCE_IMU = 1
} ws_signal_source_t;

/* Signal-quality flag bits (SIGNAL_QUALITY.flags, ECG_RECORDING.quality). */
#define WS_QUALITY_LEADS_OFF 1
#define WS_QUALITY_NOISY 2
#define WS_QUALITY_SATURATED 4
#define WS_QUALITY_FLAT 8
#define WS_QUALITY_IMPLAUSIBLE 16 /* IMU: at rest it does not read 1 g (a scale or sensor fault) */

/* STATUS page 0 flag bits. */
#define WS_STATUS_TIME_SYNCED 1
#define WS_STATUS_CHARGING 2
#define WS_STATUS_NEW_EPOCH 4
#define WS_STATUS_POSTURE_CALIBRATED 8 /* the activity detector's posture calibration is in force */

typedef struct { uint8_t hr_bpm; uint8_t confidence; uint16_t onset_lag_s; } ws_ev_af_start_t;
typedef struct { uint32_t duration_s; uint8_t mean_hr_bpm; } ws_ev_af_end_t;
typedef struct { uint16_t interval_s; uint16_t analysable_s; uint16_t af_s; } ws_ev_rhythm_summary_t;
typedef struct {
    uint16_t interval_s; uint8_t min_bpm; uint8_t mean_bpm; uint8_t max_bpm;
} ws_ev_hr_summary_t;
typedef struct { uint16_t impact_mg; uint8_t confidence; uint8_t stillness_s; } ws_ev_fall_t;
typedef struct { uint32_t fall_seq; uint8_t delay_s; } ws_ev_fall_cancelled_t;
typedef struct { uint8_t from_class; uint8_t to_class; uint8_t confidence; } ws_ev_activity_change_t;
typedef struct { uint8_t minutes[8]; } ws_ev_activity_summary_t;
typedef struct { uint8_t source; uint8_t flags; uint16_t duration_s; } ws_ev_signal_quality_t;
typedef struct { uint32_t first_seq; uint32_t last_seq; uint16_t dropped; } ws_ev_gap_t;
typedef struct {
    uint8_t battery_pct; uint16_t epoch; uint16_t queue_free; uint8_t flags; uint8_t boot_count;
} ws_status_device_t;
typedef struct {
    uint16_t afib_version; uint16_t fall_version; uint16_t activity_version;
} ws_status_models_t;
typedef struct {
    uint8_t fw_major; uint8_t fw_minor; uint8_t fw_patch; int32_t utc_offset_s;
} ws_status_firmware_t;
typedef struct {
    uint8_t page; /* 0 device, 1 models, 2 firmware */
    union {
        ws_status_device_t device;
        ws_status_models_t models;
        ws_status_firmware_t firmware;
    } p;
} ws_ev_status_t;
typedef struct {
    uint8_t rhythm_class; uint8_t confidence; uint8_t hr_bpm; uint8_t duration_s; uint8_t quality;
} ws_ev_ecg_recording_t;
/* STRIP: an ECG strip the device holds (reason 1 AF onset, 2 recording; 3 fall reserved). */
typedef struct {
    uint16_t strip_id; uint8_t reason; uint8_t duration_s; uint32_t subject_seq;
} ws_ev_strip_t;

typedef struct {
    uint8_t type;           /* ws_event_type_t */
    uint32_t seq;           /* 24 bits on the wire */
    uint32_t time_s;        /* device seconds */
    uint16_t model_version; /* version of the model that produced the event, 0 if none */
    union {
        ws_ev_af_start_t af_start;
        ws_ev_af_end_t af_end;
        ws_ev_rhythm_summary_t rhythm_summary;
        ws_ev_hr_summary_t hr_summary;
        ws_ev_fall_t fall;
        ws_ev_fall_cancelled_t fall_cancelled;
        ws_ev_activity_change_t activity_change;
        ws_ev_activity_summary_t activity_summary;
        ws_ev_signal_quality_t signal_quality;
        ws_ev_gap_t gap;
        ws_ev_status_t status;
        ws_ev_ecg_recording_t ecg_recording;
        ws_ev_strip_t strip;
    } u;
} ws_event_t;

/* CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final xor. */
uint16_t ws_crc16(const uint8_t *data, size_t len);
uint16_t ws_crc16_update(uint16_t crc, const uint8_t *data, size_t len);

/* Payload size of an event type, or -1 for an unknown type. */
int ws_event_payload_size(uint8_t type);

/* Checks every field against its documented range. */
ws_status_t ws_event_validate(const ws_event_t *ev);

/* Encodes a valid event into out (cap >= its size); *len receives the size. */
ws_status_t ws_event_encode(const ws_event_t *ev, uint8_t *out, size_t cap, size_t *len);

/* Decodes one packet; checks, in this order: length bounds, CRC, version, type,
 * exact length for the type, field ranges. */
ws_status_t ws_event_decode(const uint8_t *buf, size_t len, ws_event_t *ev);

/* Packet size of an event type (header, payload and CRC), or -1 for an unknown type. */
int ws_event_size(uint8_t type);

/* Fields of a packet ws_event_encode wrote, read without decoding it (the event queue
 * keeps packets as they go out): its type, seq and device time; of a GAP packet, the
 * first seq it reports and the count of events dropped. */
uint8_t ws_event_packet_type(const uint8_t *packet);
uint32_t ws_event_packet_seq(const uint8_t *packet);
uint32_t ws_event_packet_time(const uint8_t *packet);
void ws_event_packet_gap(const uint8_t *packet, uint32_t *first_seq, uint16_t *dropped);

/* Acknowledgement characteristic. */
typedef enum { WS_ACK_STORED = 1, WS_ACK_RESEND_FROM = 2 } ws_ack_kind_t;
typedef struct { uint8_t kind; uint16_t epoch; uint32_t seq; } ws_ack_t;
ws_status_t ws_ack_encode(const ws_ack_t *ack, uint8_t *out, size_t cap, size_t *len);
ws_status_t ws_ack_decode(const uint8_t *buf, size_t len, ws_ack_t *ack);

/* Command characteristic: requests are written, responses are indicated. */
typedef enum {
    WS_CMD_TIME_SYNC = 1,
    WS_CMD_START_RECORDING = 2,
    WS_CMD_SET_CONFIG = 3,
    WS_CMD_FACTORY_RESET = 4,
    WS_CMD_STRIP_GET = 5,
    WS_CMD_STRIP_RELEASE = 6,
    WS_CMD_UPDATE_BEGIN = 16,
    WS_CMD_UPDATE_QUERY = 17,
    WS_CMD_UPDATE_COMMIT = 18,
    WS_CMD_UPDATE_ABORT = 19
} ws_command_opcode_t;

#define WS_FACTORY_RESET_MAGIC 0x54455352
#define WS_TIME_SYNC_MIN_UTC 1577836800
#define WS_CONFIG_FALL_CANCEL_S 1
#define WS_CONFIG_SUMMARY_MIN 2
/* SET_CONFIG value ranges (the codec refuses others with RANGE; stored settings too) */
#define WS_FALL_CANCEL_S_MIN 5
#define WS_FALL_CANCEL_S_MAX 300
#define WS_SUMMARY_MIN_MIN 1
#define WS_SUMMARY_MIN_MAX 1440
#define WS_CONFIG_POSTURE 3 /* 1: calibrate the posture now (stand upright), 0: forget it */

typedef enum { WS_TASK_AFIB = 0, WS_TASK_FALL = 1, WS_TASK_ACTIVITY = 2 } ws_task_t;

typedef struct { uint32_t utc_s; } ws_cmd_time_sync_t;
typedef struct { uint8_t duration_s; } ws_cmd_start_recording_t;
typedef struct { uint8_t key; uint16_t value; } ws_cmd_set_config_t;
typedef struct { uint32_t magic; } ws_cmd_factory_reset_t;
typedef struct {
    uint8_t task; uint16_t version; uint32_t size; uint8_t sha256[32];
} ws_cmd_update_begin_t;
typedef struct { uint8_t task; } ws_cmd_update_task_t;
/* STRIP_GET (value = offset) and STRIP_RELEASE (value = image CRC-32) */
typedef struct { uint16_t strip_id; uint32_t value; } ws_cmd_strip_t;

typedef struct {
    uint8_t opcode; /* ws_command_opcode_t */
    uint8_t token;  /* echoed in the response */
    union {
        ws_cmd_time_sync_t time_sync;
        ws_cmd_start_recording_t start_recording;
        ws_cmd_set_config_t set_config;
        ws_cmd_factory_reset_t factory_reset;
        ws_cmd_update_begin_t update_begin;
        ws_cmd_update_task_t update_task; /* QUERY, COMMIT, ABORT */
        ws_cmd_strip_t strip_req;         /* STRIP_GET, STRIP_RELEASE */
    } a;
} ws_command_t;

ws_status_t ws_command_encode(const ws_command_t *cmd, uint8_t *out, size_t cap, size_t *len);
ws_status_t ws_command_decode(const uint8_t *buf, size_t len, ws_command_t *cmd);

typedef struct {
    uint8_t opcode; uint8_t token; uint8_t status; uint8_t data_len; uint8_t data[16];
} ws_response_t;
ws_status_t ws_response_encode(const ws_response_t *rsp, uint8_t *out, size_t cap, size_t *len);
ws_status_t ws_response_decode(const uint8_t *buf, size_t len, ws_response_t *rsp);

/* Status characteristic record (docs/protocol.md section 8), 17 bytes. */
#define WS_STATUS_RECORD_SIZE 17
typedef struct {
    uint8_t battery_pct; uint16_t epoch; uint32_t last_seq; uint32_t acked_seq;
    uint16_t queue_free; uint32_t device_time_s; uint8_t flags;
} ws_status_record_t;
ws_status_t ws_status_record_encode(const ws_status_record_t *rec, uint8_t *out, size_t cap,
                                    size_t *len);
ws_status_t ws_status_record_decode(const uint8_t *buf, size_t len, ws_status_record_t *rec);

/* Model-transfer characteristic: offset u32, data, CRC-16 over offset and data. */
typedef struct { uint32_t offset; const uint8_t *data; size_t data_len; } ws_chunk_t;
ws_status_t ws_chunk_encode(uint32_t offset, const uint8_t *data, size_t data_len,
                            uint8_t *out, size_t cap, size_t *len);
ws_status_t ws_chunk_decode(const uint8_t *buf, size_t len, ws_chunk_t *chunk);
/* cdef-end */

#endif
