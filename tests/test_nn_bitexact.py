"""The C interpreter against TFLM (tflite-micro): every output byte must agree, on
hypothesis-generated random models and on one model per kernel."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from nn_helpers import assert_bit_exact

from wearsense.firmware import core
from wearsense.firmware.nn import NNModel
from wearsense.testing.tflite_models import ACTIVATIONS, random_model
from wearsense.testing.tflm_reference import tflm_run
from wearsense.tflite import write_tflite
from wearsense.tflite.builder import GraphBuilder, activation_qparams

pytest.importorskip("tflite_micro")

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.data(), st.integers(0, 2**32 - 1))
def test_random_models_match_tflm(data: st.DataObject, seed: int) -> None:
    rng = np.random.default_rng(seed)
    model = random_model(lambda lo, hi: data.draw(st.integers(lo, hi)), rng)
    assert_bit_exact(model, rng)


def _qrange(draw: st.DrawFn) -> tuple[float, int]:
    low = draw(st.floats(-8, -0.01))
    high = draw(st.floats(0.01, 8))
    return activation_qparams(low, high)


@st.composite
def conv_models(draw: st.DrawFn, depthwise: bool):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    width, channels = draw(st.integers(1, 24)), draw(st.integers(1, 5))
    k, dilation, stride = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    padding = draw(st.sampled_from(["SAME", "VALID"]))
    if (k - 1) * dilation + 1 > width:
        padding = "SAME"
    out_c = channels * draw(st.integers(1, 3)) if depthwise else draw(st.integers(1, 6))
    g = GraphBuilder()
    x = g.input((1, 1, width, channels), _qrange(draw))
    w = rng.normal(0, 1, size=(out_c, 1 if depthwise else channels, k))
    bias = rng.normal(0, 1, size=out_c) if draw(st.booleans()) else None
    act = draw(st.sampled_from(ACTIVATIONS))
    g.output(g.conv1d(x, w, bias, _qrange(draw), stride, padding, dilation, act, depthwise))
    return g.build(), rng


@settings(max_examples=15, deadline=None)
@given(conv_models(depthwise=False))
def test_conv_s8(case) -> None:  # type: ignore[no-untyped-def]
    assert_bit_exact(*case)


@settings(max_examples=15, deadline=None)
@given(conv_models(depthwise=True))
def test_depthwise_conv_s8(case) -> None:  # type: ignore[no-untyped-def]
    assert_bit_exact(*case)


@settings(max_examples=15, deadline=None)
@given(st.data(), st.integers(0, 2**32 - 1))
def test_fully_connected_s8(data: st.DataObject, seed: int) -> None:
    rng = np.random.default_rng(seed)
    depth, units = data.draw(st.integers(1, 40)), data.draw(st.integers(1, 10))
    batches = data.draw(st.integers(1, 3))
    g = GraphBuilder()
    x = g.input((batches, depth), _qrange(data.draw))
    w = rng.normal(0, 1, size=(units, depth))
    bias = rng.normal(0, 1, size=units) if data.draw(st.booleans()) else None
    act = data.draw(st.sampled_from(ACTIVATIONS))
    g.output(g.dense(x, w, bias, _qrange(data.draw), act, per_channel=data.draw(st.booleans())))
    assert_bit_exact(g.build(), rng)


@settings(max_examples=15, deadline=None)
@given(st.data(), st.integers(0, 2**32 - 1), st.sampled_from(["max", "avg"]))
def test_pool_s8(data: st.DataObject, seed: int, kind: str) -> None:
    rng = np.random.default_rng(seed)
    width, channels = data.draw(st.integers(1, 30)), data.draw(st.integers(1, 5))
    size = data.draw(st.integers(1, min(width, 5)))
    stride = data.draw(st.integers(1, 3))
    padding = data.draw(st.sampled_from(["SAME", "VALID"]))
    g = GraphBuilder()
    x = g.input((1, 1, width, channels), _qrange(data.draw))
    g.output(g.pool1d(x, kind, size, stride, padding))
    assert_bit_exact(g.build(), rng)


@settings(max_examples=15, deadline=None)
@given(st.data(), st.integers(0, 2**32 - 1))
def test_add_s8(data: st.DataObject, seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = (1, 1, data.draw(st.integers(1, 20)), data.draw(st.integers(1, 5)))
    g = GraphBuilder()
    a = g.input(shape, _qrange(data.draw), "a")
    b = g.input(shape, _qrange(data.draw), "b")
    g.output(g.add(a, b, _qrange(data.draw), data.draw(st.sampled_from(ACTIVATIONS))))
    assert_bit_exact(g.build(), rng)


@settings(max_examples=25, deadline=None)
@given(st.data(), st.integers(0, 2**32 - 1))
def test_softmax_s8(data: st.DataObject, seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows, depth = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 12))
    g = GraphBuilder()
    x = g.input((rows, depth), _qrange(data.draw))
    g.output(g.softmax(x, data.draw(st.sampled_from([1.0, 0.25, 2.0, 1.7]))))
    assert_bit_exact(g.build(), rng, runs=4)


@settings(max_examples=10, deadline=None)
@given(st.data(), st.integers(0, 2**32 - 1))
def test_quantize_reshape_dequantize(data: st.DataObject, seed: int) -> None:
    rng = np.random.default_rng(seed)
    width, channels = data.draw(st.integers(1, 20)), data.draw(st.integers(1, 4))
    g = GraphBuilder()
    x = g.quantize(g.float_input((1, 1, width, channels)), _qrange(data.draw))
    x = g.reshape(x, (width, channels))
    g.output(g.dequantize(x))
    assert_bit_exact(g.build(), rng)


def _reference_quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplier, written from its definition with math.frexp."""
    q, shift = math.frexp(real)
    q_fixed = math.floor(q * (1 << 31) + 0.5)
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 30:
        return (1 << 31) - 1, 30
    return q_fixed, shift


