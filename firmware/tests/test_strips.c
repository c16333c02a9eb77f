/* ECG strips (ws_strips.h): the recorder's ring and requests, the strip image, the STRIP
 * event, STRIP_GET / STRIP_RELEASE through the device core and the transfer frames, the
 * partition ring's reuse policy, and a power cut at every flash operation while strips
 * are made and released (a flash that tears its operations, below); FACTORY_RESET erasing
 * the partition. */
#include <string.h>

#include "ws_bytes.h"
#include "ws_device.h"
#include "ws_ram_flash.h"
#include "ws_strips.h"
#include "ws_test.h"

#define Q_PAGE 512u
#define Q_PAGES 4u
#define S_PAGE 512u
#define S_PAGES 12u
#define FS 250u

static uint8_t q_mem[Q_PAGE * Q_PAGES];
static ws_ram_flash_t q_flash;
static ws_device_t dev;
static ws_strips_t strips;
static uint32_t clock_s = 1000;

/* ---- a NOR flash whose operation number `cut_at` is torn, after which all fail ---- */
typedef struct {
    ws_flash_t iface;
    uint8_t mem[S_PAGE * S_PAGES];
    uint32_t ops;
    uint32_t cut_at; /* 0xFFFFFFFF: never */
    uint8_t dead;
    uint32_t violations;
} tear_flash_t;

static tear_flash_t tf;

static ws_status_t tf_read(void *ctx, uint32_t addr, uint8_t *out, uint32_t len)
{
    tear_flash_t *f = ctx;
    if (addr + len > sizeof f->mem) {
        return WS_ERR_ARG;
    }
    memcpy(out, f->mem + addr, len);
    return WS_OK;
}

static ws_status_t tf_program(void *ctx, uint32_t addr, const uint8_t *data, uint32_t len)
{
    tear_flash_t *f = ctx;
    uint32_t i, done = len;
    if (addr + len > sizeof f->mem) {
        return WS_ERR_ARG;
    }
    if (f->dead) {
        return WS_ERR_FLASH;
    }
    for (i = 0; i < len; i++) {
        if ((f->mem[addr + i] & data[i]) != data[i]) {
            f->violations++;
            return WS_ERR_FLASH;
        }
    }
    if (f->ops == f->cut_at) {
        done = len / 2u; /* half the bytes, and some bits of the next */
        f->dead = 1;
    }
    for (i = 0; i < done; i++) {
        f->mem[addr + i] = data[i];
    }
    if (done < len) {
        f->mem[addr + done] &= (uint8_t)(data[done] | 0x0Fu);
    }
    f->ops++;
    return f->dead ? WS_ERR_FLASH : WS_OK;
}

static ws_status_t tf_erase(void *ctx, uint32_t page)
{
    tear_flash_t *f = ctx;
    if (page >= S_PAGES) {
        return WS_ERR_ARG;
    }
    if (f->dead) {
        return WS_ERR_FLASH;
    }
    if (f->ops == f->cut_at) {
        memset(f->mem + page * S_PAGE, 0xFF, S_PAGE / 3u);
        f->dead = 1;
        f->ops++;
        return WS_ERR_FLASH;
    }
    memset(f->mem + page * S_PAGE, 0xFF, S_PAGE);
    f->ops++;
    return WS_OK;
}

static void tf_init(void)
{
    memset(&tf, 0, sizeof tf);
    memset(tf.mem, 0xFF, sizeof tf.mem);
    tf.cut_at = 0xFFFFFFFFu;
    tf.iface.page_size = S_PAGE;
    tf.iface.page_count = S_PAGES;
    tf.iface.read = tf_read;
    tf.iface.program = tf_program;
    tf.iface.erase = tf_erase;
    tf.iface.ctx = &tf;
}

static uint32_t now(void *ctx) { (void)ctx; return clock_s; }
static const ws_platform_t platform = {now, NULL, NULL, NULL, NULL};

/* Full-scale noise (a hash of the index): no codec compresses it, so a strip's size is
 * the verbatim size whatever the codec, and the ring tests below hold for any codec. */
static int16_t sample(uint32_t i)
{
    uint32_t h = (i + 1u) * 2654435761u;
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    return (int16_t)(uint16_t)h;
}

