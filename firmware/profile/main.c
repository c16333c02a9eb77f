/* The profile image: one inference of any model on the emulated Cortex-M4 (QEMU
 * mps2-an386), for `wearsense model profile` (wearsense/testing/m4profile.py).
 *
 * The image embeds no model. QEMU's generic loader puts a blob in PSRAM at
 * WS_PROFILE_BLOB before the reset (-device loader,file=BLOB,addr=0x21000000,force-raw=on):
 *   u32 magic "WSPF", u32 model bytes, u32 input bytes, u32 0,
 *   the model (at offset 16), then the inputs in input order from the next 16-byte
 *   boundary, each as many bytes as its tensor.
 * The arena lies in PSRAM too (WS_PROFILE_ARENA, at most WS_PROFILE_ARENA_MAX bytes).
 *
 * Every phase is timed with SysTick on the processor clock: under QEMU with -icount
 * shift=0 one tick of mps2-an386's 25 MHz clock is 40 instructions (docs/firmware-port.md).
 * Output lines (semihosting):
 *   WS-PROF load status=<s> failed_op=<i> systick=<t>          ws_nn_load
 *   WS-PROF arena bytes=<n> activations=<n> requant=<n> scratch=<n> state=<n>
 *   WS-PROF set_arena status=<s> systick=<t>                    ws_nn_set_arena
 *   WS-PROF invoke status=<s> systick=<t>                       ws_nn_invoke
 *   WS-PROF op index=<i> code=<c> macs=<m> systick=<t> status=<s>  the same inference
 *                                                               one operator at a time
 *   WS-PROF output index=<i> bytes=<n>
 *   WS-PROF hex <up to 64 bytes as hex>                         that output's bytes
 *   WS-PROF stack_used=<bytes>
 *   WS-PROF done
 * The exit status is 0 once the blob was read, whatever the interpreter said; 1 for a
 * bad blob. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "platform.h"
#include "ws_nn.h"

#define WS_PROFILE_BLOB 0x21000000u
#define WS_PROFILE_BLOB_MAX (8u * 1024u * 1024u)
#define WS_PROFILE_ARENA 0x21800000u
#define WS_PROFILE_ARENA_MAX (8u * 1024u * 1024u)
#define WS_PROFILE_MAGIC 0x46505357u /* "WSPF" little-endian */
#define WS_PROFILE_HEX_CHUNK 64u

#include "systick.h"

static ws_nn_model_t model;

static void put_uint(uint64_t v)
{
    char buf[24];
    int i = 23;

    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + (v % 10u));
        v /= 10u;
    } while (v != 0u && i > 0);
    ws_platform_puts(buf + i);
}

static void put_int(int64_t v)
{
    if (v < 0) {
        ws_platform_puts("-");
        put_uint((uint64_t)(-(v + 1)) + 1u);
    } else {
        put_uint((uint64_t)v);
    }
}

static void put_field(const char *name, uint64_t v)
{
    ws_platform_puts(" ");
    ws_platform_puts(name);
    ws_platform_puts("=");
    put_uint(v);
}

static void put_hex_lines(const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char buf[2u * WS_PROFILE_HEX_CHUNK + 1u];

    for (size_t at = 0; at < n; at += WS_PROFILE_HEX_CHUNK) {
        size_t len = n - at < WS_PROFILE_HEX_CHUNK ? n - at : WS_PROFILE_HEX_CHUNK;
        for (size_t i = 0; i < len; ++i) {
            buf[2u * i] = digits[p[at + i] >> 4];
            buf[2u * i + 1u] = digits[p[at + i] & 15u];
        }
        buf[2u * len] = '\0';
        ws_platform_puts("WS-PROF hex ");
        ws_platform_puts(buf);
        ws_platform_puts("\n");
    }
}

static uint32_t read_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static int bad_blob(const char *why)
{
    ws_platform_puts("WS-PROF error ");
    ws_platform_puts(why);
    ws_platform_puts("\n");
    return 1;
}

/* Copies the inputs from the blob into the model's input tensors. */
static int copy_inputs(const uint8_t *inputs, uint32_t input_bytes)
{
    uint32_t at = 0;

    for (uint32_t i = 0; i < ws_nn_input_count(&model); ++i) {
        ws_nn_tensor_desc_t desc;
        if (ws_nn_input_desc(&model, i, &desc) != WS_OK || desc.bytes > input_bytes - at) {
            return 0;
        }
        memcpy(ws_nn_input_data(&model, i), inputs + at, desc.bytes);
        at += desc.bytes;
    }
    return at == input_bytes;
}

