"""The fall task: an int8 classifier of the window around each impact the front end's
trigger finds (`wearsense.firmware.imu`, docs/imu-front-end.md).

Input: the impact window, int8 [1, 1, 128, 7] exactly as ws_imu produces it (the peak at
row 64). Output: int8 softmax [1, 2] in protocol order adl (0), fall (1).

A trial counts as a detected fall when any of its impact windows is called a fall (the
classifier runs only on triggers); a daily-activity trial counts as correct when none is.
False alarms per hour = impact windows called a fall in daily-activity recordings, per
hour of them. The post-fall stillness check of the device's detector is not part of
these figures (it can only remove alarms).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from wearsense.firmware.nn import NNModel
from wearsense.training.evaluation import sha256_of
from wearsense.training.imu_task import (
    DEFAULT_CONFIG,
    ImuTrainConfig,
    TaskSpec,
    Trial,
    TrialCache,
    evaluation_trials,
    finish_report,
    float_side_by_side,
    in_scope,
    int8_trial_probabilities,
    load_trials,
    present,
    subjects,
    train_imu,
    write_json,
)
from wearsense.training.metrics import classification_report
from wearsense.training.models import NetConfig

LABELS = ("adl", "fall")
DATASETS = ("sisfall", "umafall", "uci-hapt", "dsads")
# Each recording's last sample held this long, as a worn device's stream goes on after a
# lab trial ends: a fall in a trial's last 1.26 s gets its window. Training reads the
# recordings so (version 2 on); the evaluation reports both views (`trial_end_held`). The
# trigger sweep of docs/imu-front-end.md and `wearsense replay --hold` do the same.
HOLD_S = 2.0
SPEC = TaskSpec(
    name="fall",
    labels=LABELS,
    kind="impacts",
    # the device's placements: SisFall waist, UMAFall waist and chest, UCI HAPT waist (ADL)
    sources=(("sisfall", None), ("umafall", ("waist", "chest")), ("uci-hapt", None)),
    student=NetConfig(
        in_channels=7,
        n_classes=2,
        stem_width=12,
        stem_kernel=7,
        stem_stride=2,
        blocks=((18, 2), (24, 2), (24, 1), (36, 2)),
        kernel=5,
        dropout=0.2,
    ),
    teacher_factor=2.5,
    max_tilt_deg=45.0,
    hold_s=HOLD_S,
    pareto_class="fall",
)
DataDir = str | os.PathLike[str] | None


def train_fall(
    out_dir: Path,
    data_dir: DataDir = None,
    config: ImuTrainConfig = DEFAULT_CONFIG,
    show_progress: bool = True,
    cache: TrialCache | None = None,
) -> dict[str, Any]:
    return train_imu(SPEC, out_dir, data_dir, config, show_progress, cache)


def _trial_calls(probs: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(trial called a fall, windows called a fall per trial)."""
    per_window = [p.argmax(axis=1) == 1 if len(p) else np.zeros(0, bool) for p in probs]
    return (
        np.array([bool(w.any()) for w in per_window]),
        np.array([int(w.sum()) for w in per_window]),
    )


def fall_figures(trials: Sequence[Trial], probs: Sequence[np.ndarray]) -> dict[str, Any]:
    """Trial-level sensitivity and specificity, false alarms per hour of daily activity."""
    called, alarms = _trial_calls(probs)
    truth = np.array([t.fall == 1 for t in trials])
    adl_hours = sum(t.duration_s for t in trials if t.fall == 0) / 3600.0
    falls, adls = int(truth.sum()), int((~truth).sum())
    return {
        "fall_trials": falls,
        "adl_trials": adls,
        "adl_hours": round(adl_hours, 3),
        "sensitivity": float(called[truth].mean()) if falls else None,
        # falls whose largest impact opened a trigger window: what a perfect classifier
        # could reach with this trigger (docs/imu-front-end.md, imu_task.fall_windows)
        "falls_with_largest_impact_in_a_window": sum(
            1 for t in trials if t.fall == 1 and len(t.impacts.labels)
        ),
        "specificity": float((~called[~truth]).mean()) if adls else None,
        "false_alarms": int(alarms[~truth].sum()),
        "false_alarms_per_hour": float(alarms[~truth].sum() / adl_hours) if adl_hours else None,
        "triggers_per_hour_adl": float(
            sum(len(t.triggers.labels) for t in trials if t.fall == 0) / adl_hours
        )
        if adl_hours
        else None,
    }


def _report_entry(trials: Sequence[Trial], probs: Sequence[np.ndarray], bootstrap: int):
    called, _ = _trial_calls(probs)
    report = classification_report(
        [t.fall for t in trials],
        called.astype(int),
        LABELS,
        units=[f"{t.dataset}/{t.subject}" for t in trials],
        bootstrap=bootstrap,
    )
    return {
        "units": len({(t.dataset, t.subject) for t in trials}),
        **report,
        **fall_figures(trials, probs),
    }


