/* Event, acknowledgement, command and chunk codecs of docs/protocol.md.
 * Little-endian throughout; every decoder checks before it trusts a byte. */
#include "ws_protocol.h"

#include <string.h>

#include "ws_bytes.h"

static const int8_t payload_size[] = {
    -1, /* 0: reserved */
    4,  /* AF_START */
    5,  /* AF_END */
    6,  /* RHYTHM_SUMMARY */
    5,  /* HR_SUMMARY */
    4,  /* FALL */
    4,  /* FALL_CANCELLED */
    3,  /* ACTIVITY_CHANGE */
    6,  /* ACTIVITY_SUMMARY */
    4,  /* SIGNAL_QUALITY */
    8,  /* GAP */
    8,  /* STATUS */
    5,  /* ECG_RECORDING */
    8,  /* STRIP */
};

#define HR_MIN 20
#define HR_MAX 250
#define CONFIDENCE_MAX 100
#define QUALITY_BITS 0x0F    /* ECG_RECORDING quality */
#define SQ_BITS 0x1F          /* SIGNAL_QUALITY flags: the ECG's and IMPLAUSIBLE */

/* CRC-16/CCITT-FALSE a byte at a time without a table: x is the byte's index into the
 * polynomial's table, whose entry is x ^ x<<5 ^ x<<12 once x has absorbed its top nibble.
 * About 8 instructions a byte on the M4 where the bitwise loop took about 40. */
uint16_t ws_crc16_update(uint16_t crc, const uint8_t *data, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++) {
        uint16_t x = (uint16_t)((crc >> 8) ^ data[i]);
        x ^= (uint16_t)(x >> 4);
        crc = (uint16_t)((crc << 8) ^ (x << 12) ^ (x << 5) ^ x);
    }
    return crc;
}

uint16_t ws_crc16(const uint8_t *data, size_t len) { return ws_crc16_update(0xFFFFu, data, len); }

int ws_event_payload_size(uint8_t type)
{
    if (type == 0 || type >= sizeof payload_size / sizeof payload_size[0]) {
        return -1;
    }
    return payload_size[type];
}

int ws_event_size(uint8_t type)
{
    int payload = ws_event_payload_size(type);
    return payload < 0 ? -1 : WS_EVENT_HEADER_SIZE + payload + WS_EVENT_CRC_SIZE;
}

uint8_t ws_event_packet_type(const uint8_t *packet) { return (uint8_t)(packet[0] & 0x1Fu); }

uint32_t ws_event_packet_seq(const uint8_t *packet) { return ws_get_u24(packet + 1); }

uint32_t ws_event_packet_time(const uint8_t *packet) { return ws_get_u32(packet + 4); }

void ws_event_packet_gap(const uint8_t *packet, uint32_t *first_seq, uint16_t *dropped)
{
    *first_seq = ws_get_u24(packet + WS_EVENT_HEADER_SIZE);
    *dropped = ws_get_u16(packet + WS_EVENT_HEADER_SIZE + 6);
}

static int hr_ok(uint8_t bpm) { return bpm >= HR_MIN && bpm <= HR_MAX; }

static ws_status_t validate_status(const ws_ev_status_t *s)
{
    switch (s->page) {
    case 0:
        if (s->p.device.battery_pct > 100 || (s->p.device.flags & 0xF0u) != 0) {
            return WS_ERR_RANGE;
        }
        return WS_OK;
    case 1:
    case 2:
        return WS_OK;
    default:
        return WS_ERR_RANGE;
    }
}

