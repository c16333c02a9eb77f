/* MAX_POOL_2D against a direct evaluation of its definition (maximum over the valid
 * taps, then the activation clamp) on random shapes, paddings and clamps: the M4 DSP
 * build's four-channel SSUB8/SEL kernel and the portable one. */
#include <string.h>

#include "ws_nn.h"
#include "ws_test.h"

static uint32_t rng_state = 0x1234567u;

static uint32_t next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static int32_t pick(int32_t lo, int32_t hi)
{
    return lo + (int32_t)(next() % (uint32_t)(hi - lo + 1));
}

static int8_t input[4 * 9 * 9];
static int8_t got[4 * 9 * 9 * 2];
static int8_t want[4 * 9 * 9 * 2];

int ws_test_run(void)
{
    uint32_t bad = 0;
    for (int trial = 0; trial < 400; ++trial) {
        const ws_nn_dims_t in = {1, pick(1, 4), pick(1, 9), pick(1, 9)};
        ws_nn_pool_params_t p;
        p.filter_h = pick(1, in.h);
        p.filter_w = pick(1, in.w);
        p.stride_h = pick(1, 3);
        p.stride_w = pick(1, 3);
        p.pad_h = pick(0, p.filter_h - 1);
        p.pad_w = pick(0, p.filter_w - 1);
        p.act_min = trial % 2 ? -128 : pick(-128, 20);
        p.act_max = trial % 3 ? 127 : pick(p.act_min, 127);
        const ws_nn_dims_t out = {1, (in.h + 2 * p.pad_h - p.filter_h) / p.stride_h + 1,
                                  (in.w + 2 * p.pad_w - p.filter_w) / p.stride_w + 1, in.c};
        for (int32_t i = 0; i < in.h * in.w * in.c; ++i) {
            input[i] = (int8_t)(next() & 0xFF);
        }
        for (int32_t oy = 0; oy < out.h; ++oy) {
            for (int32_t ox = 0; ox < out.w; ++ox) {
                for (int32_t c = 0; c < in.c; ++c) {
                    int32_t m = -129;
                    for (int32_t fy = 0; fy < p.filter_h; ++fy) {
                        for (int32_t fx = 0; fx < p.filter_w; ++fx) {
                            const int32_t y = oy * p.stride_h - p.pad_h + fy;
                            const int32_t x = ox * p.stride_w - p.pad_w + fx;
                            if (y >= 0 && y < in.h && x >= 0 && x < in.w) {
                                const int32_t v = input[(y * in.w + x) * in.c + c];
                                m = v > m ? v : m;
                            }
                        }
                    }
                    m = m < p.act_min ? p.act_min : (m > p.act_max ? p.act_max : m);
                    want[(oy * out.w + ox) * in.c + c] = (int8_t)m;
                }
            }
        }
        WS_TEST_ASSERT_EQ_INT(ws_nn_maxpool_s8(&p, &in, input, &out, got), WS_OK);
        bad += memcmp(got, want, (size_t)(out.h * out.w * out.c)) != 0;
    }
    WS_TEST_ASSERT_EQ_INT(bad, 0);
    return ws_test_failures();
}
