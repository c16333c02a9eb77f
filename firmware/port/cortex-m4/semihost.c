/* Semihosting calls used by the Cortex-M4 port; see semihost.h. */
#include "semihost.h"

uint32_t ws_semihost_call(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;

    /* "memory": the host reads (and for some calls writes) the argument block. */
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void ws_semihost_write0(const char *s)
{
    (void)ws_semihost_call(WS_SH_SYS_WRITE0, s);
}

void ws_semihost_exit(int code)
{
    /* SYS_EXIT_EXTENDED carries the exit status; QEMU exits with `subcode`.
     * Plain SYS_EXIT on AArch32 can only say "success" or "failure", so it is
     * the fallback for a debugger that does not know the extended call. */
    uint32_t block[2];

    block[0] = WS_SH_ADP_STOPPED_APPLICATION_EXIT;
    block[1] = (uint32_t)code;
    (void)ws_semihost_call(WS_SH_SYS_EXIT_EXTENDED, block);
    (void)ws_semihost_call(WS_SH_SYS_EXIT,
                           (const void *)(uintptr_t)(code == 0
                                                     ? WS_SH_ADP_STOPPED_APPLICATION_EXIT
                                                     : WS_SH_ADP_STOPPED_RUNTIME_ERROR_UNKNOWN));
    for (;;) {
        __asm__ volatile("bkpt 0x00");
    }
}
