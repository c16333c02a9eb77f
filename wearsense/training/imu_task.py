"""What the fall and activity tasks share: their data (every recording of the chosen
subjects through the firmware's C front end, `wearsense.firmware.imu`, so the windows a
model learns from and is evaluated on are the device's bytes), the training driver on
the shared pipeline (`pipeline.train_student`), the int8 model run by the C interpreter
over whole trials, and the Pareto sweep.

A model's input is one int8 window of 128 frames × 7 channels (`[1, 1, 128, 7]`, the
front end's bytes unchanged); the float models read it as ``q × INPUT_SCALE`` in the
layout ``[N, 7, 128]`` (channels first).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import time
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wearsense.datasets import DatasetError
from wearsense.datasets.imu import (
    DATASETS,
    ImuRecording,
    Position,
    recordings,
    split_subjects,
    subjects,
)
from wearsense.firmware.imu import (
    CHANNELS,
    IMPACT_PRE,
    WINDOW,
    FrontEndOutput,
    LabelledWindows,
    activity_windows,
    impact_windows,
    process_recording,
    resample,
)
from wearsense.firmware.nn import NNModel
from wearsense.protocol.events import FallClass
from wearsense.training.metrics import classification_report
from wearsense.training.models import count_macs, count_parameters
from wearsense.training.pipeline import (
    Recipe,
    int8_probabilities,
    load_float_model,
    model_sizes,
    save_float_model,
    shift_outputs,
    softmax,
    train_student,
    write_atomic,
    write_pareto,
)
from wearsense.training.trainer import predict_logits

# acc and |a| - 1 g in g; gyro in units of 128 deg/s (q × 4 deg/s / 32)
INPUT_SCALE = 1.0 / 32.0
# the device's placements: on the trunk (DSADS's torso unit is a trunk unit too)
DEVICE_POSITIONS = (Position.WAIST.value, Position.CHEST.value, Position.TORSO.value)
DataDir = str | os.PathLike[str] | None


@dataclasses.dataclass(frozen=True)
class Trial:
    """One recording (one sensor unit of one trial) through the front end."""

    dataset: str
    subject: str
    position: str
    trial: str
    fall: int  # FallClass of the trial
    duration_s: float
    activity: LabelledWindows  # labelled activity windows (training and evaluation)
    impacts: LabelledWindows  # impact windows labelled for training (`fall_windows`)
    triggers: LabelledWindows  # every impact window, as the device classifies them


def fall_windows(rec: ImuRecording, fe: FrontEndOutput) -> LabelledWindows:
    """The impact windows of a recording, labelled for training and evaluation.

    The fall's impact is taken to be the trial's largest |a| (50 Hz, C resampler). The
    trigger moves its window onto the largest peak of a burst (docs/imu-front-end.md), so
    this is usually the window centred on it; a trial can still have other windows (a step
    more than 2 s before the fall, the settling after it). The triggered windows that
    contain the largest |a| are labelled ``FALL``; the other
    windows of a fall trial (steps before, settling after) are left out as ambiguous. A
    fall trial none of whose windows contains its largest impact gives no training window
    (its fall went untriggered). Every other trial's windows are ``ADL``."""
    if rec.fall is not FallClass.FALL or not fe.impacts:
        return impact_windows(rec, fe)
    acc = resample(rec.six_axis(), rec.rate_hz)[:, :3]
    top = int(np.argmax(np.einsum("ij,ij->i", acc, acc)))
    inside = [
        i for i in fe.impacts if i.frame - IMPACT_PRE <= top <= i.frame + WINDOW - 1 - IMPACT_PRE
    ]
    windows = np.stack([i.window for i in inside]) if inside else np.zeros((0, WINDOW, CHANNELS))
    return LabelledWindows(
        dataset=rec.dataset,
        subject=rec.subject,
        position=rec.position.value,
        trial=rec.trial,
        windows=windows.astype(np.int8),
        labels=np.full(len(inside), int(FallClass.FALL), dtype=np.int64),
        frames=np.array([i.frame for i in inside], dtype=np.int64),
        peak_g=np.array([i.peak_g for i in inside], dtype=np.float32),
    )


