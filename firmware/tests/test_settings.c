/* The wearer's settings in two flash pages (ws_settings_*): blank flash gives the
 * defaults; saves alternate pages and the higher sequence number wins; an unchanged save
 * writes nothing; a power cut at every operation and byte of a save leaves the old or the
 * new settings; damaged records are ignored; posture restore refuses what no calibration
 * makes; the device core keeps SET_CONFIG across a reboot and forgets it on a factory
 * reset. Runs on the host (sanitizers) and on the Cortex-M4. */
#include <string.h>

#include "ws_bytes.h"
#include "ws_device.h"
#include "ws_protocol.h"
#include "ws_dsp_imu.h"
#include "ws_ram_flash.h"
#include "ws_settings.h"
#include "ws_test.h"

#define PAGE 256u

/* NOR flash in RAM whose operation number `cut_op` is torn after `cut_len` bytes (an
 * erase resets only that prefix), every later operation failing: a power cut. */
typedef struct {
    ws_flash_t iface;
    uint8_t mem[2 * PAGE];
    uint32_t ops, cut_op, cut_len;
    int dead;
} tear_flash_t;

static ws_status_t t_read(void *ctx, uint32_t addr, uint8_t *out, uint32_t len)
{
    tear_flash_t *f = ctx;
    if (addr + len > sizeof f->mem) {
        return WS_ERR_FLASH;
    }
    memcpy(out, f->mem + addr, len);
    return WS_OK;
}

/* 1 when this operation goes through whole; else how many bytes it gets + 2 */
static uint32_t t_budget(tear_flash_t *f, uint32_t len)
{
    if (f->dead) {
        return 2;
    }
    if (f->ops++ == f->cut_op) {
        f->dead = 1;
        return 2 + (f->cut_len < len ? f->cut_len : len);
    }
    return 1;
}

static ws_status_t t_program(void *ctx, uint32_t addr, const uint8_t *data, uint32_t len)
{
    tear_flash_t *f = ctx;
    uint32_t i, budget = t_budget(f, len), n = budget == 1 ? len : budget - 2;
    if (addr + len > sizeof f->mem) {
        return WS_ERR_FLASH;
    }
    for (i = 0; i < n; i++) {
        f->mem[addr + i] &= data[i];
    }
    return budget == 1 ? WS_OK : WS_ERR_FLASH;
}

static ws_status_t t_erase(void *ctx, uint32_t page)
{
    tear_flash_t *f = ctx;
    uint32_t budget = t_budget(f, PAGE), n = budget == 1 ? PAGE : budget - 2;
    if (page >= 2) {
        return WS_ERR_FLASH;
    }
    memset(f->mem + page * PAGE, 0xFF, n);
    return budget == 1 ? WS_OK : WS_ERR_FLASH;
}

static void tear_init(tear_flash_t *f, const uint8_t *image)
{
    memset(f, 0, sizeof *f);
    f->iface.page_size = PAGE;
    f->iface.page_count = 2;
    f->iface.read = t_read;
    f->iface.program = t_program;
    f->iface.erase = t_erase;
    f->iface.ctx = f;
    f->cut_op = 0xFFFFFFFFu;
    if (image != NULL) {
        memcpy(f->mem, image, sizeof f->mem);
    } else {
        memset(f->mem, 0xFF, sizeof f->mem);
    }
}

static tear_flash_t fl, fl2;
static ws_settings_store_t st;

static ws_settings_t make(uint16_t fall, uint16_t summary, uint8_t cal, int16_t x)
{
    ws_settings_t s;
    memset(&s, 0, sizeof s);
    s.fall_cancel_s = fall;
    s.summary_min = summary;
    s.posture_calibrated = cal;
    s.posture_ref[0] = x;
    s.posture_ref[1] = (int16_t)-x;
    s.posture_ref[2] = 7;
    return s;
}

