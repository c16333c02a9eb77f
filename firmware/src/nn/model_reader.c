/* The model reader: validates a TFLite flatbuffer completely (through the bounds-
 * checked reader of flatbuffer.c), reads its tensors, runs each operator's prepare
 * (op_table.c) and has the memory planner place the activations. Nothing is read
 * from the file later that has not been bounds- and alignment-checked here. */
#include "nn_op.h"

#define MAX_CODES 64

typedef struct {
    int32_t builtin;
    int32_t version;
} opcode_t;

typedef struct {
    ws_fb_t fb;
    ws_nn_model_t *m;
    opcode_t codes[MAX_CODES];
    uint32_t n_codes;
    ws_fb_vector_t buffers;
} loader_t;

size_t ws_nn_model_struct_size(void)
{
    return sizeof(ws_nn_model_t);
}

static int scale_ok(float s)
{
    /* positive, finite and within the range where every multiplier stays representable */
    return s >= 1e-20f && s <= 1e20f;
}

static ws_status_t load_quantization(loader_t *L, const ws_fb_table_t *tt, ws_nn_tensor_t *t)
{
    ws_fb_table_t q;
    int present;
    WS_NN_CHECK(ws_fb_subtable(&L->fb, tt, 4, &q, &present));
    t->scale_pos = 0;
    t->scale_count = 0;
    t->scale = 0.0f;
    t->zero_point = 0;
    t->quantized_dimension = 0;
    if (!present) {
        return WS_OK;
    }
    int64_t details, qdim;
    WS_NN_CHECK(ws_fb_scalar(&L->fb, &q, 4, 1, 0, &details));
    if (details != 0) {
        return WS_ERR_NN_QUANT;
    }
    ws_fb_vector_t scales, zps;
    WS_NN_CHECK(ws_fb_vector(&L->fb, &q, 2, 4, &scales));
    WS_NN_CHECK(ws_fb_vector(&L->fb, &q, 3, 8, &zps));
    WS_NN_CHECK(ws_fb_scalar(&L->fb, &q, 6, 4, 0, &qdim));
    if (scales.count == 0) {
        return zps.count == 0 ? WS_OK : WS_ERR_NN_QUANT;
    }
    if (zps.count != scales.count || qdim < 0 || qdim >= WS_NN_MAX_DIMS) {
        return WS_ERR_NN_QUANT;
    }
    for (uint32_t i = 0; i < scales.count; ++i) {
        float s = ws_nn_read_float(L->m, scales.pos + 4 * i);
        if (!scale_ok(s)) {
            return WS_ERR_NN_QUANT;
        }
        int64_t zp = (int64_t)(ws_fb_u32(&L->fb, zps.pos + 8 * i) |
                               ((uint64_t)ws_fb_u32(&L->fb, zps.pos + 8 * i + 4) << 32));
        if (t->type == WS_NN_TYPE_INT8 ? (zp < -128 || zp > 127) : zp != 0) {
            return WS_ERR_NN_QUANT;
        }
        if (i == 0) {
            t->zero_point = (int32_t)zp;
        } else if (zp != t->zero_point) {
            return WS_ERR_NN_QUANT; /* per-channel zero points are all 0 in int8 TFLite */
        }
    }
    if (scales.count > 1 && ((int32_t)qdim >= t->rank || (uint32_t)t->dims[qdim] != scales.count)) {
        return WS_ERR_NN_QUANT;
    }
    t->scale_pos = scales.pos;
    t->scale_count = scales.count;
    t->scale = ws_nn_read_float(L->m, scales.pos);
    t->quantized_dimension = (int32_t)qdim;
    return WS_OK;
}

