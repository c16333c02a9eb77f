/* Host entry point of a C unit test: runs ws_test_run() and prints
 *   WS-TEST <name> PASS            (exit status 0)
 *   WS-TEST <name> FAIL <n>        (exit status 1)
 * Built with -DWS_TEST_NAME="\"<name>\"" under AddressSanitizer and UBSan. */
#include <stdio.h>
#include <stdlib.h>

#include "ws_test.h"

#ifndef WS_TEST_NAME
#error "build with -DWS_TEST_NAME=\"\\\"<name>\\\"\""
#endif

void ws_platform_puts(const char *s)
{
    fputs(s, stdout);
}

int main(void)
{
    int n;

    /* Unbuffered: a test killed by a sanitizer still shows all it printed. */
    setvbuf(stdout, NULL, _IONBF, 0);
    n = ws_test_run();

    /* A test that forgets to return its count still fails on a recorded failure. */
    if (n < ws_test_failures()) {
        n = ws_test_failures();
    }
    fputs("WS-TEST " WS_TEST_NAME, stdout);
    if (n == 0) {
        fputs(" PASS\n", stdout);
    } else {
        fputs(" FAIL ", stdout);
        ws_test_put_int(n);
        fputs("\n", stdout);
    }
    fflush(stdout);
    return n == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
