"""A record's class from its windows' probabilities, as the device's ECG_RECORDING gives
it: the argmax of the mean probability over the windows the front end did not flag
leads-off, flat or saturated, with the "other" peak rule (`record_window`,
firmware/src/detectors/afib.c).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wearsense.training.afib.inputs import (
    CINC_CLASS,
    LABELS,
    EcgInput,
    model_inputs,
    model_length,
    model_window,
    seen_windows,
)
from wearsense.training.metrics import confusion, per_class_from_confusion
from wearsense.training.pipeline import int8_probabilities

# WS_REC_OTHER_PEAK (ws_detect.h): a record the windows call normal is "other" when one
# window gives "other" more than this (chosen on the validation records from 0.4-0.8:
# docs/detectors.md)
OTHER_PEAK = 0.5


def mean_probabilities(window_probs: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    sums = np.zeros((n, window_probs.shape[1]))
    np.add.at(sums, owner, window_probs)
    counts = np.bincount(owner, minlength=n)[:, None]
    return sums / np.maximum(counts, 1)


def record_decisions(window_probs: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """The class of each of ``n`` records (``owner``: the record of each window; every
    window counts): the largest mean probability, except that normal with one window giving
    "other" more than ``OTHER_PEAK`` is other (`record_window`, firmware/src/detectors/afib.c)."""
    pred = mean_probabilities(window_probs, owner, n).argmax(axis=1)
    peak = np.zeros(n)
    np.maximum.at(peak, owner, window_probs[:, CINC_CLASS["O"]])
    pred[(pred == CINC_CLASS["N"]) & (peak > OTHER_PEAK)] = CINC_CLASS["O"]
    return pred


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


def record_scores(window_probs: np.ndarray, owner: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-class F1 of the records' decisions (`record_decisions`)."""
    pred = record_decisions(window_probs, owner, len(labels))
    per_class = per_class_from_confusion(confusion(labels, pred, len(LABELS)))
    return np.nan_to_num(np.array([c["f1"] for c in per_class]))


def probabilities(model: Any, window_batch: np.ndarray) -> np.ndarray:
    """Class probabilities of int8 windows as the C interpreter computes them."""
    return int8_probabilities(model, window_batch)


def record_verdict(model: Any, ecg: EcgInput) -> int:
    """The int8 ``model``'s (C interpreter) verdict on one record: its windows' probabilities
    through `record_class` with the device's quality gate (`seen_windows`)."""
    probs = probabilities(model, model_inputs(ecg, model_length(model)))
    return record_class(probs, seen_windows(ecg, len(probs), model_window(model)))
