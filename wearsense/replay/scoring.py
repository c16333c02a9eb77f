"""Event-level scoring of replayed device events against the datasets' annotations.

Pure functions over plain values: decoded event objects (``wearsense.protocol.events``)
whose ``time_s`` is already converted to seconds from the start of the recording, and
annotations as (label, start_s, end_s) intervals. No I/O and no device here, so every
rule below is unit-tested with hand-made event lists (tests/test_replay_scoring.py).

The rules (also in docs/replay.md):

* **AF episodes** (MIT-BIH). Annotated AF is the union of ``AFIB`` rhythm intervals;
  consecutive ones merge into one episode. Atrial flutter (``AFL``) is scored on its
  own: it is left out of the AF-time sensitivity and specificity (neither AF nor
  non-AF) and reported as the fraction of flutter time the device called AF. AF
  intervals less than ``merge_gap_s`` apart (30 s: MIT-BIH breaks AF for a few beats of
  ventricular tachycardia) form one annotated episode; the time figures still use the
  intervals themselves. A device
  episode runs from its onset (AF_START time minus ``onset_lag_s``) for the AF_END's
  ``duration_s`` (at most to the AF_END time; to the end of the recording when no AF_END
  followed). An annotated episode is *detected* when a device episode overlaps it; its
  *onset delay* is the AF_START time (when the device said so) minus the annotated onset,
  unless that device episode was reported before the onset (the device was already in an
  episode, e.g. through flutter): then it is detected with no delay figure. Episodes shorter than
  ``min_episode_s`` are listed but not counted in episode sensitivity: the device's
  rule needs that much AF before it may start an episode. A device episode that
  overlaps no annotated AF is *false*; one that overlaps only flutter is counted as a
  flutter episode, not as false.
* **Falls** (SisFall, UMAFall). A fall trial is *detected* when exactly one FALL event
  falls inside ``[impact_s - before_s, impact_s + after_s]``, where ``impact_s`` is the
  time of the trial's largest acceleration magnitude (the datasets do not annotate the
  fall instant). More than one FALL in the window is *multiple* (not detected); a FALL
  outside the window of a fall trial counts as a false alarm. Every FALL in a
  daily-activity (ADL) trial is a false alarm; false alarms per hour divide by the sum
  of the ADL trials' durations.
* **Activity timeline** (UCI-HAPT). The device's current activity is a step function:
  UNKNOWN until the first ACTIVITY_CHANGE, then each change's ``to_class`` from its
  time on. Agreement is the fraction of labelled time (segments whose label is one of
  the eight device classes) at which the device's current class equals the label, per
  class and overall. Postural transitions (labelled UNKNOWN) and unlabelled time are
  left out of the denominator. ``grace_s`` additionally leaves out the first seconds
  after every label change (0 for the headline figure: a device that is slow to notice
  a change pays for it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from wearsense.protocol.events import (
    ActivityChange,
    ActivityClass,
    AfEnd,
    AfStart,
    Event,
    Fall,
)

AF_LABELS = frozenset({"AFIB"})
FLUTTER_LABELS = frozenset({"AFL"})

Interval = tuple[float, float]


@dataclasses.dataclass(frozen=True)
class TimedEvent:
    """A decoded event and its time in seconds from the start of the recording."""

    t_s: float
    event: Event


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    out: list[list[float]] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(a, b) for a, b in out]


def _overlap(a: Sequence[Interval], b: Sequence[Interval]) -> float:
    """Total length of the intersection of two sets of (merged) intervals."""
    total = 0.0
    for s1, e1 in a:
        for s2, e2 in b:
            lo, hi = max(s1, s2), min(e1, e2)
            if hi > lo:
                total += hi - lo
    return total


def _length(intervals: Sequence[Interval]) -> float:
    return sum(e - s for s, e in intervals)


def _complement(intervals: Sequence[Interval], duration_s: float) -> list[Interval]:
    out, cursor = [], 0.0
    for s, e in intervals:
        if s > cursor:
            out.append((cursor, min(s, duration_s)))
        cursor = max(cursor, e)
    if cursor < duration_s:
        out.append((cursor, duration_s))
    return [(s, e) for s, e in out if e > s]


def _subtract(a: Sequence[Interval], b: Sequence[Interval], duration_s: float) -> list[Interval]:
    """a minus b (both merged)."""
    keep = _complement(b, duration_s)
    out = []
    for s1, e1 in a:
        for s2, e2 in keep:
            lo, hi = max(s1, s2), min(e1, e2)
            if hi > lo:
                out.append((lo, hi))
    return _merge(out)


@dataclasses.dataclass(frozen=True)
class DeviceEpisode:
    onset_s: float  # when the device says the episode began (AF_START time - onset lag)
    reported_s: float  # when AF_START was emitted
    end_s: float  # AF_END time, or the end of the recording when none came
    closed: bool


def device_episodes(events: Sequence[TimedEvent], duration_s: float) -> list[DeviceEpisode]:
    """Pairs AF_START with the next AF_END. An AF_END without an open episode is ignored
    (it cannot be placed); an AF_START while one is open closes nothing (the first
    start holds)."""
    out: list[DeviceEpisode] = []
    open_start: TimedEvent | None = None
    for item in sorted(events, key=lambda e: e.t_s):
        ev = item.event
        if isinstance(ev, AfStart) and open_start is None:
            open_start = item
        elif isinstance(ev, AfEnd) and open_start is not None:
            start_ev = open_start.event
            assert isinstance(start_ev, AfStart)
            onset = max(0.0, open_start.t_s - start_ev.onset_lag_s)
            # the device reports the end after its hysteresis: the episode it claims is
            # its duration from the onset (never past the AF_END itself)
            end = min(item.t_s, onset + ev.duration_s)
            out.append(DeviceEpisode(onset, open_start.t_s, max(end, onset), True))
            open_start = None
    if open_start is not None:
        start_ev = open_start.event
        assert isinstance(start_ev, AfStart)
        onset = max(0.0, open_start.t_s - start_ev.onset_lag_s)
        out.append(DeviceEpisode(onset, open_start.t_s, max(duration_s, onset), False))
    return out


def score_af(
    events: Sequence[TimedEvent],
    rhythms: Sequence[tuple[str, float, float]],
    duration_s: float,
    *,
    min_episode_s: float = 30.0,
    merge_gap_s: float = 30.0,
    excluded: Sequence[Interval] = (),
) -> dict[str, Any]:
    """AF episodes and AF time of one record. ``rhythms`` are (label, start_s, end_s)
    rhythm intervals (MIT-BIH labels without the leading '('); ``excluded`` intervals
    (e.g. ventricular flutter) are left out of every time figure."""
    af = _merge((s, e) for label, s, e in rhythms if label in AF_LABELS)
    flutter = _merge((s, e) for label, s, e in rhythms if label in FLUTTER_LABELS)
    skip = _merge(list(excluded) + flutter)
    scored_af = _subtract(af, skip, duration_s)
    non_af = _subtract(_complement(af, duration_s), skip, duration_s)
    episodes = device_episodes(events, duration_s)
    claimed = _merge((e.onset_s, e.end_s) for e in episodes)

    annotated = []
    for start, end in _merge((s, e + merge_gap_s) for s, e in af):
        end -= merge_gap_s
        hits = [e for e in episodes if e.onset_s < end and e.end_s > start]
        row: dict[str, Any] = {
            "onset_s": round(start, 2),
            "duration_s": round(end - start, 2),
            "counted": end - start >= min_episode_s,
            "detected": bool(hits),
        }
        if hits:
            first = min(e.reported_s for e in hits)
            if first >= start:
                row["onset_delay_s"] = round(first - start, 2)
            else:
                row["already_in_episode"] = True
        annotated.append(row)
    false_eps = flutter_eps = 0
    for e in episodes:
        span = [(e.onset_s, e.end_s)]
        if _overlap(span, af) > 0:
            continue
        if _overlap(span, flutter) > 0:
            flutter_eps += 1
        else:
            false_eps += 1
    return {
        "duration_s": round(duration_s, 2),
        "af_s": round(_length(scored_af), 2),
        "non_af_s": round(_length(non_af), 2),
        "af_s_called_af": round(_overlap(scored_af, claimed), 2),
        "non_af_s_called_af": round(_overlap(non_af, claimed), 2),
        "flutter_s": round(_length(flutter), 2),
        "flutter_s_called_af": round(_overlap(flutter, claimed), 2),
        "annotated_episodes": annotated,
        "device_episodes": len(episodes),
        "false_episodes": false_eps,
        "flutter_episodes": flutter_eps,
    }


def _median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 4) if den > 0 else None


def summarize_af(records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Totals over records scored by :func:`score_af`."""
    total = {
        k: sum(r[k] for r in records.values())
        for k in (
            "af_s",
            "non_af_s",
            "af_s_called_af",
            "non_af_s_called_af",
            "flutter_s",
            "flutter_s_called_af",
            "device_episodes",
            "false_episodes",
            "flutter_episodes",
            "duration_s",
        )
    }
    counted = [e for r in records.values() for e in r["annotated_episodes"] if e["counted"]]
    detected = [e for e in counted if e["detected"]]
    delays = [e["onset_delay_s"] for e in detected if "onset_delay_s" in e]
    hours = total["duration_s"] / 3600.0
    return {
        "records": sorted(records),
        "hours": round(hours, 3),
        "af_time_sensitivity": _ratio(total["af_s_called_af"], total["af_s"]),
        "af_time_specificity": _ratio(
            total["non_af_s"] - total["non_af_s_called_af"], total["non_af_s"]
        ),
        "af_hours": round(total["af_s"] / 3600.0, 3),
        "flutter_hours": round(total["flutter_s"] / 3600.0, 3),
        "flutter_time_called_af": _ratio(total["flutter_s_called_af"], total["flutter_s"]),
        "episodes": len(counted),
        "episodes_detected": len(detected),
        "episode_sensitivity": _ratio(len(detected), len(counted)),
        "onset_delays_measured": len(delays),
        "onset_delay_s_median": _median(delays),
        "onset_delay_s_max": max(delays) if delays else None,
        "device_episodes": total["device_episodes"],
        "false_episodes": total["false_episodes"],
        "false_episodes_per_hour": _ratio(total["false_episodes"], hours),
        "flutter_episodes": total["flutter_episodes"],
    }


