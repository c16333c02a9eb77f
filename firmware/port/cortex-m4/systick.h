/* SysTick as the M4 images' instruction counter (test_nn, test_crypto, test_pkg, the
 * replay, profile and strip-codec images). On the processor clock under QEMU with
 * -icount shift=0 (one instruction per virtual nanosecond) and mps2-an386's 25 MHz, one
 * tick is 40 instructions; each image prints a calibration loop of known length so the
 * host computes the ratio (wearsense/testing/m4budget.py). The counter is 24 bits and
 * counts down. */
#ifndef WS_SYSTICK_H
#define WS_SYSTICK_H

#include <stdint.h>

#define WS_SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define WS_SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define WS_SYST_CVR (*(volatile uint32_t *)0xE000E018u)

/* The counter now. */
static inline uint32_t ws_systick_now(void) { return WS_SYST_CVR; }

/* (Re)starts the counter from its top, no interrupt; returns its value. */
static inline uint32_t ws_systick_start(void)
{
    WS_SYST_CSR = 0u;
    WS_SYST_RVR = 0x00FFFFFFu;
    WS_SYST_CVR = 0u; /* any write clears the counter */
    WS_SYST_CSR = (1u << 2) | 1u; /* processor clock, enabled, no interrupt */
    return WS_SYST_CVR;
}

/* Ticks since the counter read start (less than 2^24 ticks ago). */
static inline uint32_t ws_systick_elapsed(uint32_t start)
{
    return (start - WS_SYST_CVR) & 0x00FFFFFFu;
}

/* Instructions in ws_systick_calibrate's loop: the images print it beside the ticks. */
#define WS_SYSTICK_CALIBRATION_INSTRUCTIONS 2000000u

/* Restarts the counter and returns the ticks of a loop of exactly
 * WS_SYSTICK_CALIBRATION_INSTRUCTIONS instructions (two per iteration): the host divides
 * one by the other to turn ticks into instructions. */
static inline uint32_t ws_systick_calibrate(void)
{
    uint32_t loops = WS_SYSTICK_CALIBRATION_INSTRUCTIONS / 2u;
    uint32_t start = ws_systick_start();
    __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(loops) : : "cc");
    return ws_systick_elapsed(start);
}

#endif /* WS_SYSTICK_H */
