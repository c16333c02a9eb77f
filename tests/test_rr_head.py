"""The AFib RR head: a small network on the RR features alone whose logits join the trained
student's (`models.add_side_head`, `afib.fit_rr_head`, `afib.attach_rr_head`, and
`wearsense train afib --rr-head / --from-student`)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from wearsense.firmware.nn import NNModel
from wearsense.training import afib
from wearsense.training.models import ConvNet, NetConfig, add_side_head
from wearsense.training.pipeline import int8_probabilities, save_float_model
from wearsense.training.pipeline import load_float_model as afib_load

REPO = Path(__file__).resolve().parents[1]
SIDE = 6
SIGNAL = 64


def _hybrid(seed: int = 0) -> ConvNet:
    torch.manual_seed(seed)
    config = NetConfig(
        in_channels=1,
        n_classes=4,
        stem_width=4,
        stem_stride=2,
        blocks=((6, 2), (6, 1)),
        kernel=3,
        side_features=SIDE,
        joint_width=5,
    )
    model = ConvNet(config)
    for module in model.modules():  # BatchNorm statistics that are not the identity
        if isinstance(module, torch.nn.BatchNorm1d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 1.5)
    return model.fuse().eval()


def _head(hidden: int, seed: int = 1) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    return (
        rng.normal(0, 0.5, (hidden, SIDE)).astype(np.float32),
        rng.normal(0, 0.1, hidden).astype(np.float32),
        rng.normal(0, 0.5, (4, hidden)).astype(np.float32),
        rng.normal(0, 0.1, 4).astype(np.float32),
    )


def _logits(model: ConvNet, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def test_the_head_adds_its_logits_at_its_weight():
    model = _hybrid()
    x = np.random.default_rng(2).normal(0, 1, (20, 1, SIGNAL + SIDE)).astype(np.float32)
    w1, b1, w2, b2 = _head(3)
    before = _logits(model, x)
    side = x[:, 0, SIGNAL:]
    head = np.maximum(side @ w1.T + b1, 0) @ w2.T + b2
    for weight in (0.0, 0.5, 2.0):
        widened = add_side_head(model, w1, b1, w2, b2, weight)
        assert widened.config.joint_width == model.config.joint_width + 3
        np.testing.assert_allclose(_logits(widened, x), before + weight * head, atol=1e-5)
    np.testing.assert_array_equal(_logits(model, x), before)  # the original is untouched


def test_the_head_refuses_what_does_not_fit():
    model = _hybrid()
    w1, b1, w2, b2 = _head(3)
    with pytest.raises(ValueError, match="side features"):
        add_side_head(model, w1[:, :4], b1, w2, b2, 1.0)
    with pytest.raises(ValueError, match="classes"):
        add_side_head(model, w1, b1, w2[:3], b2[:3], 1.0)
    plain = ConvNet(NetConfig(in_channels=1, n_classes=4, blocks=((6, 2),))).fuse()
    with pytest.raises(ValueError, match="hybrid"):
        add_side_head(plain, w1, b1, w2, b2, 1.0)


def _planted_rr(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """int8 RR features whose first four values say the class (the rest is noise)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n)
    rr = rng.integers(-10, 50, (n, afib.RR_FEATURES))  # off zero: the standardisation counts
    rr[np.arange(n), labels] += 70
    return rr.astype(np.int8), labels