ws_status_t ws_event_validate(const ws_event_t *ev)
{
    unsigned sum = 0;
    int i;
    if (ev == NULL) {
        return WS_ERR_ARG;
    }
    if (ws_event_payload_size(ev->type) < 0) {
        return WS_ERR_TYPE;
    }
    if (ev->seq > WS_SEQ_MAX) {
        return WS_ERR_RANGE;
    }
    switch (ev->type) {
    case WS_EVENT_AF_START:
        return hr_ok(ev->u.af_start.hr_bpm) && ev->u.af_start.confidence <= CONFIDENCE_MAX
                   ? WS_OK : WS_ERR_RANGE;
    case WS_EVENT_AF_END:
        return hr_ok(ev->u.af_end.mean_hr_bpm) ? WS_OK : WS_ERR_RANGE;
    case WS_EVENT_RHYTHM_SUMMARY: {
        const ws_ev_rhythm_summary_t *r = &ev->u.rhythm_summary;
        return r->interval_s >= 1 && r->analysable_s <= r->interval_s &&
                       r->af_s <= r->analysable_s
                   ? WS_OK : WS_ERR_RANGE;
    }
    case WS_EVENT_HR_SUMMARY: {
        const ws_ev_hr_summary_t *h = &ev->u.hr_summary;
        return h->interval_s >= 1 && hr_ok(h->min_bpm) && hr_ok(h->max_bpm) &&
                       h->min_bpm <= h->mean_bpm && h->mean_bpm <= h->max_bpm
                   ? WS_OK : WS_ERR_RANGE;
    }
    case WS_EVENT_FALL:
        return ev->u.fall.confidence <= CONFIDENCE_MAX ? WS_OK : WS_ERR_RANGE;
    case WS_EVENT_FALL_CANCELLED:
        return ev->u.fall_cancelled.fall_seq >= 1 && ev->u.fall_cancelled.fall_seq <= WS_SEQ_MAX
                   ? WS_OK : WS_ERR_RANGE;
    case WS_EVENT_ACTIVITY_CHANGE: {
        const ws_ev_activity_change_t *a = &ev->u.activity_change;
        int from_ok = a->from_class < WS_ACTIVITY_CLASSES || a->from_class == WS_ACTIVITY_UNKNOWN;
        return from_ok && a->to_class < WS_ACTIVITY_CLASSES && a->from_class != a->to_class &&
                       a->confidence <= CONFIDENCE_MAX
                   ? WS_OK : WS_ERR_RANGE;
    }
    case WS_EVENT_ACTIVITY_SUMMARY:
        for (i = 0; i < WS_ACTIVITY_CLASSES; i++) {
            if (ev->u.activity_summary.minutes[i] > 60) {
                return WS_ERR_RANGE;
            }
            sum += ev->u.activity_summary.minutes[i];
        }
        return sum <= 60 ? WS_OK : WS_ERR_RANGE;
    case WS_EVENT_SIGNAL_QUALITY: {
        const ws_ev_signal_quality_t *q = &ev->u.signal_quality;
        return q->source <= WS_SOURCE_IMU && q->flags != 0 && (q->flags & ~SQ_BITS) == 0
                   ? WS_OK : WS_ERR_RANGE;
    }
    case WS_EVENT_GAP: {
        const ws_ev_gap_t *g = &ev->u.gap;
        return g->first_seq >= 1 && g->last_seq <= WS_SEQ_MAX && g->first_seq <= g->last_seq &&
                       g->dropped >= 1 && g->dropped <= g->last_seq - g->first_seq + 1
                   ? WS_OK : WS_ERR_RANGE;
    }
    case WS_EVENT_STATUS:
        return validate_status(&ev->u.status);
    case WS_EVENT_ECG_RECORDING: {
        const ws_ev_ecg_recording_t *r = &ev->u.ecg_recording;
        return r->rhythm_class <= WS_RHYTHM_NOISY && r->confidence <= CONFIDENCE_MAX &&
                       (r->hr_bpm == 0 || hr_ok(r->hr_bpm)) && r->duration_s >= 1 &&
                       r->duration_s <= 60 && (r->quality & ~QUALITY_BITS) == 0
                   ? WS_OK : WS_ERR_RANGE;
    }
    case WS_EVENT_STRIP: {
        const ws_ev_strip_t *t = &ev->u.strip;
        return t->strip_id >= 1 && t->reason >= 1 && t->reason <= 3 && t->duration_s >= 1 &&
                       t->subject_seq >= 1 && t->subject_seq <= WS_SEQ_MAX
                   ? WS_OK : WS_ERR_RANGE;
    }
    default:
        return WS_ERR_TYPE;
    }
}

static void pack_activity(const uint8_t minutes[8], uint8_t *p)
{
    uint64_t bits = 0;
    int i;
    for (i = 0; i < WS_ACTIVITY_CLASSES; i++) {
        bits |= (uint64_t)(minutes[i] & 0x3Fu) << (6 * i);
    }
    ws_put_u32(p, (uint32_t)bits); /* 48 bits, little-endian */
    ws_put_u16(p + 4, (uint32_t)(bits >> 32));
}