static void test_store(void)
{
    ws_settings_t defaults = make(30, 15, 0, 0), a = make(45, 60, 1, 90), b = make(50, 60, 0, 0);
    uint32_t ops;
    WS_TEST_ASSERT_EQ_INT(ws_settings_mount(NULL, &fl.iface, &defaults), WS_ERR_ARG);
    WS_TEST_ASSERT_EQ_INT(ws_settings_mount(&st, &fl.iface, NULL), WS_ERR_ARG);
    fl.iface.page_count = 1;
    WS_TEST_ASSERT_EQ_INT(ws_settings_mount(&st, &fl.iface, &defaults), WS_ERR_ARG);
    fl.iface.page_count = 2;
    fl.iface.page_size = 16;
    WS_TEST_ASSERT_EQ_INT(ws_settings_mount(&st, &fl.iface, &defaults), WS_ERR_ARG);
    tear_init(&fl, NULL);

    /* blank: the defaults, nothing stored */
    WS_TEST_ASSERT_EQ_INT(ws_settings_mount(&st, &fl.iface, &defaults), WS_OK);
    WS_TEST_ASSERT_EQ_INT(st.seq, 0);
    WS_TEST_ASSERT_EQ_INT(st.cur.fall_cancel_s, 30);
    WS_TEST_ASSERT_EQ_INT(ws_settings_save(&st, NULL), WS_ERR_ARG);
    a.posture_calibrated = 2;
    WS_TEST_ASSERT_EQ_INT(ws_settings_save(&st, &a), WS_ERR_RANGE);
    a.posture_calibrated = 1;

    /* first save to page 0, the next to page 1, the higher sequence number wins */
    WS_TEST_ASSERT_EQ_INT(ws_settings_save(&st, &a), WS_OK);
    WS_TEST_ASSERT_EQ_INT(st.page, 0);
    WS_TEST_ASSERT_EQ_INT(memcmp(fl.mem, "WSS1", 4), 0);
    ops = fl.ops;
    WS_TEST_ASSERT_EQ_INT(ws_settings_save(&st, &a), WS_OK); /* unchanged: nothing written */
    WS_TEST_ASSERT_EQ_INT(fl.ops, ops);
    WS_TEST_ASSERT_EQ_INT(ws_settings_save(&st, &b), WS_OK);
    WS_TEST_ASSERT_EQ_INT(st.page, 1);
    WS_TEST_ASSERT_EQ_INT(memcmp(fl.mem, "WSS1", 4), 0); /* the older record is untouched */
    WS_TEST_ASSERT_EQ_INT(ws_settings_mount(&st, &fl.iface, &defaults), WS_OK);
    WS_TEST_ASSERT_EQ_INT(st.seq, 2);
    WS_TEST_ASSERT_EQ_INT(st.cur.fall_cancel_s, 50);
    WS_TEST_ASSERT_EQ_INT(ws_settings_save(&st, &a), WS_OK); /* back to page 0 */
    WS_TEST_ASSERT_EQ_INT(ws_settings_mount(&st, &fl.iface, &defaults), WS_OK);
    WS_TEST_ASSERT_EQ_INT(st.seq, 3);
    WS_TEST_ASSERT_EQ_INT(st.page, 0);
    WS_TEST_ASSERT_EQ_INT(st.cur.posture_calibrated, 1);
    WS_TEST_ASSERT_EQ_INT(st.cur.posture_ref[0], 90);
    WS_TEST_ASSERT_EQ_INT(st.cur.posture_ref[1], -90);
    WS_TEST_ASSERT_EQ_INT(st.cur.posture_ref[2], 7);

    /* a flipped bit in the newer record: the older one (page 1, b) counts */
    fl.mem[9] ^= 0x04;
    WS_TEST_ASSERT_EQ_INT(ws_settings_mount(&st, &fl.iface, &defaults), WS_OK);
    WS_TEST_ASSERT_EQ_INT(st.seq, 2);
    WS_TEST_ASSERT_EQ_INT(st.cur.fall_cancel_s, 50);
    /* neither page valid: the defaults */
    fl.mem[PAGE + 1] ^= 0x01;
    WS_TEST_ASSERT_EQ_INT(ws_settings_mount(&st, &fl.iface, &defaults), WS_OK);
    WS_TEST_ASSERT_EQ_INT(st.seq, 0);
    WS_TEST_ASSERT_EQ_INT(st.cur.fall_cancel_s, 30);

    /* no flash: in RAM only */
    WS_TEST_ASSERT_EQ_INT(ws_settings_mount(&st, NULL, &defaults), WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_settings_save(&st, &b), WS_OK);
    WS_TEST_ASSERT_EQ_INT(st.cur.fall_cancel_s, 50);
}

/* From the flash `image` (holding `old`), a save of `neu` cut at each of its first `ops`
 * operations and at every byte of each: the save says OK or FLASH (then it keeps what the
 * flash holds), and the flash then mounts as the old settings or the new ones, both seen. */
