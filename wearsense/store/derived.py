"""Derived figures, computed in one place for the exports, the report and the UI.

All functions take stored events (``Store.events(...)``, placed in time: ``utc`` known)
and, where days matter, the patient's timezone: a day is a local calendar day, and a
summary interval that spans midnight is shared between both days in proportion.

- AF burden per day: AF seconds / analysable seconds, from RhythmSummary events.
- AF episodes: an AfStart (onset = event time - onset lag) paired with the next AfEnd of
  the same device and epoch; without one it is closed by inference (a reset: a new
  epoch; a silence of the device longer than ``EPISODE_GAP_S``; the next onset) and says
  so (``closed_by``), or it is open. No two episodes of the events overlap.
- Falls: every Fall, marked cancelled when a FallCancelled names it, with its wait for a
  cancel (closed by the cancel, the window, the next fall or a reset; never two at once).
- Activity minutes per class per day, from ActivitySummary events (hour ending at the event).
- Wear time and data gaps: the device was worn where a summary covers time (rhythm,
  heart-rate and activity summaries cover the interval that ends at the event); a hole
  of at least ``min_hours`` is a gap, "no data for N hours".
"""

from __future__ import annotations

import dataclasses
import operator
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time, timedelta, tzinfo

from wearsense.protocol import ActivityClass, EventKind
from wearsense.store.db import Store, StoredEvent

ACTIVITY_NAMES = tuple(ActivityClass(i).name.lower() for i in range(8))
ACTIVITY_SUMMARY_S = 3600
DEFAULT_GAP_HOURS = 4.0

Key = tuple[str, int, int]


