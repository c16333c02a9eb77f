/* Bounds-checked flatbuffer access for the interpreter (see flatbuffer.h). */
#include "flatbuffer.h"

static int fits(const ws_fb_t *fb, uint32_t pos, uint64_t len)
{
    return (uint64_t)pos + len <= (uint64_t)fb->size;
}

ws_status_t ws_fb_table_at(const ws_fb_t *fb, uint32_t pos, ws_fb_table_t *table)
{
    if (!fits(fb, pos, 4)) {
        return WS_ERR_NN_BOUNDS;
    }
    if (pos % 4 != 0) {
        return WS_ERR_NN_ALIGN;
    }
    int32_t soffset = (int32_t)ws_fb_u32(fb, pos);
    int64_t vt = (int64_t)pos - (int64_t)soffset;
    if (vt < 0 || vt > (int64_t)fb->size - 4) {
        return WS_ERR_NN_BOUNDS;
    }
    if (vt % 2 != 0) {
        return WS_ERR_NN_ALIGN;
    }
    uint16_t vt_size = ws_fb_u16(fb, (uint32_t)vt);
    uint16_t size = ws_fb_u16(fb, (uint32_t)vt + 2);
    if (vt_size < 4 || vt_size % 2 != 0 || !fits(fb, (uint32_t)vt, vt_size) || size < 4 ||
        !fits(fb, pos, size)) {
        return WS_ERR_NN_BOUNDS;
    }
    table->pos = pos;
    table->vtable = (uint32_t)vt;
    table->vt_size = vt_size;
    table->size = size;
    return WS_OK;
}

ws_status_t ws_fb_root(const ws_fb_t *fb, ws_fb_table_t *root)
{
    if (fb->size < 8) {
        return WS_ERR_NN_FORMAT;
    }
    return ws_fb_table_at(fb, ws_fb_u32(fb, 0), root);
}

ws_status_t ws_fb_field(const ws_fb_t *fb, const ws_fb_table_t *t, uint32_t id, uint32_t width,
                        uint32_t *pos)
{
    uint32_t slot = 4 + 2 * id;
    *pos = 0;
    if (slot + 2 > t->vt_size) {
        return WS_OK;
    }
    uint16_t off = ws_fb_u16(fb, t->vtable + slot);
    if (off == 0) {
        return WS_OK;
    }
    if ((uint32_t)off + width > t->size) {
        return WS_ERR_NN_BOUNDS;
    }
    if ((t->pos + off) % width != 0) {
        return WS_ERR_NN_ALIGN;
    }
    *pos = t->pos + off;
    return WS_OK;
}

ws_status_t ws_fb_scalar(const ws_fb_t *fb, const ws_fb_table_t *t, uint32_t id, uint32_t width,
                         int64_t fallback, int64_t *value)
{
    uint32_t pos;
    ws_status_t st = ws_fb_field(fb, t, id, width, &pos);
    if (st != WS_OK) {
        return st;
    }
    if (pos == 0) {
        *value = fallback;
    } else if (width == 1) {
        *value = (int8_t)fb->base[pos];
    } else if (width == 2) {
        *value = (int16_t)ws_fb_u16(fb, pos);
    } else if (width == 4) {
        *value = (int32_t)ws_fb_u32(fb, pos);
    } else {
        uint64_t lo = ws_fb_u32(fb, pos), hi = ws_fb_u32(fb, pos + 4);
        *value = (int64_t)(lo | (hi << 32));
    }
    return WS_OK;
}

static ws_status_t follow(const ws_fb_t *fb, const ws_fb_table_t *t, uint32_t id, uint32_t *target)
{
    uint32_t pos;
    ws_status_t st = ws_fb_field(fb, t, id, 4, &pos);
    if (st != WS_OK) {
        return st;
    }
    if (pos == 0) {
        *target = 0;
        return WS_OK;
    }
    uint64_t dest = (uint64_t)pos + ws_fb_u32(fb, pos);
    if (dest + 4 > fb->size) {
        return WS_ERR_NN_BOUNDS;
    }
    *target = (uint32_t)dest;
    return WS_OK;
}

ws_status_t ws_fb_subtable(const ws_fb_t *fb, const ws_fb_table_t *t, uint32_t id,
                           ws_fb_table_t *sub, int *present)
{
    uint32_t target;
    ws_status_t st = follow(fb, t, id, &target);
    *present = 0;
    if (st != WS_OK || target == 0) {
        return st;
    }
    *present = 1;
    return ws_fb_table_at(fb, target, sub);
}

ws_status_t ws_fb_vector(const ws_fb_t *fb, const ws_fb_table_t *t, uint32_t id, uint32_t elem_size,
                         ws_fb_vector_t *vec)
{
    uint32_t target;
    ws_status_t st = follow(fb, t, id, &target);
    vec->pos = 0;
    vec->count = 0;
    if (st != WS_OK || target == 0) {
        return st;
    }
    if (target % 4 != 0) {
        return WS_ERR_NN_ALIGN;
    }
    uint32_t count = ws_fb_u32(fb, target);
    if (!fits(fb, target + 4, (uint64_t)count * elem_size)) {
        return WS_ERR_NN_BOUNDS;
    }
    if (elem_size > 4 && (target + 4) % elem_size != 0) {
        return WS_ERR_NN_ALIGN;
    }
    vec->pos = target + 4;
    vec->count = count;
    return WS_OK;
}

ws_status_t ws_fb_vector_table(const ws_fb_t *fb, const ws_fb_vector_t *vec, uint32_t i,
                               ws_fb_table_t *table)
{
    if (i >= vec->count) {
        return WS_ERR_NN_INDEX;
    }
    uint32_t slot = vec->pos + 4 * i;
    uint64_t dest = (uint64_t)slot + ws_fb_u32(fb, slot);
    if (dest + 4 > fb->size) {
        return WS_ERR_NN_BOUNDS;
    }
    return ws_fb_table_at(fb, (uint32_t)dest, table);
}
