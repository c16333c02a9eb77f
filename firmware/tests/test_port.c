/* Checks the things a port must get right before any firmware test means
 * anything: start-up initialisation, compiler helpers (64-bit arithmetic),
 * the mem* functions, hard-float arithmetic, arithmetic right shifts, and the
 * harness itself. Runs on the host (ASan/UBSan) and on the Cortex-M4 (QEMU). */
#include <stdint.h>
#include <string.h>

#include "ws_test.h"

#if defined(WS_PORT_CORTEX_M4)
#include "platform.h"
#endif

#if defined(__arm__) && !defined(__ARM_PCS_VFP)
#error "the Cortex-M4 image must use the hard-float ABI (-mfloat-abi=hard)"
#endif
#if defined(__arm__) && !defined(__ARM_FP)
#error "the Cortex-M4 image must use the FPU (-mfpu=fpv4-sp-d16)"
#endif

/* --- start-up: .data copied, .bss zeroed ------------------------------- */

/* volatile: every check below reads memory, nothing is folded at build time. */
static volatile uint32_t initialised = 0x5753A11Cu;
static volatile int16_t initialised_table[4] = {-1, 2, -300, 32767};
static volatile uint32_t zeroed[64];
static volatile uint8_t zeroed_bytes[37];

static void test_startup(void)
{
    size_t i;
    uint32_t acc = 0u;
    unsigned nonzero = 0u;

    WS_TEST_ASSERT_EQ_INT(initialised, 0x5753A11Cu);
    WS_TEST_ASSERT_EQ_INT(initialised_table[0], -1);
    WS_TEST_ASSERT_EQ_INT(initialised_table[2], -300);
    WS_TEST_ASSERT_EQ_INT(initialised_table[3], 32767);
    for (i = 0; i < sizeof zeroed / sizeof zeroed[0]; i++) {
        acc |= zeroed[i];
    }
    for (i = 0; i < sizeof zeroed_bytes; i++) {
        nonzero += zeroed_bytes[i] != 0u;
    }
    WS_TEST_ASSERT_EQ_INT(acc, 0);
    WS_TEST_ASSERT_EQ_INT(nonzero, 0);

    /* .data and .bss are writable. */
    initialised++;
    zeroed[63] = 7u;
    WS_TEST_ASSERT_EQ_INT(initialised, 0x5753A11Du);
    WS_TEST_ASSERT_EQ_INT(zeroed[63], 7);
    initialised--;
    zeroed[63] = 0u;
}

/* --- 64-bit arithmetic (libgcc helpers on the M4) ----------------------- */

static void test_int64(void)
{
    /* volatile: the compiler must not fold these at build time. */
    volatile uint64_t a = 0x0123456789ABCDEFull;
    volatile uint64_t b = 0x00000000FEDCBA98ull;
    volatile int64_t n = -1234567890123ll;
    volatile int64_t d = 1000ll;
    volatile uint32_t s = 36u;
    volatile int32_t x = -2000000000;
    volatile int32_t y = 3;

    WS_TEST_ASSERT(a * b == 0xACF13578AD05EBE8ull);            /* mod 2^64 */
    WS_TEST_ASSERT(a / b == 0x0000000001249249ull);
    WS_TEST_ASSERT(a % b == (uint64_t)(a - (a / b) * b));
    WS_TEST_ASSERT(a % b < b);
    WS_TEST_ASSERT_EQ_INT(n / d, -1234567890ll);                /* truncates towards zero */
    WS_TEST_ASSERT_EQ_INT(n % d, -123);
    WS_TEST_ASSERT_EQ_INT(-n / d, 1234567890ll);
    WS_TEST_ASSERT(a << s == 0x9ABCDEF000000000ull);
    WS_TEST_ASSERT(a >> s == 0x0000000000123456ull);
    WS_TEST_ASSERT_EQ_INT(n >> s, -18);                          /* arithmetic shift */
    WS_TEST_ASSERT_EQ_INT((int64_t)x * y, -6000000000ll);       /* widening multiply */
    WS_TEST_ASSERT((uint64_t)(uint32_t)x * (uint32_t)y == 6884901888ull);
    WS_TEST_ASSERT_EQ_INT(INT64_MAX / d, 9223372036854775ll);
    WS_TEST_ASSERT_EQ_INT(INT64_MIN / d, -9223372036854775ll);
}

