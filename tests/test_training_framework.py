"""The shared training framework on tiny synthetic problems (unit tests only; reported
metrics always come from real recordings)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wearsense.training.distill import distillation_loss
from wearsense.training.metrics import classification_report, plot_confusion
from wearsense.training.models import ConvNet, NetConfig, count_macs
from wearsense.training.qat import activation_ranges, prepare_qat, strip_qat
from wearsense.training.trainer import TrainConfig, fit, predict_logits

TINY = NetConfig(in_channels=1, n_classes=3, stem_width=8, blocks=((8, 2), (8, 1)), kernel=3)


def toy_problem(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Three classes told apart by the frequency of a sine in noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    t = np.arange(128)
    freq = np.array([2.0, 6.0, 14.0])[y][:, None]
    x = np.sin(2 * np.pi * freq * t / 128 + rng.uniform(0, 6.3, (n, 1)))
    x = x + 0.3 * rng.standard_normal((n, 128))
    return x[:, None, :].astype(np.float32), y.astype(np.int64)


def test_metrics_known_confusion():
    y_true = [0, 0, 0, 1, 1, 2]
    y_pred = [0, 0, 1, 1, 1, 0]
    report = classification_report(y_true, y_pred, ["a", "b", "c"], bootstrap=0)
    a = report["per_class"]["a"]
    assert a["sensitivity"] == pytest.approx(2 / 3)
    assert a["ppv"] == pytest.approx(2 / 3)
    assert a["specificity"] == pytest.approx(2 / 3)
    assert report["per_class"]["b"]["f1"] == pytest.approx(0.8)
    assert report["per_class"]["c"]["sensitivity"] == 0.0
    assert report["accuracy"] == pytest.approx(4 / 6)
    assert report["confusion"] == [[2, 1, 0], [0, 2, 0], [1, 0, 0]]


def test_bootstrap_interval_contains_point_estimate():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    pred = np.where(rng.random(400) < 0.8, y, 1 - y)
    units = [f"u{i // 4}" for i in range(400)]
    report = classification_report(y, pred, ["n", "p"], units=units, bootstrap=200)
    low, high = report["per_class"]["p"]["f1_ci"]
    assert low < report["per_class"]["p"]["f1"] < high
    assert high - low < 0.2


def test_confusion_png(tmp_path):
    out = tmp_path / "cm.png"
    plot_confusion([[5, 1], [2, 7]], ["n", "p"], out, "test")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_distillation_loss_zero_soft_term_when_identical():
    logits = torch.tensor([[2.0, -1.0, 0.5]])
    labels = torch.tensor([0])
    both = distillation_loss(logits, logits, labels, temperature=3.0, alpha=1.0)
    assert float(both) == pytest.approx(0.0, abs=1e-6)
    other = distillation_loss(logits, -logits, labels, temperature=3.0, alpha=1.0)
    assert float(other) > 0.1


def test_fuse_preserves_outputs_and_macs_counted():
    model = ConvNet(TINY)
    x, _ = toy_problem(16, 0)
    model.train()
    model(torch.from_numpy(x))  # populate BatchNorm statistics
    model.eval()
    before = predict_logits(model, x)
    after = predict_logits(model.fuse(), x)
    np.testing.assert_allclose(before, after, rtol=1e-4, atol=1e-5)
    # stem 8*64*7 + dw 8*32*3 + pw 8*32*8 + dw 8*32*3 + pw 8*32*8 + fc 8*3
    assert count_macs(model, (1, 128)) == 8 * 64 * 7 + 2 * (8 * 32 * 3 + 8 * 32 * 8) + 24


def test_teacher_student_and_qat_learn_the_toy_problem():
    train, val = toy_problem(600, 1), toy_problem(200, 2)
    config = TrainConfig(epochs=6, batch_size=32, lr=1e-2, seed=3)
    teacher = fit(ConvNet(TINY.scaled(2.0)), train, val, 3, config, show_progress=False).model
    student = fit(ConvNet(TINY), train, val, 3, config, teacher=teacher, show_progress=False)
    assert student.best_val_macro_f1 > 0.8
    fused = prepare_qat(student.model.fuse())
    tuned = fit(
        fused,
        train,
        val,
        3,
        TrainConfig(epochs=2, lr=2e-3, seed=4),
        teacher=teacher,
        show_progress=False,
    )
    ranges = activation_ranges(tuned.model)
    assert ranges and all(low <= 0.0 <= high for low, high in ranges.values())
    strip_qat(tuned.model)
    accuracy = (predict_logits(tuned.model, val[0]).argmax(1) == val[1]).mean()
    assert accuracy > 0.8


def test_the_whole_path_is_reproducible_from_its_seed():
    """train_student seeds the initial weights too: the same seed gives the same int8 bytes
    (and the torch state left by earlier code does not matter); another seed does not."""
    from wearsense.training.pipeline import Recipe, train_student

    train, val = toy_problem(200, 1), toy_problem(60, 2)

    def run(seed: int) -> bytes:
        recipe = Recipe(teacher_epochs=1, student_epochs=1, qat_epochs=1, batch_size=32, seed=seed)
        result = train_student(
            train, val, 3, TINY.scaled(2.0), TINY, recipe, 1.0 / 64, "toy", show_progress=False
        )
        return result.tflite

    first = run(5)
    torch.rand(7)  # moves the global generator, as any earlier model or test would
    assert run(5) == first
    assert run(6) != first


def test_evaluation_report_schema(tmp_path):
    import json

    from wearsense.training.evaluation import Outcome, build_report, write_json

    model = tmp_path / "m.tflite"
    model.write_bytes(b"model")
    outcomes = [Outcome(f"r{i}", "setA" if i % 2 else "setB", i % 2, i % 2) for i in range(20)]
    outcomes.append(Outcome("r99", "setA", 0, 1))
    report = build_report("toy", "c-interpreter", model, ["neg", "pos"], outcomes, bootstrap=50)
    out = tmp_path / "eval.json"
    write_json(report, out)
    data = json.loads(out.read_text())
    assert data["task"] == "toy" and data["units"] == 21
    assert set(data["per_dataset"]) == {"setA", "setB"}
    assert data["per_class"]["pos"]["ppv"] == pytest.approx(10 / 11)
    assert data["per_dataset"]["setB"]["per_class"]["pos"]["sensitivity"] is None  # no positives
    assert len(data["model_sha256"]) == 64


def test_exported_int8_model_agrees_with_float_on_the_c_interpreter():
    from wearsense.firmware.nn import NNModel
    from wearsense.training.export import export_convnet

    train, val = toy_problem(600, 5), toy_problem(120, 6)

    # inputs as the device gives them: int8 samples, float value = q * 1/64
    def as_int8(x: np.ndarray) -> np.ndarray:
        return np.clip(np.round(x * 64), -128, 127).astype(np.int8)

    train_q, val_q = as_int8(train[0]), as_int8(val[0])
    train_f, val_f = (train_q / 64.0).astype(np.float32), (val_q / 64.0).astype(np.float32)
    model = fit(
        ConvNet(TINY),
        (train_f, train[1]),
        (val_f, val[1]),
        3,
        TrainConfig(epochs=6, batch_size=32, lr=1e-2, seed=7),
        show_progress=False,
    ).model
    model.fuse()
    float_pred = predict_logits(model, val_f).argmax(1)
    _, tflite = export_convnet(model, train_f[:200], 1 / 64, "toy")
    interpreter = NNModel(tflite, "toy")
    int8_pred = np.array([interpreter.run(v.reshape(1, 1, 128, 1))[0].argmax() for v in val_q])
    assert (int8_pred == float_pred).mean() >= 0.95
    assert (int8_pred == val[1]).mean() >= 0.8


def hybrid_problem(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Classes 0 and 2 share a sine's frequency and differ only in the side features after
    the signal; class 1 has another frequency: a network must use both parts of its row."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    t = np.arange(128)
    freq = np.where(y == 1, 9.0, 3.0)[:, None]
    signal = np.sin(2 * np.pi * freq * t / 128 + rng.uniform(0, 6.3, (n, 1)))
    signal = signal + 0.3 * rng.standard_normal((n, 128))
    side = 0.2 * rng.standard_normal((n, 4)) + np.where(y == 2, 1.0, 0.0)[:, None]
    row = np.clip(np.round(np.concatenate([signal, side], axis=1) * 64), -128, 127)
    return (row[:, None, :] / 64.0).astype(np.float32), y.astype(np.int64)


def test_hybrid_network_uses_its_side_features_and_exports_to_int8():
    from wearsense.firmware.nn import NNModel
    from wearsense.training.export import export_convnet
    from wearsense.training.prune import prune_channels

    hybrid = NetConfig(
        in_channels=1,
        n_classes=3,
        stem_width=8,
        blocks=((8, 2), (12, 2)),
        kernel=3,
        side_features=4,
        joint_width=8,
    )
    train, val = hybrid_problem(600, 11), hybrid_problem(150, 12)
    config = TrainConfig(epochs=8, batch_size=32, lr=1e-2, seed=13)
    result = fit(ConvNet(hybrid), train, val, 3, config, show_progress=False)
    assert result.best_val_macro_f1 > 0.85  # 0 against 2 needs the side features
    pruned = prune_channels(result.model, 0.5)
    assert pruned.config.side_features == 4 and pruned.config.blocks[-1][0] == 6
    model = result.model.fuse()
    float_pred = predict_logits(model, val[0]).argmax(1)
    _, tflite = export_convnet(model, train[0][:200], 1 / 64, "hybrid")
    interpreter = NNModel(tflite, "hybrid")
    assert tuple(interpreter.inputs[0].shape) == (1, 1, 132, 1)
    rows = np.round(val[0] * 64).astype(np.int8)
    int8_pred = np.array([interpreter.run(r.reshape(1, 1, 132, 1))[0].argmax() for r in rows])
    assert (int8_pred == float_pred).mean() >= 0.95
    assert (int8_pred[val[1] == 2] == 2).mean() >= 0.8


def test_a_co_teacher_joins_the_soft_targets():
    train, val = toy_problem(300, 21), toy_problem(100, 22)
    teacher = fit(
        ConvNet(TINY), train, val, 3, TrainConfig(epochs=2, seed=1), show_progress=False
    ).model
    with pytest.raises(ValueError, match="co-teacher"):
        fit(
            ConvNet(TINY),
            train,
            val,
            3,
            TrainConfig(epochs=1),
            teacher=teacher,
            co_teacher=(np.ones((5, 3)) / 3, 0.5),
            show_progress=False,
        )
    # a co-teacher that knows the labels, weighted fully, teaches the toy problem alone
    knows = np.eye(3)[train[1]] * 0.9 + 0.1 / 3
    learned = fit(
        ConvNet(TINY),
        train,
        val,
        3,
        TrainConfig(epochs=6, batch_size=32, lr=1e-2, seed=2, alpha=1.0),
        teacher=teacher,
        co_teacher=(knows, 1.0),
        show_progress=False,
    )
    assert learned.best_val_macro_f1 > 0.8


def test_an_output_bias_shifts_the_float_and_int8_students_alike():
    """`pipeline.shift_outputs` adds one logit offset per class to a trained student: a
    large offset on one class makes it every answer, of the float student and of the int8
    model on the C interpreter; unshifted, the toy problem's three classes are all answered."""
    from wearsense.firmware.nn import NNModel
    from wearsense.training.pipeline import (
        Recipe,
        int8_probabilities,
        shift_outputs,
        train_student,
    )

    train, val = toy_problem(600, 1), toy_problem(60, 2)
    recipe = Recipe(teacher_epochs=6, student_epochs=6, qat_epochs=1, seed=5, lr=1e-2)
    result = train_student(train, val, 3, TINY.scaled(2.0), TINY, recipe, 1 / 32, "toy",
                           show_progress=False)  # fmt: skip
    inputs = np.clip(np.round(val[0] * 32), -128, 127).astype(np.int8).transpose(0, 2, 1)

    def answers() -> tuple[set[int], set[int]]:
        int8 = int8_probabilities(NNModel(result.tflite), inputs).argmax(1)
        float_ = predict_logits(result.float_student, val[0]).argmax(1)
        return set(int8.tolist()), set(float_.tolist())

    assert answers() == ({0, 1, 2}, {0, 1, 2})
    shift_outputs(result, np.array([0.0, 0.0, 50.0], np.float32))
    assert answers() == ({2}, {2})
    assert result.history["output_bias"] == [0.0, 0.0, 50.0]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_training_on_a_gpu_hands_back_a_cpu_model():
    x, y = toy_problem(256, seed=4)
    model = ConvNet(NetConfig(in_channels=1, n_classes=3, stem_width=8, blocks=((8, 2),)))
    config = TrainConfig(epochs=2, seed=0, device="cuda")
    result = fit(model, (x, y), (x, y), 3, config, show_progress=False)
    assert next(result.model.parameters()).device.type == "cpu"
    on_gpu = predict_logits(result.model, x, device="cuda")
    assert np.allclose(on_gpu, predict_logits(result.model, x), atol=1e-4)
