/* A host program over the package verifier as a firmware build configures it: it runs
 * steps 1-5 (ws_pkg_check) of the package in the file argv[1] against the key this build
 * trusts (firmware/src/updates/trusted_key.c) and prints the status and whether that key
 * is the development key. tests/test_trusted_key_build.py compiles it once per build
 * option (the DEV key, a maker's key) to show a production build refuses DEV packages.
 * Not a C unit test (no test_ prefix): the normal test builds never link it. */
#include <stdio.h>
#include <stdlib.h>

#include "ws_pkg.h"

int main(int argc, char **argv)
{
    static uint8_t pkg[WS_PKG_MAX_SIZE + 1];
    ws_pkg_header_t header;
    ws_pkg_expect_t expect;
    ws_status_t status;
    size_t len;
    FILE *f;

    if (argc != 2 || (f = fopen(argv[1], "rb")) == NULL) {
        fprintf(stderr, "usage: trusted_key_check PACKAGE\n");
        return 2;
    }
    len = fread(pkg, 1, sizeof pkg, f);
    fclose(f);
    status = ws_pkg_parse_header(pkg, len, &header);
    if (status == WS_OK) {
        expect.task = header.task;
        expect.placement = header.placement;
        expect.installed_version = 0;
        status = ws_pkg_check(pkg, len, ws_pkg_trusted_key(), &expect, NULL);
    }
    printf("status=0x%02x is_dev=%d\n", (unsigned)status, ws_pkg_trusted_key_is_dev());
    return 0;
}
