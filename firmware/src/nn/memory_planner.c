/* The memory planner: every activation tensor gets an offset in one arena, computed
 * once by ws_nn_load() from the tensors' lifetimes (the first and last operator that
 * touches each), with in-place pairs an operator's registration may ask for. */
#include "nn_op.h"

static uint32_t align_up(uint32_t v)
{
    return (v + WS_NN_ARENA_ALIGN - 1) & ~(uint32_t)(WS_NN_ARENA_ALIGN - 1);
}

/* In-place pairs: an operator's output placed at a fixed byte distance `delta` from
 * its input, the two allowed to overlap although their lifetimes touch (at that op):
 *  - RESHAPE: the same bytes (delta 0; the copy is then skipped);
 *  - ADD, MUL, LOGISTIC, TANH on int8: elementwise, each output element written after
 *    its inputs are read (delta 0) when the input's last use is this operator;
 *  - DEPTHWISE_CONV_2D, depth multiplier 1, no dilation, 1-D ([1, 1, W, C]), when the
 *    input's last use is this operator: output position x only needs input positions
 *    >= s*x - p, and every kernel writes output x (per channel) after reading its
 *    window, so output x may overwrite input position x + d (same channel: delta =
 *    d * C) for every d < s - p, the most negative future read being s(x+1) - p.
 *    delta is the largest such multiple of C that keeps 16-byte alignment.
 * A tensor is in at most one pair; graph outputs are never overwritten. */
int ws_nn_pair_ok(const ws_nn_model_t *m, int32_t in, int32_t out, const int8_t *paired,
                  uint32_t op_index, int needs_last_use)
{
    const ws_nn_tensor_t *ti = &m->tensors[in];
    if (paired[in] || paired[out] || ti->data_pos != 0 || ti->first_op < 0) {
        return 0;
    }
    for (uint32_t k = 0; k < m->n_outputs; ++k) {
        if (m->outputs[k] == in) {
            return 0;
        }
    }
    return !needs_last_use || ti->last_op == (int16_t)op_index;
}

/* RESHAPE: the same bytes, whatever the input's later uses (the copy is then skipped). */
int32_t ws_nn_in_place_alias(const ws_nn_model_t *m, const ws_nn_op_t *op, uint32_t op_index,
                             const int8_t *paired, int32_t *delta)
{
    *delta = 0;
    return ws_nn_pair_ok(m, op->inputs[0], op->output, paired, op_index, 0) ? op->inputs[0] : -1;
}

/* Elementwise int8 operators: the first input of the output's size whose last use is
 * this operator. */
int32_t ws_nn_in_place_elementwise(const ws_nn_model_t *m, const ws_nn_op_t *op,
                                   uint32_t op_index, const int8_t *paired, int32_t *delta)
{
    const ws_nn_tensor_t *to = &m->tensors[op->output];
    *delta = 0;
    for (uint32_t k = 0; k < op->n_inputs; ++k) {
        const int32_t cand = op->inputs[k];
        if (m->tensors[cand].bytes == to->bytes && to->type == WS_NN_TYPE_INT8 &&
            ws_nn_pair_ok(m, cand, op->output, paired, op_index, 1)) {
            return cand;
        }
    }
    return -1;
}

static void find_pairs(const ws_nn_model_t *m, int16_t partner[], int32_t delta[])
{
    int8_t paired[WS_NN_MAX_TENSORS];
    memset(paired, 0, sizeof paired);
    for (int32_t i = 0; i < m->n_tensors; ++i) {
        partner[i] = -1;
        delta[i] = 0;
    }
    for (uint32_t i = 0; i < m->n_ops; ++i) {
        const ws_nn_op_t *op = &m->ops[i];
        const ws_nn_in_place_fn in_place = ws_nn_op_table[op->kind].in_place;
        const int32_t out = op->output;
        int32_t d = 0;
        const int32_t in = in_place ? in_place(m, op, i, paired, &d) : -1;
        if (in >= 0) {
            paired[in] = paired[out] = 1;
            partner[in] = (int16_t)out;
            partner[out] = (int16_t)in;
            delta[out] = d;   /* out = in + d */
            delta[in] = -d;   /* in = out - d */
        }
    }
}

/* Does [offset, offset + bytes) during [first, last] overlap a placed tensor (other
 * than `skip`)? Returns the end of the first such tensor, or 0. */
static uint32_t conflict(const ws_nn_model_t *m, const uint8_t placed[], int32_t self, int32_t skip,
                         int64_t offset)
{
    const ws_nn_tensor_t *t = &m->tensors[self];
    const int64_t end = offset + align_up(t->bytes);
    for (int32_t j = 0; j < m->n_tensors; ++j) {
        const ws_nn_tensor_t *o = &m->tensors[j];
        if (!placed[j] || j == skip || o->last_op < t->first_op || o->first_op > t->last_op) {
            continue;
        }
        const int64_t o_start = o->arena_offset, o_end = o_start + align_up(o->bytes);
        if (offset < o_end && o_start < end) {
            return (uint32_t)o_end;
        }
    }
    return 0;
}