/* --- memcpy, memmove, memset, memcmp ------------------------------------ */

static void fill_counting(uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        p[i] = (uint8_t)(i + 1u);
    }
}

static void test_mem(void)
{
    uint8_t buf[64];
    uint8_t other[64];
    volatile size_t n = 40u; /* through volatile: real calls, not inline code */
    volatile size_t off = 3u;
    size_t i;
    int ok;

    /* memcpy, aligned and misaligned */
    fill_counting(buf, sizeof buf);
    memset(other, 0, sizeof other);
    memcpy(other, buf, n);
    WS_TEST_ASSERT_EQ_INT(memcmp(other, buf, n), 0);
    WS_TEST_ASSERT_EQ_INT(other[40], 0);
    memcpy(other + off, buf + 1, n);
    WS_TEST_ASSERT_EQ_INT(memcmp(other + off, buf + 1, n), 0);

    /* memmove, destination above the source (copies backwards) */
    fill_counting(buf, sizeof buf);
    memmove(buf + off, buf, n);
    ok = 1;
    for (i = 0; i < 40u; i++) {
        ok &= buf[3u + i] == (uint8_t)(i + 1u);
    }
    WS_TEST_ASSERT(ok);
    WS_TEST_ASSERT_EQ_INT(buf[0], 1);
    WS_TEST_ASSERT_EQ_INT(buf[2], 3);
    WS_TEST_ASSERT_EQ_INT(buf[43], 44);

    /* memmove, destination below the source (copies forwards) */
    fill_counting(buf, sizeof buf);
    memmove(buf, buf + off, n);
    ok = 1;
    for (i = 0; i < 40u; i++) {
        ok &= buf[i] == (uint8_t)(i + 4u);
    }
    WS_TEST_ASSERT(ok);
    WS_TEST_ASSERT_EQ_INT(buf[40], 41);

    /* memmove by a whole word and more */
    fill_counting(buf, sizeof buf);
    memmove(buf + 8, buf, n);
    WS_TEST_ASSERT_EQ_INT(buf[8], 1);
    WS_TEST_ASSERT_EQ_INT(buf[47], 40);

    /* memset, odd start and length */
    memset(buf, 0xAB, sizeof buf);
    memset(buf + off, 0x5A, n);
    WS_TEST_ASSERT_EQ_INT(buf[2], 0xAB);
    WS_TEST_ASSERT_EQ_INT(buf[3], 0x5A);
    WS_TEST_ASSERT_EQ_INT(buf[42], 0x5A);
    WS_TEST_ASSERT_EQ_INT(buf[43], 0xAB);
    memset(buf, -1, n); /* converted to unsigned char */
    WS_TEST_ASSERT_EQ_INT(buf[0], 0xFF);

    /* memcmp orders as unsigned char */
    buf[0] = 0x80;
    other[0] = 0x01;
    WS_TEST_ASSERT(memcmp(buf, other, 1) > 0);
    WS_TEST_ASSERT(memcmp(other, buf, 1) < 0);
    WS_TEST_ASSERT_EQ_INT(memcmp(buf, other, 0), 0);

    /* struct copy (the compiler emits memcpy) */
    {
        struct big {
            uint32_t w[16];
        } s1, s2;
        for (i = 0; i < 16u; i++) {
            s1.w[i] = (uint32_t)i * 0x01010101u;
        }
        s2 = s1;
        WS_TEST_ASSERT_EQ_INT(s2.w[15], 0x0F0F0F0F);
    }
}

/* --- floating point (single precision in the FPU on the M4) ------------- */

