"""The path every task's model takes, shared by AFib, falls and activity:

teacher (float, wide) → student distilled from it → optional structured channel pruning
and distilled fine-tuning → BatchNorm folded → quantization-aware fine-tuning → int8
`.tflite` from the writer. Also what every task needs around it: the int8 model run by
the C interpreter, saving and loading the float models, sizes, and the Pareto table and
plot of accuracy against model bytes, arena bytes and MACs.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple, cast

import numpy as np
import torch

from wearsense.firmware.nn import NNModel
from wearsense.tflite import TFLiteError, read_tflite, write_tflite
from wearsense.training.export import export_convnet
from wearsense.training.models import ConvNet, NetConfig
from wearsense.training.prune import prune_channels
from wearsense.training.qat import prepare_qat, strip_qat
from wearsense.training.trainer import TrainConfig, fit, set_seed

Augment = Callable[[np.ndarray, np.random.Generator], np.ndarray]


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Epochs and learning rates of the stages; ``prune_keep`` < 1 prunes the distilled
    student to that fraction of its channels and fine-tunes it ``prune_epochs``."""

    teacher_epochs: int = 30
    student_epochs: int = 40
    qat_epochs: int = 6
    prune_keep: float = 1.0
    prune_epochs: int = 10
    lr: float = 3e-3
    qat_lr: float = 5e-4
    batch_size: int = 64
    seed: int = 0
    class_balance: float = 0.5  # exponent of the inverse-frequency class weights
    device: str = "cpu"  # torch device of every training stage (export runs on the CPU)


class Quantized(NamedTuple):
    """What `quantization_aware` returns."""

    model: Any  # the fine-tuned network (ConvNet)
    tflite: bytes
    history: dict[str, Any]  # the stage's best epoch and validation macro-F1


@dataclasses.dataclass
class StudentResult:
    teacher: Any  # ConvNet (float)
    float_student: Any  # ConvNet, fused, before quantization-aware fine-tuning
    student_config: Any  # NetConfig of the shipped student (after pruning)
    tflite: bytes
    history: dict[str, Any]


def train_student(
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    n_classes: int,
    teacher_config: Any,
    student_config: Any,
    recipe: Recipe,
    input_scale: float,
    description: str,
    augment: Augment | None = None,
    show_progress: bool = True,
    co_teacher: tuple[np.ndarray, float] | None = None,
    before_qat: Callable[[Any], Any] | None = None,
) -> StudentResult:
    """Runs the whole path on float inputs ``[N, C, L]`` (= int8 input × input_scale).
    ``co_teacher`` (probabilities of every training row, weight) joins the network teacher
    in every distillation stage (see `trainer.fit`). ``before_qat`` may change the fused
    float student before its quantization-aware fine-tuning (AFib's RR head); the result's
    float student is what it returned."""
    base = _train_config(recipe, augment)
    history: dict[str, Any] = {}

    def stage(model: Any, name: str, epochs: int, seed: int, teacher: Any = None, **kw: Any):
        result = fit(
            model,
            train,
            val,
            n_classes,
            dataclasses.replace(base, epochs=epochs, seed=seed, **kw),
            teacher=teacher,
            desc=name,
            show_progress=show_progress,
            co_teacher=co_teacher if teacher is not None else None,
        )
        history[name] = {"best_epoch": result.best_epoch, "val_macro_f1": result.best_val_macro_f1}
        return result.model

    set_seed(recipe.seed)  # the initial weights too: seeded runs give the same bytes
    teacher = stage(ConvNet(teacher_config), "teacher", recipe.teacher_epochs, recipe.seed)
    set_seed(recipe.seed + 1)
    student = stage(
        ConvNet(student_config),
        "student (distillation)",
        recipe.student_epochs,
        recipe.seed + 1,
        teacher,
    )
    if recipe.prune_keep < 1.0:
        student = prune_channels(cast(ConvNet, student), recipe.prune_keep)
        student = stage(
            student,
            f"student (pruned to {recipe.prune_keep:g})",
            recipe.prune_epochs,
            recipe.seed + 3,
            teacher,
            lr=recipe.lr / 3,
        )
    student = cast(ConvNet, student).fuse()
    if before_qat is not None:
        student = before_qat(student)
    _, tflite, history["student (quantization-aware)"] = quantization_aware(
        student,
        train,
        val,
        n_classes,
        recipe,
        teacher,
        input_scale,
        description,
        augment=augment,
        show_progress=show_progress,
        co_teacher=co_teacher,
    )
    return StudentResult(teacher, student.eval(), student.config, tflite, history)


def _train_config(recipe: Recipe, augment: Augment | None) -> Any:
    return TrainConfig(
        seed=recipe.seed,
        augment=augment,
        lr=recipe.lr,
        batch_size=recipe.batch_size,
        class_balance=recipe.class_balance,
        device=recipe.device,
    )


