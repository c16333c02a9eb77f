/* The operation-sequence harness of the device-face fuzz targets (device_ops.h). */
#include "device_ops.h"

#include <string.h>

#include "device.h"
#include "flash.h"
#include "update.h"
#include "ws_bytes.h"
#include "ws_device.h"
#include "ws_nn.h"
#include "ws_pkg.h"
#include "ws_protocol.h"
#include "ws_strips.h"
#include "ws_update.h"

/* Small queue pages so that a short input fills the queue (drops, GAP events,
 * compaction); the model store has the reference layout. */
#define QUEUE_PAGE_SIZE 512
#define QUEUE_PAGES 8
#define SETTINGS_PAGES 2
#define STORE_PAGE_SIZE WS_MODEL_STORE_PAGE_SIZE
#define STORE_MAX_PAGES 64
#define NN_ARENA 65536
#define NN_MODEL_MAX 32768
#define MAX_PAGES STORE_MAX_PAGES
#define DRAIN_MAX 16
/* The longest transfer frame op bit 0x20 makes: past the 512-byte frame limit. */
#define TRANSFER_EXPAND_MAX 1024
#define EVENTS_MAX 16
/* A small strip partition (a few strips of a few seconds wrap it) and a slow ECG rate. */
#define STRIP_PAGES 8
#define STRIP_FS 100
#define STRIP_FRAMES_MAX 64

/* A host flash with a record of the pages an input touched, so the next input starts
 * from blank flash without erasing every page. */
typedef struct {
    ws_flash_t iface;
    ws_host_flash_t host;
    uint8_t *mem;
    uint32_t page_size;
    uint32_t pages;
    uint8_t dirty[MAX_PAGES];
} fz_flash_t;

static void mark(fz_flash_t *f, uint32_t addr, uint32_t len)
{
    uint32_t first, last;
    if (len == 0 || (uint64_t)addr + len > (uint64_t)f->page_size * f->pages) {
        return; /* out of range: the host flash refuses it untouched */
    }
    first = addr / f->page_size;
    last = (uint32_t)(((uint64_t)addr + len - 1) / f->page_size);
    for (; first <= last; first++) {
        f->dirty[first] = 1;
    }
}

static ws_status_t fz_read(void *ctx, uint32_t addr, uint8_t *out, uint32_t len)
{
    fz_flash_t *f = ctx;
    return f->host.iface.read(f->host.iface.ctx, addr, out, len);
}

static ws_status_t fz_program(void *ctx, uint32_t addr, const uint8_t *data, uint32_t len)
{
    fz_flash_t *f = ctx;
    mark(f, addr, len);
    return f->host.iface.program(f->host.iface.ctx, addr, data, len);
}

static ws_status_t fz_erase(void *ctx, uint32_t page)
{
    fz_flash_t *f = ctx;
    if (page < f->pages) {
        f->dirty[page] = 1;
    }
    return f->host.iface.erase(f->host.iface.ctx, page);
}

static void fz_flash_setup(fz_flash_t *f, uint8_t *mem, uint32_t page_size, uint32_t pages)
{
    memset(f, 0, sizeof *f);
    memset(mem, 0xFF, (size_t)page_size * pages);
    f->mem = mem;
    f->page_size = page_size;
    f->pages = pages;
    (void)ws_host_flash_init(&f->host, mem, page_size, pages);
    f->iface.page_size = page_size;
    f->iface.page_count = pages;
    f->iface.read = fz_read;
    f->iface.program = fz_program;
    f->iface.erase = fz_erase;
    f->iface.ctx = f;
}

/* Back to blank flash: erases what the last input touched, forgets cuts and counters. */
static void fz_flash_blank(fz_flash_t *f)
{
    uint32_t p;
    for (p = 0; p < f->pages; p++) {
        if (f->dirty[p]) {
            memset(f->mem + (size_t)p * f->page_size, 0xFF, f->page_size);
            f->dirty[p] = 0;
        }
    }
    (void)ws_host_flash_init(&f->host, f->mem, f->page_size, f->pages);
}

