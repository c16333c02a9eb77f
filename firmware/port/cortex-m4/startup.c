/* Start-up code of the bare-metal Cortex-M4 image (QEMU mps2-an386):
 * vector table, reset handler, fault handlers.
 *
 * Reset_Handler: enables the FPU (the image is built for the hard-float ABI),
 * turns on divide-by-zero trapping and the separate fault handlers, copies
 * .data from its load image, zeroes .bss, fills the unused stack with
 * WS_PORT_STACK_FILL, calls main() and passes its return value to the
 * semihosting exit, so it becomes QEMU's exit status.
 *
 * Every fault and every unexpected interrupt prints one line
 *   WS-FAULT <kind> pc=0x... lr=0x... psr=0x... cfsr=0x... hfsr=0x... ...
 * over semihosting and exits with WS_PORT_EXIT_FAULT. All handlers are weak,
 * so the firmware may override any of them. */
#include <stdint.h>

#include "platform.h"
#include "semihost.h"

/* Linker-script symbols (mps2_an386.ld). */
extern uint32_t __data_start[];
extern uint32_t __data_end[];
extern const uint32_t __data_load[];
extern uint32_t __bss_start[];
extern uint32_t __bss_end[];
extern uint32_t __stack_start[];
extern uint32_t __StackTop[];

int main(void);

/* System control block registers (ARMv7-M Architecture Reference Manual). */
#define SCB_REG(offset) (*(volatile uint32_t *)(0xE000E000u + (offset)))
#define SCB_CCR SCB_REG(0xD14u)
#define SCB_SHCSR SCB_REG(0xD24u)
#define SCB_CFSR SCB_REG(0xD28u)
#define SCB_HFSR SCB_REG(0xD2Cu)
#define SCB_MMFAR SCB_REG(0xD34u)
#define SCB_BFAR SCB_REG(0xD38u)
#define SCB_CPACR SCB_REG(0xD88u)

#define CCR_DIV_0_TRP (1u << 4)
#define SHCSR_FAULTS_ENABLE ((1u << 16) | (1u << 17) | (1u << 18)) /* Mem, Bus, Usage */
#define CPACR_CP10_CP11_FULL (0xFu << 20)

/* Margin left untouched below the live stack pointer while filling. */
#define STACK_FILL_MARGIN 64u

void Reset_Handler(void) __attribute__((noreturn));
void Default_Handler(void);
void ws_port_fault_report(const uint32_t *frame, uint32_t kind) __attribute__((noreturn));

void NMI_Handler(void) __attribute__((weak, naked));
void HardFault_Handler(void) __attribute__((weak, naked));
void MemManage_Handler(void) __attribute__((weak, naked));
void BusFault_Handler(void) __attribute__((weak, naked));
void UsageFault_Handler(void) __attribute__((weak, naked));
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));

typedef union {
    void (*handler)(void);
    uint32_t *stack_top;
} vector_t;

#define WS_PORT_EXTERNAL_IRQS 32 /* the AN386 interrupt lines (UARTs, timers, ...) */

__attribute__((section(".isr_vector"), used))
static const vector_t vector_table[16 + WS_PORT_EXTERNAL_IRQS] = {
    [0] = {.stack_top = __StackTop},
    [1] = {.handler = Reset_Handler},
    [2] = {.handler = NMI_Handler},
    [3] = {.handler = HardFault_Handler},
    [4] = {.handler = MemManage_Handler},
    [5] = {.handler = BusFault_Handler},
    [6] = {.handler = UsageFault_Handler},
    /* 7-10 reserved */
    [11] = {.handler = SVC_Handler},
    [12] = {.handler = DebugMon_Handler},
    /* 13 reserved */
    [14] = {.handler = PendSV_Handler},
    [15] = {.handler = SysTick_Handler},
    /* external interrupts: filled in below */
#define IRQ(n) [16 + (n)] = {.handler = Default_Handler}
    IRQ(0), IRQ(1), IRQ(2), IRQ(3), IRQ(4), IRQ(5), IRQ(6), IRQ(7),
    IRQ(8), IRQ(9), IRQ(10), IRQ(11), IRQ(12), IRQ(13), IRQ(14), IRQ(15),
    IRQ(16), IRQ(17), IRQ(18), IRQ(19), IRQ(20), IRQ(21), IRQ(22), IRQ(23),
    IRQ(24), IRQ(25), IRQ(26), IRQ(27), IRQ(28), IRQ(29), IRQ(30), IRQ(31),
#undef IRQ
};

