/* The interpreter steps of package verification (ws_pkg.h steps 6 and 7) wired to the
 * int8 interpreter (ws_nn.h). ws_pkg_verify_nn is what the update module calls on
 * UPDATE_COMMIT; ws_pkg_nn_validate / ws_pkg_nn_self_test are the ws_pkg_ops_t hooks.
 *
 * Validation (step 6) loads the model where it lies in the package (in place: the package
 * puts it at offset 128, 16-byte aligned), gives it the caller's arena, and requires one
 * int8 input of window_samples x channels values and one int8 output of output_count
 * values whose quantization (scale, zero point) equals the header's. The self-test
 * (step 7) fills the input with ws_pkg_selftest_input and runs the model. */
#ifndef WS_PKG_NN_H
#define WS_PKG_NN_H

#include "ws_nn.h"
#include "ws_pkg.h"

/* cdef-begin */
typedef struct {
    ws_nn_model_t *model; /* storage of ws_nn_model_struct_size() bytes, caller-owned */
    uint8_t *arena;       /* WS_NN_ARENA_ALIGN-aligned, caller-owned */
    size_t arena_size;
    ws_status_t nn_status; /* why the interpreter refused (0x40-0x5F), WS_OK otherwise */
} ws_pkg_nn_t;

ws_status_t ws_pkg_nn_validate(void *ctx, const ws_pkg_header_t *header, const uint8_t *model);
ws_status_t ws_pkg_nn_self_test(void *ctx, const ws_pkg_header_t *header, const uint8_t *model,
                                int8_t *output);

/* ws_pkg_verify with the interpreter hooks above. On WS_OK the model in nn is loaded and
 * ready to run from the package's bytes. */
ws_status_t ws_pkg_verify_nn(const uint8_t *pkg, size_t len, const uint8_t public_key[32],
                             const ws_pkg_expect_t *expect, ws_pkg_nn_t *nn,
                             ws_pkg_header_t *out);
/* cdef-end */

#endif
