"""Hostile `.tflite` files against the sanitizer build of the interpreter: each bad
file gets its documented status code, and random corruption never crashes (ASan/UBSan
would abort the process on any out-of-bounds read or undefined behaviour)."""

from __future__ import annotations

import numpy as np
import pytest

from wearsense.firmware.nn import InterpreterError, NNModel
from wearsense.tflite import Model, Operator, Tensor, write_tflite
from wearsense.tflite.builder import GraphBuilder, activation_qparams

pytestmark = pytest.mark.sanitized

Q = activation_qparams(-2.0, 2.0)


def _small_net(**conv: object) -> GraphBuilder:
    rng = np.random.default_rng(7)
    g = GraphBuilder()
    x = g.input((1, 1, 16, 3), Q)
    y = g.conv1d(x, rng.normal(size=(4, 3, 3)), rng.normal(size=4), Q, **conv)  # type: ignore[arg-type]
    g.output(g.dense(g.global_avg_pool(y), rng.normal(size=(2, 4)), None, Q))
    return g


class _Unchecked(Model):
    """A description the writer does not validate, to build deliberately broken files."""

    def validate(self) -> None:
        return None


def _unchecked(g: GraphBuilder) -> bytes:
    return write_tflite(_Unchecked(g.tensors, g.operators, g.inputs, g.outputs))


def _status(asan_core, data: bytes, **kwargs: object) -> int:  # type: ignore[no-untyped-def]
    with pytest.raises(InterpreterError) as info:
        NNModel(data, module=asan_core, **kwargs)  # type: ignore[arg-type]
    return info.value.status


def test_good_model_loads_and_runs(asan_core) -> None:  # type: ignore[no-untyped-def]
    model = NNModel(write_tflite(_small_net().build()), module=asan_core)
    out = model.run(np.zeros((1, 1, 16, 3), np.int8))[0]
    assert out.shape == (1, 2)


def test_not_a_flatbuffer(asan_core) -> None:  # type: ignore[no-untyped-def]
    assert _status(asan_core, b"") == 0x40
    assert _status(asan_core, b"\x00" * 7) == 0x40
    good = write_tflite(_small_net().build())
    assert _status(asan_core, good[:4] + b"XXXX" + good[8:]) == 0x40


