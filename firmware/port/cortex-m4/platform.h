/* Services of the bare-metal Cortex-M4 port (QEMU mps2-an386). */
#ifndef WS_PORT_PLATFORM_H
#define WS_PORT_PLATFORM_H

#include <stdint.h>

/* Output hook shared with the test harness (and later firmware logging). */
void ws_platform_puts(const char *s);

/* Exit statuses of an M4 image (QEMU's exit status). */
#define WS_PORT_EXIT_PASS 0
#define WS_PORT_EXIT_FAIL 1
#define WS_PORT_EXIT_FAULT 2 /* a fault or unexpected interrupt; see startup.c */

/* The reset handler fills the unused stack with this word; the first word
 * from the bottom that differs marks the deepest point the stack reached. */
#define WS_PORT_STACK_FILL 0x5753AC5Bu

uint32_t ws_port_stack_size(void); /* bytes reserved for the main stack */
uint32_t ws_port_stack_used(void); /* high-water mark in bytes, since reset */

#endif /* WS_PORT_PLATFORM_H */
