/* Simulated NOR flash with torn operations (flash.h). */
#include "flash.h"

#include <string.h>

size_t ws_host_flash_size(void) { return sizeof(ws_host_flash_t); }

static int in_range(const ws_host_flash_t *hf, uint32_t addr, uint32_t len)
{
    uint64_t total = (uint64_t)hf->iface.page_size * hf->iface.page_count;
    return (uint64_t)addr + len <= total;
}

static ws_status_t sim_read(void *ctx, uint32_t addr, uint8_t *out, uint32_t len)
{
    ws_host_flash_t *hf = ctx;
    if (out == NULL || !in_range(hf, addr, len)) {
        return WS_ERR_ARG;
    }
    if (hf->dead) {
        return WS_ERR_FLASH;
    }
    memcpy(out, hf->mem + addr, len);
    return WS_OK;
}

/* 1 when this operation is the one to tear. */
static int tearing(ws_host_flash_t *hf)
{
    return hf->armed && hf->ops == hf->cut_op;
}

static ws_status_t sim_program(void *ctx, uint32_t addr, const uint8_t *data, uint32_t len)
{
    ws_host_flash_t *hf = ctx;
    uint32_t i, done;
    if (data == NULL || !in_range(hf, addr, len)) {
        return WS_ERR_ARG;
    }
    if (hf->dead) {
        return WS_ERR_FLASH;
    }
    for (i = 0; i < len; i++) {
        if ((hf->mem[addr + i] & data[i]) != data[i]) {
            hf->violations++;
            return WS_ERR_FLASH;
        }
    }
    if (tearing(hf)) {
        done = hf->tear_pos % (len + 1);
        for (i = 0; i < done; i++) {
            hf->mem[addr + i] = data[i];
        }
        if (done < len) { /* some of the bits that should clear do */
            hf->mem[addr + done] &= (uint8_t)~((uint8_t)~data[done] & hf->tear_bits);
        }
        hf->ops++;
        hf->dead = 1;
        return WS_ERR_FLASH;
    }
    for (i = 0; i < len; i++) {
        hf->mem[addr + i] = data[i];
    }
    hf->ops++;
    return WS_OK;
}

static ws_status_t sim_erase(void *ctx, uint32_t page)
{
    ws_host_flash_t *hf = ctx;
    uint32_t size = hf->iface.page_size;
    uint8_t *base;
    if (page >= hf->iface.page_count) {
        return WS_ERR_ARG;
    }
    if (hf->dead) {
        return WS_ERR_FLASH;
    }
    base = hf->mem + (size_t)page * size;
    hf->erases++;
    if (tearing(hf)) {
        uint32_t done = hf->tear_pos % (size + 1);
        memset(base, 0xFF, done);
        if (done < size) {
            base[done] |= hf->tear_bits;
        }
        hf->ops++;
        hf->dead = 1;
        return WS_ERR_FLASH;
    }
    memset(base, 0xFF, size);
    hf->ops++;
    return WS_OK;
}

ws_status_t ws_host_flash_init(ws_host_flash_t *hf, uint8_t *mem, uint32_t page_size,
                               uint32_t page_count)
{
    if (hf == NULL || mem == NULL || page_size == 0 || page_count == 0) {
        return WS_ERR_ARG;
    }
    memset(hf, 0, sizeof *hf);
    hf->mem = mem;
    hf->iface.page_size = page_size;
    hf->iface.page_count = page_count;
    hf->iface.read = sim_read;
    hf->iface.program = sim_program;
    hf->iface.erase = sim_erase;
    hf->iface.ctx = hf;
    return WS_OK;
}

const ws_flash_t *ws_host_flash_iface(const ws_host_flash_t *hf)
{
    return hf == NULL ? NULL : &hf->iface;
}

void ws_host_flash_arm_cut(ws_host_flash_t *hf, uint32_t op, uint32_t tear_pos, uint8_t tear_bits)
{
    if (hf != NULL) {
        hf->armed = 1;
        hf->cut_op = hf->ops + op;
        hf->tear_pos = tear_pos;
        hf->tear_bits = tear_bits;
    }
}

void ws_host_flash_disarm(ws_host_flash_t *hf)
{
    if (hf != NULL) {
        hf->armed = 0;
        hf->dead = 0;
    }
}

uint32_t ws_host_flash_ops(const ws_host_flash_t *hf) { return hf == NULL ? 0 : hf->ops; }
uint32_t ws_host_flash_erases(const ws_host_flash_t *hf) { return hf == NULL ? 0 : hf->erases; }
uint32_t ws_host_flash_violations(const ws_host_flash_t *hf)
{
    return hf == NULL ? 0 : hf->violations;
}
int ws_host_flash_was_cut(const ws_host_flash_t *hf) { return hf != NULL && hf->dead; }