static void feed(uint32_t from, uint32_t n)
{
    int16_t x[100];
    uint32_t done = 0;
    while (done < n) {
        uint32_t k = n - done < 100u ? n - done : 100u, i;
        for (i = 0; i < k; i++) {
            x[i] = sample(from + done + i);
        }
        WS_TEST_ASSERT_EQ_INT(ws_strips_feed(&strips, x, k), WS_OK);
        done += k;
    }
}

static void boot(int blank_queue)
{
    if (blank_queue) {
        ws_ram_flash_init(&q_flash, q_mem, Q_PAGE, Q_PAGES);
    }
    WS_TEST_ASSERT_EQ_INT(ws_device_mount(&dev, "WS-T", &q_flash.iface, &platform), WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_strips_mount(&strips, &tf.iface, &dev), WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_device_attach_strips(&dev, &strips), WS_OK);
}

static ws_status_t command(uint8_t opcode, uint16_t id, uint32_t value, ws_response_t *rsp)
{
    ws_command_t c;
    uint8_t frame[16], out[WS_RESPONSE_MAX_SIZE];
    size_t len = 0, rlen = 0;
    ws_status_t st;
    memset(&c, 0, sizeof c);
    c.opcode = opcode;
    c.token = 7;
    c.a.strip_req.strip_id = id;
    c.a.strip_req.value = value;
    if (ws_command_encode(&c, frame, sizeof frame, &len) != WS_OK) {
        return WS_ERR_ARG;
    }
    st = ws_device_on_command_write(&dev, frame, len, out, sizeof out, &rlen);
    WS_TEST_ASSERT(rlen > 0);
    WS_TEST_ASSERT_EQ_INT(ws_response_decode(out, rlen, rsp), WS_OK);
    WS_TEST_ASSERT_EQ_INT(rsp->status, st);
    return st;
}

/* The strip's image, read through STRIP_GET and frames of at most cap bytes. */
static uint32_t fetch(uint16_t id, uint32_t offset, uint8_t *img, uint32_t img_cap, size_t cap)
{
    ws_response_t rsp;
    uint8_t frame[256];
    size_t len = 0;
    uint32_t image_len, at = offset;
    if (command(WS_CMD_STRIP_GET, id, offset, &rsp) != WS_OK) {
        return 0;
    }
    WS_TEST_ASSERT_EQ_INT(rsp.data_len, 8);
    image_len = ws_get_u32(rsp.data);
    WS_TEST_ASSERT(image_len <= img_cap);
    while (ws_device_next_strip_frame(&dev, frame, cap, &len) == WS_OK && len > 0) {
        uint32_t k = (uint32_t)len - 8u;
        WS_TEST_ASSERT(len <= cap);
        WS_TEST_ASSERT_EQ_INT(ws_get_u16(frame), id);
        WS_TEST_ASSERT_EQ_INT(ws_get_u32(frame + 2), at);
        WS_TEST_ASSERT_EQ_INT(ws_get_u16(frame + len - 2), ws_crc16(frame, len - 2));
        if (at + k > img_cap) {
            return 0;
        }
        memcpy(img + at, frame + 6, k);
        at += k;
    }
    WS_TEST_ASSERT_EQ_INT(at, image_len);
    if (offset == 0) {
        WS_TEST_ASSERT_EQ_INT(ws_crc32_update(0, img, image_len), ws_get_u32(rsp.data + 4));
    }
    return image_len;
}

/* Checks an image: header fields and CRCs, and that its blocks decode to the samples
 * [first, first + n) fed. */
