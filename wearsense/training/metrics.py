"""Classification metrics shared by every task's evaluation: per-class sensitivity,
specificity, PPV and F1 with bootstrap 95 % confidence intervals, accuracy, macro-F1,
and the confusion matrix (optionally drawn as a PNG).

Bootstrap resampling is over *units* (records or subjects) when unit ids are given, so
the intervals reflect how results vary across people, not across correlated windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

METRICS = ("sensitivity", "specificity", "ppv", "f1")


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Rows are the true class, columns the predicted class."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    return matrix


def _safe(num: float, den: float) -> float:
    return float(num / den) if den else float("nan")


def per_class_from_confusion(matrix: np.ndarray) -> list[dict[str, float]]:
    total = matrix.sum()
    rows = []
    for k in range(matrix.shape[0]):
        tp = matrix[k, k]
        fn = matrix[k].sum() - tp
        fp = matrix[:, k].sum() - tp
        tn = total - tp - fn - fp
        sens, ppv = _safe(tp, tp + fn), _safe(tp, tp + fp)
        f1 = _safe(2 * tp, 2 * tp + fp + fn)
        rows.append({"sensitivity": sens, "specificity": _safe(tn, tn + fp), "ppv": ppv, "f1": f1})
    return rows


def _summary(matrix: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    rows = per_class_from_confusion(matrix)
    f1s = [r["f1"] for r in rows if not np.isnan(r["f1"])]
    return {
        "per_class": dict(zip(labels, rows, strict=True)),
        "accuracy": _safe(np.trace(matrix), matrix.sum()),
        "macro_f1": float(np.mean(f1s)) if f1s else float("nan"),
    }


def classification_report(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    labels: Sequence[str],
    units: Sequence[str] | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Metrics with 95 % bootstrap intervals (``<metric>_ci`` = [low, high])."""
    y_true, y_pred = np.asarray(y_true, int), np.asarray(y_pred, int)
    if y_true.shape != y_pred.shape:
        raise ValueError("y_true and y_pred differ in length")
    n = len(labels)
    matrix = confusion(y_true, y_pred, n)
    report = _summary(matrix, labels)
    report["confusion"] = matrix.tolist()
    report["labels"] = list(labels)
    report["n"] = int(len(y_true))
    if bootstrap <= 0 or len(y_true) == 0:
        return report
    unit_ids = np.asarray(units) if units is not None else np.arange(len(y_true)).astype(str)
    unique, inverse = np.unique(unit_ids, return_inverse=True)
    # Per-unit confusion matrices make each resample a cheap weighted sum.
    per_unit = np.zeros((len(unique), n, n), dtype=np.int64)
    np.add.at(per_unit, (inverse, y_true, y_pred), 1)
    rng = np.random.default_rng(seed)
    samples: dict[str, list[list[float]]] = {m: [[] for _ in range(n)] for m in METRICS}
    overall: dict[str, list[float]] = {"accuracy": [], "macro_f1": []}
    for _ in range(bootstrap):
        counts = np.bincount(rng.integers(0, len(unique), len(unique)), minlength=len(unique))
        resampled = np.tensordot(counts, per_unit, axes=1)
        summary = _summary(resampled, labels)
        for k, label in enumerate(labels):
            for metric in METRICS:
                samples[metric][k].append(summary["per_class"][label][metric])
        overall["accuracy"].append(summary["accuracy"])
        overall["macro_f1"].append(summary["macro_f1"])
    for k, label in enumerate(labels):
        for metric in METRICS:
            drawn = np.asarray(samples[metric][k])
            drawn = drawn[~np.isnan(drawn)]
            ci = np.percentile(drawn, [2.5, 97.5]).tolist() if len(drawn) else [None, None]
            report["per_class"][label][f"{metric}_ci"] = ci
    for key, values in overall.items():
        arr = np.asarray(values)
        arr = arr[~np.isnan(arr)]
        report[f"{key}_ci"] = np.percentile(arr, [2.5, 97.5]).tolist() if len(arr) else None
    return report


def plot_confusion(matrix: Sequence[Sequence[int]], labels: Sequence[str], path: Path, title: str):
    """Writes the confusion matrix as a PNG (row-normalised colours, counts written in)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = np.asarray(matrix)
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.2 * len(labels) + 2, 1.1 * len(labels) + 1.5))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(len(labels)):
        for j in range(len(labels)):
            colour = "white" if share[i, j] > 0.5 else "black"
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", color=colour)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)
