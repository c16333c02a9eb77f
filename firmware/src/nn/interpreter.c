/* The invoke loop and the queries: binds the arena (with each operator's per-channel
 * requantization), runs the operators in graph order through the operator table
 * (op_table.c) and describes the model's inputs and outputs. */
#include "nn_op.h"

size_t ws_nn_arena_size(const ws_nn_model_t *model)
{
    if (!model || !model->loaded) {
        return 0;
    }
    return (size_t)model->tensor_bytes + model->persistent_bytes + model->scratch_bytes;
}

void ws_nn_arena_parts(const ws_nn_model_t *model, uint32_t *activations, uint32_t *requant,
                       uint32_t *scratch)
{
    const int ok = model && model->loaded;
    if (activations) {
        *activations = ok ? model->tensor_bytes : 0;
    }
    if (requant) {
        *requant = ok ? model->persistent_bytes : 0;
    }
    if (scratch) {
        *scratch = ok ? model->scratch_bytes : 0;
    }
}

ws_status_t ws_nn_set_arena(ws_nn_model_t *model, uint8_t *arena, size_t size)
{
    if (!model || !arena) {
        return WS_ERR_ARG;
    }
    if (!model->loaded) {
        return WS_ERR_NN_NOT_READY;
    }
    if (((uintptr_t)arena) % WS_NN_ARENA_ALIGN != 0) {
        return WS_ERR_NN_ALIGN;
    }
    if (size < ws_nn_arena_size(model)) {
        return WS_ERR_NN_ARENA;
    }
    model->arena = arena;
    /* per-channel requantization, computed as TFLM's Prepare does */
    for (uint32_t i = 0; i < model->n_ops; ++i) {
        ws_nn_op_t *op = &model->ops[i];
        if (op->channels == 0) {
            continue;
        }
        const ws_nn_tensor_t *in = &model->tensors[op->inputs[0]];
        const ws_nn_tensor_t *w = &model->tensors[op->inputs[1]];
        const ws_nn_tensor_t *out = &model->tensors[op->output];
        int32_t *mult = (int32_t *)(void *)(arena + model->tensor_bytes + op->persistent_offset);
        int32_t *shift = mult + op->channels;
        for (uint32_t c = 0; c < op->channels; ++c) {
            double real =
                (double)in->scale * (double)ws_nn_tensor_scale(model, w, c) / (double)out->scale;
            ws_nn_quantize_multiplier(real, &mult[c], &shift[c]);
        }
    }
    model->ready = 1;
    return WS_OK;
}

static ws_status_t run_op(ws_nn_model_t *m, const ws_nn_op_t *op)
{
    return ws_nn_op_table[op->kind].eval(m, op);
}

ws_status_t ws_nn_invoke(ws_nn_model_t *model)
{
    if (!model) {
        return WS_ERR_ARG;
    }
    if (!model->ready) {
        return WS_ERR_NN_NOT_READY;
    }
    for (uint32_t i = 0; i < model->n_ops; ++i) {
        ws_status_t st = run_op(model, &model->ops[i]);
        if (st != WS_OK) {
            return st;
        }
    }
    return WS_OK;
}

/* ---------------------------------------------------------------- queries */

ws_status_t ws_nn_invoke_op(ws_nn_model_t *model, uint32_t index)
{
    if (!model) {
        return WS_ERR_ARG;
    }
    if (!model->ready) {
        return WS_ERR_NN_NOT_READY;
    }
    if (index >= model->n_ops) {
        return WS_ERR_ARG;
    }
    return run_op(model, &model->ops[index]);
}

uint32_t ws_nn_input_count(const ws_nn_model_t *model)
{
    return model && model->loaded ? model->n_inputs : 0;
}

uint32_t ws_nn_output_count(const ws_nn_model_t *model)
{
    return model && model->loaded ? model->n_outputs : 0;
}

static ws_status_t describe(const ws_nn_model_t *m, int32_t index, ws_nn_tensor_desc_t *out)
{
    const ws_nn_tensor_t *t = &m->tensors[index];
    memset(out, 0, sizeof *out);
    out->type = t->type;
    out->rank = t->rank;
    for (int i = 0; i < t->rank; ++i) {
        out->dims[i] = t->dims[i];
    }
    out->bytes = t->bytes;
    out->scale = t->scale;
    out->zero_point = t->zero_point;
    return WS_OK;
}

ws_status_t ws_nn_input_desc(const ws_nn_model_t *model, uint32_t index, ws_nn_tensor_desc_t *out)
{
    if (!model || !out) {
        return WS_ERR_ARG;
    }
    if (!model->loaded) {
        return WS_ERR_NN_NOT_READY;
    }
    if (index >= model->n_inputs) {
        return WS_ERR_NN_INDEX;
    }
    return describe(model, model->inputs[index], out);
}

ws_status_t ws_nn_output_desc(const ws_nn_model_t *model, uint32_t index, ws_nn_tensor_desc_t *out)
{
    if (!model || !out) {
        return WS_ERR_ARG;
    }
    if (!model->loaded) {
        return WS_ERR_NN_NOT_READY;
    }
    if (index >= model->n_outputs) {
        return WS_ERR_NN_INDEX;
    }
    return describe(model, model->outputs[index], out);
}

void *ws_nn_input_data(ws_nn_model_t *model, uint32_t index)
{
    if (!model || !model->ready || index >= model->n_inputs) {
        return NULL;
    }
    return (void *)(uintptr_t)ws_nn_tensor_data(model, model->inputs[index]);
}

const void *ws_nn_output_data(const ws_nn_model_t *model, uint32_t index)
{
    if (!model || !model->ready || index >= model->n_outputs) {
        return NULL;
    }
    return ws_nn_tensor_data(model, model->outputs[index]);
}

uint64_t ws_nn_macs(const ws_nn_model_t *model)
{
    return model && model->loaded ? model->macs : 0;
}

uint64_t ws_nn_op_macs(const ws_nn_model_t *model, uint32_t index)
{
    return model && model->loaded && index < model->n_ops ? model->ops[index].macs : 0;
}

uint32_t ws_nn_op_count(const ws_nn_model_t *model)
{
    return model && model->loaded ? model->n_ops : 0;
}

int32_t ws_nn_op_code(const ws_nn_model_t *model, uint32_t index)
{
    if (!model || !model->loaded || index >= model->n_ops) {
        return -1;
    }
    return model->ops[index].builtin;
}

int32_t ws_nn_failed_op(const ws_nn_model_t *model)
{
    return model ? model->failed_op : -1;
}