static void cut_every_byte(const uint8_t *image, uint32_t ops, const ws_settings_t *defaults,
                           const ws_settings_t *old, const ws_settings_t *neu)
{
    uint32_t op, len, seen_old = 0, seen_new = 0;
    for (op = 0; op < ops; op++) {
        for (len = 0; len <= WS_SETTINGS_RECORD_SIZE + 1; len++) {
            ws_status_t s;
            tear_init(&fl2, image);
            fl2.cut_op = op;
            fl2.cut_len = len;
            WS_TEST_ASSERT_EQ_INT(ws_settings_mount(&st, &fl2.iface, defaults), WS_OK);
            s = ws_settings_save(&st, neu);
            WS_TEST_ASSERT(s == WS_OK || s == WS_ERR_FLASH);
            if (s == WS_ERR_FLASH) { /* cur: what flash holds */
                WS_TEST_ASSERT_EQ_INT(st.cur.fall_cancel_s, old->fall_cancel_s);
            }
            fl2.dead = 0;
            fl2.cut_op = 0xFFFFFFFFu;
            WS_TEST_ASSERT_EQ_INT(ws_settings_mount(&st, &fl2.iface, defaults), WS_OK);
            WS_TEST_ASSERT(st.cur.fall_cancel_s == old->fall_cancel_s ||
                           st.cur.fall_cancel_s == neu->fall_cancel_s);
            seen_old += st.cur.fall_cancel_s == old->fall_cancel_s;
            seen_new += st.cur.fall_cancel_s == neu->fall_cancel_s;
            if (st.cur.fall_cancel_s == old->fall_cancel_s) {
                WS_TEST_ASSERT_EQ_INT(st.cur.posture_calibrated, old->posture_calibrated);
                WS_TEST_ASSERT_EQ_INT(st.cur.posture_ref[0], old->posture_ref[0]);
            }
        }
    }
    WS_TEST_ASSERT(seen_old > 0 && seen_new > 0);
}

/* a cut at every operation (erase, body, magic) and byte of a save: old or new */
static void test_power_cuts(void)
{
    ws_settings_t defaults = make(30, 15, 0, 0), old = make(40, 20, 1, 100), neu = make(90, 30, 0, 0);
    uint8_t image[2 * PAGE];
    tear_init(&fl, NULL);
    WS_TEST_ASSERT_EQ_INT(ws_settings_mount(&st, &fl.iface, &defaults), WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_settings_save(&st, &defaults), WS_OK); /* page 0: an older one */
    WS_TEST_ASSERT_EQ_INT(ws_settings_save(&st, &old), WS_OK);      /* page 1: current */
    memcpy(image, fl.mem, sizeof image);
    cut_every_byte(image, 4, &defaults, &old, &neu);
}

/* a record numbered 0xFFFFFFFF (a damaged or foreign page): the next save restarts at 1,
 * erases it, and a cut anywhere in that save leaves the old or the new settings */
/* the record at rec gets the CRC of what it now holds (bytes 22-23 over 0-21) */
static void reseal(uint8_t *rec)
{
    ws_put_u16(rec + 22, ws_crc16(rec, 22));
}

static void test_wrap_and_ranges(void)
{
    ws_settings_t defaults = make(30, 15, 0, 0), old = make(40, 20, 0, 0), neu = make(90, 30, 0, 0);
    uint8_t image[2 * PAGE];
    tear_init(&fl, NULL);
    WS_TEST_ASSERT_EQ_INT(ws_settings_mount(&st, &fl.iface, &defaults), WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_settings_save(&st, &old), WS_OK); /* page 0, seq 1 */
    ws_put_u32(fl.mem + 4, 0xFFFFFFFFu);                       /* renumbered, CRC redone */
    reseal(fl.mem);
    memcpy(image, fl.mem, sizeof image);
    WS_TEST_ASSERT_EQ_INT(ws_settings_mount(&st, &fl.iface, &defaults), WS_OK);
    WS_TEST_ASSERT_EQ_INT(st.seq, 0xFFFFFFFFu);
    WS_TEST_ASSERT_EQ_INT(ws_settings_save(&st, &neu), WS_OK);
    WS_TEST_ASSERT_EQ_INT(st.seq, 1);
    WS_TEST_ASSERT_EQ_INT(fl.mem[0], 0xFF); /* the old page erased */
    WS_TEST_ASSERT_EQ_INT(ws_settings_mount(&st, &fl.iface, &defaults), WS_OK);
    WS_TEST_ASSERT_EQ_INT(st.cur.fall_cancel_s, 90);
    WS_TEST_ASSERT_EQ_INT(ws_settings_save(&st, &old), WS_OK); /* and on from there */
    WS_TEST_ASSERT_EQ_INT(st.seq, 2);
    cut_every_byte(image, 5, &defaults, &old, &neu);

    /* a whole record with a value SET_CONFIG refuses (fall cancel 0 s) is not taken */
    memcpy(fl.mem, image, sizeof image);
    fl.mem[8] = 0;
    fl.mem[9] = 0;
    reseal(fl.mem);
    WS_TEST_ASSERT_EQ_INT(ws_settings_mount(&st, &fl.iface, &defaults), WS_OK);
    WS_TEST_ASSERT_EQ_INT(st.seq, 0);
    WS_TEST_ASSERT_EQ_INT(st.cur.fall_cancel_s, 30);
}

