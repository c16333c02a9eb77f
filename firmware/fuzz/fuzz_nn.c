/* libFuzzer target for the interpreter: every input is a candidate .tflite that is
 * loaded, validated, planned and, when accepted and small enough, run. Built with
 * clang -fsanitize=fuzzer,address,undefined by `make fuzz` (mk/interpreter.mk). */
#include <stdint.h>
#include <string.h>

#include "ws_nn.h"

#define FUZZ_MAX_FILE 65536
#define FUZZ_ARENA 262144
#define FUZZ_MAX_MACS 2000000u

static _Alignas(16) uint8_t file_copy[FUZZ_MAX_FILE];
static _Alignas(16) uint8_t arena[FUZZ_ARENA];
static ws_nn_model_t model;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_FILE) {
        return 0;
    }
    /* the device reads from aligned flash: copy into an aligned buffer of exactly size */
    memcpy(file_copy, data, size);
    if (ws_nn_load(&model, file_copy, size) != WS_OK) {
        return 0;
    }
    size_t need = ws_nn_arena_size(&model);
    if (need > FUZZ_ARENA || ws_nn_macs(&model) > FUZZ_MAX_MACS) {
        return 0;
    }
    if (need > 0 && ws_nn_set_arena(&model, arena, need - 1) != WS_ERR_NN_ARENA) {
        __builtin_trap(); /* one byte short must always be refused */
    }
    if (ws_nn_set_arena(&model, arena, need) != WS_OK) {
        return 0;
    }
    for (uint32_t i = 0; i < ws_nn_input_count(&model); ++i) {
        ws_nn_tensor_desc_t desc;
        if (ws_nn_input_desc(&model, i, &desc) == WS_OK) {
            memset(ws_nn_input_data(&model, i), (int)(size & 0x7F), desc.bytes);
        }
    }
    (void)ws_nn_invoke(&model);
    return 0;
}
