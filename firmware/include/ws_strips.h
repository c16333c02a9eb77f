/* ECG strips (issue #31, docs/strips.md): the raw ECG input samples around what the
 * detectors found, compressed losslessly as they arrive, kept in a flash partition of
 * their own and sent to the owner's companion only when it asks.
 *
 *   ws_app_feed_ecg --> ws_strips_feed: blocks of WS_STRIP_BLOCK_SAMPLES input samples,
 *       each encoded (ws_strip_codec.h) into a RAM ring of WS_STRIP_RING_BYTES that keeps
 *       the newest blocks (the pre-onset context; the oldest block goes first)
 *   AF_START / ECG_RECORDING --> ws_strips_request: WS_STRIP_SECONDS of samples from a
 *       start sample, taken from the ring (when the ring no longer reaches back to the
 *       start, from its oldest sample; when the samples are not all in yet, as soon as
 *       they are) --> a strip image (header + blocks) written into the partition, then a
 *       STRIP event names it
 *   STRIP_GET --> ws_strips_next_frame: the image in frames on the Strip transfer
 *       characteristic; STRIP_RELEASE --> its space may be reused
 *
 * The partition is a ring of extents: each strip takes whole pages (an extent may wrap
 * from the last page to the first), a 32-byte extent header at its first page written
 * after the image and committed by its last word, so a power cut at any flash operation
 * leaves either a complete strip or one that mount discards (its header, commit or CRCs
 * do not check). When a new strip does not fit, the oldest released strip's pages are
 * reused first, then the oldest unreleased strip's (counted in `overwritten`).
 * Everything a strip needs is in the image (layout: docs/protocol.md, "Strip image"). */
#ifndef WS_STRIPS_H
#define WS_STRIPS_H

#include <stddef.h>
#include <stdint.h>

#include "ws_device.h"
#include "ws_flash.h"
#include "ws_status.h"
#include "ws_strip_codec.h"

/* The RAM ring of compressed blocks (bytes): the pre-onset context. How far back it
 * reaches depends on how well the signal compresses (docs/strips.md). */
#ifndef WS_STRIP_RING_BYTES
#define WS_STRIP_RING_BYTES 12288
#endif

/* cdef-begin */
#define WS_STRIP_SECONDS 30          /* samples per strip: 30 s */
#define WS_STRIP_PRE_ONSET_S 10      /* an AF strip starts 10 s before the onset */
#define WS_STRIP_IMAGE_HEADER 44     /* strip image header bytes */
#define WS_STRIP_EXTENT_HEADER 32    /* the partition's per-strip header before the image */
#define WS_STRIP_FRAME_OVERHEAD 8    /* strip_id u16, offset u32, crc16 u16 */
#define WS_STRIP_MAX_ENTRIES 32      /* strips the partition's table holds */
#define WS_STRIP_MIN_PAGES 2
#define WS_STRIP_PENDING 2           /* requests waiting for their samples */
#define WS_STRIP_REASON_AF_ONSET 1
#define WS_STRIP_REASON_RECORDING 2

typedef struct ws_strips ws_strips_t;

/* One strip held in the partition. */
typedef struct {
    uint16_t strip_id;
    uint16_t epoch;
    uint8_t reason;
    uint8_t duration_s;
    uint8_t released;
    uint8_t announced;   /* its STRIP event is in the queue */
    uint32_t subject_seq;
    uint32_t image_len;
    uint32_t image_crc32;
    uint32_t seq;        /* extent sequence: the order strips were written in */
    uint16_t first_page;
    uint16_t pages;
} ws_strip_entry_t;

typedef struct {
    uint32_t made;         /* strips written and committed */
    uint32_t requested;    /* requests taken (AF onsets, recordings) */
    uint32_t dropped;      /* requests lost: no stream, pending list full, too big, flash */
    uint32_t overwritten;  /* unreleased strips whose space a new one took */
    uint32_t reused;       /* released strips whose space a new one took */
    uint32_t discarded;    /* torn extents mount found and ignored */
    uint32_t flash_errors;
    uint32_t announce_errors; /* STRIP events the queue refused (retried later) */
    uint32_t ring_samples;    /* samples the RAM ring holds now (blocks + the open one) */
    uint32_t ring_bytes_used;
    uint16_t held;            /* strips in the table */
    uint16_t unreleased;
} ws_strips_stats_t;

/* Bytes a ws_strips_t needs (the caller owns it). */
size_t ws_strips_size(void);

/* Mounts the strip partition `flash` (at least WS_STRIP_MIN_PAGES pages of at least 256
 * bytes): reads every committed extent, checks its CRCs, discards torn ones. `dev` is the
 * device core whose epoch, clock and queue the strips use (announced through it). A
 * committed strip whose STRIP event had not been queued is announced on the next feed. */
ws_status_t ws_strips_mount(ws_strips_t *s, const ws_flash_t *flash, ws_device_t *dev);

/* A new ECG stream (the app's ws_app_config_ecg): its rate, ADC gain and zero, and the
 * device time of its first sample. Empties the RAM ring and the pending requests. */