def impact_time_s(acc_g: Any, rate_hz: float) -> float:
    """Time of the largest acceleration magnitude of a trial (the reference instant of
    a fall; the datasets do not annotate one)."""
    mag = np.linalg.norm(np.asarray(acc_g, dtype=np.float64), axis=1)
    return float(np.argmax(mag)) / rate_hz


def score_fall_trial(
    events: Sequence[TimedEvent],
    *,
    is_fall: bool,
    impact_s: float | None,
    before_s: float = 2.0,
    after_s: float = 15.0,
) -> dict[str, Any]:
    """One trial. For a fall trial: ``outcome`` detected / missed / multiple, plus the
    FALLs outside the window as ``false_alarms``; for an ADL trial every FALL is a false
    alarm (``outcome`` 'quiet' or 'false_alarm')."""
    falls = [e.t_s for e in events if isinstance(e.event, Fall)]
    if not is_fall:
        return {"outcome": "false_alarm" if falls else "quiet", "false_alarms": len(falls)}
    if impact_s is None:
        raise ValueError("a fall trial needs its impact time")
    lo, hi = impact_s - before_s, impact_s + after_s
    inside = [t for t in falls if lo <= t <= hi]
    outcome = "detected" if len(inside) == 1 else ("missed" if not inside else "multiple")
    row: dict[str, Any] = {"outcome": outcome, "false_alarms": len(falls) - len(inside)}
    if inside:
        row["delay_s"] = round(inside[0] - impact_s, 2)
    return row