static void check_image(const uint8_t *img, uint32_t len, uint32_t first, uint32_t n,
                        uint8_t reason)
{
    uint32_t off = WS_STRIP_IMAGE_HEADER, got = 0;
    int16_t x[WS_STRIP_BLOCK_SAMPLES];
    int bad = 0;
    WS_TEST_ASSERT(memcmp(img, "WSTR", 4) == 0);
    WS_TEST_ASSERT_EQ_INT(img[4], 1);
    WS_TEST_ASSERT_EQ_INT(img[5], reason);
    WS_TEST_ASSERT_EQ_INT(ws_get_u16(img + 8), dev.queue.epoch);
    WS_TEST_ASSERT_EQ_INT(ws_get_u16(img + 16), FS);
    WS_TEST_ASSERT_EQ_INT(ws_get_u32(img + 10), 1000u + first / FS);
    WS_TEST_ASSERT_EQ_INT(ws_get_u16(img + 14), (first % FS) * 1000u / FS);
    WS_TEST_ASSERT_EQ_INT(ws_get_u32(img + 26), n);
    WS_TEST_ASSERT_EQ_INT(ws_get_u32(img + 34) + WS_STRIP_IMAGE_HEADER, len);
    WS_TEST_ASSERT_EQ_INT(ws_get_u16(img + 42), ws_crc16(img, 42));
    WS_TEST_ASSERT_EQ_INT(ws_get_u32(img + 38),
                          ws_crc32_update(0, img + WS_STRIP_IMAGE_HEADER,
                                          len - WS_STRIP_IMAGE_HEADER));
    while (off < len && !bad) {
        size_t k = 0, used = 0, i;
        if (ws_strip_decode_block(img + off, len - off, x, WS_STRIP_BLOCK_SAMPLES, &k, &used) !=
            WS_OK) {
            bad = 1;
            break;
        }
        for (i = 0; i < k; i++) {
            bad |= x[i] != sample(first + got + (uint32_t)i);
        }
        got += (uint32_t)k;
        off += (uint32_t)used;
    }
    WS_TEST_ASSERT(!bad);
    WS_TEST_ASSERT_EQ_INT(got, n);
}

/* The newest STRIP event in the queue (0 if none): its strip id. */
static uint16_t last_strip_event(uint32_t *subject)
{
    uint8_t out[WS_NOTIFICATION_MAX];
    size_t len = 0;
    uint16_t id = 0;
    ws_event_t ev;
    ws_device_on_connect(&dev);
    while (ws_device_next_notification(&dev, out, sizeof out, &len) == WS_OK && len > 0) {
        if (ws_event_decode(out, len, &ev) == WS_OK && ev.type == WS_EVENT_STRIP) {
            id = ev.u.strip.strip_id;
            *subject = ev.u.strip.subject_seq;
        }
    }
    return id;
}

static uint8_t img[8192];
static uint8_t img2[8192];

