/* Platform hooks of the Cortex-M4 port: output through semihosting, stack
 * high-water measurement over the pattern the reset handler writes. */
#include "platform.h"

#include "semihost.h"

/* Linker-script symbols (mps2_an386.ld); only their addresses are meaningful. */
extern uint32_t __stack_start[];
extern uint32_t __stack_end[];

void ws_platform_puts(const char *s)
{
    ws_semihost_write0(s);
}

uint32_t ws_port_stack_size(void)
{
    return (uint32_t)((uintptr_t)__stack_end - (uintptr_t)__stack_start);
}

uint32_t ws_port_stack_used(void)
{
    const volatile uint32_t *p = __stack_start;

    while (p < __stack_end && *p == WS_PORT_STACK_FILL) {
        p++;
    }
    return (uint32_t)((uintptr_t)__stack_end - (uintptr_t)p);
}
