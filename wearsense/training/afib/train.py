"""Training the AFib teacher and int8 student (`wearsense train afib`): the shared
pipeline (`pipeline.train_student`) on the CinC training records (and optionally MIT-BIH's),
with the RR co-teacher, the RR head and the tuned class offsets; an RR head added to a saved
student; and the Pareto sweep of widths.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wearsense.datasets import cinc2017
from wearsense.firmware.nn import NNModel
from wearsense.training.afib.config import DEFAULT_CONFIG, AfibTrainConfig, nets
from wearsense.training.afib.decision import record_verdict
from wearsense.training.afib.inputs import INPUT_SCALE, LABELS, RR_FEATURES, WINDOW, to_float
from wearsense.training.afib.offsets import choose_class_offsets
from wearsense.training.afib.rr import rr_co_teacher, rr_head_stage
from wearsense.training.afib.splits import (
    RecordSet,
    load_records,
    load_split_ids,
    training_parts,
    with_mitdb,
)
from wearsense.training.metrics import classification_report
from wearsense.training.models import count_macs, count_parameters
from wearsense.training.pipeline import (
    Recipe,
    calibration_rows,
    load_float_model,
    model_sizes,
    quantization_aware,
    save_float_model,
    shift_outputs,
    train_student,
    write_atomic,
    write_pareto,
)
from wearsense.training.trainer import predict_logits


def augment(batch: np.ndarray, rng: np.random.Generator, side: int = 0) -> np.ndarray:
    """Gain between 0.7 and 1.3 and a little noise on the ECG samples: electrode contact
    and amplitude vary (the last ``side`` values, RR features, are left as they are)."""
    out = batch.astype(np.float32, copy=True)
    signal = out[..., : out.shape[-1] - side]
    gain = rng.uniform(0.7, 1.3, (len(batch), 1, 1))
    noise = rng.normal(0.0, 0.02, signal.shape)
    out[..., : out.shape[-1] - side] = signal * gain + noise
    return out


def train_afib(
    out_dir: Path,
    data_dir: str | os.PathLike[str] | None = None,
    config: AfibTrainConfig = DEFAULT_CONFIG,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Trains teacher, student (distilled, then quantization-aware) and writes
    ``afib.tflite`` and ``training.json`` into ``out_dir``; returns the summary."""
    started = time.perf_counter()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    parts = training_parts(data_dir, config.max_records)
    length = config.input_length
    x_train, y_train, owner = parts["train"].window_arrays(length, config.train_hop)
    if config.mitdb_train:
        x_train, y_train, owner = with_mitdb(x_train, y_train, owner, data_dir, config)
    x_val, y_val, val_owner = parts["validation"].window_arrays(length)
    train = (to_float(x_train), y_train)
    val = (to_float(x_val), y_val)
    teacher_cfg, student_cfg = nets(config.rr_features, config.joint_width, config.teacher_width)
    if config.width != 1.0:  # both scale, so a small student keeps a proportionate teacher
        teacher_cfg, student_cfg = (
            teacher_cfg.scaled(config.width),
            student_cfg.scaled(config.width),
        )
    recipe = Recipe(
        teacher_epochs=config.teacher_epochs,
        student_epochs=config.student_epochs,
        qat_epochs=config.qat_epochs,
        prune_keep=config.prune_keep,
        prune_epochs=config.prune_epochs,
        seed=config.seed,
        class_balance=config.class_balance,
        device=config.device,
    )
    co_teacher = rr_co_teacher(
        config.rr_co_teacher if config.rr_features else 0.0, x_train, y_train, owner, config.seed
    )
    head_info: dict[str, Any] = {}

    def with_rr_head(student: Any) -> Any:
        model, info = rr_head_stage(
            student,
            x_train,
            y_train,
            calibration_rows(train[0], config.seed),
            x_val,
            val_owner,
            parts["validation"].labels,
            config,
        )
        head_info.update(info)
        return model

    result = train_student(
        train,
        val,
        len(LABELS),
        teacher_cfg,
        student_cfg,
        recipe,
        INPUT_SCALE,
        "wearsense afib student",
        augment=functools.partial(augment, side=length - WINDOW),
        show_progress=show_progress,
        co_teacher=co_teacher,
        before_qat=with_rr_head if config.rr_features and config.rr_head > 0 else None,
    )
    rr_head = head_info or None
    offsets = np.zeros(len(LABELS))
    if config.tune_offsets:
        offsets = choose_class_offsets(
            result.tflite, x_val, val_owner, parts["validation"].labels, config.tune_offsets
        )
        shift_outputs(result, offsets)  # int8 and float students alike
    tflite, teacher, float_student = result.tflite, result.teacher, result.float_student
    write_atomic(out_dir / "afib.tflite", tflite)
    save_float_model(teacher, teacher_cfg, out_dir / "teacher.pt")
    save_float_model(float_student, result.student_config, out_dir / "student_float.pt")
    summary = {
        "task": "afib",
        "seed": config.seed,
        "train_records": len(parts["train"].ids),
        "validation_records": len(parts["validation"].ids),
        "train_windows": int(len(x_train)),
        "teacher": {
            "parameters": count_parameters(teacher),
            "macs": count_macs(teacher, (1, length)),
        },
        "student": {
            "parameters": count_parameters(float_student),
            "macs": count_macs(float_student, (1, length)),
            **model_sizes(tflite),
        },
        "training_wall_s": round(time.perf_counter() - started, 1),
        "config": dataclasses.asdict(config),
        "class_offsets": dict(zip(LABELS, (round(float(o), 3) for o in offsets), strict=True)),
        "rr_head": rr_head,
    }
    val_probs = {
        "teacher": predict_logits(teacher, val[0]),
        "float_student": predict_logits(float_student, val[0]),
    }
    summary["validation_window_accuracy"] = {
        name: float((logits.argmax(1) == val[1]).mean()) for name, logits in val_probs.items()
    }
    (out_dir / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def add_rr_head(
    out_dir: Path,
    student_path: Path,
    data_dir: str | os.PathLike[str] | None = None,
    config: AfibTrainConfig = DEFAULT_CONFIG,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Adds an RR head (`rr_head_stage`, ``config.rr_head`` hidden units) to a float student
    that `train_afib` saved (``student_path``: a ``student_float.pt`` trained without a
    head, or the ``student_base.pt`` this writes) without distilling it again, then runs
    the recipe's quantization-aware fine-tuning (``config.qat_epochs``, distilled from the
    ``teacher.pt`` beside the student and the RR co-teacher) and exports it: writes
    ``afib.tflite``, ``student_float.pt`` (with the head, before the fine-tuning),
    ``student_base.pt`` (a copy of the student it started from), ``teacher.pt`` and
    ``training.json`` (the summary beside the student, when there is one, updated) into
    ``out_dir``."""
    if config.rr_head < 1:
        raise ValueError("--from-student needs an RR head (--rr-head of at least 1)")
    started = time.perf_counter()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    student = load_float_model(student_path)
    if student.side != RR_FEATURES:
        raise ValueError(
            f"{student_path}: not a hybrid AFib student with {RR_FEATURES} RR features"
        )
    teacher_path = student_path.parent / "teacher.pt"
    if not teacher_path.is_file():
        raise ValueError(f"{teacher_path}: the student's teacher is needed (QAT distils from it)")
    teacher = load_float_model(teacher_path)
    parts = training_parts(data_dir, config.max_records)
    length = WINDOW + RR_FEATURES
    x_train, y_train, owner = parts["train"].window_arrays(length, config.train_hop)
    if config.mitdb_train:
        x_train, y_train, owner = with_mitdb(x_train, y_train, owner, data_dir, config)
    x_val, y_val, val_owner = parts["validation"].window_arrays(length)
    train = (to_float(x_train), y_train)
    model, info = rr_head_stage(
        student,
        x_train,
        y_train,
        calibration_rows(train[0], config.seed),
        x_val,
        val_owner,
        parts["validation"].labels,
        config,
    )
    co_teacher = rr_co_teacher(config.rr_co_teacher, x_train, y_train, owner, config.seed)
    recipe = Recipe(
        qat_epochs=config.qat_epochs,
        seed=config.seed,
        class_balance=config.class_balance,
        device=config.device,
    )
    _, tflite, qat_history = quantization_aware(
        model,
        train,
        (to_float(x_val), y_val),
        len(LABELS),
        recipe,
        teacher,
        INPUT_SCALE,
        "wearsense afib student",
        augment=functools.partial(augment, side=RR_FEATURES),
        show_progress=show_progress,
        co_teacher=co_teacher,
    )
    beside = student_path.parent / "training.json"
    summary: dict[str, Any] = json.loads(beside.read_text()) if beside.is_file() else {}
    base_s = float(summary.get("training_wall_s", 0.0))
    if isinstance(summary.get("rr_head"), dict):  # the summary of an earlier head's run
        base_s -= float(summary["rr_head"].get("wall_s", 0.0))
    head_s = round(time.perf_counter() - started, 1)
    info.update(
        base_student_sha256=hashlib.sha256(student_path.read_bytes()).hexdigest(),
        quantization=(
            f"quantization-aware fine-tuned after the head ({config.qat_epochs} epochs, "
            f"best epoch {qat_history['best_epoch']})"
            if config.qat_epochs > 0
            else "post-training (--qat-epochs 0: the float student with the head, exported)"
        ),
        wall_s=head_s,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    base = out_dir / "student_base.pt"
    if student_path.resolve() != base.resolve():
        shutil.copyfile(student_path, base)  # what the head was added to, kept beside it
    if teacher_path.resolve() != (out_dir / "teacher.pt").resolve():
        shutil.copyfile(teacher_path, out_dir / "teacher.pt")
    write_atomic(out_dir / "afib.tflite", tflite)
    save_float_model(model, model.config, out_dir / "student_float.pt")
    summary.update(
        task="afib",
        student={
            "parameters": count_parameters(model),
            "macs": count_macs(model, (1, length)),
            **model_sizes(tflite),
        },
        rr_head=info,
        training_wall_s=round(base_s + head_s, 1),
        validation_window_accuracy={
            name: float((predict_logits(net, to_float(x_val)).argmax(1) == y_val).mean())
            for name, net in (("teacher", teacher), ("float_student", model))
        },
    )
    (out_dir / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def pareto_afib(
    out_dir: Path,
    data_dir: str | os.PathLike[str] | None = None,
    config: AfibTrainConfig = DEFAULT_CONFIG,
    widths: tuple[float, ...] = (0.5, 1.0, 1.5),
    show_progress: bool = True,
) -> list[dict[str, Any]]:
    """Trains one teacher/student pair per width and measures each int8 student, as the C
    interpreter runs it, on the validation records (never the test split): F1 against
    model bytes, arena bytes and MACs. Writes pareto.json, pareto.md and pareto.png."""
    rows = []
    validation: RecordSet | None = None
    for width in widths:
        folder = out_dir / f"width-{width:g}"
        summary = train_afib(
            folder, data_dir, dataclasses.replace(config, width=width), show_progress=show_progress
        )
        if validation is None:
            present = set(cinc2017.read_labels(data_dir))
            ids = [r for r in load_split_ids()["validation"] if r in present]
            validation = load_records(ids[: config.max_records], data_dir, "validation")
        model = NNModel((folder / "afib.tflite").read_bytes())
        predicted = [record_verdict(model, ecg) for ecg in validation.inputs]
        report = classification_report(validation.labels, predicted, LABELS, bootstrap=0)
        per = report["per_class"]
        rows.append(
            {
                "width": width,
                "rr_features": config.rr_features,
                "tflite_bytes": summary["student"]["tflite_bytes"],
                "arena_bytes": summary["student"]["arena_bytes"],
                "macs": summary["student"]["macs"],
                "validation_f1_af": per["af"]["f1"],
                "validation_macro_f1_nao": float(
                    np.mean([per[k]["f1"] for k in ("normal", "af", "other")])
                ),
                "validation_records": len(validation.ids),
            }
        )

    write_pareto(
        rows,
        out_dir,
        ("width", "width"),
        [("validation_f1_af", "F1 AF (validation)"), ("validation_macro_f1_nao", "mean F1 N/A/O")],
        "AFib students: accuracy against size",
    )
    return rows