static void test_made_and_fetched(void)
{
    ws_response_t rsp;
    ws_strips_stats_t st;
    uint32_t len, subject = 0, crc;
    tf_init();
    boot(1);
    WS_TEST_ASSERT_EQ_INT(strips.n_entries, 0);
    WS_TEST_ASSERT_EQ_INT(ws_strips_feed(&strips, NULL, 0), WS_ERR_STATE);
    WS_TEST_ASSERT_EQ_INT(ws_strips_config(&strips, FS, 200.0f, 1024, 1000), WS_OK);
    feed(0, 3 * FS);
    /* an AF onset at 2 s: wants [1 s - pre-onset ... ), clamps at the stream's start */
    WS_TEST_ASSERT_EQ_INT(ws_strips_request(&strips, WS_STRIP_REASON_AF_ONSET, 42, FS / 2u,
                                            2 * FS), WS_OK);
    WS_TEST_ASSERT_EQ_INT(strips.n_entries, 1); /* its samples were all in: made at once */
    WS_TEST_ASSERT_EQ_INT(last_strip_event(&subject), 1);
    WS_TEST_ASSERT_EQ_INT(subject, 42);
    len = fetch(1, 0, img, sizeof img, 40);
    check_image(img, len, FS / 2u, 2 * FS, WS_STRIP_REASON_AF_ONSET);
    /* resumed from an offset: the same bytes */
    memset(img2, 0, sizeof img2);
    WS_TEST_ASSERT_EQ_INT(fetch(1, 100, img2, sizeof img2, 247 - 3), len);
    WS_TEST_ASSERT(memcmp(img + 100, img2 + 100, len - 100) == 0);
    /* a request whose samples are not in yet waits for them */
    WS_TEST_ASSERT_EQ_INT(ws_strips_request(&strips, WS_STRIP_REASON_RECORDING, 43, 3 * FS,
                                            FS + 17u), WS_OK);
    WS_TEST_ASSERT_EQ_INT(strips.n_entries, 1);
    feed(3 * FS, FS);
    WS_TEST_ASSERT_EQ_INT(strips.n_entries, 1);
    feed(4 * FS, 17);
    WS_TEST_ASSERT_EQ_INT(strips.n_entries, 2);
    len = fetch(2, 0, img, sizeof img, 100);
    check_image(img, len, 3 * FS, FS + 17u, WS_STRIP_REASON_RECORDING);
    crc = ws_crc32_update(0, img, len);
    /* errors */
    WS_TEST_ASSERT_EQ_INT(command(WS_CMD_STRIP_GET, 9, 0, &rsp), WS_ERR_NOT_FOUND);
    WS_TEST_ASSERT_EQ_INT(command(WS_CMD_STRIP_GET, 2, len + 1u, &rsp), WS_ERR_RANGE);
    WS_TEST_ASSERT_EQ_INT(command(WS_CMD_STRIP_RELEASE, 2, crc ^ 1u, &rsp), WS_ERR_STATE);
    WS_TEST_ASSERT_EQ_INT(command(WS_CMD_STRIP_RELEASE, 9, crc, &rsp), WS_ERR_NOT_FOUND);
    WS_TEST_ASSERT_EQ_INT(command(WS_CMD_STRIP_RELEASE, 2, crc, &rsp), WS_OK);
    WS_TEST_ASSERT_EQ_INT(command(WS_CMD_STRIP_RELEASE, 2, crc, &rsp), WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_strips_request(&strips, 3, 1, 0, 10), WS_ERR_RANGE);
    WS_TEST_ASSERT_EQ_INT(ws_strips_request(&strips, 1, 0, 0, 10), WS_ERR_RANGE);
    {
        uint8_t frame[8];
        size_t flen = 0;
        WS_TEST_ASSERT_EQ_INT(ws_device_next_strip_frame(&dev, frame, sizeof frame, &flen),
                              WS_ERR_ARG);
    }
    /* after a reset: both still there, the release remembered, ids go on */
    boot(0);
    WS_TEST_ASSERT_EQ_INT(strips.n_entries, 2);
    WS_TEST_ASSERT_EQ_INT(strips.entry[0].released, 0);
    WS_TEST_ASSERT_EQ_INT(strips.entry[1].released, 1);
    WS_TEST_ASSERT_EQ_INT(ws_strips_next_id(&strips, dev.queue.epoch), 3);
    WS_TEST_ASSERT_EQ_INT(fetch(2, 0, img2, sizeof img2, 60), len);
    WS_TEST_ASSERT(memcmp(img, img2, len) == 0);
    /* a new link stops a running transfer */
    WS_TEST_ASSERT_EQ_INT(command(WS_CMD_STRIP_GET, 1, 0, &rsp), WS_OK);
    ws_device_on_connect(&dev);
    {
        uint8_t frame[64];
        size_t flen = 1;
        WS_TEST_ASSERT_EQ_INT(ws_device_next_strip_frame(&dev, frame, sizeof frame, &flen),
                              WS_OK);
        WS_TEST_ASSERT_EQ_INT(flen, 0);
    }
    WS_TEST_ASSERT_EQ_INT(ws_strips_get_stats(&strips, &st), WS_OK);
    WS_TEST_ASSERT_EQ_INT(st.held, 2);
    WS_TEST_ASSERT_EQ_INT(st.unreleased, 1);
}

/* Strips of 4 s (1 000 samples of noise: verbatim blocks, 2 092 bytes with the extent
 * header, 5 pages of 512 bytes) in 12 pages. */
static void make(uint32_t subject)
{
    uint32_t at = ws_strips_samples(&strips);
    feed(at, 4 * FS);
    WS_TEST_ASSERT_EQ_INT(ws_strips_request(&strips, WS_STRIP_REASON_AF_ONSET, subject, at,
                                            4 * FS), WS_OK);
}

static int held(uint16_t id)
{
    uint16_t i;
    for (i = 0; i < strips.n_entries; i++) {
        if (strips.entry[i].strip_id == id) {
            return 1;
        }
    }
    return 0;
}

