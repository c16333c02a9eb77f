"""Offsets of the classes' logits chosen on the validation records and folded into the
int8 model (`wearsense train afib --tune-offsets`)."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import product

import numpy as np

from wearsense.training.afib.decision import record_scores
from wearsense.training.afib.inputs import LABELS
from wearsense.training.pipeline import int8_logits, softmax

OFFSET_GRID = tuple(np.arange(-1.5, 1.51, 0.25).round(2))


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
    return tune_class_offsets(int8_logits(tflite, windows), owner, labels, classes)
