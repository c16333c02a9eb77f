/* libFuzzer target for the command characteristic (ws_device_on_command_write):
 * TIME_SYNC, START_RECORDING, SET_CONFIG, FACTORY_RESET and the UPDATE_* commands the
 * update service answers. The input is a sequence of operations
 * (firmware/fuzz/device_ops.h) whose own writes go here. Built with clang
 * -fsanitize=fuzzer,address,undefined by `make fuzz-build` (mk/fuzz.mk).
 */
#include <stddef.h>
#include <stdint.h>

#include "device_ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return ws_fuzz_device_run(WS_FUZZ_COMMAND, data, size);
}