/* The order in which a strategy places tensors: larger key first. Strategies 0-3 are
 * classic orders; the others shuffle (a fixed pseudo-random order per strategy). */
static uint64_t plan_key(const ws_nn_tensor_t *t, int32_t index, int strategy)
{
    const uint64_t bytes = t->bytes, span = (uint64_t)(t->last_op - t->first_op + 1);
    switch (strategy) {
    case 0: return bytes;                                 /* largest first */
    case 1: return bytes * span;                          /* largest area first */
    case 2: return (span << 32) | bytes;                  /* longest-lived first */
    case 3: return ((uint64_t)(0x7FFF - t->first_op) << 32) | bytes; /* earliest first */
    default: {
        uint32_t h = (uint32_t)index * 2654435761u ^ (uint32_t)strategy * 2246822519u;
        h ^= h >> 15;
        h *= 2654435761u;
        h ^= h >> 13;
        return h;
    }
    }
}

#define PLAN_STRATEGIES 8

/* One strategy: tensors in plan_key order, each (with its in-place partner, if any)
 * at the lowest 16-byte-aligned offset where neither overlaps a placed tensor whose
 * lifetime overlaps its own (first fit). Returns the high-water mark. */
static uint32_t plan_with(ws_nn_model_t *m, int strategy, const int16_t partner[],
                          const int32_t delta[])
{
    uint8_t placed[WS_NN_MAX_TENSORS];
    uint32_t end = 0;
    memset(placed, 0, sizeof placed);
    for (;;) {
        int32_t pick = -1;
        uint64_t best = 0;
        for (int32_t i = 0; i < m->n_tensors; ++i) {
            ws_nn_tensor_t *t = &m->tensors[i];
            if (placed[i] || t->data_pos != 0 || t->first_op < 0) {
                continue;
            }
            const uint64_t key = plan_key(t, i, strategy);
            if (pick < 0 || key > best) {
                pick = i;
                best = key;
            }
        }
        if (pick < 0) {
            break;
        }
        const int32_t mate = partner[pick];
        const int32_t d = mate >= 0 ? delta[mate] : 0; /* mate = pick + d */
        /* the lowest offset where pick (and mate at offset + d) fit */
        int64_t offset = mate >= 0 && d < 0 ? -(int64_t)d : 0;
        for (int moved = 1; moved;) {
            moved = 0;
            uint32_t e = conflict(m, placed, pick, mate, offset);
            if (e) {
                offset = e;
                moved = 1;
                continue;
            }
            if (mate >= 0) {
                e = conflict(m, placed, mate, pick, offset + d);
                if (e) {
                    offset = (int64_t)e - d;
                    moved = 1;
                }
            }
        }
        m->tensors[pick].arena_offset = (int32_t)offset;
        placed[pick] = 1;
        if ((uint32_t)offset + align_up(m->tensors[pick].bytes) > end) {
            end = (uint32_t)offset + align_up(m->tensors[pick].bytes);
        }
        if (mate >= 0) {
            m->tensors[mate].arena_offset = (int32_t)(offset + d);
            placed[mate] = 1;
            if ((uint32_t)(offset + d) + align_up(m->tensors[mate].bytes) > end) {
                end = (uint32_t)(offset + d) + align_up(m->tensors[mate].bytes);
            }
        }
    }
    return end;
}

/* The plan: every strategy tried, the smallest kept. Computed once, at load. */
void ws_nn_plan(ws_nn_model_t *m)
{
    int16_t partner[WS_NN_MAX_TENSORS];
    int32_t delta[WS_NN_MAX_TENSORS];
    find_pairs(m, partner, delta);
    int32_t live = 0;
    for (int32_t i = 0; i < m->n_tensors; ++i) {
        live += m->tensors[i].data_pos == 0 && m->tensors[i].first_op >= 0;
    }
    /* each try costs ~live^3 steps: the shuffled ones only for small graphs */
    const int strategies = live <= 40 ? PLAN_STRATEGIES : live <= 80 ? 6 : 4;
    int best = 0;
    uint32_t best_end = UINT32_MAX;
    for (int strategy = 0; strategy < strategies; ++strategy) {
        const uint32_t e = plan_with(m, strategy, partner, delta);
        if (e < best_end) {
            best_end = e;
            best = strategy;
        }
    }
    const uint32_t end = plan_with(m, best, partner, delta);
    m->tensor_bytes = end;
    uint32_t persistent = 0;
    for (uint32_t i = 0; i < m->n_ops; ++i) {
        ws_nn_op_t *op = &m->ops[i];
        op->persistent_offset = persistent;
        persistent += align_up(op->channels * 8u);
    }
    m->persistent_bytes = persistent;
    m->scratch_bytes = 0; /* the reference kernels need none */
}
