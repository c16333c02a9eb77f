/* The device core and its event queue on RAM-backed NOR flash: numbering across
 * reboots, acknowledgements, a full queue, a factory reset, bad writes. Runs on
 * the host (sanitizers) and on the Cortex-M4; the power-cut campaign lives in
 * Python (tests/test_device_power_cut.py) where the host flash can tear. */
#include <string.h>

#include "ws_device.h"
#include "ws_queue.h"
#include "ws_ram_flash.h"
#include "ws_test.h"

#define PAGE_SIZE 512u
#define PAGE_COUNT 4u

static uint8_t flash_mem[PAGE_SIZE * PAGE_COUNT];
static ws_ram_flash_t flash;
static ws_device_t dev;
static uint32_t clock_s;

static uint32_t now(void *ctx) { (void)ctx; return clock_s; }
static uint8_t battery(void *ctx) { (void)ctx; return 77; }
static uint8_t charging(void *ctx) { (void)ctx; return 0; }

static const ws_platform_t platform = {now, battery, charging, NULL, NULL};

static ws_status_t append_hr(void)
{
    ws_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.type = WS_EVENT_HR_SUMMARY;
    ev.time_s = clock_s;
    ev.u.hr_summary.interval_s = 900;
    ev.u.hr_summary.min_bpm = 50;
    ev.u.hr_summary.mean_bpm = 60;
    ev.u.hr_summary.max_bpm = 90;
    return ws_device_append_event(&dev, &ev);
}

static ws_status_t ack(uint8_t kind, uint16_t epoch, uint32_t seq)
{
    ws_ack_t a;
    uint8_t frame[WS_ACK_FRAME_SIZE];
    size_t len = 0;
    a.kind = kind;
    a.epoch = epoch;
    a.seq = seq;
    if (ws_ack_encode(&a, frame, sizeof frame, &len) != WS_OK) {
        return WS_ERR_ARG;
    }
    return ws_device_on_ack_write(&dev, frame, len);
}

static uint32_t drain(uint32_t *last_seq, int *saw_gap)
{
    uint8_t out[WS_NOTIFICATION_MAX];
    size_t len = 0;
    uint32_t n = 0, prev = 0;
    ws_event_t ev;
    while (ws_device_next_notification(&dev, out, sizeof out, &len) == WS_OK && len > 0) {
        WS_TEST_ASSERT_EQ_INT(ws_event_decode(out, len, &ev), WS_OK);
        WS_TEST_ASSERT(ev.seq > prev); /* seq order */
        if (ev.type == WS_EVENT_GAP && saw_gap != NULL) {
            *saw_gap = 1;
        }
        prev = ev.seq;
        n++;
    }
    if (last_seq != NULL) {
        *last_seq = prev;
    }
    return n;
}

static void test_boot_numbering_and_reboot(void)
{
    ws_device_info_t info;
    uint32_t last = 0;
    int i;
    WS_TEST_ASSERT_EQ_INT(ws_ram_flash_init(&flash, flash_mem, PAGE_SIZE, PAGE_COUNT), WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_device_boot(&dev, "WS-C-0001", &flash.iface, &platform), WS_OK);
    ws_device_get_info(&dev, &info);
    WS_TEST_ASSERT_EQ_INT(info.epoch, 1);
    WS_TEST_ASSERT_EQ_INT(info.last_seq, 3); /* STATUS pages 0, 1, 2 */
    for (i = 0; i < 40; i++) {
        WS_TEST_ASSERT_EQ_INT(append_hr(), WS_OK);
    }
    WS_TEST_ASSERT_EQ_INT(drain(&last, NULL), 43);
    WS_TEST_ASSERT_EQ_INT(last, 43);
    WS_TEST_ASSERT_EQ_INT(ack(WS_ACK_STORED, 1, 44), WS_ERR_STATE);
    WS_TEST_ASSERT_EQ_INT(ack(WS_ACK_STORED, 2, 10), WS_ERR_EPOCH);
    WS_TEST_ASSERT_EQ_INT(ack(WS_ACK_STORED, 1, 43), WS_OK);
    WS_TEST_ASSERT_EQ_INT(ack(WS_ACK_RESEND_FROM, 1, 43), WS_ERR_STATE);
    /* a reset: RAM state is gone, the flash remains */
    memset(&dev, 0xA5, sizeof dev);
    WS_TEST_ASSERT_EQ_INT(ws_device_boot(&dev, "WS-C-0001", &flash.iface, &platform), WS_OK);
    ws_device_get_info(&dev, &info);
    WS_TEST_ASSERT_EQ_INT(info.acked_seq, 43);
    WS_TEST_ASSERT_EQ_INT(info.last_seq, 46);
    WS_TEST_ASSERT_EQ_INT(info.boot_count, 2);
    WS_TEST_ASSERT_EQ_INT(drain(NULL, NULL), 3);
    WS_TEST_ASSERT_EQ_INT(flash.violations, 0);
}