def _all_impacts(rec: ImuRecording, fe: FrontEndOutput) -> LabelledWindows:
    impacts = fe.impacts
    return LabelledWindows(
        dataset=rec.dataset,
        subject=rec.subject,
        position=rec.position.value,
        trial=rec.trial,
        windows=np.stack([i.window for i in impacts])
        if impacts
        else np.zeros((0, WINDOW, CHANNELS), np.int8),
        labels=np.full(len(impacts), int(rec.fall), dtype=np.int64),
        frames=np.array([i.frame for i in impacts], dtype=np.int64),
        peak_g=np.array([i.peak_g for i in impacts], dtype=np.float32),
    )


def held(rec: ImuRecording, hold_s: float) -> ImuRecording:
    """The recording with its last sample repeated for ``hold_s`` more seconds."""
    n = int(round(hold_s * rec.rate_hz))

    def extend(x: np.ndarray) -> np.ndarray:
        return np.vstack([x, np.repeat(x[-1:], n, axis=0)]).astype(x.dtype)

    gyro = extend(rec.gyro_dps) if rec.gyro_dps is not None else None
    return dataclasses.replace(rec, acc_g=extend(rec.acc_g), gyro_dps=gyro)


def load_trials(
    dataset: str,
    data_dir: DataDir = None,
    subject_ids: Iterable[str] | None = None,
    positions: Iterable[str] | None = None,
    progress: bool = True,
    hold_s: float = 0.0,
) -> list[Trial]:
    """Every recording of ``dataset`` for the given subjects (all when None) and
    positions (all when None), with its activity and impact windows. ``hold_s`` > 0
    appends that many seconds of each recording's last sample before the front end (a
    worn device's stream goes on after a trial's end, so an impact in its last 1.26 s
    still gets its window); ``duration_s`` stays the recorded one."""
    chosen = set(positions) if positions is not None else None
    pos = {Position(p) for p in chosen} if chosen is not None else None
    out: list[Trial] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unusable UMAFall streams (docs/imu-front-end.md)
        for rec in recordings(
            dataset,
            data_dir,
            subject_ids=list(subject_ids) if subject_ids is not None else None,
            positions=pos,
            progress=progress,
        ):
            duration_s = rec.duration_s
            if hold_s > 0:
                rec = held(rec, hold_s)
            fe = process_recording(rec)
            out.append(
                Trial(
                    rec.dataset,
                    rec.subject,
                    rec.position.value,
                    rec.trial,
                    int(rec.fall),
                    duration_s,
                    activity_windows(rec, fe),
                    fall_windows(rec, fe),
                    _all_impacts(rec, fe),
                )
            )
    return out


def split_ids(dataset: str, parts: Sequence[str]) -> list[str]:
    return [s for part in parts for s in split_subjects(dataset, part)]


def held_out_subjects(dataset: str, data_dir: DataDir) -> list[str]:
    """Subjects present under the data folder that the committed training and validation
    splits do not name (an unseen data folder: all of them)."""
    try:
        found = subjects(dataset, data_dir)
    except DatasetError:
        return []
    seen = set(split_ids(dataset, ("train", "validation")))
    return [s for s in found if s not in seen]


def present(dataset: str, data_dir: DataDir) -> bool:
    try:
        subjects(dataset, data_dir)
    except DatasetError:
        return False
    return True


