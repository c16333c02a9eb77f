"""Helpers shared by the interpreter tests: single-operator models and the TFLM check."""

from __future__ import annotations

import numpy as np

from wearsense.firmware.nn import NNModel
from wearsense.testing.tflite_models import random_inputs
from wearsense.testing.tflm_reference import tflm_run
from wearsense.tflite import Model, write_tflite


def assert_bit_exact(model: Model, rng: np.random.Generator, runs: int = 2) -> NNModel:
    """Runs ``model`` on our interpreter and on TFLM; every output byte must agree."""
    data = write_tflite(model)
    ours = NNModel(data)
    for _ in range(runs):
        inputs = random_inputs(model, rng)
        got = ours.run(*inputs)
        expected = tflm_run(data, inputs, outputs=len(model.outputs))
        for a, b in zip(got, expected, strict=True):
            assert a.dtype == b.dtype
            assert a.shape == b.shape
            assert a.tobytes() == b.tobytes(), (
                f"mismatch: ours {a.ravel()[:8]} tflm {b.ravel()[:8]}"
            )
    return ours
