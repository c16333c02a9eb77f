/* RAM-backed flash with NOR semantics (ws_ram_flash.h). */
#include "ws_ram_flash.h"

#include <string.h>

static int fits(const ws_ram_flash_t *rf, uint32_t addr, uint32_t len)
{
    uint64_t total = (uint64_t)rf->iface.page_size * rf->iface.page_count;
    return (uint64_t)addr + len <= total;
}

static ws_status_t ram_read(void *ctx, uint32_t addr, uint8_t *out, uint32_t len)
{
    ws_ram_flash_t *rf = ctx;
    if (out == NULL || !fits(rf, addr, len)) {
        return WS_ERR_ARG;
    }
    memcpy(out, rf->mem + addr, len);
    return WS_OK;
}

static ws_status_t ram_program(void *ctx, uint32_t addr, const uint8_t *data, uint32_t len)
{
    ws_ram_flash_t *rf = ctx;
    uint32_t i;
    if (data == NULL || !fits(rf, addr, len)) {
        return WS_ERR_ARG;
    }
    for (i = 0; i < len; i++) {
        if ((rf->mem[addr + i] & data[i]) != data[i]) {
            rf->violations++;
            return WS_ERR_FLASH;
        }
    }
    for (i = 0; i < len; i++) {
        rf->mem[addr + i] &= data[i];
    }
    return WS_OK;
}

static ws_status_t ram_erase(void *ctx, uint32_t page)
{
    ws_ram_flash_t *rf = ctx;
    if (page >= rf->iface.page_count) {
        return WS_ERR_ARG;
    }
    memset(rf->mem + (size_t)page * rf->iface.page_size, 0xFF, rf->iface.page_size);
    return WS_OK;
}

ws_status_t ws_ram_flash_init(ws_ram_flash_t *rf, uint8_t *mem, uint32_t page_size,
                              uint32_t page_count)
{
    if (rf == NULL || mem == NULL || page_size == 0 || page_count == 0) {
        return WS_ERR_ARG;
    }
    rf->mem = mem;
    rf->violations = 0;
    rf->iface.page_size = page_size;
    rf->iface.page_count = page_count;
    rf->iface.read = ram_read;
    rf->iface.program = ram_program;
    rf->iface.erase = ram_erase;
    rf->iface.ctx = rf;
    memset(mem, 0xFF, (size_t)page_size * page_count);
    return WS_OK;
}