static _Alignas(16) uint8_t queue_mem[QUEUE_PAGE_SIZE * QUEUE_PAGES];
static _Alignas(16) uint8_t settings_mem[QUEUE_PAGE_SIZE * SETTINGS_PAGES];
static _Alignas(16) uint8_t store_mem[STORE_PAGE_SIZE * STORE_MAX_PAGES];
static _Alignas(16) uint8_t strip_mem[QUEUE_PAGE_SIZE * STRIP_PAGES];
static _Alignas(16) uint8_t nn_model[32768];
static _Alignas(16) uint8_t arena[NN_ARENA];
static uint8_t public_key[32];

static fz_flash_t queue_flash, settings_flash, store_flash, strip_flash;
static ws_strips_t strips;
static int strips_up; /* the strip partition mounted */
static uint16_t strip_asked; /* the strip id of the last STRIP_GET (frames must be its) */
static uint32_t strip_next;  /* the offset its next frame must have */
static ws_host_clock_t clock_state;
static ws_host_platform_t platform;
static ws_device_t dev;
static ws_update_t upd;
static int ready;   /* the static parts are set up (first input) */
static int alive;   /* the device booted; cleared when a boot fails until the next reboot */
static int updates; /* the update service mounted */

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            __builtin_trap();                                                                  \
        }                                                                                      \
    } while (0)

static void setup_once(void)
{
    uint32_t store_pages = ws_model_store_pages(STORE_PAGE_SIZE);
    CHECK(store_pages <= STORE_MAX_PAGES);
    CHECK(ws_nn_model_struct_size() <= sizeof nn_model);
    fz_flash_setup(&queue_flash, queue_mem, QUEUE_PAGE_SIZE, QUEUE_PAGES);
    fz_flash_setup(&settings_flash, settings_mem, QUEUE_PAGE_SIZE, SETTINGS_PAGES);
    fz_flash_setup(&store_flash, store_mem, STORE_PAGE_SIZE, store_pages);
    fz_flash_setup(&strip_flash, strip_mem, QUEUE_PAGE_SIZE, STRIP_PAGES);
    memcpy(public_key, ws_pkg_trusted_key(), sizeof public_key);
    ready = 1;
}

/* A reset: the update service mounts and verifies its store, the core boots on the same
 * flash (recovering from any cut), the settings are read, UPDATE_* is routed. This is the
 * order of the emulator (wearsense/firmware/updatable.py) and of a device port. */
static void boot(void)
{
    ws_host_flash_disarm(&queue_flash.host);
    ws_host_flash_disarm(&settings_flash.host);
    ws_host_flash_disarm(&store_flash.host);
    ws_host_flash_disarm(&strip_flash.host);
    strip_asked = 0;
    updates = ws_update_init(&upd, &store_flash.iface, store_mem, WS_PKG_PLACEMENT_CHEST,
                             public_key, nn_model, arena, sizeof arena) == WS_OK;
    if (updates) {
        ws_host_update_bind(&upd, &platform);
    }
    alive = ws_device_boot(&dev, "FUZZ0001", &queue_flash.iface,
                           ws_host_platform_iface(&platform)) == WS_OK;
    if (!alive) {
        return;
    }
    (void)ws_device_attach_settings(&dev, &settings_flash.iface);
    strips_up = ws_strips_mount(&strips, &strip_flash.iface, &dev) == WS_OK;
    if (strips_up) {
        (void)ws_device_attach_strips(&dev, &strips);
        (void)ws_strips_config(&strips, STRIP_FS, 200.0f, 0, clock_state.now_s);
    }
    if (updates) {
        ws_update_attach(&upd, &dev);
    }
}

/* What a central may rely on whatever it wrote. (The queue's counters are read from the
 * struct: ws_device_get_info also counts the pending records, reading the whole log.) */
