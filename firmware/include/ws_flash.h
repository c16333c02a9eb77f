/* The flash the device core stores its event queue in, seen through a small
 * interface with NOR semantics: erasing sets a whole page to 0xFF, programming
 * can only clear bits (1 -> 0), never set them. A port supplies the three
 * operations; the host port backs them with memory and can tear any operation
 * (firmware/port/host/flash.h). Nothing here knows which chip it is. */
#ifndef WS_FLASH_H
#define WS_FLASH_H

#include <stddef.h>
#include <stdint.h>

#include "ws_status.h"

/* cdef-begin */
typedef struct ws_flash ws_flash_t;
/* cdef-end */

struct ws_flash {
    uint32_t page_size;  /* bytes per erase page */
    uint32_t page_count; /* pages given to the event queue */
    /* Copies len bytes at addr into out. */
    ws_status_t (*read)(void *ctx, uint32_t addr, uint8_t *out, uint32_t len);
    /* Programs len bytes at addr (bits may only go from 1 to 0).
     * WS_ERR_FLASH when the operation did not complete. */
    ws_status_t (*program)(void *ctx, uint32_t addr, const uint8_t *data, uint32_t len);
    /* Erases one page to 0xFF. WS_ERR_FLASH when it did not complete. */
    ws_status_t (*erase)(void *ctx, uint32_t page);
    void *ctx;
};

#endif