static ws_status_t load_tensor(loader_t *L, const ws_fb_table_t *tt, ws_nn_tensor_t *t)
{
    ws_fb_vector_t shape;
    int64_t type, buffer, is_variable;
    uint32_t sparsity;
    memset(t, 0, sizeof *t);
    t->arena_offset = -1;
    t->first_op = -1;
    t->last_op = -1;
    WS_NN_CHECK(ws_fb_vector(&L->fb, tt, 0, 4, &shape));
    if (shape.count > WS_NN_MAX_DIMS) {
        return WS_ERR_NN_LIMIT;
    }
    t->rank = (uint8_t)shape.count;
    uint64_t elements = 1;
    for (uint32_t i = 0; i < shape.count; ++i) {
        int32_t d = (int32_t)ws_fb_u32(&L->fb, shape.pos + 4 * i);
        if (d < 1 || d > WS_NN_MAX_DIM) {
            return WS_ERR_NN_SHAPE;
        }
        t->dims[i] = d;
        elements *= (uint64_t)d;
        if (elements > WS_NN_MAX_TENSOR_BYTES) {
            return WS_ERR_NN_SHAPE;
        }
    }
    WS_NN_CHECK(ws_fb_scalar(&L->fb, tt, 1, 1, 0, &type));
    if (type != WS_NN_TYPE_INT8 && type != WS_NN_TYPE_INT32 && type != WS_NN_TYPE_FLOAT32) {
        return WS_ERR_NN_TYPE;
    }
    t->type = (uint8_t)type;
    if (elements * (uint64_t)ws_nn_element_size(t->type) > WS_NN_MAX_TENSOR_BYTES) {
        return WS_ERR_NN_SHAPE;
    }
    t->bytes = (uint32_t)(elements * (uint64_t)ws_nn_element_size(t->type));
    WS_NN_CHECK(ws_fb_scalar(&L->fb, tt, 5, 1, 0, &is_variable));
    WS_NN_CHECK(ws_fb_field(&L->fb, tt, 6, 4, &sparsity));
    if (is_variable != 0 || sparsity != 0) {
        return WS_ERR_NN_SCHEMA; /* variable and sparse tensors are not supported */
    }
    WS_NN_CHECK(ws_fb_scalar(&L->fb, tt, 2, 4, 0, &buffer));
    uint32_t buffer_index = (uint32_t)buffer;
    if (buffer_index >= L->buffers.count) {
        return WS_ERR_NN_INDEX;
    }
    ws_fb_table_t bt;
    ws_fb_vector_t data;
    int64_t ext_offset, ext_size;
    WS_NN_CHECK(ws_fb_vector_table(&L->fb, &L->buffers, buffer_index, &bt));
    WS_NN_CHECK(ws_fb_vector(&L->fb, &bt, 0, 1, &data));
    WS_NN_CHECK(ws_fb_scalar(&L->fb, &bt, 1, 8, 0, &ext_offset));
    WS_NN_CHECK(ws_fb_scalar(&L->fb, &bt, 2, 8, 0, &ext_size));
    if (ext_offset != 0 || ext_size != 0) {
        return WS_ERR_NN_SCHEMA; /* buffers outside the flatbuffer (>2 GB models) */
    }
    if (data.count > 0) {
        if (data.count != t->bytes) {
            return WS_ERR_NN_BUFFER;
        }
        /* read in place: aligned for the element type (our writer and the TFLite
         * converter align to 16; Python flatbuffers writers such as
         * ai-edge-quantizer's only to 4) */
        if (((uintptr_t)(L->m->file + data.pos)) % (uintptr_t)ws_nn_element_size(t->type) != 0) {
            return WS_ERR_NN_ALIGN;
        }
        t->data_pos = data.pos;
    }
    return load_quantization(L, tt, t);
}

/* Operator `index`, registered as row `kind` of the operator table: its operands,
 * the graph-order checks, the operator's own prepare, then the tensor lifetimes. */
