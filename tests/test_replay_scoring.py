"""Event-level scoring rules of `wearsense replay`, on hand-made event lists."""

from __future__ import annotations

import pytest

from wearsense.protocol.events import (
    ActivityChange,
    ActivityClass,
    AfEnd,
    AfStart,
    Fall,
    HrSummary,
)
from wearsense.replay import scoring
from wearsense.replay.scoring import TimedEvent

HEAD = {"seq": 1, "time_s": 0, "model_version": 1}


def af_start(t: float, lag: int = 30) -> TimedEvent:
    return TimedEvent(t, AfStart(**HEAD, hr_bpm=120, confidence=90, onset_lag_s=lag))


def af_end(t: float, duration_s: int = 10_000) -> TimedEvent:
    return TimedEvent(t, AfEnd(**HEAD, duration_s=duration_s, mean_hr_bpm=110))


def fall(t: float) -> TimedEvent:
    return TimedEvent(t, Fall(**HEAD, impact_mg=3000, confidence=90, stillness_s=5))


def change(t: float, to: ActivityClass, frm: int = 255) -> TimedEvent:
    return TimedEvent(t, ActivityChange(**HEAD, from_class=frm, to_class=to, confidence=80))


def test_af_detected_episode_delay_and_time_figures() -> None:
    rhythms = [("N", 0.0, 100.0), ("AFIB", 100.0, 400.0), ("N", 400.0, 1000.0)]
    # device: AF_START at 140 s claiming onset 30 s earlier (110 s), AF_END at 420 s
    events = [
        af_start(140.0),
        af_end(420.0),
        TimedEvent(500.0, HrSummary(**HEAD, interval_s=900, min_bpm=50, mean_bpm=60, max_bpm=70)),
    ]
    row = scoring.score_af(events, rhythms, 1000.0)
    assert row["annotated_episodes"] == [
        {
            "onset_s": 100.0,
            "duration_s": 300.0,
            "counted": True,
            "detected": True,
            "onset_delay_s": 40.0,
        }
    ]
    assert row["af_s"] == 300.0 and row["non_af_s"] == 700.0
    assert row["af_s_called_af"] == 290.0  # 110..400
    assert row["non_af_s_called_af"] == 20.0  # 400..420
    assert row["false_episodes"] == 0
    total = scoring.summarize_af({"r": row})
    assert total["af_time_sensitivity"] == pytest.approx(290 / 300, abs=1e-4)
    assert total["af_time_specificity"] == pytest.approx(680 / 700, abs=1e-4)
    assert total["episode_sensitivity"] == 1.0
    assert total["onset_delay_s_median"] == 40.0


def test_af_missed_false_and_unclosed_episodes() -> None:
    rhythms = [("N", 0.0, 500.0), ("AFIB", 500.0, 800.0), ("N", 800.0, 1200.0)]
    # a false episode 100..200 s, nothing during the real AF, an unclosed one from 1000 s
    events = [af_start(130.0), af_end(200.0), af_start(1030.0)]
    row = scoring.score_af(events, rhythms, 1200.0)
    assert row["annotated_episodes"][0]["detected"] is False
    assert row["false_episodes"] == 2
    assert row["non_af_s_called_af"] == 100.0 + 200.0  # 100..200 and 1000..1200
    total = scoring.summarize_af({"r": row})
    assert total["episode_sensitivity"] == 0.0
    assert total["af_time_sensitivity"] == 0.0
    assert total["onset_delay_s_median"] is None


def test_af_flutter_is_scored_on_its_own() -> None:
    rhythms = [("N", 0.0, 100.0), ("AFL", 100.0, 300.0), ("N", 300.0, 600.0)]
    events = [af_start(150.0, lag=30), af_end(310.0)]
    row = scoring.score_af(events, rhythms, 600.0)
    assert row["flutter_s"] == 200.0
    assert row["flutter_s_called_af"] == 180.0  # 120..300
    assert row["flutter_episodes"] == 1 and row["false_episodes"] == 0
    assert row["af_s"] == 0.0
    assert row["non_af_s"] == 400.0  # flutter left out of the non-AF time
    assert row["non_af_s_called_af"] == 10.0  # 300..310


def test_af_short_episode_listed_not_counted() -> None:
    rhythms = [("N", 0.0, 100.0), ("AFIB", 100.0, 110.0), ("N", 110.0, 300.0)]
    row = scoring.score_af([], rhythms, 300.0)
    assert row["annotated_episodes"][0]["counted"] is False
    assert scoring.summarize_af({"r": row})["episodes"] == 0


def test_af_consecutive_intervals_merge_into_one_episode() -> None:
    rhythms = [("AFIB", 0.0, 50.0), ("AFIB", 50.0, 120.0), ("N", 120.0, 200.0)]
    row = scoring.score_af([af_start(40.0, lag=30), af_end(125.0)], rhythms, 200.0)
    assert len(row["annotated_episodes"]) == 1
    assert row["annotated_episodes"][0]["duration_s"] == 120.0


