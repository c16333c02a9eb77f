"""QRS detection scored the AAMI EC57 way (as PhysioNet's ``bxb`` does).

A detection matches a reference beat when they are at most 150 ms apart; each beat
and each detection is matched at most once, closest first. The test period starts
after a 5-minute learning period (EC57's default) unless told otherwise, and
ventricular-flutter episodes are left out.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wearsense.datasets import mitdb
from wearsense.ecg.preprocess import preprocess_mitdb
from wearsense.firmware.ecg import EcgOutput

MATCH_WINDOW_S = 0.150
LEARNING_PERIOD_S = 300.0


@dataclass(frozen=True)
class QrsScore:
    record: str
    tp: int
    fn: int
    fp: int

    @property
    def sensitivity(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def ppv(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")


def match_beats(
    reference_s: npt.ArrayLike, detected_s: npt.ArrayLike, window_s: float = MATCH_WINDOW_S
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """One-to-one matching within ``window_s``, pairs formed closest first. Returns
    (which reference beats matched, which detections matched), each in the order of
    sorted input times."""
    ref = np.sort(np.asarray(reference_s, dtype=float))
    det = np.sort(np.asarray(detected_s, dtype=float))
    used_ref = np.zeros(len(ref), dtype=bool)
    used_det = np.zeros(len(det), dtype=bool)
    pairs: list[tuple[float, int, int]] = []
    lo = 0
    for i, r in enumerate(ref):
        while lo < len(det) and det[lo] < r - window_s:
            lo += 1
        j = lo
        while j < len(det) and det[j] <= r + window_s:
            pairs.append((abs(det[j] - r), i, j))
            j += 1
    pairs.sort()
    for _, i, j in pairs:
        if not used_ref[i] and not used_det[j]:
            used_ref[i] = used_det[j] = True
    return used_ref, used_det


def count_matches(
    reference_s: npt.ArrayLike, detected_s: npt.ArrayLike, window_s: float = MATCH_WINDOW_S
) -> tuple[int, int, int]:
    """(true positives, false negatives, false positives)."""
    used_ref, used_det = match_beats(reference_s, detected_s, window_s)
    tp = int(used_ref.sum())
    return tp, len(used_ref) - tp, len(used_det) - int(used_det.sum())


def _in_test_period(
    t: npt.NDArray[np.float64], start_s: float, end_s: float, excluded: list[tuple[float, float]]
) -> npt.NDArray[np.bool_]:
    keep = (t >= start_s) & (t < end_s)
    for a, b in excluded:
        keep &= ~((t >= a) & (t < b))
    return keep


def detect_record(record: mitdb.MitdbRecord, lead: str = mitdb.PREFERRED_LEAD) -> EcgOutput:
    """The firmware chain run over one lead (MLII, else the first) of a record."""
    return preprocess_mitdb(record, lead, normalised=False)[0]


def score_record(
    record: mitdb.MitdbRecord,
    output: EcgOutput | None = None,
    start_s: float = LEARNING_PERIOD_S,
    end_s: float | None = None,
) -> QrsScore:
    out = output if output is not None else detect_record(record)
    end = end_s if end_s is not None else record.n_samples / record.fs
    excluded = [(a / record.fs, b / record.fs) for a, b in record.excluded]
    ref = np.sort(record.beat_samples / record.fs)
    det = np.sort(out.beat_times_s())
    # match over the whole record, so beats just outside the test period pair with
    # their detections, then count inside it
    ref_ok, det_ok = match_beats(ref, det)
    ref_in = _in_test_period(ref, start_s, end, excluded)
    det_in = _in_test_period(det, start_s, end, excluded)
    tp = int((ref_ok & ref_in).sum())
    fn = int((~ref_ok & ref_in).sum())
    fp = int((~det_ok & det_in).sum())
    return QrsScore(record.record_id, tp, fn, fp)


def gross(scores: Iterable[QrsScore]) -> QrsScore:
    items = list(scores)
    return QrsScore(
        "gross",
        sum(s.tp for s in items),
        sum(s.fn for s in items),
        sum(s.fp for s in items),
    )


def score_mitdb(
    record_ids: list[str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    start_s: float = LEARNING_PERIOD_S,
) -> list[QrsScore]:
    ids = record_ids if record_ids is not None else mitdb.record_ids(data_dir)
    return [score_record(mitdb.load_record(r, data_dir), start_s=start_s) for r in ids]