def test_the_fitted_head_reads_the_int8_features_as_the_model_does():
    rr, labels = _planted_rr(600, 0)
    head = afib.fit_rr_head(rr, labels, hidden=8, seed=0)
    test_rr, test_labels = _planted_rr(300, 1)
    x = test_rr.astype(np.float64) * afib.INPUT_SCALE  # the float value of the int8 input
    logits = np.maximum(x @ head.w1.T + head.b1, 0) @ head.w2.T + head.b2
    assert (logits.argmax(1) == test_labels).mean() > 0.95
    # calibrated as trained: the features' scale and offset are folded in, not lost
    shifted = logits - logits.max(1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    assert -log_p[np.arange(len(test_labels)), test_labels].mean() < 0.3
    with pytest.raises(ValueError, match="every class"):
        afib.fit_rr_head(rr[labels < 3], labels[labels < 3], hidden=8, seed=0)
    with pytest.raises(ValueError, match="hidden"):
        afib.fit_rr_head(rr, labels, hidden=0, seed=0)


def _afib_like_student() -> ConvNet:
    """A hybrid AFib-shaped student (1280 samples + 16 RR features) that knows nothing."""
    torch.manual_seed(0)
    config = NetConfig(
        in_channels=1,
        n_classes=4,
        stem_width=4,
        stem_stride=4,
        blocks=((4, 4), (4, 4)),
        kernel=3,
        side_features=afib.RR_FEATURES,
        joint_width=4,
    )
    return ConvNet(config).fuse().eval()


def test_the_weight_is_chosen_on_validation_and_the_int8_model_follows():
    student = _afib_like_student()
    rng = np.random.default_rng(5)

    def rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        rr, labels = _planted_rr(n, seed)
        ecg = rng.integers(-30, 30, (n, afib.WINDOW)).astype(np.int8)
        return np.concatenate([ecg, rr], axis=1)[:, None, :], labels

    x_train, y_train = rows(400, 2)
    x_val, y_val = rows(120, 3)
    head = afib.fit_rr_head(x_train[:, 0, afib.WINDOW :], y_train, hidden=6, seed=0)
    owner = np.arange(len(y_val))  # one window per record
    model, tflite, weight, scores = afib.attach_rr_head(
        student,
        head,
        x_train[:64].astype(np.float32) * np.float32(afib.INPUT_SCALE),
        x_val,
        owner,
        y_val,
        "test",
        weights=(0.0, 1.0),
    )
    assert set(scores) == {"0", "1"}
    assert weight == 1.0 and scores["1"] > scores["0"]  # the head is what knows the classes
    probs = int8_probabilities(NNModel(tflite), x_val)
    assert (probs.argmax(1) == y_val).mean() > 0.85
    float_x = x_val.astype(np.float32) * np.float32(afib.INPUT_SCALE)
    agree = (_logits(model, float_x).argmax(1) == probs.argmax(1)).mean()
    assert agree > 0.95


@pytest.mark.skipif(not afib.held_out_records(None), reason="CinC 2017 data not present")
def test_from_student_adds_the_head_then_fine_tunes_quantization_aware(tmp_path):
    """A small hybrid student and teacher saved as training saves them; the head, its
    weight on validation and one epoch of quantization-aware fine-tuning on 60 records."""
    import json

    teacher, student = afib.nets(True, 4, 1.0)
    student = dataclasses.replace(student.scaled(0.25), joint_width=4)
    teacher = dataclasses.replace(teacher.scaled(0.25), joint_width=4)
    base = tmp_path / "base"
    base.mkdir()
    torch.manual_seed(0)
    save_float_model(ConvNet(student).fuse(), student, base / "student_float.pt")
    save_float_model(ConvNet(teacher), teacher, base / "teacher.pt")
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-m", "wearsense.cli", "train", "afib"]
        + ["--from-student", str(base / "student_float.pt"), "--out", str(out)]
        + ["--max-records", "60", "--qat-epochs", "1", "--rr-head", "4"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    summary = json.loads((out / "training.json").read_text())
    head = summary["rr_head"]
    assert head["hidden"] == 4 and head["weight"] in afib.RR_HEAD_WEIGHTS
    assert head["quantization"].startswith("quantization-aware")
    model = NNModel((out / "afib.tflite").read_bytes())
    assert afib.model_length(model) == afib.WINDOW + afib.RR_FEATURES
    assert summary["student"]["tflite_bytes"] == len((out / "afib.tflite").read_bytes())
    for name in ("student_float.pt", "student_base.pt", "teacher.pt"):
        assert (out / name).is_file()
    widened = afib_load(out / "student_float.pt")
    assert widened.config.joint_width == 4 + 4  # the head's units joined the joint layer
    x = np.zeros((2, 1, afib.WINDOW + afib.RR_FEATURES), np.int8)
    assert int8_probabilities(model, x).shape == (2, 4)


def test_from_student_refuses_a_missing_or_wrong_student(tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "wearsense.cli", "train", "afib", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
        )

    missing = run("--from-student", str(tmp_path / "nothing.pt"), "--out", str(tmp_path / "o"))
    assert missing.returncode == 2 and "no file" in missing.stderr
    plain = ConvNet(NetConfig(in_channels=1, n_classes=4, blocks=((6, 2),))).fuse()
    save_float_model(plain, plain.config, tmp_path / "plain.pt")
    wrong = run("--from-student", str(tmp_path / "plain.pt"), "--out", str(tmp_path / "o"))
    assert wrong.returncode == 2 and "not a hybrid AFib student" in wrong.stderr
    none = run(
        "--from-student", str(tmp_path / "plain.pt"), "--rr-head", "0", "--out", str(tmp_path)
    )
    assert none.returncode == 2 and "RR head" in none.stderr
    assert not (tmp_path / "o").exists()