class _LocalDay:
    """The local day of ``tz`` last looked up, as [UTC start, UTC end): a year's
    summaries fall in it one after another, so most lookups cost two comparisons instead
    of two datetime conversions (a year's AF burden per day: 0.18 s before)."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        # (start, end, day) in one attribute: threads that share it see a whole span
        self.span = (0.0, 0.0, date.min)

    def at(self, utc: float) -> tuple[date, float]:
        """(the local day of ``utc``, the UTC time that day ends)."""
        lo, hi, day = self.span
        if not lo <= utc < hi:
            day = datetime.fromtimestamp(utc, self.tz).date()
            lo = datetime.combine(day, time(0), self.tz).timestamp()
            hi = datetime.combine(day + timedelta(days=1), time(0), self.tz).timestamp()
            if not lo <= utc < hi:  # a midnight the clock skips or repeats: no caching
                return day, hi
            self.span = (lo, hi, day)
        return day, hi


_DAYS: dict[tzinfo, _LocalDay] = {}


def _local_days(tz: tzinfo) -> _LocalDay:
    days = _DAYS.get(tz)
    if days is None:
        if len(_DAYS) > 64:
            _DAYS.clear()
        days = _DAYS[tz] = _LocalDay(tz)
    return days


def _split_by_day(start: float, end: float, tz: tzinfo) -> Iterator[tuple[date, float]]:
    """(local day, seconds of [start, end) in that day)."""
    days = _local_days(tz)
    cursor = start
    while cursor < end:
        day, midnight = days.at(cursor)
        stop = min(end, midnight)
        yield day, stop - cursor
        cursor = stop


def local_day(utc: float, tz: tzinfo) -> date:
    return _local_days(tz).at(utc)[0]


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
    days = _local_days(tz)
    for e in _placed(events, EventKind.RHYTHM_SUMMARY):
        assert e.utc is not None and e.fields is not None
        f = e.fields
        interval = float(f["interval_s"])
        start = e.utc - interval
        day, midnight = days.at(start)
        if e.utc <= midnight:  # nearly every summary: one day, all of it
            af[day] += f["af_s"]
            analysable[day] += f["analysable_s"]
            continue
        for day, seconds in _split_by_day(start, e.utc, tz):
            share = seconds / interval
            af[day] += f["af_s"] * share
            analysable[day] += f["analysable_s"] * share
    return [AfBurdenDay(d, af[d], analysable[d]) for d in sorted(analysable)]


# AF episodes -------------------------------------------------------------------------

EPISODE_GAP_S = DEFAULT_GAP_HOURS * 3600  # a silence this long closes an episode
FALL_CANCEL_MAX_S = 300  # the longest fall-cancel window the device accepts (SET_CONFIG)

# How an episode (or a fall's wait for a cancel) was closed; all but END_EVENT and
# CANCELLED are inferred by the store, not reported by the device.
END_EVENT = "end_event"
NEXT_START = "next_start"
DEVICE_RESET = "device_reset"
DATA_GAP = "data_gap"
CANCELLED = "cancelled"
WINDOW = "window"
NEXT_FALL = "next_fall"
INFERRED_WORDS = {
    NEXT_START: "closed by the next onset",
    DEVICE_RESET: "closed by a device reset",
    DATA_GAP: "closed by a data gap",
}


@dataclasses.dataclass(frozen=True)
class AfEpisode:
    """An AF episode. Within a time range an episode may be cut: without its start
    event (``start_key`` None: the start is the end minus the reported duration) or
    without its end (open: ``end_utc`` and ``closed_by`` None). ``closed_by`` says what
    ended it: ``end_event`` (the device's AF end), or, inferred by the store,
    ``next_start`` (another onset came first; the end is that onset),
    ``device_reset`` (a new epoch: the end is the old epoch's last event) or
    ``data_gap`` (no event of the device for longer than ``EPISODE_GAP_S``: the end is
    the last event before the silence)."""

    serial: str
    start_key: Key | None
    end_key: Key | None
    start_utc: float
    end_utc: float | None
    onset_hr_bpm: int | None
    confidence: int | None
    mean_hr_bpm: int | None
    model_version: int | None
    closed_by: str | None = None

    @property
    def duration_s(self) -> float | None:
        return None if self.end_utc is None else self.end_utc - self.start_utc

    @property
    def inferred_end(self) -> bool:
        return self.closed_by is not None and self.closed_by != END_EVENT

    @property
    def status(self) -> str:
        """ "open", "ended" or how the store closed it, in words."""
        if self.closed_by is None:
            return "open"
        return INFERRED_WORDS.get(self.closed_by, "ended")


Streams = dict[str, list[StoredEvent]]


def device_streams(events: Iterable[StoredEvent]) -> Streams:
    """Placed events per serial in the device's own order (epoch, seq): what
    `af_episodes` and `falls` walk; a caller that asks both passes it to each."""
    out: dict[str, list[StoredEvent]] = defaultdict(list)
    for e in events:
        if e.utc is not None:
            out[e.serial].append(e)
    for stream in out.values():
        stream.sort(key=_device_order)
    return out


def _device_order(e: StoredEvent) -> int:
    """(epoch, seq) as one integer (seq < 2**24): sorting a year's stream on it takes
    15 ms against 240 ms on (epoch, seq) tuples."""
    return (e.epoch << 24) | e.seq


def _onset(start: StoredEvent) -> float:
    assert start.utc is not None and start.fields is not None
    return start.utc - start.fields["onset_lag_s"]


def _no_overlap(episodes: list[AfEpisode]) -> list[AfEpisode]:
    """Sorted by onset; an episode still running (or ending) after the next one's onset
    ends at that onset, so no two overlap (two devices of one patient, a cut episode)."""
    ordered = sorted(episodes, key=lambda ep: ep.start_utc)
    for i in range(len(ordered) - 1):
        ep, following = ordered[i], ordered[i + 1]
        if ep.end_utc is None or ep.end_utc > following.start_utc:
            ordered[i] = dataclasses.replace(
                ep, end_utc=max(ep.start_utc, following.start_utc), closed_by=NEXT_START
            )
    return ordered


def af_episodes(
    events: Iterable[StoredEvent],
    end_utc: float | None = None,
    gap_s: float = EPISODE_GAP_S,
    streams: Streams | None = None,
) -> list[AfEpisode]:
    """The AF episodes of the events (one patient's, or one device's), by onset, none
    overlapping another. An episode is closed by its AF end event, or by inference: by
    a new epoch of the device (a reset), by a silence of the device longer than
    ``gap_s`` (also before ``end_utc``, the end of the data: the companion's now or the
    export's end), or by the next onset. Without any of these it is open. ``streams``:
    the events' `device_streams`, when the caller has them."""
    episodes: list[AfEpisode] = []

    def close(
        start: StoredEvent, end: StoredEvent | None, at: float | None, how: str | None
    ) -> None:
        assert start.utc is not None and start.fields is not None
        end_fields = end.fields if end is not None and end.fields is not None else None
        onset = _onset(start)
        episodes.append(
            AfEpisode(
                serial=start.serial,
                start_key=start.key,
                end_key=end.key if end is not None else None,
                start_utc=onset,
                end_utc=None if at is None else max(onset, at),
                onset_hr_bpm=start.fields["hr_bpm"],
                confidence=start.fields["confidence"],
                mean_hr_bpm=end_fields["mean_hr_bpm"] if end_fields else None,
                model_version=start.model_version,
                closed_by=how,
            )
        )

    for stream in (device_streams(events) if streams is None else streams).values():
        open_: StoredEvent | None = None
        gap_closed: StoredEvent | None = None  # its own end event may still come
        last: StoredEvent | None = None
        for e in stream:
            assert e.utc is not None
            if last is not None and last.utc is not None:
                if e.epoch != last.epoch:
                    if open_ is not None:
                        close(open_, None, last.utc, DEVICE_RESET)
                    open_ = gap_closed = None
                elif open_ is not None and e.utc - last.utc > gap_s:
                    close(open_, None, last.utc, DATA_GAP)
                    open_, gap_closed = None, open_
            if e.type == EventKind.AF_START and e.fields is not None:
                if open_ is not None:
                    close(open_, None, _onset(e), NEXT_START)
                open_, gap_closed = e, None
            elif e.type == EventKind.AF_END and e.fields is not None:
                if open_ is None and gap_closed is not None:
                    # the device did end the episode the silence closed: its end wins
                    episodes.pop(
                        next(
                            i
                            for i in range(len(episodes) - 1, -1, -1)
                            if episodes[i].start_key == gap_closed.key
                        )
                    )
                    open_, gap_closed = gap_closed, None
                if open_ is not None:
                    close(open_, e, e.utc, END_EVENT)
                    open_ = None
                else:  # the onset lies before the selected events
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
                            model_version=e.model_version,
                            closed_by=END_EVENT,
                        )
                    )
            last = e
        if open_ is not None:
            assert last is not None and last.utc is not None
            if end_utc is not None and end_utc - last.utc > gap_s:
                close(open_, None, last.utc, DATA_GAP)
            else:
                close(open_, None, None, None)
    return _no_overlap(episodes)


# Falls -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FallRecord:
    """A fall and its wait for the wearer's cancel: from the fall to ``await_end_utc``,
    closed as ``await_closed_by`` says: ``cancelled`` (the FALL_CANCELLED), ``window``
    (the longest cancel window, ``FALL_CANCEL_MAX_S``, passed), ``next_fall`` (the
    button cancels only the newest fall), ``device_reset`` (a new epoch); None while it
    may still be cancelled."""

    key: Key
    utc: float
    impact_mg: int
    confidence: int
    stillness_s: int
    model_version: int | None
    cancel_key: Key | None = None
    cancel_delay_s: int | None = None
    await_end_utc: float | None = None
    await_closed_by: str | None = None

    @property
    def cancelled(self) -> bool:
        return self.cancel_key is not None

    @property
    def impact_g(self) -> float:
        """The impact's peak acceleration in g (the event reports milli-g)."""
        return self.impact_mg / 1000


def falls(
    events: Iterable[StoredEvent],
    end_utc: float | None = None,
    streams: Streams | None = None,
) -> list[FallRecord]:
    """Every fall, with the cancellation that names it (if any) and its wait for one;
    no two falls of the events wait at once. ``end_utc``: the end of the data (the
    companion's now), before which a wait still running stays open. ``streams``: the
    events' `device_streams`, when the caller has them."""
    out: list[FallRecord] = []
    fall_kind, cancel_kind = EventKind.FALL, EventKind.FALL_CANCELLED
    for stream in (device_streams(events) if streams is None else streams).values():
        cancels: dict[Key, StoredEvent] = {}
        placed: list[StoredEvent] = []
        first_at: dict[int, float] = {}
        epoch = None
        for x in stream:  # one pass: a year's stream is 100 000 events
            if x.epoch != epoch:
                epoch = x.epoch
                assert x.utc is not None
                first_at.setdefault(epoch, x.utc)
            if x.type == fall_kind:
                if x.fields is not None:
                    placed.append(x)
            elif x.type == cancel_kind and x.fields is not None:
                cancels[(x.serial, x.epoch, x.fields["fall_seq"])] = x
        epochs = sorted(first_at)
        next_epoch_at = {a: first_at[b] for a, b in zip(epochs, epochs[1:], strict=False)}
        for i, e in enumerate(placed):
            assert e.utc is not None and e.fields is not None
            cancel = cancels.get(e.key)
            ends: list[tuple[float, str]] = [(e.utc + FALL_CANCEL_MAX_S, WINDOW)]
            if cancel is not None and cancel.utc is not None:
                ends.append((max(e.utc, cancel.utc), CANCELLED))
            if i + 1 < len(placed):
                following = placed[i + 1]
                assert following.utc is not None
                how = NEXT_FALL if following.epoch == e.epoch else DEVICE_RESET
                ends.append((max(e.utc, following.utc), how))
            reset = next_epoch_at.get(e.epoch)
            if reset is not None:
                ends.append((max(e.utc, reset), DEVICE_RESET))
            at, how = min(ends)
            still = how == WINDOW and end_utc is not None and at > end_utc
            out.append(
                FallRecord(
                    key=e.key,
                    utc=e.utc,
                    impact_mg=e.fields["impact_mg"],
                    confidence=e.fields["confidence"],
                    stillness_s=e.fields["stillness_s"],
                    model_version=e.model_version,
                    cancel_key=cancel.key if cancel else None,
                    cancel_delay_s=cancel.fields["delay_s"] if cancel and cancel.fields else None,
                    await_end_utc=None if still else at,
                    await_closed_by=None if still else how,
                )
            )
    out.sort(key=lambda f: f.utc)
    for i in range(len(out) - 1):  # two devices of one patient: one wait at a time
        fall, later = out[i], out[i + 1]
        if fall.await_end_utc is None or fall.await_end_utc > later.utc:
            out[i] = dataclasses.replace(fall, await_end_utc=later.utc, await_closed_by=NEXT_FALL)
    return out


def confirmed_falls(events: Sequence[StoredEvent]) -> list[FallRecord]:
    """Falls minus those the wearer cancelled."""
    return [f for f in falls(events) if not f.cancelled]


def overlapping(intervals: Iterable[tuple[float, float | None]]) -> int:
    """How many intervals (start, end; None: still open) begin before an earlier one
    has ended."""
    count = 0
    reach = float("-inf")
    for start, end in sorted(intervals, key=lambda se: se[0]):
        if start < reach:
            count += 1
        reach = max(reach, float("inf") if end is None else end)
    return count


def overlapping_episodes(store: Store, now: float | None = None) -> int:
    """AF episodes and falls awaiting a cancel that overlap another of the same patient,
    over every patient of the store, as the exports and views derive them (0 when the
    rules above hold). ``now``: the companion's clock."""
    total = 0
    for patient in store.patients():
        events = store.events(
            patient=patient.pseudonym,
            end_utc=None if now is None else now + 1,
        )
        episodes = af_episodes(events, end_utc=now)
        total += overlapping((ep.start_utc, ep.end_utc) for ep in episodes)
        total += overlapping((f.utc, f.await_end_utc) for f in falls(events, end_utc=now))
    return total


def activity_minutes_per_day(
    events: Iterable[StoredEvent], tz: tzinfo
) -> dict[date, dict[str, float]]:
    """Minutes per activity class (walk, run, ...) per local day."""
    days: dict[date, dict[str, float]] = {}
    local = _local_days(tz)
    for e in _placed(events, EventKind.ACTIVITY_SUMMARY):
        assert e.utc is not None and e.fields is not None
        start = e.utc - ACTIVITY_SUMMARY_S
        day, midnight = local.at(start)
        pieces = (
            ((day, float(ACTIVITY_SUMMARY_S)),)  # nearly every summary: within one day
            if e.utc <= midnight
            else _split_by_day(start, e.utc, tz)
        )
        for day, seconds in pieces:
            share = seconds / ACTIVITY_SUMMARY_S
            row = days.get(day)
            if row is None:
                row = days[day] = dict.fromkeys(ACTIVITY_NAMES, 0.0)
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
    covering, activity = _COVERING, EventKind.ACTIVITY_SUMMARY
    for e in events:
        utc, f = e.utc, e.fields
        if utc is None or f is None:
            continue
        name = covering.get(e.type)
        if name is not None:
            spans.append((utc - f[name], utc))
        elif e.type == activity and sum(f["minutes"]) > 0:
            spans.append((utc - ACTIVITY_SUMMARY_S, utc))
    # merging needs the starts in order only; a float key sorts the nearly ordered
    # spans without comparing tuples
    spans.sort(key=_START)
    merged: list[tuple[float, float]] = []
    lo = hi = 0.0
    for start, end in spans:
        if merged and start <= hi:
            if end > hi:
                hi = end
                merged[-1] = (lo, hi)
        else:
            lo, hi = start, end
            merged.append((lo, hi))
    return merged


_START = operator.itemgetter(0)


def clip(
    intervals: Iterable[tuple[float, float]], start: float | None, end: float | None
) -> list[tuple[float, float]]:
    """The parts of the intervals inside [start, end) (None: unbounded)."""
    lo = float("-inf") if start is None else start
    hi = float("inf") if end is None else end
    return [(max(a, lo), min(b, hi)) for a, b in intervals if b > lo and a < hi]


def wear_time_per_day(
    events: Iterable[StoredEvent],
    tz: tzinfo,
    covered: list[tuple[float, float]] | None = None,
) -> dict[date, float]:
    """Seconds of wear per local day (``covered``: the events' covered_intervals, when the
    caller has them already)."""
    days: dict[date, float] = defaultdict(float)
    for start, end in covered_intervals(events) if covered is None else covered:
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
    covered: list[tuple[float, float]] | None = None,
) -> list[DataGap]:
    """Holes of at least ``min_hours`` in the wear coverage, including before the first and
    after the last covered time when the range [start_utc, end_utc) is given; coverage
    outside the range is cut off, so no gap runs past ``end_utc`` (the companion's now)."""
    covered = clip(covered_intervals(events) if covered is None else covered, start_utc, end_utc)
    edges: list[tuple[float, float]] = []
    cursor = start_utc if start_utc is not None else (covered[0][0] if covered else None)
    for start, end in covered:
        if cursor is not None and start > cursor:
            edges.append((cursor, start))
        cursor = end if cursor is None else max(cursor, end)
    if end_utc is not None and cursor is not None and end_utc > cursor:
        edges.append((cursor, end_utc))
    return [DataGap(s, e) for s, e in edges if e - s >= min_hours * 3600]