def test_fall_trial_outcomes() -> None:
    hit = scoring.score_fall_trial([fall(9.0)], is_fall=True, impact_s=6.0)
    assert hit == {"outcome": "detected", "false_alarms": 0, "delay_s": 3.0}
    twice = scoring.score_fall_trial([fall(8.0), fall(12.0)], is_fall=True, impact_s=6.0)
    assert twice["outcome"] == "multiple"
    late = scoring.score_fall_trial([fall(30.0)], is_fall=True, impact_s=6.0, after_s=15.0)
    assert late == {"outcome": "missed", "false_alarms": 1}
    early = scoring.score_fall_trial([fall(1.0), fall(7.0)], is_fall=True, impact_s=6.0)
    assert early["outcome"] == "detected" and early["false_alarms"] == 1
    adl = scoring.score_fall_trial([fall(3.0)], is_fall=False, impact_s=None)
    assert adl == {"outcome": "false_alarm", "false_alarms": 1}
    with pytest.raises(ValueError):
        scoring.score_fall_trial([], is_fall=True, impact_s=None)


def test_fall_summary_rates() -> None:
    trials = [
        {
            "is_fall": True,
            "duration_s": 15.0,
            "outcome": "detected",
            "false_alarms": 0,
            "delay_s": 4.0,
        },
        {"is_fall": True, "duration_s": 15.0, "outcome": "missed", "false_alarms": 0},
        {"is_fall": False, "duration_s": 1800.0, "outcome": "false_alarm", "false_alarms": 2},
        {"is_fall": False, "duration_s": 1800.0, "outcome": "quiet", "false_alarms": 0},
    ]
    s = scoring.summarize_falls(trials)
    assert s["fall_sensitivity"] == 0.5
    assert s["adl_hours"] == 1.0
    assert s["false_alarms_per_hour"] == 2.0
    assert s["adl_trials_with_alarm"] == 1


def test_impact_time_is_largest_magnitude() -> None:
    acc = [[0, 0, 1]] * 10 + [[3, 0, 1]] + [[0, 0, 1]] * 9
    assert scoring.impact_time_s(acc, 10.0) == 1.0


def test_activity_agreement_counts_time_until_first_decision_as_wrong() -> None:
    walk, sit = ActivityClass.WALK, ActivityClass.SIT
    segments = [(int(walk), 0.0, 100.0), (255, 100.0, 104.0), (int(sit), 104.0, 200.0)]
    events = [change(10.0, walk), change(110.0, sit, frm=int(walk))]
    table = scoring.score_activity(events, segments)
    assert table[int(walk)] == [100.0, 90.0]
    assert table[int(sit)] == [96.0, 90.0]
    assert 255 not in table  # transitions are not scored
    s = scoring.summarize_activity([table])
    assert s["agreement"] == pytest.approx(180 / 196, abs=1e-4)
    assert s["per_class"]["walk"]["agreement"] == 0.9
    graced = scoring.score_activity(events, segments, grace_s=10.0)
    assert graced[int(walk)] == [90.0, 90.0]
    assert graced[int(sit)] == [86.0, 86.0]


def test_activity_wrong_class_gets_no_credit() -> None:
    segments = [(int(ActivityClass.STAND), 0.0, 60.0)]
    table = scoring.score_activity([change(0.0, ActivityClass.SIT)], segments)
    assert table[int(ActivityClass.STAND)] == [60.0, 0.0]


def test_af_intervals_a_few_beats_apart_are_one_episode() -> None:
    rhythms = [
        ("AFIB", 0.0, 100.0),
        ("VT", 100.0, 102.0),
        ("AFIB", 102.0, 200.0),
        ("N", 200.0, 400.0),
        ("AFIB", 300.0, 340.0),
    ]
    row = scoring.score_af([af_start(40.0), af_end(210.0)], rhythms, 400.0)
    assert [(e["onset_s"], e["duration_s"]) for e in row["annotated_episodes"]] == [
        (0.0, 200.0),
        (300.0, 40.0),
    ]
    assert row["af_s"] == 238.0  # the VT beats are not AF time
    row = scoring.score_af([], rhythms, 400.0, merge_gap_s=0.0)
    assert len(row["annotated_episodes"]) == 3


def test_af_episode_ends_at_the_reported_duration() -> None:
    rhythms = [("AFIB", 0.0, 100.0), ("N", 100.0, 400.0)]
    # onset 5 s, AF_END at 160 s after its hysteresis, claiming 100 s of AF
    row = scoring.score_af([af_start(35.0), af_end(160.0, duration_s=100)], rhythms, 400.0)
    assert row["af_s_called_af"] == 95.0
    assert row["non_af_s_called_af"] == 5.0  # 100..105, not up to 160


def test_af_episode_already_running_has_no_delay() -> None:
    rhythms = [("AFL", 0.0, 200.0), ("AFIB", 200.0, 500.0), ("N", 500.0, 600.0)]
    row = scoring.score_af([af_start(40.0)], rhythms, 600.0)
    episode = row["annotated_episodes"][0]
    assert episode["detected"] and episode["already_in_episode"]
    assert "onset_delay_s" not in episode
    total = scoring.summarize_af({"r": row})
    assert total["episodes_detected"] == 1 and total["onset_delay_s_median"] is None
