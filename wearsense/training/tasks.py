"""The task registry: one `Task` per model the device runs (AFib, falls, activity).

A task holds what the rest of the code used to look up by its name in if-chains: its
labels (in protocol code order), the input its models take (window samples × channels),
the committed splits it trains and validates on, its model factory (teacher and student
networks), how it trains, evaluates and runs its classical baseline, the figures the
command line prints, and its model card. `TASKS` lists them by name; `task(name)` looks
one up.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wearsense.datasets.imu import SPLIT_DIR
from wearsense.firmware.imu import CHANNELS
from wearsense.firmware.imu import WINDOW as IMU_WINDOW
from wearsense.training import activity, afib, classical, fall, imu_task, model_card
from wearsense.training.imu_task import TaskSpec
from wearsense.updates.errors import PackageError
from wearsense.updates.package import interpreter_spec

Figures = dict[str, Any]


class ModelMismatch(ValueError):
    """A `.tflite` the interpreter cannot load, or one whose input and output are not the
    task's."""


@dataclasses.dataclass(frozen=True)
class Task:
    name: str
    title: str  # how a message names one of its models: "an AFib model"
    labels: tuple[str, ...]  # the output order: the protocol's class codes 0..n-1
    inputs: tuple[tuple[int, int], ...]  # the (window samples, channels) its models may take
    sample_rate_hz: int  # of the input window
    placements: tuple[tuple[str, str], ...]  # (placement, package file) it ships for
    splits: tuple[Path, ...]  # the committed split files its training reads
    # model factory: (teacher, student) network configurations at a width multiplier
    nets: Callable[[float], tuple[Any, Any]]
    # the IMU tasks' training recipe (`imu_task.TaskSpec`); None for AFib (`afib.train`)
    spec: TaskSpec | None
    # (model .tflite, data folder, include training records, bootstrap) -> the report
    evaluate: Callable[[Path, Any, bool, int], Figures]
    # (data folder, bootstrap, at most N records or subjects) -> the baseline's report
    baseline: Callable[[Any, int, int | None], Figures]
    # the figures of a report `wearsense evaluate` and `wearsense baseline` print
    summary: Callable[[Figures], Figures]
    confusion_title: str
    # (model folder, package version, text appended) -> the model card written
    write_card: Callable[[Path, int, str], Path]

    @property
    def classes(self) -> int:
        return len(self.labels)

    def check_model(self, path: Path) -> None:
        """Raises `ModelMismatch` (one line naming the file) unless ``path`` holds a model
        the C interpreter loads, with one int8 input of a shape the task feeds and one int8
        output of one probability per class of the task (what `package.interpreter_spec`
        reads, the packager's own check)."""
        try:
            spec = interpreter_spec(path.read_bytes())
        except PackageError as exc:
            raise ModelMismatch(f"{path}: the interpreter does not accept it ({exc})") from exc
        except OSError as exc:
            raise ModelMismatch(f"{path}: cannot read it ({exc.strerror})") from exc
        window, channels, outputs = spec.window, spec.channels, spec.outputs
        if (window, channels) not in self.inputs or outputs != self.classes:
            wanted = " or ".join(f"{w} x {c}" for w, c in self.inputs)
            raise ModelMismatch(
                f"{path}: not {self.title} model: it takes {window} x {channels} values and "
                f"gives {outputs} ({self.title} model takes {wanted} and gives {self.classes} "
                "class probabilities)"
            )


def _common(report: Figures) -> Figures:
    return {k: report.get(k) for k in ("units", "accuracy", "macro_f1", "macro_f1_nao")}


def _afib_summary(report: Figures) -> Figures:
    short = _common(report)
    short["f1_af"] = report["per_class"]["af"]["f1"] if "per_class" in report else None
    short["af_time"] = report.get("af_time")
    return short


