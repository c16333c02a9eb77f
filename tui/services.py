"""What the screens show, worded: the severity and one-line description of each event,
times and ages, the event feed with its data-gap lines, and the rows and series the
screens draw, made from the figures of ``wearsense.store.overview`` (which decides what
the data says: long data gaps, the heart rate around an AF episode, the window of the
store to read) and the export table of ``wearsense.export.formats``. Widgets display what
these return and decide nothing.

Read-only but for the acknowledgement of a fall. Errors are the library's: ``StoreError``
for the database, ``ExportError`` for an export that cannot be made.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import importlib.util
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from tui.link import ConnectionState, LinkStatus
from wearsense.export.formats import FORMATS, write_into_folder
from wearsense.protocol import (
    ActivityClass,
    Event,
    EventKind,
    Quality,
    RhythmClass,
    SignalSource,
)
from wearsense.store import Store, StoredEvent, describe_holes
from wearsense.store.db import DEFAULT_GAP_ALERT_HOURS, event_fields
from wearsense.store.derived import ACTIVITY_NAMES, ACTIVITY_SUMMARY_S
from wearsense.store.overview import (
    ACTIVITY_HOURS,
    ALERT_LOOKBACK_HOURS,
    DAY_S,
    EPISODE_MARGIN_S,
    Clock,
    Key,
    Overview,
)

FEED_SIZE = 500
MODEL_LABELS = {"afib": "AF", "fall": "fall", "activity": "act"}  # short, for narrow cards


class Severity(enum.IntEnum):
    """How much an event should stand out; the name is the CSS class suffix."""

    MUTED = 0
    INFO = 1
    NOTICE = 2
    WARNING = 3
    CRITICAL = 4

    @property
    def css(self) -> str:
        return f"severity-{self.name.lower()}"


@dataclasses.dataclass(frozen=True)
class EventView:
    """One line of the live event list."""

    key: Key
    serial: str
    type: str
    utc: float | None
    patient: str | None
    when: str
    severity: Severity
    text: str

    @property
    def is_fall(self) -> bool:
        return self.type == EventKind.FALL


def _activity(code: int) -> str:
    try:
        return ActivityClass(code).name.lower()
    except ValueError:
        return f"class {code}"


def _flags(value: int) -> str:
    names = [f.name.lower().replace("_", " ") for f in Quality if value & f and f.name]
    return ", ".join(names) or "ok"


def _minutes(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def describe(type_name: str, fields: Mapping[str, Any] | None) -> tuple[Severity, str]:
    """Severity and a one-line description of an event of ``type_name``."""
    f = dict(fields or {})
    if type_name == "undecodable":
        return Severity.WARNING, "undecodable packet kept as bytes"
    if type_name == EventKind.AF_START:
        return Severity.CRITICAL, (
            f"AF episode began {f['onset_lag_s']} s earlier: HR {f['hr_bpm']} bpm, "
            f"confidence {f['confidence']} %"
        )
    if type_name == EventKind.AF_END:
        return Severity.WARNING, (
            f"AF episode ended after {_minutes(f['duration_s'])}, mean HR {f['mean_hr_bpm']} bpm"
        )
    if type_name == EventKind.FALL:
        return Severity.CRITICAL, (
            f"FALL: impact {f['impact_mg'] / 1000:.1f} g, confidence {f['confidence']} %, "
            f"still for {f['stillness_s']} s"
        )
    if type_name == EventKind.FALL_CANCELLED:
        return Severity.NOTICE, (
            f"fall #{f['fall_seq']} cancelled by the wearer after {f['delay_s']} s"
        )
    if type_name == EventKind.ACTIVITY_CHANGE:
        return Severity.INFO, (
            f"activity {_activity(f['from_class'])} -> {_activity(f['to_class'])} "
            f"({f['confidence']} %)"
        )
    if type_name == EventKind.ACTIVITY_SUMMARY:
        parts = [f"{_activity(i)} {m} min" for i, m in enumerate(f["minutes"]) if m] or [
            "no activity"
        ]
        return Severity.MUTED, "last hour: " + ", ".join(parts)
    if type_name == EventKind.RHYTHM_SUMMARY:
        share = f["af_s"] / f["analysable_s"] if f["analysable_s"] else 0.0
        return Severity.MUTED, (
            f"rhythm: AF {share:.0%} of {_minutes(f['analysable_s'])} analysable "
            f"(of {_minutes(f['interval_s'])})"
        )
    if type_name == EventKind.HR_SUMMARY:
        return Severity.MUTED, (
            f"heart rate {f['min_bpm']}/{f['mean_bpm']}/{f['max_bpm']} bpm (min/mean/max) "
            f"over {_minutes(f['interval_s'])}"
        )
    if type_name == EventKind.SIGNAL_QUALITY:
        source = SignalSource(f["source"]).name
        return Severity.WARNING, (
            f"{source} signal: {_flags(f['flags'])} for {_minutes(f['duration_s'])}"
        )
    if type_name == EventKind.GAP:
        return Severity.WARNING, (
            f"{f['dropped']} events dropped by the device (seq {f['first_seq']}-{f['last_seq']})"
        )
    if type_name == EventKind.STATUS_DEVICE:
        return Severity.MUTED, f"battery {f['battery_pct']} %, epoch {f['epoch']}"
    if type_name == EventKind.STATUS_MODELS:
        return Severity.MUTED, (
            f"models: afib v{f['afib_version']}, fall v{f['fall_version']}, "
            f"activity v{f['activity_version']}"
        )
    if type_name == EventKind.STATUS_FIRMWARE:
        return Severity.MUTED, f"firmware {f['fw_major']}.{f['fw_minor']}.{f['fw_patch']}"
    if type_name == EventKind.ECG_RECORDING:
        rhythm = RhythmClass(f["rhythm_class"])
        severity = Severity.CRITICAL if rhythm is RhythmClass.AF else Severity.INFO
        hr = f"HR {f['hr_bpm']} bpm" if f["hr_bpm"] else "no HR"
        return severity, (
            f"ECG recording ({f['duration_s']} s): {rhythm.name.lower()}, "
            f"confidence {f['confidence']} %, {hr}"
        )
    if type_name == EventKind.STRIP:
        reason = {1: "AF onset", 2: "recording", 3: "fall"}.get(f["reason"], "event")
        return Severity.MUTED, (
            f"ECG strip {f['strip_id']} ({f['duration_s']} s, {reason}, "
            f"event {f['subject_seq']}) on the device"
        )
    if type_name == "data_gap":
        return Severity.WARNING, f"DATA GAP: no data for {f['hours']:.1f} hours"
    return Severity.INFO, type_name


def format_time(utc: float | None, tz: tzinfo | None) -> str:
    if utc is None:
        return "time unknown"
    if tz is None:
        return datetime.fromtimestamp(utc, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return datetime.fromtimestamp(utc, tz).strftime("%Y-%m-%d %H:%M:%S%z")


def format_age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s ago"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min ago"
    if seconds < DAY_S:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds / DAY_S:.1f} d ago"


class EventFeed:
    """The recent events in arrival order, without duplicates, with a flag line
    inserted where a device was silent for ``gap_hours`` or more before an event."""

    def __init__(self, gap_hours: float = DEFAULT_GAP_ALERT_HOURS, size: int = FEED_SIZE):
        self.gap_hours = gap_hours
        self.lines: collections.deque[EventView] = collections.deque(maxlen=size)
        self._seen: set[Key] = set()
        self._last_utc: dict[str, float] = {}
        self.total = 0  # lines ever added, so a screen knows how many it has not shown

    def __len__(self) -> int:
        return len(self.lines)

    @property
    def newest_utc(self) -> float | None:
        return max(self._last_utc.values(), default=None)

    def add(self, views: Iterable[EventView]) -> list[EventView]:
        """Adds the views not seen before; returns what was added (flags included)."""
        added: list[EventView] = []
        for view in views:
            if view.key in self._seen:
                continue
            self._seen.add(view.key)
            previous = self._last_utc.get(view.serial)
            if view.utc is not None:
                if previous is not None and view.utc - previous >= self.gap_hours * 3600:
                    added.append(self._gap_line(view, previous))
                self._last_utc[view.serial] = max(view.utc, previous or view.utc)
            added.append(view)
        self.lines.extend(added)
        self.total += len(added)
        return added

    def _gap_line(self, view: EventView, previous: float) -> EventView:
        assert view.utc is not None
        hours = (view.utc - previous) / 3600
        severity, text = describe("data_gap", {"hours": hours})
        return EventView(
            key=(view.serial, -1, int(previous)),
            serial=view.serial,
            type="data_gap",
            utc=view.utc,
            patient=view.patient,
            when=view.when,
            severity=severity,
            text=text,
        )


@dataclasses.dataclass(frozen=True)
class DeviceRow:
    """One row of the devices table."""

    serial: str
    patient: str
    state: str
    battery: str
    posture: str  # the activity detector's posture calibration, from STATUS page 0
    firmware: str
    models: str
    last_sync: str
    wear_24h: str
    gaps_24h: str
    silent_hours: float | None
    long_gap: bool
    holes: str = ""  # events the device assigned that the store never got; "" for none


@dataclasses.dataclass(frozen=True)
class PatientRow:
    pseudonym: str
    timezone: str
    devices: str
    events_24h: int


@dataclasses.dataclass(frozen=True)
class EpisodeTrace:
    """Mean heart rate around one AF episode; minutes relative to the onset."""

    label: str
    minutes: list[float]
    mean_bpm: list[int]
    end_minute: float | None


@dataclasses.dataclass(frozen=True)
class Registry:
    """What is known about models: versions recorded in the store, the update history,
    and whether model updates can be pushed from here."""

    versions: list[dict[str, Any]]
    updates: list[dict[str, Any]]
    push_available: bool


# The part of the model-update service that sends a package to a device (ARCHITECTURE:
# updates = build, sign, verify, registry, rollout, transfer). Until it exists, the
# Updates screen says that pushing is not available.
PUSH_MODULE = "wearsense.updates.transfer"

DEFAULT_EXPORT = "csv"
# The export formats (wearsense.export.formats) as the Export screen offers them: the
# default first.
EXPORT_FORMATS = {
    name: chosen.label
    for name, chosen in sorted(FORMATS.items(), key=lambda item: item[0] != DEFAULT_EXPORT)
}


class StoreView:
    """The read side of the companion for the UI, over one open ``Store``: the figures of
    ``wearsense.store.overview.Overview``, worded for the screens."""

    def __init__(self, store: Store, clock: Clock, gap_hours: float | None = None) -> None:
        self.overview = Overview(store, clock, gap_hours)
        self.store = store
        self.clock = clock
        self.gap_hours = self.overview.gap_hours

    # -- who and when --------------------------------------------------------------------

    def patients(self) -> list[str]:
        return self.overview.patients()

    def _view(
        self,
        serial: str,
        epoch: int,
        seq: int,
        type_name: str,
        utc: float | None,
        fields: Mapping[str, Any] | None,
    ) -> EventView:
        patient = self.store.patient_of(serial, utc)
        severity, text = describe(type_name, fields)
        return EventView(
            key=(serial, epoch, seq),
            serial=serial,
            type=type_name,
            utc=utc,
            patient=patient,
            when=format_time(utc, self.overview.tz_of(patient)),
            severity=severity,
            text=text,
        )

    def view_of(self, event: StoredEvent) -> EventView:
        return self._view(event.serial, event.epoch, event.seq, event.type, event.utc, event.fields)

    def anchor(self, serials: Iterable[str] | None = None) -> float:
        return self.overview.anchor(serials)

    # -- events --------------------------------------------------------------------------

    def recent_events(self, limit: int = FEED_SIZE) -> list[EventView]:
        """The newest ``limit`` placed events, oldest first."""
        return [self.view_of(e) for e in self.overview.recent_events(limit)]

    def events_since(self, utc: float | None) -> list[EventView]:
        """Placed events at or after ``utc`` (all when None), oldest first."""
        return [self.view_of(e) for e in self.overview.events_since(utc)]

    def views_from_link(self, serial: str, epoch: int, events: Sequence[Event]) -> list[EventView]:
        """Views of events the link reports as stored (their UTC time from the store's
        clock offset for that stream)."""
        offset = self.store.time_offset(serial, epoch)
        return [
            self._view(
                serial,
                epoch,
                e.seq,
                e.NAME,
                None if offset is None else float(e.time_s + offset),
                event_fields(e),
            )
            for e in events
        ]

    def open_fall_alerts(self, lookback_hours: float = ALERT_LOOKBACK_HOURS) -> list[EventView]:
        """Falls of the last ``lookback_hours`` nobody has acknowledged and the wearer did
        not cancel: raised again when the UI starts."""
        return [self.view_of(e) for e in self.overview.open_falls(lookback_hours)]

    def acknowledge_fall(self, key: Key, by: str = "") -> None:
        """Records the acknowledgement in the store (kept across restarts)."""
        self.overview.acknowledge_fall(key, by=by)

    def fall_is_cancelled(self, key: Key) -> bool:
        return self.overview.fall_is_cancelled(key)

    # -- patients and devices ------------------------------------------------------------

    def patient_rows(self) -> list[PatientRow]:
        return [
            PatientRow(p.pseudonym, p.timezone, ", ".join(p.wearing) or "-", p.events_24h)
            for p in self.overview.patient_days()
        ]

    def device_rows(self, statuses: Mapping[str, LinkStatus]) -> list[DeviceRow]:
        """One row per device: what the link reports now, else what the store recorded."""
        now = self.clock()
        rows = []
        for day in self.overview.device_days(statuses):
            status = statuses.get(day.serial)
            battery = status.battery_pct if status and status.battery_pct is not None else None
            if battery is None:
                battery = day.battery_pct
            posture = "-"
            if day.posture_calibrated is not None:
                posture = (
                    "calibrated" if day.posture_calibrated else "not calibrated (p: calibrate)"
                )
            firmware = (status.firmware if status and status.firmware else None) or day.firmware
            models = status.models if status and status.models else day.models
            last_sync = status.last_sync_utc if status and status.last_sync_utc else None
            if last_sync is None:
                last_sync = day.last_received_utc
            rows.append(
                DeviceRow(
                    serial=day.serial,
                    patient=day.patient or "unassigned",
                    state=(status.state if status else ConnectionState.DISCONNECTED).value,
                    battery="-" if battery is None else f"{battery} %",
                    posture=posture,
                    firmware=firmware or "-",
                    models=" · ".join(f"{MODEL_LABELS.get(k, k)} {v}" for k, v in models.items())
                    or "-",
                    last_sync=format_age(None if last_sync is None else now - last_sync),
                    wear_24h=_minutes(day.wear_s) if day.wear_s > 0 else "0 min",
                    gaps_24h=(
                        f"{len(day.gaps)} (longest {max(g.hours for g in day.gaps):.1f} h)"
                        if day.gaps
                        else "none"
                    ),
                    silent_hours=day.silent_hours,
                    long_gap=day.long_gap(self.gap_hours),
                    holes=describe_holes(day.holes),
                )
            )
        return rows

    # -- charts --------------------------------------------------------------------------

    def af_burden(self, patient: str) -> list[tuple[str, float]]:
        """(local day, AF burden in %) per day with analysable time."""
        return [
            (day.strftime("%m-%d"), 100 * burden)
            for day, burden in self.overview.af_burden(patient)
        ]

    def hr_around_episodes(
        self, patient: str, margin_s: float = EPISODE_MARGIN_S
    ) -> list[EpisodeTrace]:
        """Mean heart rate around each AF episode (newest last), labelled by its local
        onset."""
        tz = self.overview.tz_of(patient)
        return [
            EpisodeTrace(
                label=datetime.fromtimestamp(ep.start_utc, tz).strftime("%m-%d %H:%M"),
                minutes=ep.minutes,
                mean_bpm=ep.mean_bpm,
                end_minute=ep.end_minute,
            )
            for ep in self.overview.hr_around_episodes(patient, margin_s)
        ]

    def activity_per_hour(
        self, patient: str, hours: int = ACTIVITY_HOURS
    ) -> list[tuple[str, dict[str, float]]]:
        """(local hour, minutes per activity class) for the last ``hours`` hours, from the
        hourly activity summaries; then "now": the hour so far, from the activity changes
        since the last summary (so the chart has data before the first summary)."""
        done = self.overview.activity_per_hour(patient, hours)
        rows = [
            (hour.strftime("%H:%M"), {k: float(v) for k, v in minutes.items()})
            for hour, minutes in done
        ]
        since = done[-1][0].timestamp() + ACTIVITY_SUMMARY_S if done else None
        so_far = self.activity_so_far(patient, since)
        if so_far is not None:
            rows.append(("now", so_far))
        return rows[-hours:]

    def activity_so_far(self, patient: str, since: float | None) -> dict[str, float] | None:
        """Minutes per activity class after ``since`` (None: the last hour), from the
        activity changes (each class lasts until the next change, the last one until the
        patient's latest data); None when no change was reported in that time."""
        serials = [a.serial for a in self.store.assignments(patient)]
        end = self.overview.anchor(serials)
        start = max(since if since is not None else end - ACTIVITY_SUMMARY_S, end - DAY_S)
        changes = self.store.events(
            patient=patient, start_utc=start, types=[EventKind.ACTIVITY_CHANGE]
        )
        changes = [c for c in changes if c.utc is not None and c.fields and c.utc <= end]
        if not changes:
            return None
        seconds = dict.fromkeys(ACTIVITY_NAMES, 0.0)
        for change, nxt in zip(changes, [*changes[1:], None], strict=True):
            assert change.utc is not None and change.fields is not None
            until = end if nxt is None or nxt.utc is None else nxt.utc
            code = int(change.fields["to_class"])
            if 0 <= code < len(ACTIVITY_NAMES):
                seconds[ACTIVITY_NAMES[code]] += max(0.0, until - change.utc)
        return {name: round(s / 60, 1) for name, s in seconds.items()}

    # -- model updates -------------------------------------------------------------------

    def registry(self) -> Registry:
        return Registry(
            versions=self.store.model_versions(),
            updates=self.store.updates(),
            push_available=_module_exists(PUSH_MODULE),
        )

    # -- export --------------------------------------------------------------------------

    def export(
        self,
        fmt: str,
        patient: str,
        start: str,
        end: str,
        directory: str | Path,
        deidentify: bool = False,
    ) -> list[Path]:
        """Writes the patient's events in [start, end] (ISO dates or date-times in the
        patient's timezone; empty: unbounded) as ``fmt`` into ``directory``
        (``wearsense.export.formats.write_into_folder``)."""
        return write_into_folder(
            self.store, fmt, patient, start, end, directory, deidentify=deidentify
        )


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False
