/* Flash for the event queue backed by RAM, with NOR semantics (erase to 0xFF,
 * program clears bits only; a program that would set a bit is refused with
 * WS_ERR_FLASH). Used by the Cortex-M4 port, whose emulated board has no flash
 * the core may write, and by the C unit tests. Contents last until reset. */
#ifndef WS_RAM_FLASH_H
#define WS_RAM_FLASH_H

#include <stdint.h>

#include "ws_flash.h"
#include "ws_status.h"

typedef struct {
    ws_flash_t iface;
    uint8_t *mem;
    uint32_t violations; /* refused programs */
} ws_ram_flash_t;

/* Binds mem (page_size * page_count bytes, caller-owned) and erases it. */
ws_status_t ws_ram_flash_init(ws_ram_flash_t *rf, uint8_t *mem, uint32_t page_size,
                              uint32_t page_count);

#endif
