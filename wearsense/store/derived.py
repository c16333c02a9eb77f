"""Derived figures, computed in one place for the exports, the report and the UI.

All functions take stored events (``Store.events(...)``, placed in time: ``utc`` known)
and, where days matter, the patient's timezone: a day is a local calendar day, and a
summary interval that spans midnight is shared between both days in proportion.

- AF burden per day: AF seconds / analysable seconds, from RhythmSummary events.
- AF episodes: an AfStart (onset = event time - onset lag) paired with the next AfEnd of
  the same device and epoch; an episode without an end is open.
- Falls: every Fall, marked cancelled when a FallCancelled names it.
- Activity minutes per class per day, from ActivitySummary events (hour ending at the event).
- Wear time and data gaps: the device was worn where a summary covers time (rhythm,
  heart-rate and activity summaries cover the interval that ends at the event); a hole
  of at least ``min_hours`` is a gap, "no data for N hours".
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time, timedelta, tzinfo

from wearsense.protocol import ActivityClass, EventKind
from wearsense.store.db import StoredEvent

ACTIVITY_NAMES = tuple(ActivityClass(i).name.lower() for i in range(8))
ACTIVITY_SUMMARY_S = 3600
DEFAULT_GAP_HOURS = 4.0

Key = tuple[str, int, int]


def _split_by_day(start: float, end: float, tz: tzinfo) -> Iterator[tuple[date, float]]:
    """(local day, seconds of [start, end) in that day)."""
    cursor = start
    while cursor < end:
        day = datetime.fromtimestamp(cursor, tz).date()
        midnight = datetime.combine(day + timedelta(days=1), time(0), tz).timestamp()
        stop = min(end, midnight)
        yield day, stop - cursor
        cursor = stop


def local_day(utc: float, tz: tzinfo) -> date:
    return datetime.fromtimestamp(utc, tz).date()


@dataclasses.dataclass(frozen=True)
class AfBurdenDay:
    day: date
    af_s: float
    analysable_s: float

    @property
    def burden(self) -> float | None:
        """AF fraction of the analysable time, None when nothing was analysable."""
        return self.af_s / self.analysable_s if self.analysable_s > 0 else None


def _placed(events: Iterable[StoredEvent], type_name: str) -> Iterator[StoredEvent]:
    for e in events:
        if e.type == type_name and e.utc is not None and e.fields is not None:
            yield e


def af_burden_per_day(events: Iterable[StoredEvent], tz: tzinfo) -> list[AfBurdenDay]:
    af: dict[date, float] = defaultdict(float)
    analysable: dict[date, float] = defaultdict(float)
    for e in _placed(events, EventKind.RHYTHM_SUMMARY):
        assert e.utc is not None and e.fields is not None
        interval = float(e.fields["interval_s"])
        for day, seconds in _split_by_day(e.utc - interval, e.utc, tz):
            share = seconds / interval
            af[day] += e.fields["af_s"] * share
            analysable[day] += e.fields["analysable_s"] * share
    return [AfBurdenDay(d, af[d], analysable[d]) for d in sorted(analysable)]


@dataclasses.dataclass(frozen=True)
class AfEpisode:
    """An AF episode. Within a time range an episode may be cut: without its start
    event (``start_key`` None: the start is the end minus the reported duration) or
    without its end (open)."""

    serial: str
    start_key: Key | None
    end_key: Key | None
    start_utc: float
    end_utc: float | None
    onset_hr_bpm: int | None
    confidence: int | None
    mean_hr_bpm: int | None
    model_version: int

    @property
    def duration_s(self) -> float | None:
        return None if self.end_utc is None else self.end_utc - self.start_utc


def af_episodes(events: Iterable[StoredEvent]) -> list[AfEpisode]:
    open_: dict[tuple[str, int], StoredEvent] = {}
    episodes: list[AfEpisode] = []

    def close(start: StoredEvent, end: StoredEvent | None) -> None:
        assert start.utc is not None and start.fields is not None
        end_fields = end.fields if end is not None and end.fields is not None else None
        episodes.append(
            AfEpisode(
                serial=start.serial,
                start_key=start.key,
                end_key=end.key if end is not None else None,
                start_utc=start.utc - start.fields["onset_lag_s"],
                end_utc=end.utc if end is not None else None,
                onset_hr_bpm=start.fields["hr_bpm"],
                confidence=start.fields["confidence"],
                mean_hr_bpm=end_fields["mean_hr_bpm"] if end_fields else None,
                model_version=start.model_version or 0,
            )
        )

    for e in sorted(
        (
            e
            for e in events
            if e.type in (EventKind.AF_START, EventKind.AF_END) and e.utc is not None
        ),
        key=lambda e: (e.serial, e.epoch, e.seq),
    ):
        stream = (e.serial, e.epoch)
        if e.type == EventKind.AF_START:
            if stream in open_:  # a second onset without an end: the first stays open
                close(open_.pop(stream), None)
            open_[stream] = e
        elif stream in open_:
            close(open_.pop(stream), e)
        elif e.fields is not None:  # the onset lies before the selected events
            assert e.utc is not None
            episodes.append(
                AfEpisode(
                    serial=e.serial,
                    start_key=None,
                    end_key=e.key,
                    start_utc=e.utc - e.fields["duration_s"],
                    end_utc=e.utc,
                    onset_hr_bpm=None,
                    confidence=None,
                    mean_hr_bpm=e.fields["mean_hr_bpm"],
                    model_version=e.model_version or 0,
                )
            )
    for start in open_.values():
        close(start, None)
    return sorted(episodes, key=lambda ep: ep.start_utc)


@dataclasses.dataclass(frozen=True)
class FallRecord:
    key: Key
    utc: float
    impact_mg: int
    confidence: int
    stillness_s: int
    model_version: int
    cancel_key: Key | None = None
    cancel_delay_s: int | None = None

    @property
    def cancelled(self) -> bool:
        return self.cancel_key is not None


def falls(events: Sequence[StoredEvent]) -> list[FallRecord]:
    """Every fall, with the cancellation that names it (if any)."""
    cancels = {
        (e.serial, e.epoch, e.fields["fall_seq"]): e
        for e in events
        if e.type == EventKind.FALL_CANCELLED and e.fields is not None
    }
    out = []
    for e in _placed(events, EventKind.FALL):
        assert e.utc is not None and e.fields is not None
        cancel = cancels.get(e.key)
        out.append(
            FallRecord(
                key=e.key,
                utc=e.utc,
                impact_mg=e.fields["impact_mg"],
                confidence=e.fields["confidence"],
                stillness_s=e.fields["stillness_s"],
                model_version=e.model_version or 0,
                cancel_key=cancel.key if cancel else None,
                cancel_delay_s=cancel.fields["delay_s"] if cancel and cancel.fields else None,
            )
        )
    return out


def confirmed_falls(events: Sequence[StoredEvent]) -> list[FallRecord]:
    """Falls minus those the wearer cancelled."""
    return [f for f in falls(events) if not f.cancelled]


def activity_minutes_per_day(
    events: Iterable[StoredEvent], tz: tzinfo
) -> dict[date, dict[str, float]]:
    """Minutes per activity class (walk, run, ...) per local day."""
    days: dict[date, dict[str, float]] = {}
    for e in _placed(events, EventKind.ACTIVITY_SUMMARY):
        assert e.utc is not None and e.fields is not None
        for day, seconds in _split_by_day(e.utc - ACTIVITY_SUMMARY_S, e.utc, tz):
            share = seconds / ACTIVITY_SUMMARY_S
            row = days.setdefault(day, {name: 0.0 for name in ACTIVITY_NAMES})
            for name, minutes in zip(ACTIVITY_NAMES, e.fields["minutes"], strict=True):
                row[name] += minutes * share
    return dict(sorted(days.items()))


_COVERING: dict[str, str] = {
    EventKind.RHYTHM_SUMMARY: "interval_s",
    EventKind.HR_SUMMARY: "interval_s",
}


def covered_intervals(events: Iterable[StoredEvent]) -> list[tuple[float, float]]:
    """Merged [start, end) UTC intervals during which some summary says the device was worn."""
    spans: list[tuple[float, float]] = []
    for e in events:
        if e.utc is None or e.fields is None:
            continue
        if e.type in _COVERING:
            spans.append((e.utc - e.fields[_COVERING[e.type]], e.utc))
        elif e.type == EventKind.ACTIVITY_SUMMARY and sum(e.fields["minutes"]) > 0:
            spans.append((e.utc - ACTIVITY_SUMMARY_S, e.utc))
    spans.sort()
    merged: list[tuple[float, float]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def wear_time_per_day(events: Iterable[StoredEvent], tz: tzinfo) -> dict[date, float]:
    """Seconds of wear per local day."""
    days: dict[date, float] = defaultdict(float)
    for start, end in covered_intervals(events):
        for day, seconds in _split_by_day(start, end, tz):
            days[day] += seconds
    return dict(sorted(days.items()))


@dataclasses.dataclass(frozen=True)
class DataGap:
    start_utc: float
    end_utc: float

    @property
    def hours(self) -> float:
        return (self.end_utc - self.start_utc) / 3600

    @property
    def message(self) -> str:
        return f"no data for {self.hours:.1f} hours"


def data_gaps(
    events: Iterable[StoredEvent],
    min_hours: float = DEFAULT_GAP_HOURS,
    start_utc: float | None = None,
    end_utc: float | None = None,
) -> list[DataGap]:
    """Holes of at least ``min_hours`` in the wear coverage, including before the first and
    after the last covered time when the range [start_utc, end_utc) is given."""
    covered = covered_intervals(events)
    edges: list[tuple[float, float]] = []
    cursor = start_utc if start_utc is not None else (covered[0][0] if covered else None)
    for start, end in covered:
        if cursor is not None and start > cursor:
            edges.append((cursor, start))
        cursor = end if cursor is None else max(cursor, end)
    if end_utc is not None and cursor is not None and end_utc > cursor:
        edges.append((cursor, end_utc))
    return [DataGap(s, e) for s, e in edges if e - s >= min_hours * 3600]
