"""Evaluation of an int8 AFib model as the C interpreter runs it (`wearsense evaluate
afib`): record verdicts on the held-out CinC records, window outcomes and AF-time figures
(onset delays, flutter) on the held-out MIT-BIH-style Holter records, and the teacher and
float student side by side.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from wearsense.datasets import DatasetError, cinc2017, mitdb
from wearsense.firmware.nn import NNModel
from wearsense.training.afib.decision import probabilities, record_class, record_verdict
from wearsense.training.afib.inputs import (
    FLUTTER,
    HOP,
    LABELS,
    mitdb_windows,
    model_length,
    model_window,
    seen_windows,
    to_float,
)
from wearsense.training.afib.splits import (
    MITDB_SPLITS,
    RecordSet,
    held_out_records,
    load_records,
    unseen,
)
from wearsense.training.evaluation import Outcome, build_report
from wearsense.training.metrics import classification_report
from wearsense.training.pipeline import load_float_model, softmax
from wearsense.training.trainer import predict_logits


def evaluate_mitdb(
    model: Any, data_dir: str | os.PathLike[str] | None, record_ids: list[str], progress: bool
) -> tuple[list[Any], dict[str, Any]]:
    """Window outcomes and AF-time figures on MIT-BIH-style Holter records.

    ``onset_delay_s.each`` lists every annotated AF episode that holds at least one scored
    window centre: its record, its start and end (s into the record) and the delay from its
    start to the centre of its first window called AF (None: no window of it was called AF).
    ``episodes_too_short`` counts AF episodes no scored window centre falls in (shorter
    than the 5.12 s hop, or cut by the record's ends)."""
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
        probs = probabilities(model, wins)
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

    def figures(report: dict[str, Any]) -> dict[str, Any]:
        per = report["per_class"]
        return {
            "f1_af": per["af"]["f1"],
            "macro_f1_nao": float(np.mean([per[k]["f1"] for k in ("normal", "af", "other")])),
            "macro_f1": report["macro_f1"],
            "accuracy": report["accuracy"],
        }

    out = {"int8_student_c_interpreter": figures(int8_report)}
    window = int(int8_report["input_window"])
    x, _, owner = records.window_arrays(window + int(int8_report.get("input_rr_features", 0)))
    x_float = to_float(x)
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
