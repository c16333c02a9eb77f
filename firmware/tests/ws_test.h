/* WearSense C unit-test harness.
 *
 * The same test file is built twice: natively on the host (AddressSanitizer +
 * UBSan) and for the Cortex-M4 run in QEMU. The harness therefore uses no
 * malloc and no stdio: every byte of output goes through the platform hook
 * ws_platform_puts(), which the host main (stdout) and the M4 port
 * (semihosting) each implement.
 *
 * A test file firmware/tests/test_<name>.c defines
 *
 *     int ws_test_run(void);
 *
 * and returns the number of failed checks, normally `return ws_test_failures();`.
 * A failed check is reported with file:line and does not stop the test.
 */
#ifndef WS_TEST_H
#define WS_TEST_H

#include <stdint.h>

/* Platform hook: write a NUL-terminated string, no newline added. */
void ws_platform_puts(const char *s);

/* Defined by every test file. */
int ws_test_run(void);

/* Failure counter. ws_test_set_failures() exists so that the harness can test
 * itself (record a deliberate failure, check it was counted, restore). */
int ws_test_failures(void);
void ws_test_set_failures(int n);

/* Output helpers; nothing is buffered. */
void ws_test_log(const char *s);      /* the string, then a newline */
void ws_test_puts(const char *s);     /* the string only */
void ws_test_put_uint(uint64_t v);    /* decimal */
void ws_test_put_int(int64_t v);      /* decimal, '-' when negative */
void ws_test_put_hex(uint32_t v);     /* 0x followed by 8 hex digits */

/* Called by the macros below; returns nonzero when the check passed. */
int ws_test_check(int ok, const char *file, int line, const char *expr);
int ws_test_check_eq_int(int64_t a, int64_t b, const char *file, int line,
                         const char *expr_a, const char *expr_b);

#define WS_TEST_ASSERT(cond) \
    ((void)ws_test_check((cond) ? 1 : 0, __FILE__, __LINE__, #cond))

/* Compares as int64_t; each argument is evaluated once. */
#define WS_TEST_ASSERT_EQ_INT(a, b) \
    ((void)ws_test_check_eq_int((int64_t)(a), (int64_t)(b), __FILE__, __LINE__, #a, #b))

#endif /* WS_TEST_H */