@settings(max_examples=200, deadline=None)
@given(st.floats(1e-12, 1e6, allow_nan=False, allow_infinity=False))
def test_quantize_multiplier_matches_definition(real: float) -> None:
    ffi, lib = core().ffi, core().lib
    mult, shift = ffi.new("int32_t *"), ffi.new("int32_t *")
    lib.ws_nn_quantize_multiplier(real, mult, shift)
    assert (mult[0], shift[0]) == _reference_quantize_multiplier(real)


def _reference_mbqm(x: int, multiplier: int, shift: int) -> int:
    """MultiplyByQuantizedMultiplier from the spec (double rounding), in Python integers."""
    left, right = max(shift, 0), max(-shift, 0)
    a = (x * (1 << left) + 2**31) % 2**32 - 2**31  # int32 wraparound
    if a == multiplier == -(2**31):
        high = 2**31 - 1
    else:
        ab = a * multiplier
        nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
        high = _trunc_div(ab + nudge, 1 << 31)
    mask = (1 << right) - 1
    remainder = high & mask
    threshold = (mask >> 1) + (1 if high < 0 else 0)
    return (high >> right) + (1 if remainder > threshold else 0)


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // b
    return q if a >= 0 else -q


@settings(max_examples=300, deadline=None)
@given(
    st.integers(-(2**31), 2**31 - 1),
    st.integers(2**30, 2**31 - 1),
    st.integers(-31, 4),
)
def test_multiply_by_quantized_multiplier(x: int, multiplier: int, shift: int) -> None:
    lib = core().lib
    assert lib.ws_nn_multiply_by_quantized_multiplier(x, multiplier, shift) == _reference_mbqm(
        x, multiplier, shift
    )


@settings(max_examples=15, deadline=None)
@given(st.data(), st.integers(0, 2**32 - 1))
def test_mul_s8(data: st.DataObject, seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = (1, data.draw(st.integers(1, 3)), data.draw(st.integers(1, 12)), 3)
    g = GraphBuilder()
    a = g.input(shape, _qrange(data.draw), "a")
    b = g.input(shape, _qrange(data.draw), "b")
    g.output(g.mul(a, b, _qrange(data.draw), data.draw(st.sampled_from(ACTIVATIONS))))
    assert_bit_exact(g.build(), rng)


@settings(max_examples=20, deadline=None)
@given(st.data(), st.integers(0, 2**32 - 1), st.sampled_from(["logistic", "tanh"]))
def test_logistic_tanh_s8(data: st.DataObject, seed: int, kind: str) -> None:
    rng = np.random.default_rng(seed)
    g = GraphBuilder()
    x = g.input((1, 64), _qrange(data.draw))
    g.output(g.logistic(x) if kind == "logistic" else g.tanh(x))
    assert_bit_exact(g.build(), rng, runs=4)


@settings(max_examples=25, deadline=None)
@given(st.data(), st.integers(0, 2**32 - 1))
def test_mean_s8(data: st.DataObject, seed: int) -> None:
    rng = np.random.default_rng(seed)
    rank = data.draw(st.integers(1, 4))
    shape = tuple(data.draw(st.integers(1, 6)) for _ in range(rank))
    axes = sorted(data.draw(st.sets(st.integers(0, rank - 1), min_size=1)))
    axes = [a - rank if data.draw(st.booleans()) else a for a in axes]
    keep = data.draw(st.booleans()) or len(axes) == rank
    g = GraphBuilder()
    x = g.input(shape, _qrange(data.draw))
    out_q = g.qparams(x) if data.draw(st.booleans()) else _qrange(data.draw)
    g.output(g.mean(x, axes, out_q, keep))
    assert_bit_exact(g.build(), rng)


@settings(max_examples=20, deadline=None)
@given(st.data(), st.integers(0, 2**32 - 1))
def test_pad_transpose_slice_concat(data: st.DataObject, seed: int) -> None:
    rng = np.random.default_rng(seed)
    rank = data.draw(st.integers(1, 4))
    shape = tuple(data.draw(st.integers(1, 5)) for _ in range(rank))
    g = GraphBuilder()
    x = g.input(shape, _qrange(data.draw))
    kind = data.draw(st.sampled_from(["pad", "transpose", "slice", "concat"]))
    if kind == "pad":
        y = g.pad(x, [(data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2))) for _ in shape])
    elif kind == "transpose":
        y = g.transpose(x, list(data.draw(st.permutations(range(rank)))))
    elif kind == "slice":
        begin = [data.draw(st.integers(0, d - 1)) for d in shape]
        size = [data.draw(st.sampled_from([-1, d - b])) for d, b in zip(shape, begin, strict=True)]
        y = g.slice(x, begin, size)
    else:
        axis = data.draw(st.integers(0, rank - 1))
        other = list(shape)
        other[axis] = data.draw(st.integers(1, 4))
        x2 = g.input(tuple(other), g.qparams(x), "x2")
        y = g.concat([x, x2, x], axis)
    g.output(y)
    assert_bit_exact(g.build(), rng)


