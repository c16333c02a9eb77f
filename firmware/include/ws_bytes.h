/* Little-endian byte helpers: the one place the firmware turns integers into
 * bytes and back (packets, queue records, settings, model slots, flatbuffers).
 * Every multi-byte field WearSense stores or sends is little-endian. */
#ifndef WS_BYTES_H
#define WS_BYTES_H

#include <stdint.h>

static inline void ws_put_u16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void ws_put_u24(uint8_t *p, uint32_t v)
{
    ws_put_u16(p, v);
    p[2] = (uint8_t)(v >> 16);
}

static inline void ws_put_u32(uint8_t *p, uint32_t v)
{
    ws_put_u16(p, v);
    ws_put_u16(p + 2, v >> 16);
}

static inline uint16_t ws_get_u16(const uint8_t *p)
{
    return (uint16_t)((uint32_t)p[0] | ((uint32_t)p[1] << 8));
}

static inline uint32_t ws_get_u24(const uint8_t *p)
{
    return (uint32_t)ws_get_u16(p) | ((uint32_t)p[2] << 16);
}

static inline uint32_t ws_get_u32(const uint8_t *p)
{
    return (uint32_t)ws_get_u16(p) | ((uint32_t)ws_get_u16(p + 2) << 16);
}

static inline int32_t ws_get_i32(const uint8_t *p) { return (int32_t)ws_get_u32(p); }

static inline int16_t ws_get_i16(const uint8_t *p) { return (int16_t)ws_get_u16(p); }

#endif /* WS_BYTES_H */