static void unpack_activity(const uint8_t *p, uint8_t minutes[8])
{
    uint64_t bits = ws_get_u32(p) | (uint64_t)ws_get_u16(p + 4) << 32; /* 48 bits */
    int i;
    for (i = 0; i < WS_ACTIVITY_CLASSES; i++) {
        minutes[i] = (uint8_t)((bits >> (6 * i)) & 0x3Fu);
    }
}

static void encode_payload(const ws_event_t *ev, uint8_t *p)
{
    switch (ev->type) {
    case WS_EVENT_AF_START:
        p[0] = ev->u.af_start.hr_bpm;
        p[1] = ev->u.af_start.confidence;
        ws_put_u16(p + 2, ev->u.af_start.onset_lag_s);
        break;
    case WS_EVENT_AF_END:
        ws_put_u32(p, ev->u.af_end.duration_s);
        p[4] = ev->u.af_end.mean_hr_bpm;
        break;
    case WS_EVENT_RHYTHM_SUMMARY:
        ws_put_u16(p, ev->u.rhythm_summary.interval_s);
        ws_put_u16(p + 2, ev->u.rhythm_summary.analysable_s);
        ws_put_u16(p + 4, ev->u.rhythm_summary.af_s);
        break;
    case WS_EVENT_HR_SUMMARY:
        ws_put_u16(p, ev->u.hr_summary.interval_s);
        p[2] = ev->u.hr_summary.min_bpm;
        p[3] = ev->u.hr_summary.mean_bpm;
        p[4] = ev->u.hr_summary.max_bpm;
        break;
    case WS_EVENT_FALL:
        ws_put_u16(p, ev->u.fall.impact_mg);
        p[2] = ev->u.fall.confidence;
        p[3] = ev->u.fall.stillness_s;
        break;
    case WS_EVENT_FALL_CANCELLED:
        ws_put_u24(p, ev->u.fall_cancelled.fall_seq);
        p[3] = ev->u.fall_cancelled.delay_s;
        break;
    case WS_EVENT_ACTIVITY_CHANGE:
        p[0] = ev->u.activity_change.from_class;
        p[1] = ev->u.activity_change.to_class;
        p[2] = ev->u.activity_change.confidence;
        break;
    case WS_EVENT_ACTIVITY_SUMMARY:
        pack_activity(ev->u.activity_summary.minutes, p);
        break;
    case WS_EVENT_SIGNAL_QUALITY:
        p[0] = ev->u.signal_quality.source;
        p[1] = ev->u.signal_quality.flags;
        ws_put_u16(p + 2, ev->u.signal_quality.duration_s);
        break;
    case WS_EVENT_GAP:
        ws_put_u24(p, ev->u.gap.first_seq);
        ws_put_u24(p + 3, ev->u.gap.last_seq);
        ws_put_u16(p + 6, ev->u.gap.dropped);
        break;
    case WS_EVENT_STATUS: {
        const ws_ev_status_t *s = &ev->u.status;
        memset(p, 0, 8);
        p[0] = s->page;
        if (s->page == 0) {
            p[1] = s->p.device.battery_pct;
            ws_put_u16(p + 2, s->p.device.epoch);
            ws_put_u16(p + 4, s->p.device.queue_free);
            p[6] = s->p.device.flags;
            p[7] = s->p.device.boot_count;
        } else if (s->page == 1) {
            ws_put_u16(p + 1, s->p.models.afib_version);
            ws_put_u16(p + 3, s->p.models.fall_version);
            ws_put_u16(p + 5, s->p.models.activity_version);
        } else {
            p[1] = s->p.firmware.fw_major;
            p[2] = s->p.firmware.fw_minor;
            p[3] = s->p.firmware.fw_patch;
            ws_put_u32(p + 4, (uint32_t)s->p.firmware.utc_offset_s);
        }
        break;
    }
    case WS_EVENT_ECG_RECORDING:
        p[0] = ev->u.ecg_recording.rhythm_class;
        p[1] = ev->u.ecg_recording.confidence;
        p[2] = ev->u.ecg_recording.hr_bpm;
        p[3] = ev->u.ecg_recording.duration_s;
        p[4] = ev->u.ecg_recording.quality;
        break;
    case WS_EVENT_STRIP:
        ws_put_u16(p, ev->u.strip.strip_id);
        p[2] = ev->u.strip.reason;
        p[3] = ev->u.strip.duration_s;
        ws_put_u24(p + 4, ev->u.strip.subject_seq);
        p[7] = 0;
        break;
    default:
        break;
    }
}

