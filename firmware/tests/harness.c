/* Implementation of the harness declared in ws_test.h: no malloc, no stdio. */
#include "ws_test.h"

static int failures;

int ws_test_failures(void)
{
    return failures;
}

void ws_test_set_failures(int n)
{
    failures = n;
}

void ws_test_puts(const char *s)
{
    ws_platform_puts(s);
}

void ws_test_log(const char *s)
{
    ws_platform_puts(s);
    ws_platform_puts("\n");
}

void ws_test_put_uint(uint64_t v)
{
    char buf[21]; /* 2^64 - 1 has 20 digits */
    int i = (int)sizeof buf - 1;

    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v != 0u);
    ws_platform_puts(&buf[i]);
}

void ws_test_put_int(int64_t v)
{
    if (v < 0) {
        ws_platform_puts("-");
        /* Negate in unsigned arithmetic so that INT64_MIN is fine too. */
        ws_test_put_uint(0u - (uint64_t)v);
    } else {
        ws_test_put_uint((uint64_t)v);
    }
}

void ws_test_put_hex(uint32_t v)
{
    static const char digits[] = "0123456789abcdef";
    char buf[11];
    int i;

    buf[0] = '0';
    buf[1] = 'x';
    for (i = 0; i < 8; i++) {
        buf[2 + i] = digits[(v >> (28 - 4 * i)) & 0xFu];
    }
    buf[10] = '\0';
    ws_platform_puts(buf);
}

static void report_location(const char *file, int line)
{
    ws_platform_puts("  FAILED ");
    ws_platform_puts(file);
    ws_platform_puts(":");
    ws_test_put_int(line);
    ws_platform_puts(": ");
}

int ws_test_check(int ok, const char *file, int line, const char *expr)
{
    if (ok) {
        return 1;
    }
    failures++;
    report_location(file, line);
    ws_platform_puts("WS_TEST_ASSERT(");
    ws_platform_puts(expr);
    ws_platform_puts(")\n");
    return 0;
}

int ws_test_check_eq_int(int64_t a, int64_t b, const char *file, int line,
                         const char *expr_a, const char *expr_b)
{
    if (a == b) {
        return 1;
    }
    failures++;
    report_location(file, line);
    ws_platform_puts("WS_TEST_ASSERT_EQ_INT(");
    ws_platform_puts(expr_a);
    ws_platform_puts(", ");
    ws_platform_puts(expr_b);
    ws_platform_puts("): ");
    ws_test_put_int(a);
    ws_platform_puts(" != ");
    ws_test_put_int(b);
    ws_platform_puts("\n");
    return 0;
}
