/* Package verification steps 6 and 7 on the int8 interpreter (ws_pkg_nn.h). */
#include <string.h>

#include "ws_pkg_nn.h"

static ws_status_t refuse(ws_pkg_nn_t *nn, ws_status_t why)
{
    nn->nn_status = why;
    return why;
}

/* The header's quantization must be the model's own, bit for bit. */
static int same_quant(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

ws_status_t ws_pkg_nn_validate(void *ctx, const ws_pkg_header_t *header, const uint8_t *model)
{
    ws_pkg_nn_t *nn = (ws_pkg_nn_t *)ctx;
    ws_nn_tensor_desc_t in, out;
    ws_status_t status;
    if (nn == NULL || nn->model == NULL || header == NULL || model == NULL) {
        return WS_ERR_ARG;
    }
    nn->nn_status = WS_OK;
    status = ws_nn_load(nn->model, model, header->model_size);
    if (status != WS_OK) {
        return refuse(nn, status);
    }
    if (nn->arena == NULL || ws_nn_arena_size(nn->model) > nn->arena_size) {
        return refuse(nn, WS_ERR_NN_ARENA);
    }
    status = ws_nn_set_arena(nn->model, nn->arena, nn->arena_size);
    if (status != WS_OK) {
        return refuse(nn, status);
    }
    if (ws_nn_input_count(nn->model) != 1 || ws_nn_output_count(nn->model) != 1) {
        return refuse(nn, WS_ERR_NN_SHAPE);
    }
    if (ws_nn_input_desc(nn->model, 0, &in) != WS_OK ||
        ws_nn_output_desc(nn->model, 0, &out) != WS_OK) {
        return refuse(nn, WS_ERR_NN_INDEX);
    }
    if (in.type != WS_NN_TYPE_INT8 || out.type != WS_NN_TYPE_INT8) {
        return refuse(nn, WS_ERR_NN_TYPE);
    }
    if (in.bytes != (uint32_t)header->window_samples * header->channels ||
        out.bytes != header->output_count) {
        return refuse(nn, WS_ERR_NN_SHAPE);
    }
    if (!same_quant(in.scale, header->input_scale) || in.zero_point != header->input_zero_point ||
        !same_quant(out.scale, header->output_scale) ||
        out.zero_point != header->output_zero_point) {
        return refuse(nn, WS_ERR_NN_QUANT);
    }
    return WS_OK;
}

ws_status_t ws_pkg_nn_self_test(void *ctx, const ws_pkg_header_t *header, const uint8_t *model,
                                int8_t *output)
{
    ws_pkg_nn_t *nn = (ws_pkg_nn_t *)ctx;
    int8_t *input;
    const int8_t *result;
    ws_status_t status;
    (void)model; /* loaded by ws_pkg_nn_validate */
    if (nn == NULL || header == NULL || output == NULL) {
        return WS_ERR_ARG;
    }
    input = (int8_t *)ws_nn_input_data(nn->model, 0);
    if (input == NULL) {
        return refuse(nn, WS_ERR_NN_NOT_READY);
    }
    ws_pkg_selftest_input(header->selftest_seed, input,
                          (size_t)header->window_samples * header->channels);
    status = ws_nn_invoke(nn->model);
    if (status != WS_OK) {
        return refuse(nn, status);
    }
    result = (const int8_t *)ws_nn_output_data(nn->model, 0);
    if (result == NULL) {
        return refuse(nn, WS_ERR_NN_NOT_READY);
    }
    memcpy(output, result, header->output_count);
    return WS_OK;
}

ws_status_t ws_pkg_verify_nn(const uint8_t *pkg, size_t len, const uint8_t public_key[32],
                             const ws_pkg_expect_t *expect, ws_pkg_nn_t *nn,
                             ws_pkg_header_t *out)
{
    ws_pkg_ops_t ops;
    if (nn == NULL) {
        return WS_ERR_ARG;
    }
    nn->nn_status = WS_OK;
    ops.ctx = nn;
    ops.validate_model = ws_pkg_nn_validate;
    ops.run_self_test = ws_pkg_nn_self_test;
    return ws_pkg_verify(pkg, len, public_key, expect, &ops, out);
}