static void test_restore(void)
{
    ws_posture_t p;
    int16_t ok[3] = {0, -128, 0}, small[3] = {0, -100, 0}, big[3] = {130, 90, 0};
    memset(&p, 0, sizeof p);
    WS_TEST_ASSERT_EQ_INT(ws_posture_restore(NULL, ok), WS_ERR_ARG);
    WS_TEST_ASSERT_EQ_INT(ws_posture_restore(&p, NULL), WS_ERR_ARG);
    WS_TEST_ASSERT_EQ_INT(ws_posture_restore(&p, small), WS_ERR_RANGE); /* 0.78 g */
    WS_TEST_ASSERT_EQ_INT(ws_posture_restore(&p, big), WS_ERR_RANGE);   /* 1.23 g */
    WS_TEST_ASSERT_EQ_INT(p.state, 0);
    WS_TEST_ASSERT_EQ_INT(ws_posture_restore(&p, ok), WS_OK);
    WS_TEST_ASSERT_EQ_INT(p.state, 2);
    WS_TEST_ASSERT_EQ_INT(p.ref[1], -128);
}

static uint32_t now(void *ctx) { (void)ctx; return 100; }
static const ws_platform_t platform = {now, NULL, NULL, NULL, NULL};

static void test_device(void)
{
    static uint8_t qmem[512 * 4];
    static ws_ram_flash_t q;
    static ws_device_t dev;
    uint8_t frame[16], rsp[WS_RESPONSE_MAX_SIZE];
    size_t rsp_len = 0, len = 0;
    ws_command_t cmd;
    int16_t ref[3] = {0, 0, -128};
    tear_init(&fl, NULL);
    WS_TEST_ASSERT_EQ_INT(ws_ram_flash_init(&q, qmem, 512, 4), WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_device_boot(&dev, "WS-S", &q.iface, &platform), WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_device_attach_settings(NULL, &fl.iface), WS_ERR_ARG);
    WS_TEST_ASSERT_EQ_INT(ws_device_attach_settings(&dev, &fl.iface), WS_OK);
    memset(&cmd, 0, sizeof cmd);
    cmd.opcode = WS_CMD_SET_CONFIG;
    cmd.token = 9;
    cmd.a.set_config.key = WS_CONFIG_FALL_CANCEL_S;
    cmd.a.set_config.value = 45;
    WS_TEST_ASSERT_EQ_INT(ws_command_encode(&cmd, frame, sizeof frame, &len), WS_OK);
    WS_TEST_ASSERT_EQ_INT(
        ws_device_on_command_write(&dev, frame, len, rsp, sizeof rsp, &rsp_len), WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_device_save_posture(&dev, 1, NULL), WS_ERR_ARG);
    WS_TEST_ASSERT_EQ_INT(ws_device_save_posture(&dev, 1, ref), WS_OK);
    /* a reboot: RAM gone, the settings read back */
    WS_TEST_ASSERT_EQ_INT(ws_device_boot(&dev, "WS-S", &q.iface, &platform), WS_OK);
    WS_TEST_ASSERT_EQ_INT(dev.fall_cancel_s, 30); /* not attached yet: the defaults */
    WS_TEST_ASSERT_EQ_INT(ws_device_attach_settings(&dev, &fl.iface), WS_OK);
    WS_TEST_ASSERT_EQ_INT(dev.fall_cancel_s, 45);
    WS_TEST_ASSERT_EQ_INT(ws_device_settings(&dev)->posture_calibrated, 1);
    WS_TEST_ASSERT_EQ_INT(ws_device_settings(&dev)->posture_ref[2], -128);
    WS_TEST_ASSERT(ws_device_settings(NULL) == NULL);
    /* factory reset: the defaults, the posture forgotten (the app is asked to forget) */
    memset(&cmd, 0, sizeof cmd);
    cmd.opcode = WS_CMD_FACTORY_RESET;
    cmd.token = 10;
    cmd.a.factory_reset.magic = 0x54455352u;
    WS_TEST_ASSERT_EQ_INT(ws_command_encode(&cmd, frame, sizeof frame, &len), WS_OK);
    WS_TEST_ASSERT_EQ_INT(
        ws_device_on_command_write(&dev, frame, len, rsp, sizeof rsp, &rsp_len), WS_OK);
    WS_TEST_ASSERT_EQ_INT(dev.fall_cancel_s, 30);
    WS_TEST_ASSERT_EQ_INT(dev.posture_request, 2);
    WS_TEST_ASSERT_EQ_INT(ws_device_boot(&dev, "WS-S", &q.iface, &platform), WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_device_attach_settings(&dev, &fl.iface), WS_OK);
    WS_TEST_ASSERT_EQ_INT(dev.fall_cancel_s, 30);
    WS_TEST_ASSERT_EQ_INT(ws_device_settings(&dev)->posture_calibrated, 0);
}

int ws_test_run(void)
{
    tear_init(&fl, NULL);
    test_store();
    test_power_cuts();
    test_wrap_and_ranges();
    test_restore();
    test_device();
    return ws_test_failures();
}