static void check_invariants(void)
{
    ws_status_record_t rec;
    uint8_t out[WS_STATUS_RECORD_SIZE];
    size_t len = 0;
    CHECK(ws_host_flash_violations(&queue_flash.host) == 0);
    CHECK(ws_host_flash_violations(&settings_flash.host) == 0);
    CHECK(ws_host_flash_violations(&store_flash.host) == 0);
    CHECK(ws_host_flash_violations(&strip_flash.host) == 0);
    if (!alive) {
        return;
    }
    if (strips_up) {
        uint16_t i;
        CHECK(strips.n_entries <= WS_STRIP_MAX_ENTRIES);
        for (i = 0; i < strips.n_entries; i++) {
            CHECK(strips.entry[i].image_len >= WS_STRIP_IMAGE_HEADER);
            CHECK(strips.entry[i].strip_id >= 1);
        }
    }
    CHECK(dev.queue.acked <= dev.queue.last_seq);
    CHECK(dev.queue.last_seq <= WS_SEQ_MAX);
    CHECK(ws_device_read_status(&dev, out, sizeof out, &len) == WS_OK);
    CHECK(len == WS_STATUS_RECORD_SIZE);
    CHECK(ws_status_record_decode(out, len, &rec) == WS_OK);
    CHECK(rec.epoch == dev.queue.epoch && rec.last_seq == dev.queue.last_seq);
    CHECK(rec.acked_seq == dev.queue.acked);
}

static void op_command(const uint8_t *p, size_t n)
{
    uint8_t rsp[WS_RESPONSE_MAX_SIZE];
    size_t rsp_len = 0;
    ws_response_t decoded;
    ws_status_t st = ws_device_on_command_write(&dev, p, n, rsp, sizeof rsp, &rsp_len);
    CHECK(rsp_len <= sizeof rsp);
    if (n < 2) {
        CHECK(st == WS_ERR_LENGTH && rsp_len == 0);
        return;
    }
    /* every write that names an opcode and a token is answered under them */
    CHECK(rsp_len >= 3);
    CHECK(rsp[0] == (uint8_t)(p[0] | 0x80u) && rsp[1] == p[1] && rsp[2] == (uint8_t)st);
    if (st == WS_OK && p[0] == WS_CMD_STRIP_GET && n == 8) {
        strip_asked = ws_get_u16(p + 2); /* the frames that follow are this strip's */
        strip_next = ws_get_u32(p + 4);
    }
    if (st != WS_ERR_TYPE) {
        CHECK(ws_response_decode(rsp, rsp_len, &decoded) == WS_OK);
    }
}

static void op_ack(const uint8_t *p, size_t n)
{
    uint16_t epoch = dev.queue.epoch;
    uint32_t acked = dev.queue.acked;
    ws_status_t st = ws_device_on_ack_write(&dev, p, n);
    if (st == WS_ERR_LENGTH || st == WS_ERR_TYPE || st == WS_ERR_RANGE || st == WS_ERR_EPOCH ||
        st == WS_ERR_STATE) {
        /* a refused acknowledgement frees nothing (a flash failure may: the host holds
         * the events either way) */
        CHECK(dev.queue.acked == acked && dev.queue.epoch == epoch);
    }
    CHECK(dev.queue.acked >= acked || dev.queue.epoch != epoch);
}

static void op_transfer(uint8_t op, const uint8_t *p, size_t n)
{
    static uint8_t frame[65536];
    uint8_t out[WS_TRANSFER_NOTIFY_SIZE];
    size_t out_len = 0;
    ws_status_t st;
    if (!updates) {
        return;
    }
    if ((op & 0x20u) && n >= 3) {
        /* a long frame from a short record: u16 length, then a pattern repeated to it */
        size_t i, want = ws_get_u16(p) % (TRANSFER_EXPAND_MAX + 1u);
        for (i = 0; i < want; i++) {
            frame[i] = p[2 + i % (n - 2)];
        }
        n = want;
    } else {
        memcpy(frame, p, n);
    }
    if ((op & 0x10u) && n >= 3) {
        ws_put_u16(frame + n - 2, ws_crc16(frame, n - 2));
    }
    st = ws_update_on_transfer_write(&upd, frame, n, out, sizeof out, &out_len);
    CHECK(out_len == 0 || out_len == WS_TRANSFER_NOTIFY_SIZE);
    if (out_len == WS_TRANSFER_NOTIFY_SIZE) {
        CHECK(out[4] == (uint8_t)st);
    } else {
        CHECK(st == WS_OK); /* every refused chunk is answered */
    }
}

