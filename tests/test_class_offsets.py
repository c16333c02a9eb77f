"""Class offsets of a shipped classifier: the int8 logits the C interpreter computes, offsets
folded into the last bias, and their choice on validation records (wearsense train afib
--tune-offsets)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from wearsense.firmware.nn import NNModel
from wearsense.tflite import TFLiteError, read_tflite, write_tflite
from wearsense.training import afib
from wearsense.training.pipeline import add_logit_offsets, int8_logits, int8_probabilities, softmax

REPO = Path(__file__).resolve().parents[1]
AFIB = (REPO / "models" / "afib" / "afib.tflite").read_bytes()


def _inputs(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(-60, 60, size=(n, 1, afib.WINDOW + afib.RR_FEATURES), dtype=np.int8)


def test_int8_logits_give_the_models_probabilities():
    x = _inputs(12)
    probs = int8_probabilities(NNModel(AFIB), x)
    logits = int8_logits(AFIB, x)
    assert logits.shape == (12, len(afib.LABELS))
    # the int8 softmax rounds to 1/256: the float softmax of the int8 logits is that close
    assert np.abs(softmax(logits) - probs).max() <= 3 / 256
    assert (logits.argmax(1) == probs.argmax(1)).mean() >= 11 / 12


def test_offsets_fold_into_the_last_bias():
    x = _inputs(8, seed=1)
    before = int8_logits(AFIB, x)
    same = add_logit_offsets(AFIB, [0.0, 0.0, 0.0, 0.0])
    assert np.array_equal(int8_logits(same, x), before)
    shifted = add_logit_offsets(AFIB, [0.0, 0.0, 0.75, 0.0])
    after = int8_logits(shifted, x)
    delta = after - before
    # only "other" moves, by the offset (within the int8 output's step and its clipping)
    assert np.abs(delta[:, [0, 1, 3]]).max() == 0
    assert np.all(delta[:, 2] > 0.5) and np.all(delta[:, 2] < 1.0)
    # a large offset makes every window that class, as the device computes it
    forced = add_logit_offsets(AFIB, [0.0, 0.0, 0.0, 40.0])
    assert np.all(int8_probabilities(NNModel(forced), x).argmax(1) == 3)


def test_offsets_reject_a_model_they_do_not_fit():
    with pytest.raises(TFLiteError, match="offsets"):
        add_logit_offsets(AFIB, [0.0, 1.0])
    model = read_tflite(AFIB)
    softmax_op = next(op for op in model.operators if op.op == "SOFTMAX")
    model.operators.remove(softmax_op)
    model.outputs = [softmax_op.inputs[0]]
    with pytest.raises(TFLiteError, match="SOFTMAX"):
        add_logit_offsets(write_tflite(model), [0.0] * 4)


def test_tuning_finds_the_shift_an_underscored_class_needs():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 4, size=200)
    owner = np.repeat(np.arange(200), 3)
    logits = rng.normal(0, 0.4, size=(600, 4))
    logits[np.arange(600), labels[owner]] += 1.0  # informative
    logits[:, 2] -= 1.2  # but "other" is under-scored by 1.2
    offsets = afib.tune_class_offsets(logits, owner, labels, ("other",))
    assert offsets[[0, 1, 3]].tolist() == [0.0, 0.0, 0.0]
    assert 0.5 <= offsets[2] <= 1.5
    before = afib.record_scores(softmax(logits), owner, labels)
    after = afib.record_scores(softmax(logits + offsets), owner, labels)
    assert after[1] + after[:3].mean() > before[1] + before[:3].mean()
    # a problem without such a bias keeps offsets near zero
    fair = logits.copy()
    fair[:, 2] += 1.2
    assert abs(afib.tune_class_offsets(fair, owner, labels, ("other",))[2]) <= 0.25
    with pytest.raises(ValueError, match="normal"):
        afib.tune_class_offsets(logits, owner, labels, ("normal",))


def test_train_refuses_an_unknown_offset_class():
    run = subprocess.run(
        [sys.executable, "-m", "wearsense.cli", "train", "afib", "--tune-offsets", "other,sinus"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert run.returncode == 2
    assert "unknown class 'sinus'" in run.stderr