def evaluate_fall(
    model_path: Path,
    data_dir: DataDir = None,
    include_training: bool = False,
    bootstrap: int = 1000,
    progress: bool = True,
) -> dict[str, Any]:
    """The shipped int8 model, run by the C interpreter, on every held-out subject found:
    top level and ``per_dataset`` over the device's placements (waist, chest; DSADS with
    its arm unit), ``per_position`` over every unit, ``cross_position`` for wrist and arm."""
    model = NNModel(model_path.read_bytes(), model_path.name)
    trials = evaluation_trials(DATASETS, data_dir, include_training, progress)
    probs = int8_trial_probabilities(model, trials, "triggers")
    scoped = [i for i, t in enumerate(trials) if in_scope(t)]
    device = [i for i in scoped if trials[i].dataset != "dsads"]

    def entry(index: Sequence[int]) -> dict[str, Any]:
        return _report_entry([trials[i] for i in index], [probs[i] for i in index], bootstrap)

    report: dict[str, Any] = {
        "task": "fall",
        "runtime": "wearsense C interpreter (host build)",
        "model_sha256": sha256_of(model_path),
        "scope": "held-out subjects; top level: waist and chest units of sisfall, umafall, "
        "uci-hapt (per_dataset also dsads, right arm); per_position: every unit",
        **entry(device),
        "per_dataset": {},
        "per_position": {},
    }
    for dataset in sorted({trials[i].dataset for i in scoped}):
        report["per_dataset"][dataset] = entry([i for i in scoped if trials[i].dataset == dataset])
    for key in sorted({f"{t.dataset}/{t.position}" for t in trials}):
        index = [i for i, t in enumerate(trials) if f"{t.dataset}/{t.position}" == key]
        report["per_position"][key] = entry(index)
    report["cross_position"] = {
        k: v for k, v in report["per_position"].items() if k in ("umafall/wrist", "dsads/right_arm")
    }
    report["side_by_side"] = _side_by_side(model_path.parent, trials, probs)
    report["trial_end_held"] = _held_view(model, data_dir, include_training, bootstrap, progress)
    return finish_report(report, model, model_path, "cross_dataset.json", "cross_dataset")


def _held_view(
    model: Any, data_dir: DataDir, include_training: bool, bootstrap: int, progress: bool
) -> dict[str, Any]:
    """The device placements' figures again with each recording's end held still for
    ``HOLD_S`` seconds: what the device would see where a trial stops soon after the
    impact (its stream does not stop). Top level and ``per_dataset`` as in the report."""
    trials = [
        t
        for t in evaluation_trials(DATASETS, data_dir, include_training, progress, HOLD_S)
        if in_scope(t) and t.dataset != "dsads"
    ]
    probs = int8_trial_probabilities(model, trials, "triggers")

    def entry(index: Sequence[int]) -> dict[str, Any]:
        return _report_entry([trials[i] for i in index], [probs[i] for i in index], bootstrap)

    view: dict[str, Any] = {"hold_s": HOLD_S, **entry(range(len(trials))), "per_dataset": {}}
    for dataset in sorted({t.dataset for t in trials}):
        view["per_dataset"][dataset] = entry(
            [i for i, t in enumerate(trials) if t.dataset == dataset]
        )
    return view


def _side_by_side(
    folder: Path, trials: Sequence[Trial], int8_probs: Sequence[np.ndarray]
) -> dict[str, Any]:
    """Trial-level figures of the teacher and the float student (when their weights lie
    beside the model) next to the int8 student's, on the same held-out recordings."""
    out: dict[str, Any] = {}
    sets = {
        "sisfall/waist": [i for i, t in enumerate(trials) if t.dataset == "sisfall"],
        "umafall/waist+chest": [
            i for i, t in enumerate(trials) if t.dataset == "umafall" and in_scope(t)
        ],
    }

    def figures(probs: Sequence[np.ndarray]) -> dict[str, Any]:
        return {
            name: {
                k: fall_figures([trials[i] for i in index], [probs[i] for i in index])[k]
                for k in ("sensitivity", "specificity", "false_alarms_per_hour")
            }
            for name, index in sets.items()
            if index
        }

    out["int8_student_c_interpreter"] = figures(int8_probs)
    out.update(float_side_by_side(folder, trials, "triggers", figures))
    return out


def cross_dataset(
    out_dir: Path,
    data_dir: DataDir = None,
    config: ImuTrainConfig = DEFAULT_CONFIG,
    show_progress: bool = True,
    cache: TrialCache | None = None,
) -> dict[str, Any]:
    """For SisFall and UMAFall: a model trained without that dataset, run as int8 by the C
    interpreter on every subject of it (all were unseen), at the device placements."""
    results: dict[str, Any] = {}
    for dataset in ("sisfall", "umafall"):
        if not present(dataset, data_dir):
            continue
        folder = out_dir / f"without-{dataset}"
        summary = train_fall(
            folder,
            data_dir,
            dataclasses.replace(config, leave_out=(dataset,)),
            show_progress,
            cache,
        )
        model = NNModel((folder / "fall.tflite").read_bytes())
        trials = [
            t
            for t in load_trials(
                dataset, data_dir, subjects(dataset, data_dir), None, show_progress
            )
            if in_scope(t)
        ]
        probs = int8_trial_probabilities(model, trials, "triggers")
        entry: dict[str, Any] = {
            "trained_on": sorted({s.split("/")[0] for s in summary["subjects"]["train"]}),
            "subjects": len({t.subject for t in trials}),
        }
        for position in sorted({t.position for t in trials}):
            index = [i for i, t in enumerate(trials) if t.position == position]
            entry[position] = fall_figures([trials[i] for i in index], [probs[i] for i in index])
        results[dataset] = entry
    write_json(out_dir / "cross_dataset.json", results)
    return results