static void test_float(void)
{
    volatile float a = 1.5f;
    volatile float b = 2.25f;
    volatile float c = -7.75f;
    volatile float tiny = 1e-30f;
    volatile double da = 0.1;
    float f;

    WS_TEST_ASSERT(a * b == 3.375f);
    WS_TEST_ASSERT(b / a == 1.5f);
    WS_TEST_ASSERT(a + c == -6.25f);
    WS_TEST_ASSERT(a - b == -0.75f);
    WS_TEST_ASSERT(tiny * tiny == 0.0f);                /* underflows to zero */
    WS_TEST_ASSERT_EQ_INT((int32_t)c, -7);             /* truncation towards zero */
    WS_TEST_ASSERT_EQ_INT((int32_t)(c - 0.5f), -8);
    f = (float)(int32_t)-100000;
    WS_TEST_ASSERT(f == -100000.0f);
    WS_TEST_ASSERT(a < b && c < a);
    /* single precision: 2^24 + 1 is not representable */
    {
        volatile float big = 16777216.0f;
        volatile float sum = big + 1.0f;
        WS_TEST_ASSERT(sum == big);
    }
    /* double is software-emulated on the M4 (libgcc). */
    WS_TEST_ASSERT(da * 10.0 == 1.0);
    WS_TEST_ASSERT_EQ_INT((int32_t)(da * 1e9), 100000000);
}

/* --- signed right shifts are arithmetic (the int8 kernels rely on it) -- */

static void test_shifts(void)
{
    volatile int8_t s8 = -128;
    volatile int16_t s16 = -1000;
    volatile int32_t s32 = -7;
    volatile int32_t big = INT32_MIN;
    volatile int sh = 1;

    WS_TEST_ASSERT_EQ_INT(s8 >> sh, -64);
    WS_TEST_ASSERT_EQ_INT((int8_t)(s8 >> 7), -1);
    WS_TEST_ASSERT_EQ_INT(s16 >> 3, -125);
    WS_TEST_ASSERT_EQ_INT(s32 >> sh, -4);             /* rounds towards -inf, not 0 */
    WS_TEST_ASSERT_EQ_INT(s32 >> 31, -1);
    WS_TEST_ASSERT_EQ_INT(big >> 31, -1);
    WS_TEST_ASSERT_EQ_INT(big >> 16, -32768);
    /* rounding right shift as used for requantisation: (x + 2^(n-1)) >> n */
    WS_TEST_ASSERT_EQ_INT((s32 + (1 << 1)) >> 2, -2);
    /* narrowing conversion to int8_t wraps (implementation-defined, GCC: modulo) */
    WS_TEST_ASSERT_EQ_INT((int8_t)(uint8_t)0xFFu, -1);
}

/* --- the harness counts failures ---------------------------------------- */

static void test_harness(void)
{
    int saved = ws_test_failures();
    int after_assert;
    int after_eq;
    volatile int zero = 0;

    ws_test_log("  (two deliberate failures follow; they are checked and uncounted)");
    WS_TEST_ASSERT(zero == 1);
    after_assert = ws_test_failures();
    WS_TEST_ASSERT_EQ_INT(zero, -42);
    after_eq = ws_test_failures();
    ws_test_set_failures(saved);

    WS_TEST_ASSERT_EQ_INT(after_assert, saved + 1);
    WS_TEST_ASSERT_EQ_INT(after_eq, saved + 2);
    WS_TEST_ASSERT_EQ_INT(ws_test_failures(), saved);

    /* a passing check does not count */
    WS_TEST_ASSERT(zero == 0);
    WS_TEST_ASSERT_EQ_INT(ws_test_failures(), saved);

    ws_test_puts("  int64 extremes: ");
    ws_test_put_int(INT64_MIN);
    ws_test_puts(" ");
    ws_test_put_uint(UINT64_MAX);
    ws_test_puts(" ");
    ws_test_put_hex(0xDEADBEEFu);
    ws_test_log("");
}

#if defined(WS_PORT_CORTEX_M4)
static void test_m4_stack(void)
{
    uint32_t used = ws_port_stack_used();
    uint32_t size = ws_port_stack_size();

    WS_TEST_ASSERT(size >= 1024u);
    WS_TEST_ASSERT(used > 0u);
    WS_TEST_ASSERT(used < size);
    ws_test_puts("  stack high-water: ");
    ws_test_put_uint(used);
    ws_test_puts(" of ");
    ws_test_put_uint(size);
    ws_test_log(" bytes");
}
#endif

int ws_test_run(void)
{
    test_startup();
    test_int64();
    test_mem();
    test_float();
    test_shifts();
    test_harness();
#if defined(WS_PORT_CORTEX_M4)
    test_m4_stack();
#endif
    return ws_test_failures();
}