def summarize_falls(trials: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Totals over trials; each row has ``is_fall``, ``duration_s`` and the fields of
    :func:`score_fall_trial`."""
    fall_rows = [t for t in trials if t["is_fall"]]
    adl_rows = [t for t in trials if not t["is_fall"]]
    detected = [t for t in fall_rows if t["outcome"] == "detected"]
    adl_hours = sum(t["duration_s"] for t in adl_rows) / 3600.0
    adl_alarms = sum(t["false_alarms"] for t in adl_rows)
    delays = [t["delay_s"] for t in detected]
    return {
        "fall_trials": len(fall_rows),
        "falls_detected": len(detected),
        "falls_missed": sum(1 for t in fall_rows if t["outcome"] == "missed"),
        "falls_multiple": sum(1 for t in fall_rows if t["outcome"] == "multiple"),
        "fall_sensitivity": _ratio(len(detected), len(fall_rows)),
        "fall_delay_s_median": _median(delays),
        "adl_trials": len(adl_rows),
        "adl_hours": round(adl_hours, 4),
        "adl_trials_with_alarm": sum(1 for t in adl_rows if t["false_alarms"]),
        "adl_false_alarms": adl_alarms,
        "false_alarms_per_hour": _ratio(adl_alarms, adl_hours),
        "false_alarms_in_fall_trials": sum(t["false_alarms"] for t in fall_rows),
    }


def activity_timeline(events: Sequence[TimedEvent]) -> list[tuple[float, int]]:
    """(time, class) steps of the device's current activity, starting UNKNOWN at 0."""
    steps: list[tuple[float, int]] = [(0.0, int(ActivityClass.UNKNOWN))]
    for item in sorted(events, key=lambda e: e.t_s):
        if isinstance(item.event, ActivityChange):
            steps.append((item.t_s, int(item.event.to_class)))
    return steps


def score_activity(
    events: Sequence[TimedEvent],
    segments: Sequence[tuple[int, float, float]],
    *,
    grace_s: float = 0.0,
) -> dict[int, list[float]]:
    """{label class: [labelled seconds, seconds where the device agreed]} for one
    recording. ``segments`` are (class, start_s, end_s); UNKNOWN segments are left out."""
    steps = activity_timeline(events)
    out: dict[int, list[float]] = {}
    for label, start, end in segments:
        if label == ActivityClass.UNKNOWN:
            continue
        start = start + grace_s
        if end <= start:
            continue
        row = out.setdefault(int(label), [0.0, 0.0])
        row[0] += end - start
        for i, (t, cls) in enumerate(steps):
            t_next = steps[i + 1][0] if i + 1 < len(steps) else float("inf")
            lo, hi = max(start, t), min(end, t_next)
            if hi > lo and cls == label:
                row[1] += hi - lo
    return out


def summarize_activity(per_recording: Iterable[dict[int, list[float]]]) -> dict[str, Any]:
    """Agreement overall and per class (class names of ``ActivityClass``)."""
    totals: dict[int, list[float]] = {}
    for table in per_recording:
        for cls, (labelled, agreed) in table.items():
            row = totals.setdefault(cls, [0.0, 0.0])
            row[0] += labelled
            row[1] += agreed
    labelled = sum(r[0] for r in totals.values())
    agreed = sum(r[1] for r in totals.values())
    per_class = {
        ActivityClass(cls).name.lower(): {
            "labelled_s": round(r[0], 1),
            "agreement": _ratio(r[1], r[0]),
        }
        for cls, r in sorted(totals.items())
    }
    balanced = [r[1] / r[0] for r in totals.values() if r[0] > 0]
    return {
        "labelled_hours": round(labelled / 3600.0, 3),
        "agreement": _ratio(agreed, labelled),
        "balanced_agreement": round(sum(balanced) / len(balanced), 4) if balanced else None,
        "per_class": per_class,
    }