def stack(trials: Sequence[Trial], kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(int8 windows [N, 128, 7], labels) of the trials' ``activity`` or ``impacts``."""
    parts = [getattr(t, kind) for t in trials]
    xs = [p.windows for p in parts if len(p.labels)]
    ys = [p.labels for p in parts if len(p.labels)]
    if not xs:
        return np.zeros((0, WINDOW, CHANNELS), np.int8), np.zeros(0, np.int64)
    return np.concatenate(xs), np.concatenate(ys)


def to_float(windows: np.ndarray) -> np.ndarray:
    """int8 windows [N, 128, 7] → the float models' input [N, 7, 128]."""
    x = windows.astype(np.float32) * np.float32(INPUT_SCALE)
    return np.ascontiguousarray(x.transpose(0, 2, 1))


def augment(batch: np.ndarray, rng: np.random.Generator, max_tilt_deg: float = 10.0) -> np.ndarray:
    """A random rotation of the unit (up to ``max_tilt_deg`` about a random axis, the same
    for acc and gyro: wearers and datasets differ in how the unit sits), gain 0.9–1.1 and
    a little noise; |a| - 1 g is left as it is (it does not depend on orientation).
    Values stay in the int8 range. Falls use 45° (it generalised better across
    datasets on the validation subjects); activity 5° (larger rotations blur the
    gravity direction that tells sitting from standing: 5° beat 10° and 0° on the
    validation subjects for the same seeds)."""
    n = len(batch)
    axis = rng.normal(size=(n, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    angle = rng.uniform(0, np.radians(max_tilt_deg), n)
    k = np.zeros((n, 3, 3))
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    k = k - k.transpose(0, 2, 1)
    s, c = np.sin(angle)[:, None, None], np.cos(angle)[:, None, None]
    rot = np.eye(3)[None] + s * k + (1 - c) * (k @ k)
    out = batch.copy()
    out[:, 0:3] = np.einsum("nij,njl->nil", rot, batch[:, 0:3])
    out[:, 4:7] = np.einsum("nij,njl->nil", rot, batch[:, 4:7])
    out *= rng.uniform(0.9, 1.1, (n, 1, 1))
    out += rng.normal(0.0, 0.01, out.shape)
    limit = 127 * INPUT_SCALE
    return np.clip(out, -128 * INPUT_SCALE, limit).astype(np.float32)


def kept(trials: Sequence[Trial], spec: TaskSpec) -> np.ndarray:
    """Which of the windows ``stack(trials, spec.kind)`` returns ``spec.exclude`` keeps."""
    dropped = dict(spec.exclude)
    return np.array(
        [
            spec.labels[int(k)] not in dropped.get(t.dataset, ())
            for t in trials
            for k in getattr(t, spec.kind).labels
        ],
        dtype=bool,
    )


def part_windows(
    trials: Sequence[Trial], spec: TaskSpec
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(int8 windows [N, 128, 7], labels, ``dataset/trial`` of each) of a split's trials
    as the task trains and validates on them: ``spec.exclude``'s classes left out."""
    x, y = stack(trials, spec.kind)
    sessions = window_sessions(trials, spec.kind)
    if spec.exclude:
        keep = kept(trials, spec)
        x, y, sessions = x[keep], y[keep], sessions[keep]
    return x, y, sessions


def roll_copies(
    x: np.ndarray, y: np.ndarray, classes: Sequence[int], copies: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """The windows [N, 7, 128] plus ``copies`` copies of those of ``classes``, each turned
    by a random angle (0-360°) about the unit's x axis, acc and gyro alike. Lying on the
    back, the front or either side turns a trunk-worn unit about the axis that runs up the
    trunk (x in UCI HAPT, the only lying data): one validation session whose phone sat the
    other way round had its lying gravity on -y, which no training window had."""
    chosen = np.flatnonzero(np.isin(y, list(classes)))
    if copies <= 0 or len(chosen) == 0:
        return x, y
    rng = np.random.default_rng(seed)
    base = x[chosen]
    extra = []
    for _ in range(copies):
        angle = rng.uniform(0.0, 2.0 * np.pi, (len(base), 1))
        c, s = np.cos(angle), np.sin(angle)
        turned = base.copy()
        for i, j in ((1, 2), (5, 6)):  # acc y, z; gyro y, z
            turned[:, i] = c * base[:, i] - s * base[:, j]
            turned[:, j] = s * base[:, i] + c * base[:, j]
        extra.append(np.clip(turned, -128 * INPUT_SCALE, 127 * INPUT_SCALE))
    return (
        np.concatenate([x, *extra]).astype(np.float32),
        np.concatenate([y, *[y[chosen]] * copies]),
    )


def window_sessions(trials: Sequence[Trial], kind: str) -> np.ndarray:
    """``dataset/trial`` of each window ``stack(trials, kind)`` returns, in its order."""
    return np.array(
        [f"{t.dataset}/{t.trial}" for t in trials for _ in getattr(t, kind).labels], dtype=object
    )


def mirror_y(x: np.ndarray) -> np.ndarray:
    """Windows [N, 7, 128] as a unit with its y axis reversed would record them: acc y
    negated, and the gyro as an axial vector under that reflection (x and z negated)."""
    out = x.copy()
    out[:, [1, 4, 6]] *= -1.0
    return out


def reversed_sessions(
    x: np.ndarray, y: np.ndarray, sessions: np.ndarray, walk: int, datasets_: Sequence[str]
) -> set[str]:
    """The sessions of ``datasets_`` whose walking windows hold gravity on +y on average.

    In UCI HAPT the phone's y axis runs front to back at the waist, and walking holds it
    at -0.05 to -0.35 g in 32 of the 35 training and validation sessions; in the other
    three (exp18 user 09, exp33 user 16, exp21 user 10) every posture has y's sign
    reversed and x and z as usual (the walking correlation of acc y with acc z changes
    sign too), so their sitting looks like everyone else's standing. A session without
    walking windows is never found."""
    chosen = np.isin([s.split("/", 1)[0] for s in sessions], list(datasets_)) & (y == walk)
    out = set()
    for session in sorted(set(sessions[chosen])):
        rows = chosen & (sessions == session)
        if float(x[rows, 1].mean()) > 0.0:
            out.add(str(session))
    return out


def output_bias(spec: TaskSpec) -> np.ndarray | None:
    """The per-class logit offsets of ``spec.output_bias`` (None when it has none)."""
    if not spec.output_bias:
        return None
    bias = np.zeros(len(spec.labels), np.float32)
    for label, value in spec.output_bias:
        bias[spec.labels.index(label)] += value
    return bias


def datasets() -> list[str]:
    return list(DATASETS)


def write_json(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(value, indent=2) + "\n")
    tmp.replace(path)


# ------------------------------------------------------------------------------ training


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """What makes a task: its labels (protocol code order), which windows it reads
    (``impacts`` or ``activity``), the (dataset, positions) it trains on, and its nets."""

    name: str
    labels: tuple[str, ...]
    kind: str
    sources: tuple[tuple[str, tuple[str, ...] | None], ...]
    student: Any  # NetConfig
    teacher_factor: float = 2.0
    class_balance: float = 0.5  # exponent of the inverse-frequency class weights
    max_tilt_deg: float = 10.0  # rotation augmentation (`augment`)
    hold_s: float = 0.0  # each recording's end held this long (`load_trials`)
    roll_classes: tuple[str, ...] = ()  # training windows of these get `roll_copies` copies
    roll_copies: int = 0
    # (dataset, labels): windows of those labels from that dataset are left out of training
    # and validation (e.g. the arm unit's postures, which the trunk's gravity cue contradicts)
    exclude: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # datasets whose training sessions worn with the y axis reversed (`reversed_sessions`)
    # are mirrored back (`mirror_y`) before training
    remount: tuple[str, ...] = ()
    # (label, value): added to that output's logit of the trained student before export
    output_bias: tuple[tuple[str, float], ...] = ()
    # the class whose F1 the Pareto sweep plots beside macro-F1 (None: accuracy instead)
    pareto_class: str | None = None


@dataclasses.dataclass(frozen=True)
class ImuTrainConfig:
    teacher_epochs: int = 30
    student_epochs: int = 40
    qat_epochs: int = 6
    width: float = 1.0  # width multiplier of teacher and student
    prune_keep: float = 1.0  # < 1: structured channel pruning of the student
    prune_epochs: int = 10
    seed: int = 2026
    max_subjects: int | None = None  # per dataset and split; for quick runs and tests
    leave_out: tuple[str, ...] = ()  # datasets not trained on (cross-dataset runs)
    class_balance: float | None = None  # None: the task's own (TaskSpec.class_balance)


DEFAULT_CONFIG = ImuTrainConfig()
TrialCache = dict[tuple[str, str, tuple[str, ...] | None], list[Trial]]


def source_trials(
    spec: TaskSpec,
    part: str,
    data_dir: DataDir,
    config: ImuTrainConfig,
    cache: TrialCache | None = None,
    progress: bool = True,
) -> list[Trial]:
    """The trials of one split part (``train`` or ``validation``) of every training
    source present under the data folder, less ``config.leave_out``."""
    out: list[Trial] = []
    for dataset, positions in spec.sources:
        if dataset in config.leave_out or not present(dataset, data_dir):
            continue
        key = (dataset, part, positions)
        if cache is not None and key in cache:
            trials = cache[key]
        else:
            found = set(subjects(dataset, data_dir))
            ids = [s for s in split_subjects(dataset, part) if s in found]
            trials = load_trials(dataset, data_dir, ids, positions, progress, spec.hold_s)
            if cache is not None:
                cache[key] = trials
        if config.max_subjects is not None:
            keep = sorted({t.subject for t in trials})[: config.max_subjects]
            trials = [t for t in trials if t.subject in keep]
        out += trials
    return out


def nets(spec: TaskSpec, width: float) -> tuple[Any, Any]:
    student = spec.student.scaled(width) if width != 1.0 else spec.student
    teacher = dataclasses.replace(spec.student.scaled(spec.teacher_factor * width), dropout=0.3)
    return teacher, student


def train_imu(
    spec: TaskSpec,
    out_dir: Path,
    data_dir: DataDir = None,
    config: ImuTrainConfig = ImuTrainConfig(),
    show_progress: bool = True,
    cache: TrialCache | None = None,
) -> dict[str, Any]:
    """Teacher → distilled student → (pruning) → QAT → int8; writes ``<task>.tflite``,
    ``teacher.pt``, ``student_float.pt`` and ``training.json`` into ``out_dir``."""

    started = time.perf_counter()
    # One thread: these nets are small, and on a shared 2-core machine a second thread
    # mostly waits (measured 10x slower per batch under load).
    torch.set_num_threads(1)
    parts = {
        part: source_trials(spec, part, data_dir, config, cache, show_progress)
        for part in ("train", "validation")
    }
    arrays, sessions = {}, {}
    for part, trials in parts.items():
        x, y, sessions[part] = part_windows(trials, spec)
        if len(y) == 0:
            raise DatasetError(Path(str(data_dir or "../shared/data")), f"no {part} windows")
        arrays[part] = (to_float(x), y)
    remounted: list[str] = []
    if spec.remount:
        x, y = arrays["train"]
        walk = spec.labels.index("walk")
        remounted = sorted(reversed_sessions(x, y, sessions["train"], walk, spec.remount))
        flip = np.isin(sessions["train"], remounted)
        x[flip] = mirror_y(x[flip])
    windows = {
        part: {label: int((y == k).sum()) for k, label in enumerate(spec.labels)}
        for part, (_x, y) in arrays.items()
    }
    if spec.roll_classes and spec.roll_copies:
        classes = [spec.labels.index(c) for c in spec.roll_classes]
        arrays["train"] = roll_copies(*arrays["train"], classes, spec.roll_copies, config.seed)
    teacher_cfg, student_cfg = nets(spec, config.width)
    recipe = Recipe(
        teacher_epochs=config.teacher_epochs,
        student_epochs=config.student_epochs,
        qat_epochs=config.qat_epochs,
        prune_keep=config.prune_keep,
        prune_epochs=config.prune_epochs,
        seed=config.seed,
        class_balance=spec.class_balance if config.class_balance is None else config.class_balance,
    )
    result = train_student(
        arrays["train"],
        arrays["validation"],
        len(spec.labels),
        teacher_cfg,
        student_cfg,
        recipe,
        INPUT_SCALE,
        f"wearsense {spec.name} student",
        augment=functools.partial(augment, max_tilt_deg=spec.max_tilt_deg),
        show_progress=show_progress,
    )
    bias = output_bias(spec)
    if bias is not None:
        shift_outputs(result, bias)
    write_atomic(out_dir / f"{spec.name}.tflite", result.tflite)
    save_float_model(result.teacher, teacher_cfg, out_dir / "teacher.pt")
    save_float_model(result.float_student, result.student_config, out_dir / "student_float.pt")

    shape = (CHANNELS, WINDOW)
    x_val, y_val = arrays["validation"]
    summary: dict[str, Any] = {
        "task": spec.name,
        "seed": config.seed,
        "sources": {d: list(p) if p else "all" for d, p in spec.sources},
        "excluded_classes": {d: list(labels) for d, labels in spec.exclude},
        "left_out": list(config.leave_out),
        "subjects": {
            part: sorted({f"{t.dataset}/{t.subject}" for t in trials})
            for part, trials in parts.items()
        },
        "windows": windows,  # before the turned copies (`roll_copies`)
        "augmentation": {
            "max_tilt_deg": spec.max_tilt_deg,
            "turned_copies": {c: spec.roll_copies for c in spec.roll_classes},
            "mirrored_sessions": remounted,
        },
        "output_bias": dict(spec.output_bias),
        "teacher": {
            "parameters": count_parameters(result.teacher),
            "macs": count_macs(result.teacher, shape),
            "config": dataclasses.asdict(teacher_cfg),
        },
        "student": {
            "parameters": count_parameters(result.float_student),
            "macs": count_macs(result.float_student, shape),
            "config": dataclasses.asdict(result.student_config),
            **model_sizes(result.tflite),
        },
        "stages": result.history,
        "validation_window_accuracy": {
            name: float((softmax(predict_logits(model, x_val)).argmax(1) == y_val).mean())
            for name, model in (
                ("teacher", result.teacher),
                ("float_student", result.float_student),
            )
        },
        "training_wall_s": round(time.perf_counter() - started, 1),
        "config": dataclasses.asdict(config),
    }
    write_json(out_dir / "training.json", summary)
    return summary


# ---------------------------------------------------------------------------- evaluation


def int8_trial_probabilities(model: Any, trials: Sequence[Trial], kind: str) -> list[np.ndarray]:
    """Per trial, the class probabilities the C interpreter gives each of its windows."""
    n = int(np.prod(model.outputs[0].shape))
    return [
        int8_probabilities(model, getattr(t, kind).windows)
        if len(getattr(t, kind).labels)
        else np.zeros((0, n))
        for t in trials
    ]


def float_trial_probabilities(path: Path, trials: Sequence[Trial], kind: str) -> list[np.ndarray]:
    """The same for a float model saved beside the shipped one (teacher, float student)."""
    model = load_float_model(path)
    x, _ = stack(trials, kind)
    probs = softmax(predict_logits(model, to_float(x))) if len(x) else np.zeros((0, 1))
    out, start = [], 0
    for t in trials:
        n = len(getattr(t, kind).labels)
        out.append(probs[start : start + n])
        start += n
    return out


def float_side_by_side(
    folder: Path, trials: Sequence[Trial], kind: str, figures: Any
) -> dict[str, Any]:
    """``figures`` of the teacher and the float student whose weights lie in ``folder``
    (each only when its file is there), on the same trials as the int8 student."""
    out: dict[str, Any] = {}
    for name, file in (("teacher", "teacher.pt"), ("float_student", "student_float.pt")):
        if (folder / file).is_file():
            out[name] = figures(float_trial_probabilities(folder / file, trials, kind))
    return out


def finish_report(
    report: dict[str, Any], model: Any, model_path: Path, beside: str, key: str
) -> dict[str, Any]:
    """Adds the JSON file ``beside`` the model (when present) under ``key``, and the model's
    input shape, arena bytes, MACs and file size: the common tail of an IMU report."""
    extra = model_path.parent / beside
    if extra.is_file():
        report[key] = json.loads(extra.read_text())
    report["input_shape"] = list(model.inputs[0].shape)
    report["arena_bytes"] = model.arena_bytes
    report["macs"] = model.macs
    report["tflite_bytes"] = model_path.stat().st_size
    return report


def evaluation_trials(
    datasets_: Sequence[str],
    data_dir: DataDir,
    include_training: bool,
    progress: bool,
    hold_s: float = 0.0,
) -> list[Trial]:
    """Every recording of every held-out subject (all positions) of the datasets present
    (``hold_s``: as in `load_trials`)."""
    trials: list[Trial] = []
    for dataset in datasets_:
        if not present(dataset, data_dir):
            continue
        ids = (
            subjects(dataset, data_dir)
            if include_training
            else held_out_subjects(dataset, data_dir)
        )
        if ids:
            trials += load_trials(dataset, data_dir, ids, None, progress, hold_s)
    if not trials:
        raise DatasetError(Path(str(data_dir or "../shared/data")), "no held-out IMU recordings")
    return trials


def in_scope(trial: Trial) -> bool:
    """The device's placements (waist, chest, DSADS's torso); a dataset with none of them
    (DSADS's right arm) counts with its own position, as the cross-position set."""
    return trial.position in DEVICE_POSITIONS or trial.dataset == "dsads"


def pareto_imu(
    spec: TaskSpec,
    out_dir: Path,
    data_dir: DataDir = None,
    config: ImuTrainConfig = ImuTrainConfig(),
    widths: tuple[float, ...] = (0.5, 1.0, 1.5),
    show_progress: bool = True,
    cache: TrialCache | None = None,
) -> list[dict[str, Any]]:
    """One teacher/student pair per width; each int8 student, run by the C interpreter on
    the validation subjects' windows (never the test split): accuracy and macro-F1 (and
    the fall class's F1) against model bytes, arena bytes and MACs."""
    cache = {} if cache is None else cache
    validation = source_trials(spec, "validation", data_dir, config, cache, show_progress)
    x_val, y_val, _ = part_windows(validation, spec)  # the windows training validates on
    rows = []
    for width in widths:
        folder = out_dir / f"width-{width:g}"
        summary = train_imu(
            spec, folder, data_dir, dataclasses.replace(config, width=width), show_progress, cache
        )
        model = NNModel((folder / f"{spec.name}.tflite").read_bytes())
        predicted = int8_probabilities(model, x_val).argmax(axis=1)
        report = classification_report(y_val, predicted, spec.labels, bootstrap=0)
        row = {
            "width": width,
            "tflite_bytes": summary["student"]["tflite_bytes"],
            "arena_bytes": summary["student"]["arena_bytes"],
            "macs": summary["student"]["macs"],
            "validation_accuracy": report["accuracy"],
            "validation_macro_f1": report["macro_f1"],
            "validation_windows": int(len(y_val)),
            "training_wall_s": summary["training_wall_s"],
        }
        if spec.pareto_class is not None:
            f1 = report["per_class"][spec.pareto_class]["f1"]
            row[f"validation_f1_{spec.pareto_class}"] = f1
        rows.append(row)
    metrics = [("validation_macro_f1", "macro-F1 (validation)")]
    metrics.append(
        (f"validation_f1_{spec.pareto_class}", f"F1 {spec.pareto_class} (validation)")
        if spec.pareto_class is not None
        else ("validation_accuracy", "accuracy (validation)")
    )
    write_pareto(
        rows, out_dir, ("width", "width"), metrics, f"{spec.name} students: accuracy against size"
    )
    return rows