static void test_full_queue_and_factory_reset(void)
{
    uint8_t cmd[6] = {WS_CMD_FACTORY_RESET, 9, 0x52, 0x53, 0x45, 0x54};
    uint8_t rsp[WS_RESPONSE_MAX_SIZE];
    size_t rsp_len = 0;
    ws_device_info_t info;
    int i, saw_gap = 0;
    for (i = 0; i < 300; i++) {
        clock_s += 60;
        WS_TEST_ASSERT_EQ_INT(append_hr(), WS_OK);
    }
    ws_device_on_connect(&dev);
    WS_TEST_ASSERT(drain(NULL, &saw_gap) > 20);
    WS_TEST_ASSERT(saw_gap);
    ws_device_get_info(&dev, &info);
    WS_TEST_ASSERT(info.pending < 300); /* the flash holds far fewer: some were dropped */
    WS_TEST_ASSERT(info.queue_free < (PAGE_SIZE / 28u) * PAGE_COUNT);
    WS_TEST_ASSERT_EQ_INT(
        ws_device_on_command_write(&dev, cmd, sizeof cmd, rsp, sizeof rsp, &rsp_len), WS_OK);
    WS_TEST_ASSERT_EQ_INT(rsp_len, 3); /* no data */
    WS_TEST_ASSERT_EQ_INT(rsp[0], 0x80 | WS_CMD_FACTORY_RESET);
    WS_TEST_ASSERT_EQ_INT(rsp[1], 9);
    WS_TEST_ASSERT_EQ_INT(rsp[2], WS_OK);
    ws_device_get_info(&dev, &info);
    WS_TEST_ASSERT_EQ_INT(info.epoch, 2);
    WS_TEST_ASSERT_EQ_INT(info.last_seq, 3);
    WS_TEST_ASSERT_EQ_INT(info.pending, 3);
    WS_TEST_ASSERT_EQ_INT(flash.violations, 0);
}

static void test_bad_writes(void)
{
    static const uint8_t junk[] = {0xFF, 0x00, 0x13, 0x37, 0x42, 0x99, 0x01};
    uint8_t rsp[WS_RESPONSE_MAX_SIZE];
    size_t rsp_len = 0, len;
    for (len = 0; len <= sizeof junk; len++) {
        WS_TEST_ASSERT(ws_device_on_ack_write(&dev, junk, len) != WS_OK);
        (void)ws_device_on_command_write(&dev, junk, len, rsp, sizeof rsp, &rsp_len);
        WS_TEST_ASSERT(rsp_len <= WS_RESPONSE_MAX_SIZE);
    }
    WS_TEST_ASSERT_EQ_INT(ws_device_on_ack_write(NULL, junk, 6), WS_ERR_ARG);
    WS_TEST_ASSERT_EQ_INT(ws_device_on_command_write(&dev, junk, 2, rsp, 3, &rsp_len), WS_ERR_ARG);
    WS_TEST_ASSERT_EQ_INT(append_hr(), WS_OK); /* still running */
}

