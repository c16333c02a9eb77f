/* libFuzzer target for the ECG strips' device side: strips made from fuzzed samples into
 * a small partition ring, STRIP_GET / STRIP_RELEASE on the command characteristic (with
 * every other write of the device face), the Strip transfer frames (each checked: CRC,
 * strip id, offsets in order), power cuts of the strip partition and reboots. The input is
 * a sequence of operations (firmware/fuzz/device_ops.h) whose own writes make strips or
 * pull frames. Built with clang -fsanitize=fuzzer,address,undefined by `make fuzz-build`
 * (mk/fuzz.mk). */
#include <stddef.h>
#include <stdint.h>

#include "device_ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return ws_fuzz_device_run(WS_FUZZ_STRIPS, data, size);
}
