/* The interpreter against TFLM's output bytes (build/gen/ws_nn_vectors.h, made by
 * tools/make_nn_vectors.py), natively under ASan/UBSan and on the Cortex-M4 in QEMU;
 * plus the exact arena size and a few bad inputs. */
#include <string.h>

#include "ws_nn_vectors.h"
#include "ws_nn.h"
#include "ws_test.h"

#define TEST_ARENA_BYTES 65536
#define TEST_FILE_BYTES 32768 /* the bad-input checks copy the first model */

#if defined(WS_PORT_CORTEX_M4)
/* SysTick on the processor clock: under QEMU with -icount shift=0 (one instruction
 * per virtual nanosecond) and mps2-an386's 25 MHz clock, one tick is 40 instructions;
 * benchmarks/bench_interpreter.py runs the image that way to count instructions. */
#include "systick.h"
#endif

static ws_nn_model_t model;
static uint8_t arena[TEST_ARENA_BYTES] __attribute__((aligned(16)));
static uint8_t file_copy[TEST_FILE_BYTES] __attribute__((aligned(16)));

static void test_vector(const ws_nn_vector_t *v)
{
    ws_test_puts("model ");
    ws_test_log(v->name);
#if defined(WS_PORT_CORTEX_M4)
    {
        /* load = validation + the memory plan (several placement orders) */
        uint32_t load_start = ws_systick_start();
        WS_TEST_ASSERT_EQ_INT(ws_nn_load(&model, v->model, v->model_size), WS_OK);
        uint32_t load_ticks = ws_systick_elapsed(load_start);
        ws_test_puts("WS-NN-M4-LOAD ");
        ws_test_puts(v->name);
        ws_test_puts(" systick=");
        ws_test_put_uint(load_ticks);
        ws_test_log("");
    }
#else
    WS_TEST_ASSERT_EQ_INT(ws_nn_load(&model, v->model, v->model_size), WS_OK);
#endif
    WS_TEST_ASSERT_EQ_INT(ws_nn_arena_size(&model), v->arena_bytes);
    WS_TEST_ASSERT(v->arena_bytes <= TEST_ARENA_BYTES);
    if (v->arena_bytes > TEST_ARENA_BYTES || v->arena_bytes == 0) {
        return;
    }
    WS_TEST_ASSERT_EQ_INT(ws_nn_set_arena(&model, arena, v->arena_bytes - 1), WS_ERR_NN_ARENA);
    WS_TEST_ASSERT_EQ_INT(ws_nn_set_arena(&model, arena, v->arena_bytes), WS_OK);
    ws_nn_tensor_desc_t in_desc, out_desc;
    WS_TEST_ASSERT_EQ_INT(ws_nn_input_desc(&model, 0, &in_desc), WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_nn_output_desc(&model, 0, &out_desc), WS_OK);
    WS_TEST_ASSERT_EQ_INT(in_desc.bytes, v->input_size);
    WS_TEST_ASSERT_EQ_INT(out_desc.bytes, v->expected_size);
    if (in_desc.bytes != v->input_size || out_desc.bytes != v->expected_size) {
        return;
    }
    memcpy(ws_nn_input_data(&model, 0), v->input, v->input_size);
#if defined(WS_PORT_CORTEX_M4)
    uint32_t start = ws_systick_start();
    WS_TEST_ASSERT_EQ_INT(ws_nn_invoke(&model), WS_OK);
    uint32_t ticks = ws_systick_elapsed(start);
    ws_test_puts("WS-NN-M4 ");
    ws_test_puts(v->name);
    ws_test_puts(" systick=");
    ws_test_put_uint(ticks);
    ws_test_log("");
    /* the same inference one operator at a time: where the instructions go */
    memcpy(ws_nn_input_data(&model, 0), v->input, v->input_size);
    for (uint32_t i = 0; i < ws_nn_op_count(&model); ++i) {
        start = ws_systick_start();
        WS_TEST_ASSERT_EQ_INT(ws_nn_invoke_op(&model, i), WS_OK);
        ticks = ws_systick_elapsed(start);
        ws_test_puts("WS-NN-M4-OP ");
        ws_test_puts(v->name);
        ws_test_puts(" op=");
        ws_test_put_uint(i);
        ws_test_puts(" code=");
        ws_test_put_uint((uint32_t)ws_nn_op_code(&model, i));
        ws_test_puts(" macs=");
        ws_test_put_uint(ws_nn_op_macs(&model, i));
        ws_test_puts(" systick=");
        ws_test_put_uint(ticks);
        ws_test_log("");
    }
#else
    WS_TEST_ASSERT_EQ_INT(ws_nn_invoke(&model), WS_OK);
#endif
    const uint8_t *out = ws_nn_output_data(&model, 0);
    size_t differing = 0;
    for (size_t i = 0; i < v->expected_size; ++i) {
        differing += out[i] != v->expected[i];
    }
    WS_TEST_ASSERT_EQ_INT(differing, 0);
}

static void test_bad_inputs(const ws_nn_vector_t *v)
{
    if (v->model_size > TEST_FILE_BYTES) {
        return;
    }
    WS_TEST_ASSERT_EQ_INT(ws_nn_load(&model, v->model, 7), WS_ERR_NN_FORMAT);
    WS_TEST_ASSERT_EQ_INT(ws_nn_load(&model, v->model, v->model_size / 2), WS_ERR_NN_BOUNDS);
    memcpy(file_copy, v->model, v->model_size);
    file_copy[0] = 0xF0; /* root offset far outside the file */
    file_copy[3] = 0x7F;
    WS_TEST_ASSERT_EQ_INT(ws_nn_load(&model, file_copy, v->model_size), WS_ERR_NN_BOUNDS);
    WS_TEST_ASSERT_EQ_INT(ws_nn_invoke(&model), WS_ERR_NN_NOT_READY);
    /* every truncation is refused with an interpreter status, never a crash */
    for (size_t cut = 8; cut < v->model_size; cut += 13) {
        ws_status_t st = ws_nn_load(&model, v->model, cut);
        WS_TEST_ASSERT(st >= WS_ERR_NN_FORMAT && st <= WS_ERR_NN_BUFFER);
    }
}

int ws_test_run(void)
{
    for (size_t i = 0; i < sizeof ws_nn_vectors / sizeof ws_nn_vectors[0]; ++i) {
        test_vector(&ws_nn_vectors[i]);
    }
    test_bad_inputs(&ws_nn_vectors[0]);
    return ws_test_failures();
}
