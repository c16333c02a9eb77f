/* The protocol codec against the shared vectors (build/gen/ws_protocol_vectors.h,
 * generated from tests/vectors/protocol.json); runs on the host and on the M4. */
#include <string.h>

#include "ws_protocol.h"
#include "ws_protocol_vectors.h"
#include "ws_test.h"

static void fail_name(const char *what, const char *name)
{
    ws_test_puts("  vector: ");
    ws_test_puts(what);
    ws_test_puts(" / ");
    ws_test_log(name);
}

static void check_valid_events(void)
{
    size_t i;
    for (i = 0; i < WS_VEC_EVENTS_COUNT; i++) {
        const ws_vec_event_t *v = &WS_VEC_EVENTS[i];
        ws_event_t got;
        uint8_t out[WS_EVENT_MAX_SIZE];
        size_t len = 0;
        int before = ws_test_failures();
        WS_TEST_ASSERT_EQ_INT(ws_event_decode(v->raw.bytes, v->raw.len, &got), WS_OK);
        WS_TEST_ASSERT_EQ_INT(got.type, v->expected.type);
        WS_TEST_ASSERT_EQ_INT(got.seq, v->expected.seq);
        WS_TEST_ASSERT_EQ_INT(got.time_s, v->expected.time_s);
        WS_TEST_ASSERT_EQ_INT(got.model_version, v->expected.model_version);
        WS_TEST_ASSERT(memcmp(&got.u, &v->expected.u, sizeof got.u) == 0);
        WS_TEST_ASSERT_EQ_INT(ws_event_encode(&v->expected, out, sizeof out, &len), WS_OK);
        WS_TEST_ASSERT_EQ_INT(len, v->raw.len);
        WS_TEST_ASSERT(memcmp(out, v->raw.bytes, v->raw.len) == 0);
        WS_TEST_ASSERT(len <= WS_EVENT_MAX_SIZE);
        /* the readers the event queue uses on stored packets */
        WS_TEST_ASSERT_EQ_INT(ws_event_size(got.type), v->raw.len);
        WS_TEST_ASSERT_EQ_INT(ws_event_packet_type(v->raw.bytes), v->expected.type);
        WS_TEST_ASSERT_EQ_INT(ws_event_packet_seq(v->raw.bytes), v->expected.seq);
        WS_TEST_ASSERT_EQ_INT(ws_event_packet_time(v->raw.bytes), v->expected.time_s);
        if (got.type == WS_EVENT_GAP) {
            uint32_t first = 0;
            uint16_t dropped = 0;
            WS_TEST_ASSERT_EQ_INT(v->raw.len, WS_EVENT_GAP_SIZE);
            ws_event_packet_gap(v->raw.bytes, &first, &dropped);
            WS_TEST_ASSERT_EQ_INT(first, v->expected.u.gap.first_seq);
            WS_TEST_ASSERT_EQ_INT(dropped, v->expected.u.gap.dropped);
        }
        if (ws_test_failures() != before) {
            fail_name("valid event", v->raw.name);
        }
    }
}

static void check_bad(const char *group, const ws_vec_bad_t *rows, size_t count, int kind)
{
    size_t i;
    for (i = 0; i < count; i++) {
        ws_event_t ev;
        ws_ack_t ack;
        ws_command_t cmd;
        ws_response_t rsp;
        ws_chunk_t chunk;
        ws_status_record_t rec;
        ws_status_t st;
        int before = ws_test_failures();
        switch (kind) {
        case 0: st = ws_event_decode(rows[i].raw.bytes, rows[i].raw.len, &ev); break;
        case 1: st = ws_ack_decode(rows[i].raw.bytes, rows[i].raw.len, &ack); break;
        case 2: st = ws_command_decode(rows[i].raw.bytes, rows[i].raw.len, &cmd); break;
        case 3: st = ws_response_decode(rows[i].raw.bytes, rows[i].raw.len, &rsp); break;
        case 5: st = ws_status_record_decode(rows[i].raw.bytes, rows[i].raw.len, &rec); break;
        default: st = ws_chunk_decode(rows[i].raw.bytes, rows[i].raw.len, &chunk); break;
        }
        WS_TEST_ASSERT_EQ_INT(st, rows[i].error);
        if (ws_test_failures() != before) {
            fail_name(group, rows[i].raw.name);
        }
    }
}

