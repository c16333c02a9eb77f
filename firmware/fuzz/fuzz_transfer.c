/* libFuzzer target for the model-transfer characteristic (ws_update_on_transfer_write):
 * chunks into the A/B model store after the UPDATE_BEGIN / QUERY / COMMIT / ABORT
 * commands of the same input. The input is a sequence of operations
 * (firmware/fuzz/device_ops.h) whose own writes go here. Built with clang
 * -fsanitize=fuzzer,address,undefined by `make fuzz-build` (mk/fuzz.mk).
 */
#include <stddef.h>
#include <stdint.h>

#include "device_ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return ws_fuzz_device_run(WS_FUZZ_TRANSFER, data, size);
}
