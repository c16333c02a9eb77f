"""EC57 beat matching: one-to-one, closest pair first, 150 ms window."""

from __future__ import annotations

import numpy as np

from wearsense.ecg.qrs import QrsScore, count_matches, gross, match_beats


def test_window_is_150_ms_inclusive() -> None:
    assert count_matches([1.0], [1.15]) == (1, 0, 0)
    assert count_matches([1.0], [1.1501]) == (0, 1, 1)
    assert count_matches([1.0], [0.85]) == (1, 0, 0)


def test_each_beat_and_detection_is_used_once_closest_first() -> None:
    # two detections near one beat: one matches, the other is a false positive
    assert count_matches([1.0], [0.95, 1.02]) == (1, 0, 1)
    ref_ok, det_ok = match_beats([1.0], [0.95, 1.02])
    assert det_ok.tolist() == [False, True]
    # the detection between two beats goes to the closer one; the other is missed
    ref_ok, det_ok = match_beats([1.0, 1.2], [1.14])
    assert ref_ok.tolist() == [False, True]
    # closest first beats greedy in time order: 1.0-1.1 and 1.2-1.26 both pair
    assert count_matches([1.0, 1.2], [1.1, 1.26]) == (2, 0, 0)


def test_empty_inputs_and_gross() -> None:
    assert count_matches([], [1.0, 2.0]) == (0, 0, 2)
    assert count_matches([1.0], []) == (0, 1, 0)
    total = gross([QrsScore("a", 90, 10, 0), QrsScore("b", 10, 0, 10)])
    assert (total.tp, total.fn, total.fp) == (100, 10, 10)
    assert total.sensitivity == 100 / 110 and total.ppv == 100 / 110
    assert np.isnan(QrsScore("c", 0, 0, 0).sensitivity)
