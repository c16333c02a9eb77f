"""Models quantized by another tool (ai-edge-quantizer's static int8 recipe, made by
tools/make_foreign_fixtures.py) run bit-exact with TFLM on our interpreter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wearsense.firmware.nn import NNModel
from wearsense.testing.tflm_reference import tflm_run
from wearsense.tflite import read_tflite

pytest.importorskip("tflite_micro")

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "foreign").glob("*.tflite"))


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_foreign_fixture_is_bit_exact(path: Path) -> None:
    data = path.read_bytes()
    described = read_tflite(data, path.name)
    model = NNModel(data, path.name)
    assert model.arena_bytes > 0 and model.macs > 0
    rng = np.random.default_rng(3)
    for _ in range(20):
        inputs = [rng.integers(-128, 128, size=info.shape, dtype=np.int8) for info in model.inputs]
        got = model.run(*inputs)
        want = tflm_run(data, inputs, outputs=len(described.outputs))
        assert [a.tobytes() for a in got] == [b.tobytes() for b in want]


def test_fixtures_exist() -> None:
    assert len(FIXTURES) >= 2