def test_truncated_files(asan_core) -> None:  # type: ignore[no-untyped-def]
    good = write_tflite(_small_net().build())
    assert _status(asan_core, good[: len(good) // 2]) == 0x41
    for cut in range(8, len(good), 7):
        status = _status(asan_core, good[:cut])
        assert 0x40 <= status <= 0x5F


def test_root_offset_outside_file(asan_core) -> None:  # type: ignore[no-untyped-def]
    good = bytearray(write_tflite(_small_net().build()))
    good[0:4] = (len(good) + 64).to_bytes(4, "little")
    assert _status(asan_core, bytes(good)) == 0x41
    good[0:4] = (6).to_bytes(4, "little")  # inside the file but not 4-byte aligned
    assert _status(asan_core, bytes(good)) == 0x42


def test_huge_dimensions(asan_core) -> None:  # type: ignore[no-untyped-def]
    g = GraphBuilder()
    x = g.input((1, 1, 1 << 23, 64), Q)
    g.output(g.pool1d(x, "max", 2, 2))
    assert _status(asan_core, write_tflite(g.build())) == 0x48


def test_unsupported_operator_and_version(asan_core) -> None:  # type: ignore[no-untyped-def]
    g = GraphBuilder()
    x = g.input((1, 4), Q)
    out = g._activation("y", (1, 4), Q)
    g.operators.append(Operator("EXP", [x], [out]))
    g.output(out)
    assert _status(asan_core, write_tflite(g.build())) == 0x45
    g = _small_net()
    g.operators[0].version = 99
    assert _status(asan_core, write_tflite(g.build())) == 0x46


def test_inconsistent_quantization(asan_core) -> None:  # type: ignore[no-untyped-def]
    g = _small_net()
    bias = next(t for t in g.tensors if t.dtype == "int32" and t.name.endswith("bias"))
    bias.scale = [s * 3 for s in bias.scale]  # not input scale x weight scale
    assert _status(asan_core, write_tflite(g.build())) == 0x49
    g = _small_net()
    pooled = g.tensors[g.operators[1].outputs[0]]
    pooled.scale = [pooled.scale[0] * 2]  # pooling must keep its input's quantization
    assert _status(asan_core, write_tflite(g.build())) == 0x49
    g = _small_net()
    g.tensors[g.inputs[0]].scale = []
    g.tensors[g.inputs[0]].zero_point = []
    assert _status(asan_core, write_tflite(g.build())) == 0x49


def test_bad_options_and_shapes(asan_core) -> None:  # type: ignore[no-untyped-def]
    g = _small_net()
    g.operators[0].options["stride_w"] = 0
    assert _status(asan_core, _unchecked(g)) == 0x4A
    g = _small_net()
    out = g.tensors[g.operators[0].outputs[0]]
    out.shape = (1, 1, out.shape[2] + 1, out.shape[3])
    assert _status(asan_core, _unchecked(g)) == 0x48


def test_bad_indices_and_graph(asan_core) -> None:  # type: ignore[no-untyped-def]
    g = _small_net()
    g.operators[0].inputs[0] = 500
    assert _status(asan_core, _unchecked(g)) == 0x4B
    g = _small_net()
    g.operators.reverse()  # the dense layer reads a tensor not yet written
    assert _status(asan_core, _unchecked(g)) == 0x4C


def test_constant_size_mismatch(asan_core) -> None:  # type: ignore[no-untyped-def]
    g = _small_net()
    weight = g.tensors[g.operators[0].inputs[1]]
    assert weight.data is not None
    weight.data = weight.data.reshape(-1)[:-1].copy()
    assert _status(asan_core, _unchecked(g)) == 0x4F


def test_wrong_types(asan_core) -> None:  # type: ignore[no-untyped-def]
    g = _small_net()
    g.tensors[g.inputs[0]] = Tensor("input", (1, 1, 16, 3), "float32")
    assert _status(asan_core, write_tflite(g.build())) == 0x47


def test_arena_too_small_and_misaligned(asan_core) -> None:  # type: ignore[no-untyped-def]
    data = write_tflite(_small_net().build())
    needed = NNModel(data, module=asan_core).arena_bytes
    assert needed > 0
    assert _status(asan_core, data, arena_bytes=needed - 1) == 0x4D
    NNModel(data, module=asan_core, arena_bytes=needed)  # exactly enough is enough
    model = NNModel(data, module=asan_core)
    ffi, lib = asan_core.ffi, asan_core.lib
    arena = ffi.new("uint8_t[]", needed + 32)
    misaligned = ffi.cast("uint8_t *", arena) + (1 + (-int(ffi.cast("uintptr_t", arena)) % 16))
    assert lib.ws_nn_set_arena(model._model, misaligned, needed) == 0x42


def test_invoke_before_arena(asan_core) -> None:  # type: ignore[no-untyped-def]
    ffi, lib = asan_core.ffi, asan_core.lib
    raw = ffi.new("uint8_t[]", lib.ws_nn_model_struct_size())
    model = ffi.cast("ws_nn_model_t *", raw)
    assert lib.ws_nn_invoke(model) == 0x4E


def test_random_corruption_never_crashes(asan_core) -> None:  # type: ignore[no-untyped-def]
    good = write_tflite(_small_net(padding="SAME", dilation=2).build())
    rng = np.random.default_rng(1234)
    accepted = 0
    for _ in range(400):
        data = bytearray(good)
        for _ in range(int(rng.integers(1, 8))):
            data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
        try:
            model = NNModel(bytes(data), module=asan_core)
        except InterpreterError as exc:
            assert 0x40 <= exc.status <= 0x5F
            continue
        accepted += 1
        inputs = [
            np.zeros(info.shape, dtype=info.dtype) + np.asarray(rng.integers(-5, 5), info.dtype)
            for info in model.inputs
        ]
        try:
            model.run(*inputs)
        except InterpreterError as exc:  # a kernel may refuse at run time, never crash
            assert 0x40 <= exc.status <= 0x5F
    assert accepted < 400


def test_random_valid_models_run_clean_under_sanitizers(asan_core) -> None:  # type: ignore[no-untyped-def]
    """Valid models through the ASan/UBSan build give the plain build's bytes."""
    from wearsense.firmware import core
    from wearsense.testing.tflite_models import random_inputs, random_model

    for seed in range(30):
        rng = np.random.default_rng(seed)
        model = random_model(lambda lo, hi, r=rng: int(r.integers(lo, hi + 1)), rng)
        data = write_tflite(model)
        inputs = random_inputs(model, rng)
        sanitized = NNModel(data, module=asan_core).run(*inputs)
        plain = NNModel(data, module=core(sanitized=False)).run(*inputs)
        assert [a.tobytes() for a in sanitized] == [b.tobytes() for b in plain]


def test_leaky_relu_needs_a_positive_slope(asan_core) -> None:  # type: ignore[no-untyped-def]
    for alpha in (0.0, -0.5, float("nan"), 1e9):
        g = GraphBuilder()
        g.output(g.leaky_relu(g.input((1, 8), Q), alpha, Q))
        assert _status(asan_core, _unchecked(g)) == 0x4A
