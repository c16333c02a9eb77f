/* The libFuzzer harness shared by the device-face targets (fuzz_command.c, fuzz_ack.c,
 * fuzz_transfer.c): one emulated wearable (device core, event queue, settings and the
 * model-update service on the host port's simulated NOR flash and clock) driven by a
 * sequence of operations decoded from the fuzzer's input, so state builds up across the
 * writes of one input the way it does over a connection.
 *
 * Input: records `u8 op, u8 len, len bytes` (len 255: a u16 length follows, for model
 * chunks up to and past the 512-byte frame; a short last record takes what is left).
 * op & 0x0F below 6 is the target's own write (its `primary`); 6..15 pick, in order:
 * command write, ack write, transfer write, append events, drain notifications, connect,
 * clock step, status read, reboot, power cut (the strip target, fuzz_strip_transfer.c,
 * has one more as its own write: make a strip or pull Strip transfer frames, and its
 * STRIP_GET / STRIP_RELEASE go through the command write). For a transfer write, op bit
 * 0x20 makes the frame from a short record: a u16 length L (modulo 1025), then bytes
 * repeated to L, so frames up to and past the 512-byte limit fit the inputs' -max_len
 * (mk/fuzz.mk); op bit 0x10 then makes the harness put the right CRC-16 in the frame's
 * last two bytes (the fuzzer could not find one), so chunks get past the codec to the
 * model store.
 *
 * Every input starts from blank flash. Besides ASan/UBSan, the harness traps when the
 * core breaks what docs/device-core.md promises a central: a response or notification
 * that is not a valid frame, a status record that does not encode, an acknowledged seq
 * above the last assigned one, a NOR program that would set a bit, a strip frame that is
 * not a valid frame of the strip asked for, a strip the partition lists but cannot read. */
#ifndef WS_FUZZ_DEVICE_OPS_H
#define WS_FUZZ_DEVICE_OPS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    WS_FUZZ_COMMAND = 0,
    WS_FUZZ_ACK,
    WS_FUZZ_TRANSFER,
    WS_FUZZ_EVENTS,
    WS_FUZZ_DRAIN,
    WS_FUZZ_CONNECT,
    WS_FUZZ_CLOCK,
    WS_FUZZ_STATUS,
    WS_FUZZ_REBOOT,
    WS_FUZZ_CUT,
    WS_FUZZ_STRIPS, /* only as a target's own write: 6..15 pick the ten above */
    WS_FUZZ_OP_COUNT
} ws_fuzz_op_t;

/* Runs one input with `primary` as the target's own write. Always returns 0. */
int ws_fuzz_device_run(ws_fuzz_op_t primary, const uint8_t *data, size_t size);

#endif