static ws_status_t load_operator(loader_t *L, const ws_fb_table_t *ot, uint32_t index,
                                 uint32_t kind)
{
    ws_nn_model_t *m = L->m;
    ws_nn_op_t *op = &m->ops[index];
    ws_nn_op_view_t v;
    memset(op, 0, sizeof *op);
    memset(&v, 0, sizeof v);
    v.fb = &L->fb;
    v.m = m;
    v.builtin = ws_nn_op_table[kind].builtin;
    op->builtin = v.builtin;
    op->kind = (uint8_t)kind;
    ws_fb_vector_t ins, outs;
    WS_NN_CHECK(ws_fb_vector(&L->fb, ot, 1, 4, &ins));
    WS_NN_CHECK(ws_fb_vector(&L->fb, ot, 2, 4, &outs));
    if (ins.count > WS_NN_MAX_OP_INPUTS || outs.count != 1) {
        return WS_ERR_NN_INDEX;
    }
    v.n_in = (int32_t)ins.count;
    for (uint32_t i = 0; i < ins.count; ++i) {
        int32_t t = (int32_t)ws_fb_u32(&L->fb, ins.pos + 4 * i);
        if (t < -1 || t >= m->n_tensors) {
            return WS_ERR_NN_INDEX;
        }
        v.in[i] = t;
    }
    v.out = (int32_t)ws_fb_u32(&L->fb, outs.pos);
    if (v.out < 0 || v.out >= m->n_tensors) {
        return WS_ERR_NN_INDEX;
    }
    WS_NN_CHECK(ws_fb_scalar(&L->fb, ot, 3, 1, 0, &v.options_type));
    v.options_type &= 0xFF;
    WS_NN_CHECK(ws_fb_subtable(&L->fb, ot, 4, &v.options, &v.has_options));
    /* Graph order: inputs already written (or constant), the output written once. */
    for (int32_t i = 0; i < v.n_in; ++i) {
        if (v.in[i] < 0) {
            continue;
        }
        ws_nn_tensor_t *t = ws_nn_tensor(m, v.in[i]);
        if (t->data_pos == 0 && !t->written) {
            return WS_ERR_NN_GRAPH;
        }
    }
    ws_nn_tensor_t *out = ws_nn_tensor(m, v.out);
    if (out->written || out->data_pos != 0) {
        return WS_ERR_NN_GRAPH;
    }
    /* operands as the file has them; -1 for an absent optional input (a bias) */
    op->n_inputs = (uint8_t)v.n_in;
    for (int32_t i = 0; i < WS_NN_MAX_OP_INPUTS; ++i) {
        op->inputs[i] = (int16_t)(i < v.n_in ? v.in[i] : -1);
    }
    op->output = (int16_t)v.out;
    WS_NN_CHECK(ws_nn_op_table[kind].prepare(&v, op));
    m->macs += op->macs;
    out->written = 1;
    /* lifetimes: the op index at which each activation is first and last live */
    for (int32_t i = 0; i < v.n_in; ++i) {
        if (v.in[i] >= 0 && ws_nn_tensor(m, v.in[i])->data_pos == 0) {
            ws_nn_tensor(m, v.in[i])->last_op = (int16_t)index;
        }
    }
    out->first_op = (int16_t)index;
    out->last_op = (int16_t)index;
    return WS_OK;
}