static void op_events(const uint8_t *p, size_t n)
{
    static const uint8_t types[] = {
        WS_EVENT_AF_START,           WS_EVENT_AF_END,         WS_EVENT_RHYTHM_SUMMARY,
        WS_EVENT_HR_SUMMARY,         WS_EVENT_FALL,           WS_EVENT_FALL_CANCELLED,
        WS_EVENT_ACTIVITY_CHANGE,    WS_EVENT_ACTIVITY_SUMMARY, WS_EVENT_SIGNAL_QUALITY,
        WS_EVENT_ECG_RECORDING,
    };
    unsigned count = n > 0 ? 1u + p[0] % EVENTS_MAX : 1u;
    unsigned i;
    for (i = 0; i < count; i++) {
        ws_event_t ev;
        memset(&ev, 0, sizeof ev);
        ev.time_s = ws_device_time_s(&dev);
        ev.type = n > 1 ? types[p[1] % sizeof types] : WS_EVENT_HR_SUMMARY;
        if (n > 4) {
            size_t k = n - 4 < sizeof ev.u ? n - 4 : sizeof ev.u;
            ev.model_version = ws_get_u16(p + 2);
            memcpy(&ev.u, p + 4, k);
        }
        if (ws_event_validate(&ev) != WS_OK) {
            memset(&ev, 0, sizeof ev); /* detectors only report valid events */
            ev.type = WS_EVENT_HR_SUMMARY;
            ev.time_s = ws_device_time_s(&dev);
            ev.u.hr_summary.interval_s = 60;
            ev.u.hr_summary.min_bpm = 50;
            ev.u.hr_summary.mean_bpm = 70;
            ev.u.hr_summary.max_bpm = 90;
        }
        if (ws_device_append_event(&dev, &ev) == WS_ERR_FLASH) {
            return;
        }
        clock_state.now_s += 1;
    }
}

static void op_drain(const uint8_t *p, size_t n)
{
    unsigned count = n > 0 ? 1u + p[0] % DRAIN_MAX : DRAIN_MAX;
    unsigned i;
    for (i = 0; i < count; i++) {
        uint8_t out[WS_NOTIFICATION_MAX];
        size_t len = 0;
        ws_event_t ev;
        if (ws_device_next_notification(&dev, out, sizeof out, &len) != WS_OK || len == 0) {
            return;
        }
        CHECK(len <= sizeof out);
        CHECK(ws_event_decode(out, len, &ev) == WS_OK);
        CHECK(ev.seq > dev.queue.acked && ev.seq <= dev.queue.last_seq);
    }
}

/* The strip target's own write. p[0] even: n - 1 bytes become ECG samples (repeated to
 * p[0] x 4 samples), then a strip of them (the last of them, p[1] x 4 at most) is asked
 * for, documenting the last event; odd: Strip transfer frames of at most 9 + p[1] bytes
 * are pulled and checked (a valid frame of the strip STRIP_GET asked for, in order). */
static void op_strips(const uint8_t *p, size_t n)
{
    if (!strips_up) {
        return;
    }
    if (n == 0 || (p[0] & 1u) == 0) {
        int16_t x[64];
        uint32_t want = n > 0 ? 4u * p[0] + 1u : 64u, done = 0, k, i;
        uint32_t len = n > 1 ? 1u + 4u * p[1] : 32u;
        while (done < want) {
            k = want - done < 64u ? want - done : 64u;
            for (i = 0; i < k; i++) {
                x[i] = n > 2 ? (int16_t)(p[2 + (done + i) % (n - 2)] << 4) : (int16_t)(done + i);
            }
            (void)ws_strips_feed(&strips, x, k);
            done += k;
        }
        if (len > ws_strips_samples(&strips)) {
            len = ws_strips_samples(&strips);
        }
        (void)ws_strips_request(&strips, WS_STRIP_REASON_AF_ONSET,
                                dev.queue.last_seq ? dev.queue.last_seq : 1u,
                                ws_strips_samples(&strips) - len, len);
        return;
    }
    {
        uint8_t frame[9 + 255];
        size_t cap = 9u + (n > 1 ? p[1] : 0u), len = 0;
        unsigned i;
        for (i = 0; i < STRIP_FRAMES_MAX; i++) {
            ws_status_t st = ws_device_next_strip_frame(&dev, frame, cap, &len);
            if (st != WS_OK || len == 0) {
                return;
            }
            CHECK(len >= 9 && len <= cap);
            CHECK(ws_get_u16(frame + len - 2) == ws_crc16(frame, len - 2));
            CHECK(ws_get_u16(frame) == strip_asked);
            CHECK(ws_get_u32(frame + 2) == strip_next);
            strip_next += (uint32_t)len - 8u;
        }
    }
}