def _fall_summary(report: Figures) -> Figures:
    short = _common(report)
    short["per_dataset"] = {
        name: {k: entry.get(k) for k in ("sensitivity", "specificity", "false_alarms_per_hour")}
        for name, entry in report["per_dataset"].items()
    }
    return short


def _activity_summary(report: Figures) -> Figures:
    short = _common(report)
    short["uci_hapt_six_basic_accuracy"] = report.get("uci_hapt_six_basic_accuracy")
    short["dsads_f1"] = report.get("dsads_f1")
    short["dsads_torso_f1"] = report.get("dsads_torso_f1")
    return short


def _afib_nets(width: float) -> tuple[Any, Any]:
    teacher, student = afib.nets()
    if width != 1.0:
        teacher, student = teacher.scaled(width), student.scaled(width)
    return teacher, student


def _afib_card(folder: Path, version: int, extra: str = "") -> Path:
    return model_card.write_afib_card(folder, version)


def _imu_card(name: str) -> Callable[[Path, int, str], Path]:
    def write(folder: Path, version: int, extra: str = "") -> Path:
        return model_card.write_imu_card(folder, name, extra, version)

    return write


def _imu_splits(datasets: tuple[str, ...]) -> tuple[Path, ...]:
    return tuple(SPLIT_DIR / f"{d}.json" for d in datasets)


AFIB = Task(
    name="afib",
    title="an AFib",
    labels=afib.LABELS,
    inputs=((afib.WINDOW, 1), (afib.WINDOW + afib.RR_FEATURES, 1)),
    sample_rate_hz=125,
    placements=(("chest", "afib.wspkg"),),
    splits=(afib.SPLITS, afib.MITDB_SPLITS),
    nets=_afib_nets,
    spec=None,
    evaluate=afib.evaluate_afib,
    baseline=lambda data_dir, bootstrap, limit: classical.baseline_afib(
        data_dir, bootstrap, limit=limit
    ),
    summary=_afib_summary,
    confusion_title="AFib int8 student (C interpreter), CinC 2017 held-out records",
    write_card=_afib_card,
)
FALL = Task(
    name="fall",
    title="a fall",
    labels=fall.LABELS,
    inputs=((IMU_WINDOW, CHANNELS),),
    sample_rate_hz=50,
    placements=(("waist", "fall.wspkg"), ("chest", "fall-chest.wspkg")),
    splits=_imu_splits(fall.DATASETS),
    nets=functools.partial(imu_task.nets, fall.SPEC),
    spec=fall.SPEC,
    evaluate=fall.evaluate_fall,
    baseline=lambda data_dir, bootstrap, limit: classical.baseline_fall(
        data_dir, bootstrap, subjects_limit=limit
    ),
    summary=_fall_summary,
    confusion_title="Fall int8 student (C interpreter), held-out trials, waist and chest",
    write_card=_imu_card("fall"),
)
ACTIVITY = Task(
    name="activity",
    title="an activity",
    labels=activity.LABELS,
    inputs=((IMU_WINDOW, CHANNELS),),
    sample_rate_hz=50,
    placements=(("waist", "activity.wspkg"), ("chest", "activity-chest.wspkg")),
    splits=_imu_splits(activity.DATASETS),
    nets=functools.partial(imu_task.nets, activity.SPEC),
    spec=activity.SPEC,
    evaluate=activity.evaluate_activity,
    baseline=lambda data_dir, bootstrap, limit: classical.baseline_activity(
        data_dir, bootstrap, subjects_limit=limit
    ),
    summary=_activity_summary,
    confusion_title="Activity int8 student (C interpreter), held-out windows, waist and chest",
    write_card=_imu_card("activity"),
)
TASKS: dict[str, Task] = {t.name: t for t in (AFIB, FALL, ACTIVITY)}


def task(name: str) -> Task:
    """The task called ``name`` (ValueError naming the known ones otherwise)."""
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}: one of {', '.join(TASKS)}") from None