/* Returns WS_ERR_RANGE for bytes that can never come from a valid encoder
 * (reserved bytes that are not zero), before the field-range check. */
static ws_status_t decode_payload(uint8_t type, const uint8_t *p, ws_event_t *ev)
{
    switch (type) {
    case WS_EVENT_AF_START:
        ev->u.af_start.hr_bpm = p[0];
        ev->u.af_start.confidence = p[1];
        ev->u.af_start.onset_lag_s = ws_get_u16(p + 2);
        break;
    case WS_EVENT_AF_END:
        ev->u.af_end.duration_s = ws_get_u32(p);
        ev->u.af_end.mean_hr_bpm = p[4];
        break;
    case WS_EVENT_RHYTHM_SUMMARY:
        ev->u.rhythm_summary.interval_s = ws_get_u16(p);
        ev->u.rhythm_summary.analysable_s = ws_get_u16(p + 2);
        ev->u.rhythm_summary.af_s = ws_get_u16(p + 4);
        break;
    case WS_EVENT_HR_SUMMARY:
        ev->u.hr_summary.interval_s = ws_get_u16(p);
        ev->u.hr_summary.min_bpm = p[2];
        ev->u.hr_summary.mean_bpm = p[3];
        ev->u.hr_summary.max_bpm = p[4];
        break;
    case WS_EVENT_FALL:
        ev->u.fall.impact_mg = ws_get_u16(p);
        ev->u.fall.confidence = p[2];
        ev->u.fall.stillness_s = p[3];
        break;
    case WS_EVENT_FALL_CANCELLED:
        ev->u.fall_cancelled.fall_seq = ws_get_u24(p);
        ev->u.fall_cancelled.delay_s = p[3];
        break;
    case WS_EVENT_ACTIVITY_CHANGE:
        ev->u.activity_change.from_class = p[0];
        ev->u.activity_change.to_class = p[1];
        ev->u.activity_change.confidence = p[2];
        break;
    case WS_EVENT_ACTIVITY_SUMMARY:
        unpack_activity(p, ev->u.activity_summary.minutes);
        break;
    case WS_EVENT_SIGNAL_QUALITY:
        ev->u.signal_quality.source = p[0];
        ev->u.signal_quality.flags = p[1];
        ev->u.signal_quality.duration_s = ws_get_u16(p + 2);
        break;
    case WS_EVENT_GAP:
        ev->u.gap.first_seq = ws_get_u24(p);
        ev->u.gap.last_seq = ws_get_u24(p + 3);
        ev->u.gap.dropped = ws_get_u16(p + 6);
        break;
    case WS_EVENT_STATUS: {
        ws_ev_status_t *s = &ev->u.status;
        s->page = p[0];
        if (s->page == 0) {
            s->p.device.battery_pct = p[1];
            s->p.device.epoch = ws_get_u16(p + 2);
            s->p.device.queue_free = ws_get_u16(p + 4);
            s->p.device.flags = p[6];
            s->p.device.boot_count = p[7];
        } else if (s->page == 1) {
            if (p[7] != 0) {
                return WS_ERR_RANGE;
            }
            s->p.models.afib_version = ws_get_u16(p + 1);
            s->p.models.fall_version = ws_get_u16(p + 3);
            s->p.models.activity_version = ws_get_u16(p + 5);
        } else if (s->page == 2) {
            s->p.firmware.fw_major = p[1];
            s->p.firmware.fw_minor = p[2];
            s->p.firmware.fw_patch = p[3];
            s->p.firmware.utc_offset_s = ws_get_i32(p + 4);
        } else {
            return WS_ERR_RANGE;
        }
        break;
    }
    case WS_EVENT_ECG_RECORDING:
        ev->u.ecg_recording.rhythm_class = p[0];
        ev->u.ecg_recording.confidence = p[1];
        ev->u.ecg_recording.hr_bpm = p[2];
        ev->u.ecg_recording.duration_s = p[3];
        ev->u.ecg_recording.quality = p[4];
        break;
    case WS_EVENT_STRIP:
        if (p[7] != 0) {
            return WS_ERR_RANGE;
        }
        ev->u.strip.strip_id = ws_get_u16(p);
        ev->u.strip.reason = p[2];
        ev->u.strip.duration_s = p[3];
        ev->u.strip.subject_seq = ws_get_u24(p + 4);
        break;
    default:
        return WS_ERR_TYPE;
    }
    return WS_OK;
}

