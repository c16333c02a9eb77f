/* What the strip recorder (recorder.c) and the strip partition (partition.c) share.
 * Internal: the public API is ws_strips.h. */
#ifndef WS_STRIPS_INTERNAL_H
#define WS_STRIPS_INTERNAL_H

#include <stdint.h>

#include "ws_strips.h"

/* An image being written into a new extent. */
typedef struct {
    uint32_t first_page;
    uint32_t pages;
    uint32_t image_len;
    uint32_t pos;   /* image bytes programmed so far */
    uint32_t crc;   /* CRC-32 of those bytes */
} ws_strip_writer_t;

/* Makes room for an image of image_len bytes (reusing released strips first, then the
 * oldest unreleased), erases its pages. WS_ERR_NOSPACE when it can never fit. */
ws_status_t ws_strips_begin(ws_strips_t *s, uint32_t image_len, ws_strip_writer_t *w);

/* Programs the next len bytes of the image. */
ws_status_t ws_strips_put(ws_strips_t *s, ws_strip_writer_t *w, const uint8_t *data,
                          uint32_t len);

/* Writes the extent header (committing the strip), adds it to the table and announces
 * it with a STRIP event. `meta` has the strip's fields (id, epoch, reason, ...). */
ws_status_t ws_strips_commit(ws_strips_t *s, ws_strip_writer_t *w,
                             const ws_strip_entry_t *meta);


/* STRIP events for committed strips that have none yet. */
void ws_strips_announce_late(ws_strips_t *s);

/* Forgets every sample the RAM ring holds (the open block too): it then holds none of
 * the samples fed so far (recorder.c). */
void ws_strips_ring_clear(ws_strips_t *s);

#endif