def quantization_aware(
    student: Any,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    n_classes: int,
    recipe: Recipe,
    teacher: Any,
    input_scale: float,
    description: str,
    augment: Augment | None = None,
    show_progress: bool = True,
    co_teacher: tuple[np.ndarray, float] | None = None,
) -> Quantized:
    """A copy of the fused float ``student`` fine-tuned quantization-aware
    (``recipe.qat_epochs`` at ``recipe.qat_lr``, distilled from ``teacher`` and
    ``co_teacher``) and exported int8 (activation ranges from 512 training rows):
    (the fine-tuned network, its `.tflite`, the stage's history). ``student`` is left as
    it was. ``recipe.qat_epochs`` 0 skips the fine-tuning: post-training quantization of
    ``student`` itself."""

    calibration = calibration_rows(train[0], recipe.seed)
    if recipe.qat_epochs <= 0:
        _, tflite = export_convnet(student, calibration, input_scale, description)
        return Quantized(
            student, tflite, {"best_epoch": None, "val_macro_f1": None, "skipped": True}
        )

    config = dataclasses.replace(
        _train_config(recipe, augment),
        epochs=recipe.qat_epochs,
        seed=recipe.seed + 2,
        lr=recipe.qat_lr,
        patience=recipe.qat_epochs,
    )
    result = fit(
        prepare_qat(copy.deepcopy(student)),
        train,
        val,
        n_classes,
        config,
        teacher=teacher,
        desc="student (quantization-aware)",
        show_progress=show_progress,
        co_teacher=co_teacher,
    )
    qat_model = cast(ConvNet, strip_qat(result.model))
    _, tflite = export_convnet(qat_model, calibration, input_scale, description)
    history = {"best_epoch": result.best_epoch, "val_macro_f1": result.best_val_macro_f1}
    return Quantized(qat_model, tflite, history)


def calibration_rows(rows: np.ndarray, seed: int, count: int = 512) -> np.ndarray:
    """The float training rows whose activation ranges set an exported model's int8 grid."""
    return rows[np.random.default_rng(seed).permutation(len(rows))[:count]]


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def save_float_model(model: Any, config: Any, path: Path) -> None:
    torch.save({"config": dataclasses.asdict(config), "state": model.state_dict()}, path)


class FloatModelError(ValueError):
    """A file that is not a float model saved by :func:`save_float_model`."""


def load_float_model(path: Path) -> Any:
    """A teacher or float student saved by :func:`save_float_model` (fused or not).

    The file is untrusted: it is read with ``weights_only`` (tensors and plain containers,
    never code), and anything but a saved model's configuration and weights raises
    `FloatModelError`."""

    try:
        saved = torch.load(path, weights_only=True, map_location="cpu")
        config = dict(saved["config"])
        config["blocks"] = tuple(tuple(b) for b in config["blocks"])
        model = ConvNet(NetConfig(**config))
        if any(k.endswith(".conv.bias") for k in saved["state"]):  # saved after fuse()
            model.fuse()
        model.load_state_dict(saved["state"])
    except Exception as exc:  # any way a file can fail to be a saved model
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FloatModelError(
            f"{path}: not a float model saved by wearsense training ({reason})"
        ) from exc
    return model.eval()


def model_sizes(tflite: bytes) -> dict[str, int]:
    """Bytes, arena bytes and MACs of a `.tflite` as the C interpreter loads it."""
    model = NNModel(tflite, "model")
    return {"tflite_bytes": len(tflite), "arena_bytes": model.arena_bytes, "macs": model.macs}


def int8_probabilities(model: Any, inputs: np.ndarray) -> np.ndarray:
    """Class probabilities (softmax output, scale 1/256, zero point -128) the C interpreter
    gives for each int8 input; each input is reshaped to the model's input tensor."""
    shape = tuple(model.inputs[0].shape)
    n_out = int(np.prod(model.outputs[0].shape))
    out = np.empty((len(inputs), n_out))
    for i, x in enumerate(inputs):
        q = model.run(np.ascontiguousarray(x, dtype=np.int8).reshape(shape))[0]
        out[i] = (q.reshape(-1).astype(np.float64) + 128.0) / 256.0
    return out


def _logits_operator(model: Any) -> tuple[Any, Any]:
    """(the SOFTMAX that makes the graph's output, the FULLY_CONNECTED that feeds it)."""
    output = model.outputs[0]
    softmax_op = next((op for op in model.operators if output in op.outputs), None)
    if softmax_op is None or softmax_op.op != "SOFTMAX":
        raise TFLiteError("the model's output is not made by a SOFTMAX")
    logits = softmax_op.inputs[0]
    fc = next((op for op in model.operators if logits in op.outputs), None)
    if fc is None or fc.op != "FULLY_CONNECTED" or len(fc.inputs) < 3 or fc.inputs[2] < 0:
        raise TFLiteError("the SOFTMAX is not fed by a FULLY_CONNECTED with a bias")
    return softmax_op, fc