@settings(max_examples=30, deadline=None)
@given(st.data(), st.integers(0, 2**32 - 1))
def test_strided_slice(data: st.DataObject, seed: int) -> None:
    rng = np.random.default_rng(seed)
    rank = data.draw(st.integers(1, 4))
    shape = tuple(data.draw(st.integers(1, 6)) for _ in range(rank))
    begin = [data.draw(st.integers(-d, d - 1)) for d in shape]
    end = [data.draw(st.integers(-d - 1, d + 1)) for d in shape]
    strides = [data.draw(st.sampled_from([1, 2, 3, -1, -2])) for _ in shape]
    begin_mask = data.draw(st.integers(0, 2**rank - 1))
    end_mask = data.draw(st.integers(0, 2**rank - 1))
    shrink = data.draw(st.integers(0, 2**rank - 1)) if data.draw(st.booleans()) else 0
    for axis in range(rank):  # shrinking axes take one element at a valid begin, stride > 0
        if shrink >> axis & 1:
            begin_mask &= ~(1 << axis)
            strides[axis] = abs(strides[axis])
    index = []
    for axis in range(rank):
        if shrink >> axis & 1:
            index.append(begin[axis])
        else:
            start = None if begin_mask >> axis & 1 else begin[axis]
            stop = None if end_mask >> axis & 1 else end[axis]
            index.append(slice(start, stop, strides[axis]))
    assume(np.empty(shape)[tuple(index)].size > 0)
    g = GraphBuilder()
    x = g.input(shape, _qrange(data.draw))
    g.output(g.strided_slice(x, begin, end, strides, begin_mask, end_mask, shrink))
    assert_bit_exact(g.build(), rng)


@settings(max_examples=30, deadline=None)
@given(st.data(), st.floats(0.001, 4.0))
def test_leaky_relu_s8(data: st.DataObject, alpha: float) -> None:
    """Every int8 input value, for random input and output quantization and slopes."""
    g = GraphBuilder()
    x = g.input((1, 256), _qrange(data.draw))
    g.output(g.leaky_relu(x, alpha, _qrange(data.draw)))
    model_bytes = write_tflite(g.build())
    everything = np.arange(-128, 128, dtype=np.int8).reshape(1, 256)
    got = NNModel(model_bytes).run(everything)[0]
    assert got.tobytes() == tflm_run(model_bytes, [everything])[0].tobytes()


@settings(max_examples=10, deadline=None)
@given(st.data(), st.integers(0, 2**32 - 1))
def test_leaky_relu_in_a_graph(data: st.DataObject, seed: int) -> None:
    """Between two convolutions (planned in place on its input) on a 4-D tensor."""
    rng = np.random.default_rng(seed)
    g = GraphBuilder()
    x = g.input((1, 1, 16, 3), _qrange(data.draw))
    x = g.conv1d(x, rng.normal(0, 1, size=(4, 3, 3)), None, _qrange(data.draw), 1, "SAME")
    x = g.leaky_relu(x, data.draw(st.floats(0.01, 0.5)), _qrange(data.draw))
    g.output(g.conv1d(x, rng.normal(0, 1, size=(2, 4, 1)), None, _qrange(data.draw), 1, "SAME"))
    assert_bit_exact(g.build(), rng)
