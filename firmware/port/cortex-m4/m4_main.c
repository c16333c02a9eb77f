/* Cortex-M4 entry point of a C unit test, called by Reset_Handler: runs
 * ws_test_run() and prints
 *   WS-TEST <name> PASS            (exit status 0)
 *   WS-TEST <name> FAIL <n>        (exit status 1)
 * over semihosting; the return value becomes QEMU's exit status. */
#include "platform.h"
#include "ws_test.h"

#ifndef WS_TEST_NAME
#error "build with -DWS_TEST_NAME=\"\\\"<name>\\\"\""
#endif

int main(void)
{
    int n = ws_test_run();

    /* A test that forgets to return its count still fails on a recorded failure. */
    if (n < ws_test_failures()) {
        n = ws_test_failures();
    }
    ws_platform_puts("WS-TEST " WS_TEST_NAME);
    if (n == 0) {
        ws_platform_puts(" PASS\n");
        return WS_PORT_EXIT_PASS;
    }
    ws_platform_puts(" FAIL ");
    ws_test_put_int(n);
    ws_platform_puts("\n");
    return WS_PORT_EXIT_FAIL;
}