/* ws_queue_next answers the smallest stored seq above `after` whatever the pages hold:
 * a full queue on small pages (compactions copy tier-2 survivors into the newest page,
 * after a GAP's page: the page with the lowest max_seq may not hold the next one), acks and
 * remounts; every answer is checked against all the queue returns for any `after`. */
static void test_next_is_smallest_seq_above(void)
{
    static uint8_t mem[256u * 5u];
    static uint8_t seen[2048];
    ws_ram_flash_t rf;
    ws_queue_t q;
    uint32_t rng = 12345u, step;
    WS_TEST_ASSERT_EQ_INT(ws_ram_flash_init(&rf, mem, 256u, 5u), WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_queue_mount(&q, &rf.iface), WS_OK);
    for (step = 0; step < 400u; step++) {
        ws_event_t ev;
        uint32_t after, s_prev = 0, answers;
        rng = rng * 1103515245u + 12345u;
        memset(&ev, 0, sizeof ev);
        ev.type = WS_EVENT_HR_SUMMARY;
        ev.time_s = 1000u + step;
        ev.u.hr_summary.interval_s = 60;
        ev.u.hr_summary.min_bpm = 50;
        ev.u.hr_summary.mean_bpm = 60;
        ev.u.hr_summary.max_bpm = 90;
        if ((rng >> 16) % 3u == 0) { /* tier 2: survives the compactions that drop tier 1 */
            memset(&ev.u, 0, sizeof ev.u);
            ev.type = WS_EVENT_ACTIVITY_CHANGE;
            ev.u.activity_change.to_class = 1;
            ev.u.activity_change.confidence = 90;
        }
        WS_TEST_ASSERT_EQ_INT(ws_queue_append(&q, &ev), WS_OK);
        if ((rng >> 16) % 23u == 0 && q.last_seq > q.acked + 3u) {
            WS_TEST_ASSERT_EQ_INT(ws_queue_ack(&q, q.acked + 3u), WS_OK);
        }
        if ((rng >> 16) % 31u == 1) {
            WS_TEST_ASSERT_EQ_INT(ws_queue_mount(&q, &rf.iface), WS_OK);
        }
        if (step % 7u != 0 || q.last_seq >= sizeof seen) {
            continue;
        }
        memset(seen, 0, sizeof seen);
        answers = 0;
        for (after = 0; after <= q.last_seq; after++) {
            uint8_t out[WS_EVENT_MAX_SIZE];
            size_t len = 0;
            uint32_t seq = 0;
            WS_TEST_ASSERT_EQ_INT(ws_queue_next(&q, after, out, sizeof out, &len, &seq), WS_OK);
            if (len > 0) {
                WS_TEST_ASSERT(seq > after && seq > q.acked && seq <= q.last_seq);
                WS_TEST_ASSERT_EQ_INT(ws_event_packet_seq(out), seq);
                answers += seen[seq] ? 0u : 1u;
                seen[seq] = 1;
            }
        }
        /* every pending event is some after's answer (ws_queue_pending counts them all) */
        WS_TEST_ASSERT_EQ_INT(answers, ws_queue_pending(&q));
        /* walked down from the top: each answer is the smallest answer above `after` */
        for (after = q.last_seq + 1u; after-- > 0;) {
            uint8_t out[WS_EVENT_MAX_SIZE];
            size_t len = 0;
            uint32_t seq = 0;
            if (after + 1u <= q.last_seq && seen[after + 1u]) {
                s_prev = after + 1u;
            }
            WS_TEST_ASSERT_EQ_INT(ws_queue_next(&q, after, out, sizeof out, &len, &seq), WS_OK);
            WS_TEST_ASSERT_EQ_INT(seq, s_prev);
        }
    }
    WS_TEST_ASSERT(q.last_seq > 300u);
    WS_TEST_ASSERT_EQ_INT(rf.violations, 0);
}

int ws_test_run(void)
{
    test_boot_numbering_and_reboot();
    test_full_queue_and_factory_reset();
    test_bad_writes();
    test_next_is_smallest_seq_above();
    return ws_test_failures();
}