static ws_status_t load(ws_nn_model_t *m, const uint8_t *data, size_t size)
{
    loader_t L;
    memset(&L, 0, sizeof L);
    L.m = m;
    L.fb.base = data;
    L.fb.size = (uint32_t)size;
    if (size < 8 || memcmp(data + 4, "TFL3", 4) != 0) {
        return WS_ERR_NN_FORMAT;
    }
    ws_fb_table_t root, graph;
    WS_NN_CHECK(ws_fb_root(&L.fb, &root));
    int64_t version;
    WS_NN_CHECK(ws_fb_scalar(&L.fb, &root, 0, 4, 0, &version));
    if (version != 3) {
        return WS_ERR_NN_SCHEMA;
    }
    ws_fb_vector_t codes, graphs, tensors, inputs, outputs, ops;
    WS_NN_CHECK(ws_fb_vector(&L.fb, &root, 1, 4, &codes));
    if (codes.count > MAX_CODES) {
        return WS_ERR_NN_LIMIT;
    }
    for (uint32_t i = 0; i < codes.count; ++i) {
        ws_fb_table_t ct;
        int64_t deprecated, builtin, op_version;
        WS_NN_CHECK(ws_fb_vector_table(&L.fb, &codes, i, &ct));
        WS_NN_CHECK(ws_fb_scalar(&L.fb, &ct, 0, 1, 0, &deprecated));
        WS_NN_CHECK(ws_fb_scalar(&L.fb, &ct, 3, 4, 0, &builtin));
        WS_NN_CHECK(ws_fb_scalar(&L.fb, &ct, 2, 4, 1, &op_version));
        L.codes[i].builtin = (int32_t)(deprecated > builtin ? deprecated : builtin);
        L.codes[i].version = (int32_t)op_version;
    }
    L.n_codes = codes.count;
    WS_NN_CHECK(ws_fb_vector(&L.fb, &root, 4, 4, &L.buffers));
    WS_NN_CHECK(ws_fb_vector(&L.fb, &root, 2, 4, &graphs));
    if (graphs.count != 1) {
        return WS_ERR_NN_SCHEMA;
    }
    WS_NN_CHECK(ws_fb_vector_table(&L.fb, &graphs, 0, &graph));
    WS_NN_CHECK(ws_fb_vector(&L.fb, &graph, 0, 4, &tensors));
    WS_NN_CHECK(ws_fb_vector(&L.fb, &graph, 1, 4, &inputs));
    WS_NN_CHECK(ws_fb_vector(&L.fb, &graph, 2, 4, &outputs));
    WS_NN_CHECK(ws_fb_vector(&L.fb, &graph, 3, 4, &ops));
    if (tensors.count > WS_NN_MAX_TENSORS || ops.count > WS_NN_MAX_OPS ||
        inputs.count > WS_NN_MAX_IO || outputs.count > WS_NN_MAX_IO) {
        return WS_ERR_NN_LIMIT;
    }
    if (inputs.count == 0 || outputs.count == 0 || ops.count == 0) {
        return WS_ERR_NN_SCHEMA;
    }
    m->n_tensors = (uint16_t)tensors.count;
    for (uint32_t i = 0; i < tensors.count; ++i) {
        ws_fb_table_t tt;
        WS_NN_CHECK(ws_fb_vector_table(&L.fb, &tensors, i, &tt));
        WS_NN_CHECK(load_tensor(&L, &tt, &m->tensors[i]));
    }
    m->n_inputs = (uint8_t)inputs.count;
    for (uint32_t i = 0; i < inputs.count; ++i) {
        int32_t t = (int32_t)ws_fb_u32(&L.fb, inputs.pos + 4 * i);
        if (t < 0 || t >= m->n_tensors) {
            return WS_ERR_NN_INDEX;
        }
        ws_nn_tensor_t *tensor = &m->tensors[t];
        if (tensor->data_pos != 0 || tensor->written) {
            return WS_ERR_NN_GRAPH;
        }
        tensor->written = 1;
        tensor->is_input = 1;
        tensor->first_op = 0;
        tensor->last_op = 0;
        m->inputs[i] = (int16_t)t;
    }
    m->n_ops = (uint16_t)ops.count;
    for (uint32_t i = 0; i < ops.count; ++i) {
        ws_fb_table_t ot;
        int64_t opcode_index;
        m->failed_op = (int32_t)i;
        WS_NN_CHECK(ws_fb_vector_table(&L.fb, &ops, i, &ot));
        WS_NN_CHECK(ws_fb_scalar(&L.fb, &ot, 0, 4, 0, &opcode_index));
        if ((uint64_t)opcode_index >= L.n_codes) {
            return WS_ERR_NN_INDEX;
        }
        const opcode_t *code = &L.codes[(uint32_t)opcode_index];
        ws_status_t known = WS_ERR_NN_OP;
        uint32_t kind = 0;
        for (uint32_t k = 0; k < ws_nn_op_table_size; ++k) {
            if (ws_nn_op_table[k].builtin == code->builtin) {
                known = (code->version >= 1 && code->version <= ws_nn_op_table[k].max_version)
                            ? WS_OK
                            : WS_ERR_NN_OP_VERSION;
                kind = k;
            }
        }
        WS_NN_CHECK(known);
        WS_NN_CHECK(load_operator(&L, &ot, i, kind));
    }
    m->failed_op = -1;
    m->n_outputs = (uint8_t)outputs.count;
    for (uint32_t i = 0; i < outputs.count; ++i) {
        int32_t t = (int32_t)ws_fb_u32(&L.fb, outputs.pos + 4 * i);
        if (t < 0 || t >= m->n_tensors) {
            return WS_ERR_NN_INDEX;
        }
        ws_nn_tensor_t *tensor = &m->tensors[t];
        if (!tensor->written || tensor->is_input || tensor->data_pos != 0) {
            return WS_ERR_NN_GRAPH;
        }
        tensor->last_op = (int16_t)m->n_ops; /* alive after the last operator */
        m->outputs[i] = (int16_t)t;
    }
    ws_nn_plan(m);
    return WS_OK;
}

ws_status_t ws_nn_load(ws_nn_model_t *model, const uint8_t *data, size_t size)
{
    if (!model || !data) {
        return WS_ERR_ARG;
    }
    memset(model, 0, sizeof *model);
    model->failed_op = -1;
    if (size > 0x7FFFFFF0u) {
        return WS_ERR_NN_LIMIT;
    }
    if (((uintptr_t)data) % 4 != 0) {
        return WS_ERR_NN_ALIGN;
    }
    model->file = data;
    model->size = (uint32_t)size;
    ws_status_t st = load(model, data, size);
    if (st != WS_OK) {
        int32_t failed = model->failed_op;
        memset(model, 0, sizeof *model);
        model->failed_op = failed;
        return st;
    }
    model->loaded = 1;
    return WS_OK;
}