ws_status_t ws_event_encode(const ws_event_t *ev, uint8_t *out, size_t cap, size_t *len)
{
    ws_status_t st;
    size_t n;
    if (ev == NULL || out == NULL || len == NULL) {
        return WS_ERR_ARG;
    }
    st = ws_event_validate(ev);
    if (st != WS_OK) {
        return st;
    }
    n = (size_t)ws_event_size(ev->type);
    if (cap < n) {
        return WS_ERR_ARG;
    }
    out[0] = (uint8_t)((WS_PROTOCOL_VERSION << 5) | ev->type);
    ws_put_u24(out + 1, ev->seq);
    ws_put_u32(out + 4, ev->time_s);
    ws_put_u16(out + 8, ev->model_version);
    encode_payload(ev, out + WS_EVENT_HEADER_SIZE);
    ws_put_u16(out + n - 2, ws_crc16(out, n - 2));
    *len = n;
    return WS_OK;
}

ws_status_t ws_event_decode(const uint8_t *buf, size_t len, ws_event_t *ev)
{
    uint8_t type;
    int payload;
    ws_status_t st;
    if (buf == NULL || ev == NULL) {
        return WS_ERR_ARG;
    }
    if (len < WS_EVENT_MIN_SIZE || len > WS_EVENT_MAX_SIZE) {
        return WS_ERR_LENGTH;
    }
    if (ws_crc16(buf, len - 2) != ws_get_u16(buf + len - 2)) {
        return WS_ERR_CRC;
    }
    if ((buf[0] >> 5) != WS_PROTOCOL_VERSION) {
        return WS_ERR_VERSION;
    }
    type = ws_event_packet_type(buf);
    payload = ws_event_payload_size(type);
    if (payload < 0) {
        return WS_ERR_TYPE;
    }
    if (len != (size_t)(WS_EVENT_HEADER_SIZE + payload + WS_EVENT_CRC_SIZE)) {
        return WS_ERR_LENGTH;
    }
    memset(ev, 0, sizeof *ev);
    ev->type = type;
    ev->seq = ws_event_packet_seq(buf);
    ev->time_s = ws_event_packet_time(buf);
    ev->model_version = ws_get_u16(buf + 8);
    st = decode_payload(type, buf + WS_EVENT_HEADER_SIZE, ev);
    if (st != WS_OK) {
        return st;
    }
    return ws_event_validate(ev);
}

ws_status_t ws_ack_encode(const ws_ack_t *ack, uint8_t *out, size_t cap, size_t *len)
{
    if (ack == NULL || out == NULL || len == NULL || cap < WS_ACK_FRAME_SIZE) {
        return WS_ERR_ARG;
    }
    if (ack->kind != WS_ACK_STORED && ack->kind != WS_ACK_RESEND_FROM) {
        return WS_ERR_TYPE;
    }
    if (ack->seq > WS_SEQ_MAX || (ack->kind == WS_ACK_RESEND_FROM && ack->seq == 0)) {
        return WS_ERR_RANGE;
    }
    out[0] = ack->kind;
    ws_put_u16(out + 1, ack->epoch);
    ws_put_u24(out + 3, ack->seq);
    *len = WS_ACK_FRAME_SIZE;
    return WS_OK;
}

ws_status_t ws_ack_decode(const uint8_t *buf, size_t len, ws_ack_t *ack)
{
    if (buf == NULL || ack == NULL) {
        return WS_ERR_ARG;
    }
    if (len != WS_ACK_FRAME_SIZE) {
        return WS_ERR_LENGTH;
    }
    if (buf[0] != WS_ACK_STORED && buf[0] != WS_ACK_RESEND_FROM) {
        return WS_ERR_TYPE;
    }
    ack->kind = buf[0];
    ack->epoch = ws_get_u16(buf + 1);
    ack->seq = ws_get_u24(buf + 3);
    if (ack->kind == WS_ACK_RESEND_FROM && ack->seq == 0) {
        return WS_ERR_RANGE;
    }
    return WS_OK;
}

