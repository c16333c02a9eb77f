/* A bounds-checked reader of the flatbuffer wire format, just enough for the TFLite
 * schema: every table, vtable, field and vector is checked against the file size
 * and its alignment before it is read. Offsets are file positions (uint32). */
#ifndef WS_NN_FLATBUFFER_H
#define WS_NN_FLATBUFFER_H

#include <stdint.h>

#include "ws_bytes.h"
#include "ws_status.h"

typedef struct {
    const uint8_t *base;
    uint32_t size;
} ws_fb_t;

typedef struct {
    uint32_t pos;     /* table start */
    uint32_t vtable;  /* vtable start */
    uint16_t vt_size; /* vtable bytes */
    uint16_t size;    /* table bytes */
} ws_fb_table_t;

typedef struct {
    uint32_t pos; /* first element */
    uint32_t count;
} ws_fb_vector_t;

static inline uint32_t ws_fb_u32(const ws_fb_t *fb, uint32_t pos)
{
    return ws_get_u32(fb->base + pos);
}

static inline uint16_t ws_fb_u16(const ws_fb_t *fb, uint32_t pos)
{
    return ws_get_u16(fb->base + pos);
}

ws_status_t ws_fb_root(const ws_fb_t *fb, ws_fb_table_t *root);
ws_status_t ws_fb_table_at(const ws_fb_t *fb, uint32_t pos, ws_fb_table_t *table);
/* Position of field `id` of `width` bytes, 0 when absent. */
ws_status_t ws_fb_field(const ws_fb_t *fb, const ws_fb_table_t *t, uint32_t id, uint32_t width,
                        uint32_t *pos);
ws_status_t ws_fb_scalar(const ws_fb_t *fb, const ws_fb_table_t *t, uint32_t id, uint32_t width,
                         int64_t fallback, int64_t *value);
/* Sub-table field; `present` 0 when absent. */
ws_status_t ws_fb_subtable(const ws_fb_t *fb, const ws_fb_table_t *t, uint32_t id,
                           ws_fb_table_t *sub, int *present);
/* Vector field of `elem_size`-byte elements; count 0 when absent. */
ws_status_t ws_fb_vector(const ws_fb_t *fb, const ws_fb_table_t *t, uint32_t id, uint32_t elem_size,
                         ws_fb_vector_t *vec);
/* Element `i` of a vector of tables. */
ws_status_t ws_fb_vector_table(const ws_fb_t *fb, const ws_fb_vector_t *vec, uint32_t i,
                               ws_fb_table_t *table);

#endif
