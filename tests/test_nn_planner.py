"""The interpreter's memory plan: its parts add up to the arena, it never needs more
than the largest set of tensors alive at one operator (in-place pairs make it less),
and it is at most 0.75 of TFLM's arena for every shipped model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wearsense.firmware.nn import NNModel
from wearsense.testing.tflite_models import random_inputs, random_model
from wearsense.testing.tflm_reference import tflm_arena_bytes, tflm_run
from wearsense.tflite import read_tflite, write_tflite
from wearsense.tflite.builder import GraphBuilder, activation_qparams

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "models").glob("**/*.tflite"))


def _align(n: int) -> int:
    return (n + 15) // 16 * 16


def _live_peak(data: bytes) -> int:
    """Largest sum of (16-byte aligned) activation sizes alive at one operator."""
    model = read_tflite(data)
    first: dict[int, int] = {i: 0 for i in model.inputs}
    last: dict[int, int] = {i: 0 for i in model.inputs}
    for k, op in enumerate(model.operators):
        for i in op.inputs:
            if i >= 0 and model.tensors[i].data is None:
                last[i] = k
        for o in op.outputs:
            first[o] = last[o] = k
    for o in model.outputs:
        last[o] = len(model.operators)
    size = {
        i: _align(
            int(np.prod(model.tensors[i].shape)) * model.tensors[i].data.itemsize
            if model.tensors[i].data is not None
            else int(np.prod(model.tensors[i].shape))
            * (4 if model.tensors[i].dtype == "float32" else 1)
        )
        for i in first
    }
    return max(
        sum(size[i] for i in first if first[i] <= k <= last[i])
        for k in range(len(model.operators) + 1)
    )


@pytest.mark.parametrize("seed", range(30))
def test_plan_parts_sum_and_bound(seed: int) -> None:
    rng = np.random.default_rng(500 + seed)
    described = random_model(lambda lo, hi, r=rng: int(r.integers(lo, hi + 1)), rng)
    data = write_tflite(described)
    model = NNModel(data)
    parts = model.arena_parts
    assert sum(parts.values()) == model.arena_bytes
    assert parts["activations"] <= _live_peak(data)
    # and the plan runs: same bytes as TFLM
    inputs = random_inputs(described, rng)
    for got, want in zip(
        model.run(*inputs), tflm_run(data, inputs, outputs=len(described.outputs)), strict=True
    ):
        assert got.tobytes() == want.tobytes()


def test_depthwise_runs_in_place() -> None:
    """A 1-D depthwise layer (stride 1, SAME) whose input dies there shares its
    input's memory, offset by the positions its window reaches back: the plan needs
    the input plus a few positions, not input plus output."""
    rng = np.random.default_rng(7)
    q = activation_qparams(-2.0, 2.0)
    g = GraphBuilder("dw in place")
    x = g.input((1, 1, 64, 2), q)
    y = g.conv1d(x, rng.normal(size=(16, 2, 1)), rng.normal(size=16), q)
    z = g.conv1d(
        y, rng.normal(size=(16, 1, 5)), rng.normal(size=16), q, 1, "SAME", 1, "RELU", depthwise=True
    )
    g.output(g.conv1d(z, rng.normal(size=(4, 16, 1)), None, q))
    described = g.build()
    data = write_tflite(described)
    model = NNModel(data)
    # without in-place the depthwise step needs 1024 + 1024 bytes; with it, its output
    # starts 2 positions (32 bytes) before its input, and the last step (1024 + 256)
    # is the largest
    assert _live_peak(data) == 2048
    assert model.arena_parts["activations"] <= 1024 + 256 + 32
    inputs = random_inputs(described, rng)
    assert model.run(*inputs)[0].tobytes() == tflm_run(data, inputs)[0].tobytes()


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_models_need_at_most_three_quarters_of_tflm(path: Path) -> None:
    data = path.read_bytes()
    assert NNModel(data).arena_bytes <= 0.75 * tflm_arena_bytes(data)