static int command_args_size(uint8_t opcode)
{
    switch (opcode) {
    case WS_CMD_TIME_SYNC: return 4;
    case WS_CMD_START_RECORDING: return 1;
    case WS_CMD_SET_CONFIG: return 3;
    case WS_CMD_FACTORY_RESET: return 4;
    case WS_CMD_STRIP_GET:
    case WS_CMD_STRIP_RELEASE: return 6;
    case WS_CMD_UPDATE_BEGIN: return 1 + 2 + 4 + WS_SHA256_SIZE;
    case WS_CMD_UPDATE_QUERY:
    case WS_CMD_UPDATE_COMMIT:
    case WS_CMD_UPDATE_ABORT: return 1;
    default: return -1;
    }
}

#define UPDATE_MAX_SIZE 262144u

static ws_status_t validate_command(const ws_command_t *c)
{
    switch (c->opcode) {
    case WS_CMD_TIME_SYNC:
        return c->a.time_sync.utc_s >= WS_TIME_SYNC_MIN_UTC ? WS_OK : WS_ERR_RANGE;
    case WS_CMD_START_RECORDING:
        return c->a.start_recording.duration_s >= 10 && c->a.start_recording.duration_s <= 60
                   ? WS_OK : WS_ERR_RANGE;
    case WS_CMD_SET_CONFIG:
        if (c->a.set_config.key == WS_CONFIG_FALL_CANCEL_S) {
            return c->a.set_config.value >= WS_FALL_CANCEL_S_MIN &&
                           c->a.set_config.value <= WS_FALL_CANCEL_S_MAX
                       ? WS_OK
                       : WS_ERR_RANGE;
        }
        if (c->a.set_config.key == WS_CONFIG_SUMMARY_MIN) {
            return c->a.set_config.value >= WS_SUMMARY_MIN_MIN &&
                           c->a.set_config.value <= WS_SUMMARY_MIN_MAX
                       ? WS_OK
                       : WS_ERR_RANGE;
        }
        if (c->a.set_config.key == WS_CONFIG_POSTURE) {
            return c->a.set_config.value <= 1 ? WS_OK : WS_ERR_RANGE;
        }
        return WS_ERR_RANGE;
    case WS_CMD_FACTORY_RESET:
        return c->a.factory_reset.magic == WS_FACTORY_RESET_MAGIC ? WS_OK : WS_ERR_RANGE;
    case WS_CMD_STRIP_GET:
    case WS_CMD_STRIP_RELEASE:
        return c->a.strip_req.strip_id >= 1 ? WS_OK : WS_ERR_RANGE;
    case WS_CMD_UPDATE_BEGIN:
        return c->a.update_begin.task <= WS_TASK_ACTIVITY && c->a.update_begin.version >= 1 &&
                       c->a.update_begin.size >= 1 && c->a.update_begin.size <= UPDATE_MAX_SIZE
                   ? WS_OK : WS_ERR_RANGE;
    case WS_CMD_UPDATE_QUERY:
    case WS_CMD_UPDATE_COMMIT:
    case WS_CMD_UPDATE_ABORT:
        return c->a.update_task.task <= WS_TASK_ACTIVITY ? WS_OK : WS_ERR_RANGE;
    default:
        return WS_ERR_TYPE;
    }
}

