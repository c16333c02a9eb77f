/* libFuzzer target for the acknowledgement characteristic (ws_device_on_ack_write): ACK
 * STORED and RESEND_FROM against a queue the same input fills and drains. The input is a
 * sequence of operations (firmware/fuzz/device_ops.h) whose own writes go here. Built
 * with clang -fsanitize=fuzzer,address,undefined by `make fuzz-build` (mk/fuzz.mk).
 */
#include <stddef.h>
#include <stdint.h>

#include "device_ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return ws_fuzz_device_run(WS_FUZZ_ACK, data, size);
}
