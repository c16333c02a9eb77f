/* Host port: NOR flash simulated in caller-owned memory, with power cuts.
 *
 * Erase sets a page to 0xFF; program may only clear bits, and a program that
 * would set one is refused (WS_ERR_FLASH) and counted as a violation, so a core
 * that relies on anything a real NOR part cannot do fails its tests. A cut can
 * be armed at any program/erase: that operation is torn (a program writes only
 * a prefix and part of the next byte's bits; an erase resets only a prefix of
 * the page and part of the next byte) and every later operation fails, as if
 * the power had gone. The harness then reboots a new core on the same memory. */
#ifndef WS_HOST_FLASH_H
#define WS_HOST_FLASH_H

#include <stdint.h>

#include "ws_flash.h"
#include "ws_status.h"

/* cdef-begin */
typedef struct ws_host_flash ws_host_flash_t;

/* Bytes a ws_host_flash_t needs. */
size_t ws_host_flash_size(void);

/* Binds the simulator to mem (page_size * page_count bytes, caller-owned). */
ws_status_t ws_host_flash_init(ws_host_flash_t *hf, uint8_t *mem, uint32_t page_size,
                               uint32_t page_count);

/* The flash interface the core uses. */
const ws_flash_t *ws_host_flash_iface(const ws_host_flash_t *hf);

/* Tears the operation numbered op (0 = the next one): tear_pos picks how many
 * bytes complete (modulo the operation's length + 1), tear_bits which bits of
 * the next byte change anyway. */
void ws_host_flash_arm_cut(ws_host_flash_t *hf, uint32_t op, uint32_t tear_pos,
                           uint8_t tear_bits);
void ws_host_flash_disarm(ws_host_flash_t *hf);

uint32_t ws_host_flash_ops(const ws_host_flash_t *hf);        /* programs + erases so far */
uint32_t ws_host_flash_erases(const ws_host_flash_t *hf);
uint32_t ws_host_flash_violations(const ws_host_flash_t *hf); /* refused 0->1 programs */
int ws_host_flash_was_cut(const ws_host_flash_t *hf);
/* cdef-end */

struct ws_host_flash {
    ws_flash_t iface;
    uint8_t *mem;
    uint32_t ops;
    uint32_t erases;
    uint32_t violations;
    uint32_t cut_op;
    uint32_t tear_pos;
    uint8_t tear_bits;
    uint8_t armed;
    uint8_t dead;
};

#endif