ws_status_t ws_command_encode(const ws_command_t *cmd, uint8_t *out, size_t cap, size_t *len)
{
    int args;
    ws_status_t st;
    uint8_t *a;
    if (cmd == NULL || out == NULL || len == NULL) {
        return WS_ERR_ARG;
    }
    args = command_args_size(cmd->opcode);
    if (args < 0) {
        return WS_ERR_TYPE;
    }
    st = validate_command(cmd);
    if (st != WS_OK) {
        return st;
    }
    if (cap < (size_t)(2 + args)) {
        return WS_ERR_ARG;
    }
    out[0] = cmd->opcode;
    out[1] = cmd->token;
    a = out + 2;
    switch (cmd->opcode) {
    case WS_CMD_TIME_SYNC: ws_put_u32(a, cmd->a.time_sync.utc_s); break;
    case WS_CMD_START_RECORDING: a[0] = cmd->a.start_recording.duration_s; break;
    case WS_CMD_SET_CONFIG:
        a[0] = cmd->a.set_config.key;
        ws_put_u16(a + 1, cmd->a.set_config.value);
        break;
    case WS_CMD_FACTORY_RESET: ws_put_u32(a, cmd->a.factory_reset.magic); break;
    case WS_CMD_STRIP_GET:
    case WS_CMD_STRIP_RELEASE:
        ws_put_u16(a, cmd->a.strip_req.strip_id);
        ws_put_u32(a + 2, cmd->a.strip_req.value);
        break;
    case WS_CMD_UPDATE_BEGIN:
        a[0] = cmd->a.update_begin.task;
        ws_put_u16(a + 1, cmd->a.update_begin.version);
        ws_put_u32(a + 3, cmd->a.update_begin.size);
        memcpy(a + 7, cmd->a.update_begin.sha256, WS_SHA256_SIZE);
        break;
    default: a[0] = cmd->a.update_task.task; break;
    }
    *len = (size_t)(2 + args);
    return WS_OK;
}

ws_status_t ws_command_decode(const uint8_t *buf, size_t len, ws_command_t *cmd)
{
    int args;
    const uint8_t *a;
    if (buf == NULL || cmd == NULL) {
        return WS_ERR_ARG;
    }
    if (len < 2) {
        return WS_ERR_LENGTH;
    }
    args = command_args_size(buf[0]);
    if (args < 0) {
        return WS_ERR_TYPE;
    }
    if (len != (size_t)(2 + args)) {
        return WS_ERR_LENGTH;
    }
    memset(cmd, 0, sizeof *cmd);
    cmd->opcode = buf[0];
    cmd->token = buf[1];
    a = buf + 2;
    switch (cmd->opcode) {
    case WS_CMD_TIME_SYNC: cmd->a.time_sync.utc_s = ws_get_u32(a); break;
    case WS_CMD_START_RECORDING: cmd->a.start_recording.duration_s = a[0]; break;
    case WS_CMD_SET_CONFIG:
        cmd->a.set_config.key = a[0];
        cmd->a.set_config.value = ws_get_u16(a + 1);
        break;
    case WS_CMD_FACTORY_RESET: cmd->a.factory_reset.magic = ws_get_u32(a); break;
    case WS_CMD_STRIP_GET:
    case WS_CMD_STRIP_RELEASE:
        cmd->a.strip_req.strip_id = ws_get_u16(a);
        cmd->a.strip_req.value = ws_get_u32(a + 2);
        break;
    case WS_CMD_UPDATE_BEGIN:
        cmd->a.update_begin.task = a[0];
        cmd->a.update_begin.version = ws_get_u16(a + 1);
        cmd->a.update_begin.size = ws_get_u32(a + 3);
        memcpy(cmd->a.update_begin.sha256, a + 7, WS_SHA256_SIZE);
        break;
    default: cmd->a.update_task.task = a[0]; break;
    }
    return validate_command(cmd);
}

ws_status_t ws_response_encode(const ws_response_t *rsp, uint8_t *out, size_t cap, size_t *len)
{
    if (rsp == NULL || out == NULL || len == NULL) {
        return WS_ERR_ARG;
    }
    if (command_args_size(rsp->opcode) < 0) {
        return WS_ERR_TYPE;
    }
    if (rsp->data_len > WS_RESPONSE_MAX_DATA) {
        return WS_ERR_LENGTH;
    }
    if (cap < (size_t)(3 + rsp->data_len)) {
        return WS_ERR_ARG;
    }
    out[0] = (uint8_t)(rsp->opcode | 0x80u);
    out[1] = rsp->token;
    out[2] = rsp->status;
    memcpy(out + 3, rsp->data, rsp->data_len);
    *len = (size_t)(3 + rsp->data_len);
    return WS_OK;
}