static void check_good_frames(void)
{
    size_t i;
    uint8_t out[520];
    size_t len;
    for (i = 0; i < WS_VEC_ACKS_COUNT; i++) {
        ws_ack_t ack;
        WS_TEST_ASSERT_EQ_INT(ws_ack_decode(WS_VEC_ACKS[i].raw.bytes, WS_VEC_ACKS[i].raw.len, &ack),
                              WS_OK);
        WS_TEST_ASSERT_EQ_INT(ack.kind, WS_VEC_ACKS[i].expected.kind);
        WS_TEST_ASSERT_EQ_INT(ack.epoch, WS_VEC_ACKS[i].expected.epoch);
        WS_TEST_ASSERT_EQ_INT(ack.seq, WS_VEC_ACKS[i].expected.seq);
        WS_TEST_ASSERT_EQ_INT(ws_ack_encode(&ack, out, sizeof out, &len), WS_OK);
        WS_TEST_ASSERT(len == WS_VEC_ACKS[i].raw.len && memcmp(out, WS_VEC_ACKS[i].raw.bytes, len) == 0);
    }
    for (i = 0; i < WS_VEC_GOOD_COMMANDS_COUNT; i++) {
        const ws_vec_raw_t *r = &WS_VEC_GOOD_COMMANDS[i];
        ws_command_t cmd;
        WS_TEST_ASSERT_EQ_INT(ws_command_decode(r->bytes, r->len, &cmd), WS_OK);
        WS_TEST_ASSERT_EQ_INT(ws_command_encode(&cmd, out, sizeof out, &len), WS_OK);
        WS_TEST_ASSERT(len == r->len && memcmp(out, r->bytes, len) == 0);
    }
    for (i = 0; i < WS_VEC_GOOD_RESPONSES_COUNT; i++) {
        const ws_vec_raw_t *r = &WS_VEC_GOOD_RESPONSES[i];
        ws_response_t rsp;
        WS_TEST_ASSERT_EQ_INT(ws_response_decode(r->bytes, r->len, &rsp), WS_OK);
        WS_TEST_ASSERT_EQ_INT(ws_response_encode(&rsp, out, sizeof out, &len), WS_OK);
        WS_TEST_ASSERT(len == r->len && memcmp(out, r->bytes, len) == 0);
    }
    for (i = 0; i < WS_VEC_GOOD_CHUNKS_COUNT; i++) {
        const ws_vec_raw_t *r = &WS_VEC_GOOD_CHUNKS[i];
        ws_chunk_t chunk;
        WS_TEST_ASSERT_EQ_INT(ws_chunk_decode(r->bytes, r->len, &chunk), WS_OK);
        WS_TEST_ASSERT_EQ_INT(ws_chunk_encode(chunk.offset, chunk.data, chunk.data_len, out,
                                              sizeof out, &len), WS_OK);
        WS_TEST_ASSERT(len == r->len && memcmp(out, r->bytes, len) == 0);
    }
    for (i = 0; i < WS_VEC_GOOD_STATUS_RECORDS_COUNT; i++) {
        const ws_vec_raw_t *r = &WS_VEC_GOOD_STATUS_RECORDS[i];
        ws_status_record_t rec;
        WS_TEST_ASSERT_EQ_INT(ws_status_record_decode(r->bytes, r->len, &rec), WS_OK);
        WS_TEST_ASSERT_EQ_INT(ws_status_record_encode(&rec, out, sizeof out, &len), WS_OK);
        WS_TEST_ASSERT(len == r->len && memcmp(out, r->bytes, len) == 0);
    }
}

int ws_test_run(void)
{
    size_t i;
    for (i = 0; i < WS_VEC_CRC_COUNT; i++) {
        WS_TEST_ASSERT_EQ_INT(ws_crc16(WS_VEC_CRC[i].raw.bytes, WS_VEC_CRC[i].raw.len),
                              WS_VEC_CRC[i].crc);
    }
    check_valid_events();
    check_bad("bad event", WS_VEC_BAD_EVENTS, WS_VEC_BAD_EVENTS_COUNT, 0);
    check_bad("bad ack", WS_VEC_BAD_ACKS, WS_VEC_BAD_ACKS_COUNT, 1);
    check_bad("bad command", WS_VEC_BAD_COMMANDS, WS_VEC_BAD_COMMANDS_COUNT, 2);
    check_bad("bad response", WS_VEC_BAD_RESPONSES, WS_VEC_BAD_RESPONSES_COUNT, 3);
    check_bad("bad chunk", WS_VEC_BAD_CHUNKS, WS_VEC_BAD_CHUNKS_COUNT, 4);
    check_bad("bad status record", WS_VEC_BAD_STATUS_RECORDS, WS_VEC_BAD_STATUS_RECORDS_COUNT, 5);
    check_good_frames();
    ws_test_puts("protocol vectors checked: ");
    ws_test_put_uint(WS_VEC_EVENTS_COUNT + WS_VEC_BAD_EVENTS_COUNT + WS_VEC_ACKS_COUNT +
                     WS_VEC_BAD_ACKS_COUNT + WS_VEC_GOOD_COMMANDS_COUNT + WS_VEC_BAD_COMMANDS_COUNT +
                     WS_VEC_GOOD_RESPONSES_COUNT + WS_VEC_BAD_RESPONSES_COUNT +
                     WS_VEC_GOOD_CHUNKS_COUNT + WS_VEC_BAD_CHUNKS_COUNT + WS_VEC_CRC_COUNT +
                     WS_VEC_GOOD_STATUS_RECORDS_COUNT + WS_VEC_BAD_STATUS_RECORDS_COUNT);
    ws_test_log("");
    return ws_test_failures();
}