int main(void)
{
    const uint8_t *blob = (const uint8_t *)(uintptr_t)WS_PROFILE_BLOB;
    uint8_t *arena = (uint8_t *)(uintptr_t)WS_PROFILE_ARENA;

    if (read_u32(blob) != WS_PROFILE_MAGIC) {
        return bad_blob("magic");
    }
    uint32_t model_bytes = read_u32(blob + 4);
    uint32_t input_bytes = read_u32(blob + 8);
    uint32_t input_at = 16u + ((model_bytes + 15u) & ~15u);
    if (model_bytes > WS_PROFILE_BLOB_MAX || input_bytes > WS_PROFILE_BLOB_MAX - input_at) {
        return bad_blob("sizes");
    }

    uint32_t start = ws_systick_start();
    ws_status_t st = ws_nn_load(&model, blob + 16, model_bytes);
    uint32_t ticks = ws_systick_elapsed(start);
    ws_platform_puts("WS-PROF load");
    put_field("status", (uint64_t)st);
    ws_platform_puts(" failed_op=");
    put_int(ws_nn_failed_op(&model));
    put_field("systick", ticks);
    ws_platform_puts("\n");
    if (st != WS_OK) {
        ws_platform_puts("WS-PROF done\n");
        return 0;
    }

    uint32_t parts[3];
    size_t arena_bytes = ws_nn_arena_size(&model);
    ws_nn_arena_parts(&model, &parts[0], &parts[1], &parts[2]);
    ws_platform_puts("WS-PROF arena");
    put_field("bytes", arena_bytes);
    put_field("activations", parts[0]);
    put_field("requant", parts[1]);
    put_field("scratch", parts[2]);
    put_field("state", ws_nn_model_struct_size());
    ws_platform_puts("\n");
    if (arena_bytes > WS_PROFILE_ARENA_MAX) {
        return bad_blob("arena");
    }

    start = ws_systick_start();
    st = ws_nn_set_arena(&model, arena, arena_bytes);
    ticks = ws_systick_elapsed(start);
    ws_platform_puts("WS-PROF set_arena");
    put_field("status", (uint64_t)st);
    put_field("systick", ticks);
    ws_platform_puts("\n");
    if (st != WS_OK) {
        ws_platform_puts("WS-PROF done\n");
        return 0;
    }
    if (!copy_inputs(blob + input_at, input_bytes)) {
        return bad_blob("inputs");
    }

    start = ws_systick_start();
    st = ws_nn_invoke(&model);
    ticks = ws_systick_elapsed(start);
    ws_platform_puts("WS-PROF invoke");
    put_field("status", (uint64_t)st);
    put_field("systick", ticks);
    ws_platform_puts("\n");

    for (uint32_t i = 0; i < ws_nn_output_count(&model); ++i) {
        ws_nn_tensor_desc_t desc;
        if (ws_nn_output_desc(&model, i, &desc) != WS_OK) {
            continue;
        }
        ws_platform_puts("WS-PROF output");
        put_field("index", i);
        put_field("bytes", desc.bytes);
        ws_platform_puts("\n");
        put_hex_lines(ws_nn_output_data(&model, i), desc.bytes);
    }

    /* the same inference one operator at a time: where the instructions go */
    (void)copy_inputs(blob + input_at, input_bytes);
    for (uint32_t i = 0; i < ws_nn_op_count(&model); ++i) {
        start = ws_systick_start();
        st = ws_nn_invoke_op(&model, i);
        ticks = ws_systick_elapsed(start);
        ws_platform_puts("WS-PROF op");
        put_field("index", i);
        put_field("code", (uint64_t)ws_nn_op_code(&model, i));
        put_field("macs", ws_nn_op_macs(&model, i));
        put_field("systick", ticks);
        put_field("status", (uint64_t)st);
        ws_platform_puts("\n");
    }
    ws_platform_puts("WS-PROF");
    put_field("stack_used", ws_port_stack_used());
    ws_platform_puts("\nWS-PROF done\n");
    return 0;
}