static void test_ring_reuse(void)
{
    ws_response_t rsp;
    tf_init();
    boot(1);
    WS_TEST_ASSERT_EQ_INT(ws_strips_config(&strips, FS, 200.0f, 0, 1000), WS_OK);
    make(10);
    make(11);
    WS_TEST_ASSERT(held(1) && held(2));
    WS_TEST_ASSERT_EQ_INT(command(WS_CMD_STRIP_RELEASE, 2, strips.entry[1].image_crc32, &rsp),
                          WS_OK);
    make(12); /* no room: the released strip 2 goes, not the older unreleased 1 */
    WS_TEST_ASSERT(held(1) && !held(2) && held(3));
    WS_TEST_ASSERT_EQ_INT(strips.stats.reused, 1);
    WS_TEST_ASSERT_EQ_INT(strips.stats.overwritten, 0);
    make(13); /* nothing released: the oldest unreleased (1) goes */
    WS_TEST_ASSERT(!held(1) && held(3) && held(4));
    WS_TEST_ASSERT_EQ_INT(strips.stats.overwritten, 1);
    /* the ring wrapped past the last page: a remount finds the same strips */
    boot(0);
    WS_TEST_ASSERT(!held(1) && !held(2) && held(3) && held(4));
    WS_TEST_ASSERT_EQ_INT(fetch(4, 0, img, sizeof img, 200), strips.entry[1].image_len);
    WS_TEST_ASSERT_EQ_INT(tf.violations, 0);
}

/* A power cut at every flash operation of: make a strip, release the first, make
 * another. After it, every strip that was whole and unreleased is there and whole, and
 * the partition goes on working. */
static void test_power_cuts(void)
{
    static uint8_t base[S_PAGE * S_PAGES];
    static uint8_t q_base[Q_PAGE * Q_PAGES];
    uint32_t cut, trials = 0, base_crc;
    int finished = 0;
    tf_init();
    boot(1);
    WS_TEST_ASSERT_EQ_INT(ws_strips_config(&strips, FS, 200.0f, 0, 1000), WS_OK);
    make(20);
    base_crc = strips.entry[0].image_crc32;
    memcpy(base, tf.mem, sizeof base);
    memcpy(q_base, q_mem, sizeof q_base);
    for (cut = 0; !finished && cut < 400; cut++) {
        ws_response_t rsp;
        int made2, released1;
        uint16_t i;
        memcpy(tf.mem, base, sizeof base);
        memcpy(q_mem, q_base, sizeof q_base);
        tf.dead = 0;
        boot(0);
        WS_TEST_ASSERT_EQ_INT(ws_strips_config(&strips, FS, 200.0f, 0, 1000), WS_OK);
        tf.ops = 0;
        tf.cut_at = cut;
        make(21);
        made2 = held(2) && !tf.dead;
        released1 = command(WS_CMD_STRIP_RELEASE, 1, base_crc, &rsp) == WS_OK;
        make(22);
        finished = !tf.dead;
        tf.dead = 0;
        tf.cut_at = 0xFFFFFFFFu;
        boot(0); /* power back */
        trials++;
        WS_TEST_ASSERT(held(1) || released1);
        WS_TEST_ASSERT(held(2) || !made2);
        for (i = 0; i < strips.n_entries; i++) {
            uint16_t id = strips.entry[i].strip_id;
            uint32_t len = fetch(id, 0, img, sizeof img, 244);
            WS_TEST_ASSERT(len > 0);
            check_image(img, len, id == 3 ? 4 * FS : 0, 4 * FS, WS_STRIP_REASON_AF_ONSET);
        }
        WS_TEST_ASSERT_EQ_INT(ws_strips_config(&strips, FS, 200.0f, 0, 1000), WS_OK);
        make(23);
        WS_TEST_ASSERT_EQ_INT(strips.stats.made, 1);
    }
    WS_TEST_ASSERT(finished);
    WS_TEST_ASSERT(trials > 10);
    WS_TEST_ASSERT_EQ_INT(tf.violations, 0);
}

static ws_status_t factory_reset(void)
{
    ws_command_t c;
    uint8_t frame[16], out[WS_RESPONSE_MAX_SIZE];
    size_t len = 0, rlen = 0;
    memset(&c, 0, sizeof c);
    c.opcode = WS_CMD_FACTORY_RESET;
    c.token = 9;
    c.a.factory_reset.magic = WS_FACTORY_RESET_MAGIC;
    WS_TEST_ASSERT_EQ_INT(ws_command_encode(&c, frame, sizeof frame, &len), WS_OK);
    return ws_device_on_command_write(&dev, frame, len, out, sizeof out, &rlen);
}