static void op_clock(const uint8_t *p, size_t n)
{
    uint32_t step = n >= 4 ? ws_get_u32(p) : (n > 0 ? p[0] : 1u);
    clock_state.now_s += step;
    if (n > 4) {
        clock_state.battery_pct = p[4];
    }
    if (n > 5) {
        clock_state.charging = p[5] & 1u;
    }
}

/* Arms a power cut at one of the next flash operations of one of the three flashes; every
 * later operation of that flash fails until the next reboot. */
static void op_cut(const uint8_t *p, size_t n)
{
    fz_flash_t *f = &queue_flash;
    if (n > 5 && (p[5] & 1u)) {
        f = &strip_flash;
    } else if (n > 0 && p[0] % 3 == 1) {
        f = &settings_flash;
    } else if (n > 0 && p[0] % 3 == 2) {
        f = &store_flash;
    }
    ws_host_flash_arm_cut(&f->host, n > 1 ? p[1] % 16u : 0u, n > 3 ? ws_get_u16(p + 2) : 0u,
                          n > 4 ? p[4] : 0xFFu);
}

int ws_fuzz_device_run(ws_fuzz_op_t primary, const uint8_t *data, size_t size)
{
    size_t at = 0;
    if (!ready) {
        setup_once();
    }
    fz_flash_blank(&queue_flash);
    fz_flash_blank(&settings_flash);
    fz_flash_blank(&store_flash);
    fz_flash_blank(&strip_flash);
    memset(&clock_state, 0, sizeof clock_state);
    clock_state.now_s = 1000;
    clock_state.battery_pct = 80;
    ws_host_platform_init(&platform, &clock_state);
    boot();
    check_invariants();
    while (at < size) {
        uint8_t op = data[at++];
        size_t n = at < size ? data[at++] : 0;
        const uint8_t *p;
        unsigned kind = op & 0x0Fu;
        if (n == 0xFF && size - at >= 2) { /* a long write: u16 length follows */
            n = ws_get_u16(data + at);
            at += 2;
        }
        p = data + at;
        if (n > size - at) {
            n = size - at;
        }
        at += n;
        kind = kind < 6 ? (unsigned)primary : kind - 6;
        if (!alive && kind != WS_FUZZ_REBOOT) {
            continue;
        }
        switch ((ws_fuzz_op_t)kind) {
        case WS_FUZZ_COMMAND:
            op_command(p, n);
            break;
        case WS_FUZZ_ACK:
            op_ack(p, n);
            break;
        case WS_FUZZ_TRANSFER:
            op_transfer(op, p, n);
            break;
        case WS_FUZZ_EVENTS:
            op_events(p, n);
            break;
        case WS_FUZZ_DRAIN:
            op_drain(p, n);
            break;
        case WS_FUZZ_CONNECT:
            ws_device_on_connect(&dev);
            break;
        case WS_FUZZ_CLOCK:
            op_clock(p, n);
            break;
        case WS_FUZZ_STATUS:
            break; /* check_invariants reads the status record after every operation */
        case WS_FUZZ_REBOOT:
            boot();
            break;
        case WS_FUZZ_CUT:
            op_cut(p, n);
            break;
        case WS_FUZZ_STRIPS:
            op_strips(p, n);
            break;
        default:
            break;
        }
        check_invariants();
    }
    return 0;
}
