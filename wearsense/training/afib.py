"""The AFib task: data from the ECG front end (the firmware's C chain, called through
`wearsense.firmware`), a teacher and a distilled int8 student, and evaluation of the
shipped int8 model as the C interpreter runs it.

Input: 10.24 s of ECG at 125 Hz as int8 (`ws_afib_input_s8` over the chain's normalised
output; float value = q / 64), followed in a hybrid model by 16 int8 features of the RR
intervals of the chain's beat detector over the 20.48 s before the window's end
(`ws_afib_rr_features`). Output: probabilities of the protocol's rhythm classes
normal, af, other, noisy (codes 0..3). A record's class is the argmax of the mean
probability over its windows (hop 5.12 s) the front end did not flag leads-off, flat or
saturated, exactly as the device judges an on-demand recording (`record_class`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from wearsense.datasets import DatasetError, cinc2017
from wearsense.firmware import core
from wearsense.firmware.ecg import Beats, Quality, run_chain

LABELS = ("normal", "af", "other", "noisy")
CINC_CLASS = {"N": 0, "A": 1, "O": 2, "~": 3}
WINDOW = 1280
HOP = 640
# WS_REC_OTHER_PEAK (ws_detect.h): a record the windows call normal is "other" when one
# window gives "other" more than this (chosen on the validation records from 0.4-0.8:
# docs/detectors.md)
OTHER_PEAK = 0.5
INPUT_SCALE = 1.0 / 64.0
RR_FEATURES = 16  # WS_AFIB_RR_FEATURES
# WS_REC_UNSEEN: front-end flags (leads-off 1, saturated 4, flat 8) that keep a window from
# the model in a recording; the noisy flag (2) does not (the model has a noisy class).
UNSEEN_FLAGS = 1 | 4 | 8
QUALITY_WINDOW = 500  # WS_ECG_QUALITY_WINDOW: 250 Hz samples per quality verdict
SPLITS = Path(__file__).resolve().parents[1] / "datasets" / "splits" / "cinc2017.json"


def afib_input(normalised_250hz: np.ndarray) -> np.ndarray:
    """The model input sequence (int8, 125 Hz) from the chain's normalised output."""
    lib, ffi = core().lib, core().ffi
    samples = np.ascontiguousarray(normalised_250hz[: len(normalised_250hz) // 2 * 2], np.int16)
    out = np.empty(len(samples) // 2, dtype=np.int8)
    status = lib.ws_afib_input_s8(
        ffi.from_buffer("int16_t[]", samples), len(samples), ffi.from_buffer("int8_t[]", out)
    )
    if status != 0:
        raise RuntimeError(f"ws_afib_input_s8 failed with status {status}")
    return out


def rr_features(beats: Beats, ends: Iterable[int]) -> np.ndarray:
    """``ws_afib_rr_features`` of the chain's beats for windows ending at each of ``ends``
    (250 Hz output samples): int8 ``[len(ends), RR_FEATURES]``."""
    lib, ffi = core().lib, core().ffi
    n = len(beats.sample)
    array = ffi.new("ws_ecg_beat_t[]", max(n, 1))
    for i in range(n):
        array[i].sample = int(beats.sample[i])
        array[i].rr_ms = int(beats.rr_ms[i])
        array[i].amp_uv = int(beats.amp_uv[i])
        array[i].flags = int(beats.flags[i])
        array[i].lag = 0 if beats.lag is None else int(beats.lag[i])
    ends = list(ends)
    out = np.zeros((len(ends), RR_FEATURES), dtype=np.int8)
    for row, end in enumerate(ends):
        status = lib.ws_afib_rr_features(array, n, int(end), ffi.from_buffer("int8_t[]", out[row]))
        if status != 0:
            raise RuntimeError(f"ws_afib_rr_features failed with status {status}")
    return out


@dataclasses.dataclass(frozen=True)
class EcgInput:
    """What the AFib model's input is made of: the 125 Hz int8 sequence and the beats."""

    sequence: np.ndarray
    beats: Beats
    quality: Quality | None = None  # the front end's verdicts (None: none kept)


def record_input(record: cinc2017.CincRecord) -> EcgInput:
    """A CinC record through the device's ECG chain and AFib input stage."""
    chain = run_chain(record.signal, record.fs, record.adc_gain, record.adc_zero, normalised=True)
    return EcgInput(afib_input(chain.signal), chain.beats, chain.quality)


def seen_windows(ecg: EcgInput, n: int, window: int = WINDOW) -> np.ndarray:
    """Which of the first ``n`` windows (every HOP) the device shows the model in a
    recording: those no front-end verdict ending within them flags leads-off, flat or
    saturated (``quality_over`` and WS_REC_UNSEEN in ws_detect.c)."""
    seen = np.ones(n, dtype=bool)
    if ecg.quality is None or len(ecg.quality.start) == 0:
        return seen
    begin = 2 * np.arange(n) * HOP  # in 250 Hz output samples
    end = begin + 2 * window
    stop, flags = ecg.quality.start + QUALITY_WINDOW, ecg.quality.flags
    for k in range(n):
        over = (stop > begin[k]) & (stop <= end[k])
        seen[k] = not np.any(flags[over] & UNSEEN_FLAGS)
    return seen


def recording_for(ecg: EcgInput) -> tuple[int, int]:
    """(windows, seconds): the record's windows (every HOP; 0 when shorter than one) and
    the shortest START_RECORDING whose windows are exactly those (WS_REC_WINDOWS; at most
    60 s, so at most 10 windows: every CinC record)."""
    windows = max(0, (len(ecg.sequence) - WINDOW) // HOP + 1)
    return windows, max(10, min(60, -(-(HOP * (windows - 1) + WINDOW) // 125)))


def record_class(window_probs: np.ndarray, seen: np.ndarray | None = None) -> int:
    """A record's class as the device's ECG_RECORDING gives it: the largest mean probability
    over the windows the model saw, except that normal rhythm with one window giving "other"
    more than ``OTHER_PEAK`` is other rhythm (an intermittent abnormality, averaged away
    otherwise); noisy when it saw none (no guess)."""
    if seen is not None:
        window_probs = window_probs[seen]
    if len(window_probs) == 0:
        return CINC_CLASS["~"]
    return int(record_decisions(window_probs, np.zeros(len(window_probs), dtype=np.int64), 1)[0])


def record_verdict(model: Any, ecg: EcgInput) -> int:
    """The int8 ``model``'s (C interpreter) verdict on one record: its windows' probabilities
    through `record_class` with the device's quality gate (`seen_windows`)."""
    probs = _probabilities(model, model_inputs(ecg, model_length(model)))
    return record_class(probs, seen_windows(ecg, len(probs), model_window(model)))


def record_sequence(record: cinc2017.CincRecord) -> np.ndarray:
    return record_input(record).sequence


def signal_length(length: int) -> int:
    """ECG samples in an input row of ``length`` values: a row of WINDOW + RR_FEATURES is a
    hybrid model's (window, then RR features); any other length is all ECG."""
    return length - RR_FEATURES if length == WINDOW + RR_FEATURES else length


def model_inputs(ecg: EcgInput, length: int, hop: int = HOP) -> np.ndarray:
    """The int8 input rows of a model whose input holds ``length`` values: windows of the
    sequence (every ``hop`` samples; the device's HOP unless training asks for more),
    each followed by its RR features for a hybrid model."""
    window = signal_length(length)
    rows = windows(ecg.sequence, window, hop)
    if window == length:
        return rows
    ends = 2 * (np.arange(len(rows)) * hop + window)  # in 250 Hz output samples
    return np.concatenate([rows, rr_features(ecg.beats, ends)], axis=1)


def windows(sequence: np.ndarray, window: int = WINDOW, hop: int = HOP) -> np.ndarray:
    """Windows of ``window`` samples every ``hop``; a short record is zero-padded to one
    window."""
    if len(sequence) < window:
        sequence = np.concatenate([sequence, np.zeros(window - len(sequence), np.int8)])
    starts = range(0, len(sequence) - window + 1, hop)
    return np.stack([sequence[s : s + window] for s in starts])


@dataclasses.dataclass
class RecordSet:
    ids: list[str]
    labels: np.ndarray  # class code per record
    inputs: list[EcgInput]

    @property
    def sequences(self) -> list[np.ndarray]:
        return [i.sequence for i in self.inputs]

    def window_arrays(
        self, length: int = WINDOW, hop: int = HOP
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(int8 model inputs [N, 1, length] every ``hop`` samples, labels, index of the
        record of each row)."""
        xs, ys, owner = [], [], []
        for index, (ecg, label) in enumerate(zip(self.inputs, self.labels, strict=True)):
            w = model_inputs(ecg, length, hop)
            xs.append(w)
            ys.append(np.full(len(w), label))
            owner.append(np.full(len(w), index))
        return np.concatenate(xs)[:, None, :], np.concatenate(ys), np.concatenate(owner)


def load_split_ids() -> dict[str, list[str]]:
    return json.loads(SPLITS.read_text())["parts"]


def load_records(
    ids: Iterable[str], data_dir: str | os.PathLike[str] | None, desc: str
) -> RecordSet:
    ids = list(ids)
    labels = cinc2017.read_labels(data_dir)
    inputs, codes = [], []
    for record in tqdm(
        cinc2017.iter_records(ids, data_dir), total=len(ids), desc=desc, unit="rec", mininterval=1
    ):
        inputs.append(record_input(record))
        codes.append(CINC_CLASS[labels[record.record_id]])
    return RecordSet(ids, np.array(codes, dtype=np.int64), inputs)


def unseen(found: list[str], split_file: Path) -> list[str]:
    """The ids in ``found`` that the committed train and validation splits in
    ``split_file`` do not name (for an unseen folder: all of them), in order."""
    parts = json.loads(split_file.read_text())["parts"]
    seen = set(parts["train"]) | set(parts["validation"])
    return [r for r in found if r not in seen]


def held_out_records(data_dir: str | os.PathLike[str] | None) -> list[str]:
    """Every labelled CinC record under the data folder that training never saw."""
    try:
        found = list(cinc2017.read_labels(data_dir))
    except DatasetError:
        return []
    return unseen(found, SPLITS)


def mean_probabilities(window_probs: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    sums = np.zeros((n, window_probs.shape[1]))
    np.add.at(sums, owner, window_probs)
    counts = np.bincount(owner, minlength=n)[:, None]
    return sums / np.maximum(counts, 1)


def summarise_sizes(tflite: bytes) -> dict[str, Any]:
    from wearsense.training.pipeline import model_sizes

    return dict(model_sizes(tflite))


# ----------------------------------------------------------------------------- training


def _nets(rr: bool = True, joint_width: int = 16, teacher_width: float = 2.0) -> tuple[Any, Any]:
    from wearsense.training.models import NetConfig

    student = NetConfig(
        in_channels=1,
        n_classes=len(LABELS),
        stem_width=16,
        stem_kernel=7,
        stem_stride=4,
        blocks=((24, 2), (32, 2), (48, 2), (48, 1), (64, 2)),
        kernel=5,
        dropout=0.2,
        side_features=RR_FEATURES if rr else 0,
        joint_width=joint_width,
    )
    teacher = dataclasses.replace(student.scaled(teacher_width), dropout=0.3)
    return teacher, student


@dataclasses.dataclass(frozen=True)
class AfibTrainConfig:
    teacher_epochs: int = 30
    student_epochs: int = 40
    qat_epochs: int = 6
    width: float = 1.0  # width multiplier of teacher and student
    seed: int = 2017
    max_records: int | None = None  # per split; for quick runs and tests
    prune_keep: float = 1.0  # < 1: structured channel pruning of the student
    prune_epochs: int = 10
    rr_features: bool = True  # a hybrid model: ECG window + RR features of the beats
    # weight of the co-teacher (gradient boosting on the RR features) in the soft targets
    rr_co_teacher: float = 0.3
    joint_width: int = 16  # units of the hybrid student's joint layer
    teacher_width: float = 2.0  # the teacher is the student scaled by this (joint layer too)
    class_balance: float = 0.5  # class weights = (inverse class frequency) ** this
    # classes (of af, other, noisy) whose logit offsets are tuned on the validation
    # records and folded into the int8 model; () keeps the logits as trained
    tune_offsets: tuple[str, ...] = ()
    device: str = "cpu"  # torch device to train on ("cuda" where a GPU is present)
    # hidden units of the RR head added to the trained student's logits (fit_rr_head,
    # weight chosen on the validation records); 0: the student as distilled
    rr_head: int = 8
    # also train on the windows of the MIT-BIH training split (`mitdb_training_rows`)
    mitdb_train: bool = False
    # records of that split left out (a leave-one-record-out study of Holter specificity)
    mitdb_leave_out: tuple[str, ...] = ()
    # the CinC training records' windows start every this many 125 Hz samples (the device
    # and every evaluation use HOP; a smaller hop gives overlapping crops of the records)
    train_hop: int = HOP

    def __post_init__(self) -> None:
        if not 1 <= self.train_hop <= WINDOW:
            raise ValueError(f"train_hop must be 1..{WINDOW} samples, not {self.train_hop}")

    @property
    def input_length(self) -> int:
        return WINDOW + (RR_FEATURES if self.rr_features else 0)


def rr_co_teacher_probabilities(
    features: np.ndarray, labels: np.ndarray, owner: np.ndarray, seed: int, folds: int = 5
) -> np.ndarray:
    """The co-teacher's class probabilities for every training row: gradient boosting on
    the RR features alone (what the classical AF methods use), each row predicted by the
    model of the fold that did not see its record (out of fold, so the soft targets are
    as uncertain as on unseen records)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import GroupKFold

    x = features.astype(np.float64)
    out = np.zeros((len(x), len(LABELS)))
    for fit_rows, predict_rows in GroupKFold(n_splits=folds).split(x, labels, owner):
        model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=seed)
        model.fit(x[fit_rows], labels[fit_rows])
        probs = np.zeros((len(predict_rows), len(LABELS)))
        probs[:, model.classes_] = model.predict_proba(x[predict_rows])
        out[predict_rows] = probs
    return out


OFFSET_GRID = tuple(np.arange(-1.5, 1.51, 0.25).round(2))


def record_decisions(window_probs: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """The class of each of ``n`` records (``owner``: the record of each window; every
    window counts): the largest mean probability, except that normal with one window giving
    "other" more than ``OTHER_PEAK`` is other (`record_class`, ws_detect.c)."""
    pred = mean_probabilities(window_probs, owner, n).argmax(axis=1)
    peak = np.zeros(n)
    np.maximum.at(peak, owner, window_probs[:, CINC_CLASS["O"]])
    pred[(pred == CINC_CLASS["N"]) & (peak > OTHER_PEAK)] = CINC_CLASS["O"]
    return pred


def record_scores(window_probs: np.ndarray, owner: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-class F1 of the records' decisions (`record_decisions`)."""
    from wearsense.training.metrics import confusion, per_class_from_confusion

    pred = record_decisions(window_probs, owner, len(labels))
    per_class = per_class_from_confusion(confusion(labels, pred, len(LABELS)))
    return np.nan_to_num(np.array([c["f1"] for c in per_class]))


def tune_class_offsets(
    logits: np.ndarray,
    owner: np.ndarray,
    labels: np.ndarray,
    classes: Iterable[str] = ("other",),
    grid: Iterable[float] = OFFSET_GRID,
) -> np.ndarray:
    """Offsets to add to the logits of ``classes`` (never normal's) that maximise
    F1(AF) + mean F1(normal, AF, other) of the records' decisions (`record_decisions`);
    the others stay 0. The class weights and CinC's class mix of
    training need not be the best decision rule for these two figures. Chosen on
    validation records, never on test ones; a tie keeps the smaller shift."""
    from itertools import product

    from wearsense.training.pipeline import softmax

    columns = [LABELS.index(c) for c in classes]
    if 0 in columns:
        raise ValueError("normal is the reference class: its offset stays 0")
    values = sorted(grid, key=abs)

    def objective(offsets: np.ndarray) -> float:
        f1 = record_scores(softmax(logits + offsets), owner, labels)
        return float(f1[1] + f1[:3].mean())

    best = np.zeros(len(LABELS))
    best_score = objective(best)
    for shift in product(values, repeat=len(columns)):
        offsets = np.zeros(len(LABELS))
        offsets[columns] = shift
        score = objective(offsets)
        if score > best_score + 1e-9:
            best, best_score = offsets, score
    return best


def choose_class_offsets(
    tflite: bytes,
    windows: np.ndarray,
    owner: np.ndarray,
    labels: np.ndarray,
    classes: Iterable[str] = ("other",),
) -> np.ndarray:
    """Offsets of ``classes`` (`tune_class_offsets`) chosen on the logits the C interpreter
    computes for the int8 ``windows`` of validation records (``owner``: each window's
    record; ``labels``: each record's class)."""
    from wearsense.training.pipeline import int8_logits

    return tune_class_offsets(int8_logits(tflite, windows), owner, labels, classes)


RR_HEAD_WEIGHTS = (0.25, 0.5, 0.75, 1.0)


@dataclasses.dataclass(frozen=True)
class RrHead:
    """A one-hidden-layer network on the RR features alone, in the units the model sees
    (int8 value × INPUT_SCALE): logits = w2·ReLU(w1·rr + b1) + b2."""

    w1: np.ndarray  # [hidden, RR_FEATURES]
    b1: np.ndarray
    w2: np.ndarray  # [classes, hidden]
    b2: np.ndarray


def fit_rr_head(rr: np.ndarray, labels: np.ndarray, hidden: int, seed: int) -> RrHead:
    """The RR head trained on the int8 RR features of the training windows and their
    records' labels (scikit-learn's MLP, L2 1e-2, standardised inputs; the standardisation
    is folded into ``w1`` and ``b1``). The hybrid student under-uses its RR features (it
    fits the training records' ECG almost perfectly); a model that sees only them, added
    to its logits, is a second opinion it cannot overfit away."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    if hidden < 1:
        raise ValueError("the RR head needs at least one hidden unit")
    x = rr.astype(np.float64) * INPUT_SCALE
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPClassifier((hidden,), alpha=1e-2, max_iter=500, random_state=seed)
        mlp.fit((x - mean) / scale, labels)
    if list(mlp.classes_) != list(range(len(LABELS))):
        raise ValueError("the RR head needs training windows of every class")
    first = mlp.coefs_[0] / scale[:, None]  # [features, hidden]
    return RrHead(
        w1=first.T.astype(np.float32),
        b1=(mlp.intercepts_[0] - mean @ first).astype(np.float32),
        w2=mlp.coefs_[1].T.astype(np.float32),
        b2=mlp.intercepts_[1].astype(np.float32),
    )


def attach_rr_head(
    student: Any,
    head: RrHead,
    calibration: np.ndarray,
    val_windows: np.ndarray,
    val_owner: np.ndarray,
    val_labels: np.ndarray,
    description: str,
    weights: Iterable[float] = RR_HEAD_WEIGHTS,
) -> tuple[Any, bytes, float, dict[str, float]]:
    """The fused float ``student`` with ``head``'s logits added at each of ``weights``
    (`models.add_side_head`), each exported int8 (``calibration``: float training rows)
    and run by the C interpreter on the int8 validation windows; returns the float model,
    the `.tflite`, the weight with the best F1(AF) + mean F1(normal, AF, other) of the
    records' decisions (a tie keeps the smaller weight) and that figure per weight. The
    int8 models here are post-training quantized: the choice is made before the
    quantization-aware fine-tuning that follows it."""
    from wearsense.firmware.nn import NNModel
    from wearsense.training.export import export_convnet
    from wearsense.training.models import add_side_head
    from wearsense.training.pipeline import int8_probabilities

    best: tuple[float, Any, bytes, float] | None = None
    scores: dict[str, float] = {}
    for weight in sorted(weights):
        model = add_side_head(student, head.w1, head.b1, head.w2, head.b2, weight)
        _, tflite = export_convnet(model, calibration, INPUT_SCALE, description)
        probs = int8_probabilities(NNModel(tflite, "afib"), val_windows)
        f1 = record_scores(probs, val_owner, val_labels)
        score = float(f1[1] + f1[:3].mean())
        scores[f"{weight:g}"] = round(score, 4)
        if best is None or score > best[0] + 1e-9:
            best = (score, model, tflite, weight)
    if best is None:
        raise ValueError("no RR head weight to try")
    return best[1], best[2], best[3], scores


def _augment(batch: np.ndarray, rng: np.random.Generator, side: int = 0) -> np.ndarray:
    """Gain between 0.7 and 1.3 and a little noise on the ECG samples: electrode contact
    and amplitude vary (the last ``side`` values, RR features, are left as they are)."""
    out = batch.astype(np.float32, copy=True)
    signal = out[..., : out.shape[-1] - side]
    gain = rng.uniform(0.7, 1.3, (len(batch), 1, 1))
    noise = rng.normal(0.0, 0.02, signal.shape)
    out[..., : out.shape[-1] - side] = signal * gain + noise
    return out


def _float(x: np.ndarray) -> np.ndarray:
    return (x.astype(np.float32) * np.float32(INPUT_SCALE)).astype(np.float32)


def _training_parts(
    data_dir: str | os.PathLike[str] | None, max_records: int | None
) -> dict[str, RecordSet]:
    """The committed training and validation records present under the data folder (at
    most ``max_records`` each), through the device's ECG front end."""
    splits = load_split_ids()
    present = set(cinc2017.read_labels(data_dir))
    parts = {}
    for part in ("train", "validation"):
        ids = [r for r in splits[part] if r in present][:max_records]
        if not ids:
            raise DatasetError(cinc2017.record_dir(data_dir), f"no {part} records found")
        parts[part] = load_records(ids, data_dir, f"ECG front end ({part})")
    return parts


def _co_teacher(
    weight: float, x_train: np.ndarray, y_train: np.ndarray, owner: np.ndarray, seed: int
) -> tuple[np.ndarray, float] | None:
    """The RR co-teacher's soft targets for the training rows and their weight, or None
    when the weight is 0."""
    if weight <= 0:
        return None
    return rr_co_teacher_probabilities(x_train[:, 0, WINDOW:], y_train, owner, seed), weight


def rr_head_stage(
    student: Any,
    x_train: np.ndarray,
    y_train: np.ndarray,
    calibration: np.ndarray,
    x_val: np.ndarray,
    val_owner: np.ndarray,
    val_labels: np.ndarray,
    config: AfibTrainConfig,
) -> tuple[Any, dict[str, Any]]:
    """The fused float hybrid ``student`` with an RR head (`fit_rr_head` on the int8
    training rows ``x_train`` [N, 1, L], `attach_rr_head` on the validation rows; its int8
    trials take their activation ranges from the float ``calibration`` rows), to be
    fine-tuned quantization-aware next, and what was chosen."""
    if not student.side:
        raise ValueError("an RR head needs a hybrid student (RR features in its input)")
    head = fit_rr_head(x_train[:, 0, WINDOW:], y_train, config.rr_head, config.seed)
    model, _, weight, scores = attach_rr_head(
        student,
        head,
        calibration,
        x_val,
        val_owner,
        val_labels,
        "wearsense afib student",
    )
    info = {
        "hidden": config.rr_head,
        "seed": config.seed,
        "weight": weight,
        "validation_f1_af_plus_mean_f1_nao": scores,
    }
    return model, info


def train_afib(
    out_dir: Path,
    data_dir: str | os.PathLike[str] | None = None,
    config: AfibTrainConfig = AfibTrainConfig(),
    show_progress: bool = True,
) -> dict[str, Any]:
    """Trains teacher, student (distilled, then quantization-aware) and writes
    ``afib.tflite`` and ``training.json`` into ``out_dir``; returns the summary."""
    import time

    import torch

    from wearsense.training.models import count_macs, count_parameters
    from wearsense.training.pipeline import (
        Recipe,
        calibration_rows,
        model_sizes,
        save_float_model,
        shift_outputs,
        train_student,
        write_atomic,
    )
    from wearsense.training.trainer import predict_logits

    started = time.perf_counter()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    parts = _training_parts(data_dir, config.max_records)
    length = config.input_length
    x_train, y_train, owner = parts["train"].window_arrays(length, config.train_hop)
    if config.mitdb_train:
        x_train, y_train, owner = _with_mitdb(x_train, y_train, owner, data_dir, config)
    x_val, y_val, val_owner = parts["validation"].window_arrays(length)
    train = (_float(x_train), y_train)
    val = (_float(x_val), y_val)
    teacher_cfg, student_cfg = _nets(config.rr_features, config.joint_width, config.teacher_width)
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
    co_teacher = _co_teacher(
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
        augment=functools.partial(_augment, side=length - WINDOW),
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
    config: AfibTrainConfig = AfibTrainConfig(),
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
    import hashlib
    import shutil
    import time

    import torch

    from wearsense.training.models import count_macs, count_parameters
    from wearsense.training.pipeline import (
        Recipe,
        calibration_rows,
        load_float_model,
        model_sizes,
        quantization_aware,
        save_float_model,
        write_atomic,
    )
    from wearsense.training.trainer import predict_logits

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
    parts = _training_parts(data_dir, config.max_records)
    length = WINDOW + RR_FEATURES
    x_train, y_train, owner = parts["train"].window_arrays(length, config.train_hop)
    if config.mitdb_train:
        x_train, y_train, owner = _with_mitdb(x_train, y_train, owner, data_dir, config)
    x_val, y_val, val_owner = parts["validation"].window_arrays(length)
    train = (_float(x_train), y_train)
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
    co_teacher = _co_teacher(config.rr_co_teacher, x_train, y_train, owner, config.seed)
    recipe = Recipe(
        qat_epochs=config.qat_epochs,
        seed=config.seed,
        class_balance=config.class_balance,
        device=config.device,
    )
    _, tflite, qat_history = quantization_aware(
        model,
        train,
        (_float(x_val), y_val),
        len(LABELS),
        recipe,
        teacher,
        INPUT_SCALE,
        "wearsense afib student",
        augment=functools.partial(_augment, side=RR_FEATURES),
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
            name: float((predict_logits(net, _float(x_val)).argmax(1) == y_val).mean())
            for name, net in (("teacher", teacher), ("float_student", model))
        },
    )
    (out_dir / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


# --------------------------------------------------------------------------- evaluation

MITDB_SPLITS = SPLITS.with_name("mitdb.json")


def _probabilities(model: Any, window_batch: np.ndarray) -> np.ndarray:
    """Class probabilities of int8 windows as the C interpreter computes them."""
    from wearsense.training.pipeline import int8_probabilities

    return int8_probabilities(model, window_batch)


def model_length(model: Any) -> int:
    """Values in the model's input row (its input tensor is [1, 1, length, 1])."""
    return int(model.inputs[0].shape[2])


def model_window(model: Any) -> int:
    """ECG samples in the model's input (the row less a hybrid model's RR features)."""
    return signal_length(model_length(model))


def _mitdb_truth(label: str | None) -> int | None:
    if label is None or label in ("AFL",):
        return None
    if label == "AFIB":
        return 1
    return 0 if label == "N" else 2


FLUTTER = -1  # a window `mitdb_windows` finds in atrial flutter (scored on its own)


def mitdb_windows(record: Any, length: int) -> tuple[np.ndarray, np.ndarray, list[int | None]]:
    """A MIT-BIH record through the device's ECG front end: the int8 model input rows
    (every HOP, as `model_inputs`), each window's centre in seconds of the record, and its
    rhythm class at that centre (`_mitdb_truth`: AF 1, normal sinus 0, any other rhythm 2;
    ``FLUTTER`` in atrial flutter; None where the annotation says nothing)."""
    lead = record.lead_index()
    chain = run_chain(
        record.signals[:, lead],
        record.fs,
        record.adc_gain[lead],
        record.adc_zero[lead],
        normalised=True,
    )
    ecg = EcgInput(afib_input(chain.signal), chain.beats)
    wins = model_inputs(ecg, length)
    centres_s = (np.arange(len(wins)) * HOP + signal_length(length) / 2) / 125.0 - chain.delay_s
    truths: list[int | None] = []
    for centre in centres_s:
        sample = int(centre * record.fs)
        label = record.rhythm_at(sample)
        if label == "AFL" or any(a <= sample < b for a, b in record.excluded):
            truths.append(FLUTTER)
        else:
            truths.append(_mitdb_truth(label))
    return wins, centres_s, truths


def mitdb_train_ids(leave_out: Iterable[str] = ()) -> list[str]:
    """The MIT-BIH training split's records but ``leave_out`` (each must be one of them,
    and one must remain: ValueError)."""
    split = json.loads(MITDB_SPLITS.read_text())["parts"]["train"]
    leave_out = list(leave_out)
    strangers = [r for r in leave_out if r not in split]
    if strangers:
        raise ValueError(
            f"MIT-BIH record(s) {', '.join(strangers)} not in the training split "
            f"({', '.join(split)}): only those can be left out"
        )
    ids = [r for r in split if r not in leave_out]
    if not ids:
        raise ValueError("no MIT-BIH training record is left to train on")
    return ids


def mitdb_training_rows(
    data_dir: str | os.PathLike[str] | None,
    length: int,
    max_records: int | None = None,
    leave_out: Iterable[str] = (),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows [N, 1, length], labels, index of the record of each row) of the MIT-BIH
    training split's records (`AfibTrainConfig.mitdb_train`) but those in ``leave_out``:
    every window with a rhythm class, flutter and unannotated windows left out. Holter
    ectopy, pauses and AF next to them, which the CinC training records hold few of."""
    from wearsense.datasets import mitdb

    ids = mitdb_train_ids(leave_out)[:max_records]
    xs, ys, owner = [], [], []
    for index, record in enumerate(mitdb.iter_records(ids, data_dir)):
        wins, _, truths = mitdb_windows(record, length)
        keep = [k for k, t in enumerate(truths) if t is not None and t != FLUTTER]
        xs.append(wins[keep])
        ys.append(np.array([truths[k] for k in keep], dtype=np.int64))
        owner.append(np.full(len(keep), index))
    if not xs:
        raise DatasetError(str(data_dir or "../shared/data"), "no MIT-BIH training records")
    return np.concatenate(xs)[:, None, :], np.concatenate(ys), np.concatenate(owner)


def _with_mitdb(
    x: np.ndarray,
    y: np.ndarray,
    owner: np.ndarray,
    data_dir: str | os.PathLike[str] | None,
    config: AfibTrainConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The training rows with the MIT-BIH training split's appended (their records
    numbered after the CinC ones)."""
    x_mit, y_mit, mit_owner = mitdb_training_rows(
        data_dir, x.shape[-1], config.max_records, config.mitdb_leave_out
    )
    return (
        np.concatenate([x, x_mit]),
        np.concatenate([y, y_mit]),
        np.concatenate([owner, mit_owner + owner.max() + 1]),
    )


def evaluate_mitdb(
    model: Any, data_dir: str | os.PathLike[str] | None, record_ids: list[str], progress: bool
) -> tuple[list[Any], dict[str, Any]]:
    """Window outcomes and AF-time figures on MIT-BIH-style Holter records.

    ``onset_delay_s.each`` lists every annotated AF episode that holds at least one scored
    window centre: its record, its start and end (s into the record) and the delay from its
    start to the centre of its first window called AF (None: no window of it was called AF).
    ``episodes_too_short`` counts AF episodes no scored window centre falls in (shorter
    than the 5.12 s hop, or cut by the record's ends)."""
    from wearsense.datasets import mitdb
    from wearsense.training.evaluation import Outcome

    outcomes: list[Outcome] = []
    tp = fn = tn = fp = 0
    flutter_windows = flutter_called_af = 0
    episodes: list[dict[str, Any]] = []
    too_short = 0
    for record in tqdm(
        mitdb.iter_records(record_ids, data_dir),
        total=len(record_ids),
        desc="MIT-BIH",
        unit="rec",
        disable=not progress,
    ):
        wins, centres_s, truths = mitdb_windows(record, model_length(model))
        probs = _probabilities(model, wins)
        predicted = probs.argmax(axis=1)
        first_af_call: dict[int, float] = {}
        scored: set[int] = set()
        for k, centre in enumerate(centres_s):
            sample = int(centre * record.fs)
            truth = truths[k]
            if truth == FLUTTER:
                flutter_windows += 1
                flutter_called_af += int(predicted[k] == 1)
                continue
            if truth is None:
                continue
            outcomes.append(Outcome(record.record_id, "mitdb", truth, int(predicted[k])))
            is_af, called_af = truth == 1, predicted[k] == 1
            tp += int(is_af and called_af)
            fn += int(is_af and not called_af)
            fp += int(not is_af and called_af)
            tn += int(not is_af and not called_af)
            if is_af:
                for index, interval in enumerate(record.rhythms):
                    if interval.label == "AFIB" and interval.start <= sample < interval.end:
                        scored.add(index)
                        if called_af:
                            first_af_call.setdefault(index, centre - interval.start / record.fs)
        for index, interval in enumerate(record.rhythms):
            if interval.label != "AFIB":
                continue
            if index not in scored:
                too_short += 1
                continue
            delay = first_af_call.get(index)
            episodes.append(
                {
                    "record": record.record_id,
                    "start_s": round(interval.start / record.fs, 2),
                    "end_s": round(interval.end / record.fs, 2),
                    "delay_s": None if delay is None else round(float(delay), 2),
                }
            )
    onset_delays = [e["delay_s"] for e in episodes if e["delay_s"] is not None]
    figures = {
        "records": record_ids,
        "sensitivity": tp / (tp + fn) if tp + fn else None,
        "specificity": tn / (tn + fp) if tn + fp else None,
        "af_windows": tp + fn,
        "non_af_windows": tn + fp,
        "window_s": model_window(model) / 125.0,
        "hop_s": HOP / 125.0,
        "flutter": {"windows": flutter_windows, "called_af": flutter_called_af},
        "onset_delay_s": {
            "episodes": len(episodes),
            "episodes_detected": len(onset_delays),
            "episodes_too_short": too_short,
            "each": episodes,
            "median": float(np.median(onset_delays)) if onset_delays else None,
            "max": float(np.max(onset_delays)) if onset_delays else None,
        },
    }
    return outcomes, figures


def evaluate_afib(
    model_path: Path,
    data_dir: str | os.PathLike[str] | None = None,
    include_training: bool = False,
    bootstrap: int = 1000,
    progress: bool = True,
) -> dict[str, Any]:
    """The shipped int8 model, run by the C interpreter, on every held-out record found."""
    from wearsense.datasets import mitdb
    from wearsense.firmware.nn import NNModel
    from wearsense.training.evaluation import Outcome, build_report

    model = NNModel(model_path.read_bytes(), model_path.name)
    outcomes: list[Outcome] = []
    if include_training:
        try:
            cinc_ids = list(cinc2017.read_labels(data_dir))
        except DatasetError:
            cinc_ids = []
    else:
        cinc_ids = held_out_records(data_dir)
    if cinc_ids:
        records = load_records(cinc_ids, data_dir, "CinC 2017")
        for rid, label, ecg in zip(records.ids, records.labels, records.inputs, strict=True):
            outcomes.append(Outcome(rid, "cinc2017", int(label), record_verdict(model, ecg)))
    try:
        mit_ids = mitdb.record_ids(data_dir)
    except DatasetError:
        mit_ids = []
    if not include_training:
        mit_ids = unseen(mit_ids, MITDB_SPLITS)
    mit_outcomes, af_time = (
        evaluate_mitdb(model, data_dir, mit_ids, progress) if mit_ids else ([], None)
    )
    if not outcomes and not mit_outcomes:
        raise DatasetError(Path(str(data_dir or "../shared/data")), "no held-out ECG records")
    report = build_report(
        "afib",
        "wearsense C interpreter (host build)",
        model_path,
        LABELS,
        outcomes + mit_outcomes,
        bootstrap=bootstrap,
    )
    if outcomes:
        # The top-level per-class figures are the CinC records' (already in per_dataset).
        top = report["per_dataset"]["cinc2017"]
        for key in (
            "per_class",
            "accuracy",
            "macro_f1",
            "confusion",
            "n",
            "accuracy_ci",
            "macro_f1_ci",
        ):
            if key in top:
                report[key] = top[key]
        nao = [top["per_class"][label]["f1"] for label in ("normal", "af", "other")]
        report["macro_f1_nao"] = float(np.mean(nao))
    report["input_window"] = model_window(model)
    report["input_rr_features"] = model_length(model) - model_window(model)
    if cinc_ids:
        report["side_by_side"] = _side_by_side(model_path.parent, records, report)
    report["per_class_scope"] = "cinc2017 records (CinC-style); mitdb windows in per_dataset"
    report["af_time"] = af_time
    report["arena_bytes"] = model.arena_bytes
    report["macs"] = model.macs
    report["tflite_bytes"] = model_path.stat().st_size
    return report


def _side_by_side(folder: Path, records: RecordSet, int8_report: dict[str, Any]) -> dict[str, Any]:
    """Record-level F1 of the teacher and the float student (when their weights lie beside
    the model) next to the int8 student's, on the same CinC records."""
    from wearsense.training.pipeline import load_float_model, softmax
    from wearsense.training.trainer import predict_logits

    def figures(report: dict[str, Any]) -> dict[str, Any]:
        per = report["per_class"]
        return {
            "f1_af": per["af"]["f1"],
            "macro_f1_nao": float(np.mean([per[k]["f1"] for k in ("normal", "af", "other")])),
            "macro_f1": report["macro_f1"],
            "accuracy": report["accuracy"],
        }

    from wearsense.training.metrics import classification_report

    out = {"int8_student_c_interpreter": figures(int8_report)}
    window = int(int8_report["input_window"])
    x, _, owner = records.window_arrays(window + int(int8_report.get("input_rr_features", 0)))
    x_float = _float(x)
    for name, file in (("teacher", "teacher.pt"), ("float_student", "student_float.pt")):
        if not (folder / file).is_file():
            continue
        probs = softmax(predict_logits(load_float_model(folder / file), x_float))
        predicted = [
            record_class(probs[owner == i], seen_windows(ecg, int(np.sum(owner == i)), window))
            for i, ecg in enumerate(records.inputs)
        ]
        out[name] = figures(classification_report(records.labels, predicted, LABELS, bootstrap=0))
    return out


# ------------------------------------------------------------------------------ pareto


def pareto_afib(
    out_dir: Path,
    data_dir: str | os.PathLike[str] | None = None,
    config: AfibTrainConfig = AfibTrainConfig(),
    widths: tuple[float, ...] = (0.5, 1.0, 1.5),
    show_progress: bool = True,
) -> list[dict[str, Any]]:
    """Trains one teacher/student pair per width and measures each int8 student, as the C
    interpreter runs it, on the validation records (never the test split): F1 against
    model bytes, arena bytes and MACs. Writes pareto.json, pareto.md and pareto.png."""
    from wearsense.firmware.nn import NNModel
    from wearsense.training.metrics import classification_report

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
    from wearsense.training.pipeline import write_pareto

    write_pareto(
        rows,
        out_dir,
        ("width", "width"),
        [("validation_f1_af", "F1 AF (validation)"), ("validation_macro_f1_nao", "mean F1 N/A/O")],
        "AFib students: accuracy against size",
    )
    return rows