static int partition_blank(void)
{
    uint32_t i;
    for (i = 0; i < sizeof tf.mem; i++) {
        if (tf.mem[i] != 0xFFu) {
            return 0;
        }
    }
    return 1;
}

/* FACTORY_RESET (a new wearer) erases the old wearer's strips from flash, forgets the
 * ring's samples and the waiting requests; the new epoch's strips start at id 1. A cut
 * at each erase fails the reset (same epoch) and leaves whole strips only. */
static void test_factory_reset_erases_strips(void)
{
    static uint8_t base[S_PAGE * S_PAGES];
    static uint8_t q_base[Q_PAGE * Q_PAGES];
    uint16_t epoch;
    uint32_t at, cut, dropped;
    tf_init();
    boot(1);
    WS_TEST_ASSERT_EQ_INT(ws_strips_config(&strips, FS, 200.0f, 0, 1000), WS_OK);
    make(30);
    make(31);
    at = ws_strips_samples(&strips);
    feed(at, FS);
    /* waits for samples that will never come from this wearer */
    WS_TEST_ASSERT_EQ_INT(ws_strips_request(&strips, WS_STRIP_REASON_RECORDING, 32, at,
                                            3 * FS), WS_OK);
    WS_TEST_ASSERT_EQ_INT(strips.n_entries, 2);
    memcpy(base, tf.mem, sizeof base);
    memcpy(q_base, q_mem, sizeof q_base);
    epoch = dev.queue.epoch;
    WS_TEST_ASSERT_EQ_INT(factory_reset(), WS_OK);
    WS_TEST_ASSERT_EQ_INT(dev.queue.epoch, epoch + 1u);
    WS_TEST_ASSERT_EQ_INT(strips.n_entries, 0);
    WS_TEST_ASSERT(partition_blank());
    /* the old wearer's last second is not in the ring: a request for it makes nothing */
    dropped = strips.stats.dropped;
    WS_TEST_ASSERT_EQ_INT(ws_strips_request(&strips, WS_STRIP_REASON_RECORDING, 33, at, FS),
                          WS_OK);
    WS_TEST_ASSERT_EQ_INT(strips.stats.dropped, dropped + 1u);
    feed(at + FS, 2 * FS); /* and the request that waited before the reset is gone */
    WS_TEST_ASSERT_EQ_INT(strips.n_entries, 0);
    make(34);
    WS_TEST_ASSERT_EQ_INT(strips.n_entries, 1);
    WS_TEST_ASSERT_EQ_INT(strips.entry[0].strip_id, 1);
    WS_TEST_ASSERT_EQ_INT(strips.entry[0].epoch, epoch + 1u);
    boot(0);
    WS_TEST_ASSERT_EQ_INT(strips.n_entries, 1);
    /* a power cut at each erase of the reset */
    for (cut = 0; cut < S_PAGES; cut++) {
        uint16_t i;
        memcpy(tf.mem, base, sizeof base);
        memcpy(q_mem, q_base, sizeof q_base);
        tf.dead = 0;
        tf.cut_at = 0xFFFFFFFFu;
        boot(0);
        tf.ops = 0;
        tf.cut_at = cut;
        WS_TEST_ASSERT_EQ_INT(factory_reset(), WS_ERR_FLASH);
        WS_TEST_ASSERT_EQ_INT(dev.queue.epoch, epoch);
        tf.dead = 0;
        tf.cut_at = 0xFFFFFFFFu;
        boot(0); /* power back: same epoch, whole strips only */
        WS_TEST_ASSERT_EQ_INT(dev.queue.epoch, epoch);
        for (i = 0; i < strips.n_entries; i++) {
            uint32_t len = fetch(strips.entry[i].strip_id, 0, img, sizeof img, 244);
            WS_TEST_ASSERT(len > 0);
        }
        WS_TEST_ASSERT_EQ_INT(factory_reset(), WS_OK); /* sent again, it completes */
        WS_TEST_ASSERT_EQ_INT(strips.n_entries, 0);
        WS_TEST_ASSERT(partition_blank());
    }
    WS_TEST_ASSERT_EQ_INT(tf.violations, 0);
}

int ws_test_run(void)
{
    test_made_and_fetched();
    test_ring_reuse();
    test_power_cuts();
    test_factory_reset_erases_strips();
    return ws_test_failures();
}
