/* ARM semihosting (the "Semihosting for AArch32 and AArch64" specification):
 * the program executes BKPT 0xAB with an operation number in r0 and a
 * parameter in r1; the debugger (here QEMU with -semihosting-config
 * enable=on,target=native) performs the operation and returns a value in r0. */
#ifndef WS_SEMIHOST_H
#define WS_SEMIHOST_H

#include <stdint.h>

#define WS_SH_SYS_WRITE0 0x04u        /* r1 = pointer to a NUL-terminated string */
#define WS_SH_SYS_EXIT 0x18u          /* r1 = reason code (AArch32) */
#define WS_SH_SYS_EXIT_EXTENDED 0x20u /* r1 = pointer to {reason, subcode} */

#define WS_SH_ADP_STOPPED_APPLICATION_EXIT 0x20026u
#define WS_SH_ADP_STOPPED_RUNTIME_ERROR_UNKNOWN 0x20023u

/* Raw call; returns r0. */
uint32_t ws_semihost_call(uint32_t op, const void *arg);

/* Writes the string to the host's console (QEMU: its standard output). */
void ws_semihost_write0(const char *s);

/* Ends the emulation; `code` becomes QEMU's exit status (0-255). */
void ws_semihost_exit(int code) __attribute__((noreturn));

#endif /* WS_SEMIHOST_H */