ws_status_t ws_strips_config(ws_strips_t *s, uint16_t fs_hz, float adc_gain, int32_t adc_zero,
                             uint32_t start_time_s);

/* Input samples as they arrive (ADC counts); makes the strips whose samples are in. */
ws_status_t ws_strips_feed(ws_strips_t *s, const int16_t *x, size_t n);

/* Samples fed since ws_strips_config. */
uint32_t ws_strips_samples(const ws_strips_t *s);

/* Asks for a strip of n_samples from input sample `first` (counted from the stream's
 * first), documenting event `subject_seq`. WS_ERR_STATE without a stream, WS_ERR_BUSY
 * when WS_STRIP_PENDING requests wait already (counted as dropped). */
ws_status_t ws_strips_request(ws_strips_t *s, uint8_t reason, uint32_t subject_seq,
                              uint32_t first, uint32_t n_samples);

/* STRIP_GET: starts sending strip `strip_id` (of the current epoch) from `offset`.
 * WS_ERR_NOT_FOUND when the device does not hold it, WS_ERR_RANGE for offset > length. */
ws_status_t ws_strips_get(ws_strips_t *s, uint16_t strip_id, uint32_t offset,
                          uint32_t *image_len, uint32_t *image_crc32);

/* The next Strip transfer frame of the running transfer, at most `cap` bytes (the
 * link's ATT MTU - 3; at least WS_STRIP_FRAME_OVERHEAD + 1); *len 0 when none is due. */
ws_status_t ws_strips_next_frame(ws_strips_t *s, uint8_t *out, size_t cap, size_t *len);

/* Stops the running transfer (a new link). */
void ws_strips_cancel(ws_strips_t *s);

/* STRIP_RELEASE: the companion stored it; its space may be reused. WS_ERR_NOT_FOUND,
 * WS_ERR_STATE when image_crc32 is not the strip's. Releasing twice is OK. */
ws_status_t ws_strips_release(ws_strips_t *s, uint16_t strip_id, uint32_t image_crc32);

/* FACTORY_RESET (a new wearer): erases every page of the partition and forgets the
 * strips, the requests waiting for samples, a running transfer and the RAM ring's
 * samples; the stream's configuration stays. WS_ERR_FLASH when a page does not erase (a
 * cut part way leaves some strips of the old epoch, which mount finds and the device
 * keeps serving until the reset is sent again and completes). */
ws_status_t ws_strips_erase_all(ws_strips_t *s);

/* The strips held, oldest first: up to cap entries; *n how many. */
ws_status_t ws_strips_list(const ws_strips_t *s, ws_strip_entry_t *out, size_t cap, size_t *n);

/* Reads len bytes of strip `strip_id`'s image from `offset` (host tools and tests). */
ws_status_t ws_strips_read(const ws_strips_t *s, uint16_t strip_id, uint32_t offset,
                           uint8_t *out, uint32_t len);

ws_status_t ws_strips_get_stats(const ws_strips_t *s, ws_strips_stats_t *out);

/* The id the next strip of `epoch` gets (1..65535); 0 when the epoch's ids are used up. */
uint16_t ws_strips_next_id(ws_strips_t *s, uint16_t epoch);

/* CRC-32/ISO-HDLC (zlib.crc32): init 0 for a new CRC, the previous result to continue. */
uint32_t ws_crc32_update(uint32_t crc, const uint8_t *data, size_t len);
/* cdef-end */

typedef struct {
    uint8_t reason;
    uint32_t subject_seq;
    uint32_t first;
    uint32_t n;
} ws_strip_request_t;

struct ws_strips {
    const ws_flash_t *flash;
    ws_device_t *dev;
    /* the partition */
    ws_strip_entry_t entry[WS_STRIP_MAX_ENTRIES]; /* oldest first (by seq) */
    uint16_t n_entries;
    uint32_t next_seq;
    uint16_t id_epoch;       /* the epoch next_id counts in */
    uint16_t next_id;
    uint8_t late;            /* committed strips wait for their STRIP event */
    /* the transfer */
    uint8_t xfer_active;
    uint16_t xfer_id;
    uint32_t xfer_offset;
    /* the stream */
    uint8_t streaming;
    uint16_t fs_hz;
    float adc_gain;
    int32_t adc_zero;
    uint32_t start_time_s;
    uint32_t total;          /* samples fed */
    /* the RAM ring of blocks: [tail, tail + used) circular; they hold samples
     * [oldest, total - stage_n) and the open block stage[0..stage_n) the rest */
    uint32_t tail;
    uint32_t used;
    uint32_t oldest;
    uint16_t stage_n;
    int16_t stage[WS_STRIP_BLOCK_SAMPLES];
    int16_t work[WS_STRIP_BLOCK_SAMPLES];
    uint8_t block[WS_STRIP_BLOCK_MAX_BYTES];
    uint8_t ring[WS_STRIP_RING_BYTES];
    ws_strip_request_t pending[WS_STRIP_PENDING];
    uint8_t n_pending;
    ws_strips_stats_t stats;
};

#endif