ws_status_t ws_response_decode(const uint8_t *buf, size_t len, ws_response_t *rsp)
{
    if (buf == NULL || rsp == NULL) {
        return WS_ERR_ARG;
    }
    if (len < 3 || len > 3 + WS_RESPONSE_MAX_DATA) {
        return WS_ERR_LENGTH;
    }
    if ((buf[0] & 0x80u) == 0 || command_args_size((uint8_t)(buf[0] & 0x7Fu)) < 0) {
        return WS_ERR_TYPE;
    }
    memset(rsp, 0, sizeof *rsp);
    rsp->opcode = (uint8_t)(buf[0] & 0x7Fu);
    rsp->token = buf[1];
    rsp->status = buf[2];
    rsp->data_len = (uint8_t)(len - 3);
    memcpy(rsp->data, buf + 3, rsp->data_len);
    return WS_OK;
}

#define CHUNK_MAX_FRAME 512u

ws_status_t ws_chunk_encode(uint32_t offset, const uint8_t *data, size_t data_len,
                            uint8_t *out, size_t cap, size_t *len)
{
    size_t n = data_len + WS_CHUNK_OVERHEAD;
    if (data == NULL || out == NULL || len == NULL || cap < n) {
        return WS_ERR_ARG;
    }
    if (data_len == 0 || n > CHUNK_MAX_FRAME) {
        return WS_ERR_LENGTH;
    }
    ws_put_u32(out, offset);
    memcpy(out + WS_CHUNK_HEADER_SIZE, data, data_len);
    ws_put_u16(out + n - 2, ws_crc16(out, n - 2));
    *len = n;
    return WS_OK;
}

ws_status_t ws_chunk_decode(const uint8_t *buf, size_t len, ws_chunk_t *chunk)
{
    if (buf == NULL || chunk == NULL) {
        return WS_ERR_ARG;
    }
    if (len < WS_CHUNK_OVERHEAD + 1 || len > CHUNK_MAX_FRAME) {
        return WS_ERR_LENGTH;
    }
    if (ws_crc16(buf, len - 2) != ws_get_u16(buf + len - 2)) {
        return WS_ERR_CRC;
    }
    chunk->offset = ws_get_u32(buf);
    chunk->data = buf + WS_CHUNK_HEADER_SIZE;
    chunk->data_len = len - WS_CHUNK_OVERHEAD;
    return WS_OK;
}

static ws_status_t validate_status_record(const ws_status_record_t *r)
{
    return r->battery_pct <= 100 && r->last_seq <= WS_SEQ_MAX && r->acked_seq <= r->last_seq &&
                   (r->flags & 0xF8u) == 0
               ? WS_OK : WS_ERR_RANGE;
}

ws_status_t ws_status_record_encode(const ws_status_record_t *rec, uint8_t *out, size_t cap,
                                    size_t *len)
{
    ws_status_t st;
    if (rec == NULL || out == NULL || len == NULL || cap < WS_STATUS_RECORD_SIZE) {
        return WS_ERR_ARG;
    }
    st = validate_status_record(rec);
    if (st != WS_OK) {
        return st;
    }
    out[0] = 1;
    out[1] = rec->battery_pct;
    ws_put_u16(out + 2, rec->epoch);
    ws_put_u24(out + 4, rec->last_seq);
    ws_put_u24(out + 7, rec->acked_seq);
    ws_put_u16(out + 10, rec->queue_free);
    ws_put_u32(out + 12, rec->device_time_s);
    out[16] = rec->flags;
    *len = WS_STATUS_RECORD_SIZE;
    return WS_OK;
}

ws_status_t ws_status_record_decode(const uint8_t *buf, size_t len, ws_status_record_t *rec)
{
    if (buf == NULL || rec == NULL) {
        return WS_ERR_ARG;
    }
    if (len != WS_STATUS_RECORD_SIZE) {
        return WS_ERR_LENGTH;
    }
    if (buf[0] != 1) {
        return WS_ERR_VERSION;
    }
    rec->battery_pct = buf[1];
    rec->epoch = ws_get_u16(buf + 2);
    rec->last_seq = ws_get_u24(buf + 4);
    rec->acked_seq = ws_get_u24(buf + 7);
    rec->queue_free = ws_get_u16(buf + 10);
    rec->device_time_s = ws_get_u32(buf + 12);
    rec->flags = buf[16];
    return validate_status_record(rec);
}
