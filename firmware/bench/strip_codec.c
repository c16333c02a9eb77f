/* The strip codec's Cortex-M4 image: encodes and decodes real recordings embedded at
 * build time (build/gen/ws_strip_codec_data.h, tools/make_strip_codec_image.py) in blocks
 * of WS_STRIP_BLOCK_SAMPLES, timing every encode and decode call with SysTick on the
 * processor clock (exact instruction counts under QEMU -icount shift=0,
 * docs/firmware-port.md), and checks that every block decodes to its samples.
 * benchmarks/strips_codec.py runs it (wearsense/testing/strip_codec_m4.py). Output lines:
 *   WS-STRIP calibration=<ticks> instructions=2000000
 *   WS-STRIP set=<name> records=<n> samples=<n> bytes=<n> encode_ticks=<t> decode_ticks=<t>
 *            max_block_encode_ticks=<t> mismatches=<n>
 *   WS-STRIP stack_used=<bytes>
 *   WS-STRIP done */
#include <stddef.h>
#include <stdint.h>

#include "platform.h"
#include "ws_strip_codec.h"
#include "ws_strip_codec_data.h"

#include "systick.h"

static void put_uint(uint64_t v)
{
    char buf[24];
    int i = 23;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + (v % 10u));
        v /= 10u;
    } while (v != 0 && i > 0);
    ws_platform_puts(buf + i);
}

static void field(const char *name, uint64_t v)
{
    ws_platform_puts(name);
    put_uint(v);
}

static uint8_t block[WS_STRIP_BLOCK_MAX_BYTES];
static int16_t decoded[WS_STRIP_BLOCK_SAMPLES];

static int run_set(const char *name, const int16_t *x, const uint32_t *lens, size_t records)
{
    uint64_t enc = 0, dec = 0, bytes = 0, samples = 0;
    uint32_t worst = 0, mismatches = 0;
    size_t r, at = 0;
    for (r = 0; r < records; r++) {
        size_t end = at + lens[r];
        while (at < end) {
            size_t n = end - at < WS_STRIP_BLOCK_SAMPLES ? end - at : WS_STRIP_BLOCK_SAMPLES;
            size_t len = 0, got = 0, used = 0, i;
            uint32_t t0 = ws_systick_now(), dt;
            ws_status_t st = ws_strip_encode_block(&x[at], n, block, sizeof block, &len);
            dt = ws_systick_elapsed(t0);
            enc += dt;
            worst = dt > worst ? dt : worst;
            t0 = ws_systick_now();
            st |= ws_strip_decode_block(block, len, decoded, WS_STRIP_BLOCK_SAMPLES, &got, &used);
            dec += ws_systick_elapsed(t0);
            if (st != WS_OK || got != n || used != len) {
                mismatches++;
            } else {
                for (i = 0; i < n; i++) {
                    mismatches += decoded[i] != x[at + i];
                }
            }
            bytes += len;
            samples += n;
            at += n;
        }
    }
    ws_platform_puts("WS-STRIP set=");
    ws_platform_puts(name);
    field(" records=", records);
    field(" samples=", samples);
    field(" bytes=", bytes);
    field(" encode_ticks=", enc);
    field(" decode_ticks=", dec);
    field(" max_block_encode_ticks=", worst);
    field(" mismatches=", mismatches);
    ws_platform_puts("\n");
    return mismatches != 0;
}

int main(void)
{
    int rc = 0;
    field("WS-STRIP calibration=", ws_systick_calibrate());
    field(" instructions=", WS_SYSTICK_CALIBRATION_INSTRUCTIONS);
    ws_platform_puts("\n");
    rc |= run_set("cinc2017", ws_strip_cinc2017, ws_strip_cinc2017_len,
                  sizeof ws_strip_cinc2017_len / sizeof ws_strip_cinc2017_len[0]);
    rc |= run_set("mitdb", ws_strip_mitdb, ws_strip_mitdb_len,
                  sizeof ws_strip_mitdb_len / sizeof ws_strip_mitdb_len[0]);
    field("WS-STRIP stack_used=", ws_port_stack_used());
    ws_platform_puts(rc == 0 ? "\nWS-STRIP done\n" : "\nWS-STRIP failed\n");
    return rc;
}