void Reset_Handler(void)
{
    uint32_t *dst;
    const uint32_t *src;
    uint32_t sp;

    /* Full access to the FPU (CP10/CP11) before any floating-point code. */
    SCB_CPACR |= CPACR_CP10_CP11_FULL;
    __asm__ volatile("dsb\n\tisb" ::: "memory");

    /* Integer division by zero faults instead of silently giving 0 (the
     * host build's UBSan reports it too); faults get their own handlers. */
    SCB_CCR |= CCR_DIV_0_TRP;
    SCB_SHCSR |= SHCSR_FAULTS_ENABLE;

    for (dst = __data_start, src = __data_load; dst < __data_end; dst++, src++) {
        *dst = *src;
    }
    for (dst = __bss_start; dst < __bss_end; dst++) {
        *dst = 0u;
    }

    /* Paint the stack below the live stack pointer for high-water checks. */
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (dst = __stack_start; (uintptr_t)dst + STACK_FILL_MARGIN < sp; dst++) {
        *(volatile uint32_t *)dst = WS_PORT_STACK_FILL;
    }

    ws_semihost_exit(main());
}

/* Naked entries: pass the exception frame (on MSP or PSP, as EXC_RETURN bit 2
 * says) and the kind of fault to ws_port_fault_report(). */
#define FAULT_ENTRY(name, kind)         \
    void name(void)                     \
    {                                   \
        __asm__("tst lr, #4\n\t"        \
                "ite eq\n\t"            \
                "mrseq r0, msp\n\t"     \
                "mrsne r0, psp\n\t"     \
                "movs r1, #" #kind "\n\t" \
                "b ws_port_fault_report\n\t"); \
    }

FAULT_ENTRY(NMI_Handler, 2)
FAULT_ENTRY(HardFault_Handler, 3)
FAULT_ENTRY(MemManage_Handler, 4)
FAULT_ENTRY(BusFault_Handler, 5)
FAULT_ENTRY(UsageFault_Handler, 6)

void Default_Handler(void)
{
    ws_port_fault_report(0, 0u);
}

static void put_field(const char *name, uint32_t value)
{
    static const char digits[] = "0123456789abcdef";
    char buf[12];
    int i;

    ws_semihost_write0(name);
    buf[0] = '=';
    buf[1] = '0';
    buf[2] = 'x';
    for (i = 0; i < 8; i++) {
        buf[3 + i] = digits[(value >> (28 - 4 * i)) & 0xFu];
    }
    buf[11] = '\0';
    ws_semihost_write0(buf);
}

void ws_port_fault_report(const uint32_t *frame, uint32_t kind)
{
    static const char *const names[] = {
        "unexpected-interrupt", "reserved", "NMI", "HardFault",
        "MemManage", "BusFault", "UsageFault",
    };
    uint32_t ipsr;

    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    ws_semihost_write0("\nWS-FAULT ");
    ws_semihost_write0(kind < sizeof names / sizeof names[0] ? names[kind] : "?");
    if (frame != 0) {
        /* Stacked r0-r3, r12, lr, pc, xpsr. */
        put_field(" pc", frame[6]);
        put_field(" lr", frame[5]);
        put_field(" psr", frame[7]);
    }
    put_field(" ipsr", ipsr);
    put_field(" cfsr", SCB_CFSR);
    put_field(" hfsr", SCB_HFSR);
    put_field(" mmfar", SCB_MMFAR);
    put_field(" bfar", SCB_BFAR);
    ws_semihost_write0("\n");
    ws_semihost_exit(WS_PORT_EXIT_FAULT);
}