def logits_model(tflite: bytes) -> bytes:
    """The same int8 model with its final SOFTMAX left out: its output is the int8 logits
    (what the classes' offsets are chosen on)."""
    model = read_tflite(tflite)
    softmax_op, _ = _logits_operator(model)
    model.operators.remove(softmax_op)
    model.outputs = [softmax_op.inputs[0]]
    return write_tflite(model)


def add_logit_offsets(tflite: bytes, offsets: Sequence[float] | np.ndarray) -> bytes:
    """The int8 model with ``offsets`` (one per class, in logit units) added to the bias
    of the FULLY_CONNECTED that feeds its SOFTMAX: a shift of the classes' priors that
    the device then applies by itself."""
    model = read_tflite(tflite)
    _, fc = _logits_operator(model)
    bias = model.tensors[fc.inputs[2]]
    if bias.data is None or len(offsets) != bias.shape[0]:
        raise TFLiteError(f"{len(offsets)} offsets for a bias of shape {bias.shape}")
    scales = np.broadcast_to(np.asarray(bias.scale, np.float64), bias.shape)
    shifted = bias.data.astype(np.int64) + np.round(np.asarray(offsets) / scales).astype(np.int64)
    bias.data = np.clip(shifted, -(2**31), 2**31 - 1).astype(np.int32)
    return write_tflite(model)


def shift_outputs(result: StudentResult, offsets: Sequence[float] | np.ndarray) -> None:
    """Adds ``offsets`` (one logit offset per class) to a trained student: folded into the
    int8 model's last bias (`add_logit_offsets`) and added to the float student's
    classifier, so both answer with the same prior shift; recorded in its history."""
    result.tflite = add_logit_offsets(result.tflite, offsets)
    with torch.no_grad():
        result.float_student.classifier.bias.add_(torch.as_tensor(offsets, dtype=torch.float32))
    result.history["output_bias"] = [float(v) for v in np.asarray(offsets)]


def int8_logits(tflite: bytes, inputs: np.ndarray) -> np.ndarray:
    """The logits (dequantized) the C interpreter computes for each int8 input: the
    model run without its SOFTMAX."""
    model = NNModel(logits_model(tflite), "logits")
    shape, out = tuple(model.inputs[0].shape), model.outputs[0]
    rows = [
        model.run(np.ascontiguousarray(x, dtype=np.int8).reshape(shape))[0].reshape(-1)
        for x in inputs
    ]
    return (np.array(rows, np.float64) - out.zero_point) * out.scale


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def write_pareto(
    rows: Sequence[dict[str, Any]],
    out_dir: Path,
    variant: tuple[str, str],
    metrics: Sequence[tuple[str, str]],
    title: str,
) -> None:
    """pareto.json, pareto.md (a table) and pareto.png (each metric against model bytes,
    arena bytes and MACs). ``variant`` is (row key, column title) naming each student;
    ``metrics`` are (row key, label) of the accuracy figures."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "pareto.json").write_text(json.dumps(list(rows), indent=2) + "\n")
    key, name = variant
    head = [name, ".tflite bytes", "arena bytes", "MACs", *[label for _, label in metrics]]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in rows:
        cells = [str(r[key]), f"{r['tflite_bytes']:,}", f"{r['arena_bytes']:,}", f"{r['macs']:,}"]
        cells += [f"{r[m]:.3f}" if r[m] is not None else "n/a" for m, _ in metrics]
        lines.append("| " + " | ".join(cells) + " |")
    (out_dir / "pareto.md").write_text("\n".join(lines) + "\n")
    _plot_pareto(rows, out_dir / "pareto.png", key, metrics, title)


def _plot_pareto(
    rows: Sequence[dict[str, Any]],
    path: Path,
    variant: str,
    metrics: Sequence[tuple[str, str]],
    title: str,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharey=True)
    for ax, key, label in zip(
        axes,
        ("tflite_bytes", "arena_bytes", "macs"),
        ("model bytes", "arena bytes", "MACs per inference"),
        strict=True,
    ):
        xs = [r[key] for r in rows]
        for (metric, metric_label), style in zip(metrics, ("o-", "s--", "^:", "d-."), strict=False):
            ax.plot(xs, [r[metric] for r in rows], style, label=metric_label)
        first = metrics[0][0]
        for r in rows:
            ax.annotate(str(r[variant]), (r[key], r[first]), fontsize=8)
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("validation (int8, C interpreter)")
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)
