"""What the store says about its patients and devices, as figures: the newest
events, the fall alerts nobody acknowledged, each device over the last 24 hours (battery,
posture calibration, versions, wear time, data gaps, how long it has been silent, holes in
its sequence numbers), each
patient's AF burden per day, heart rate around AF episodes and activity per hour. A face
words and draws these; every decision about the data (what counts as a long data gap,
which heart-rate summaries surround an AF episode, which window of the store to read) is
made here.

Read-only but for the acknowledgement of a fall. Errors are the store's (``StoreError``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from datetime import date, datetime, tzinfo

from wearsense.protocol import EventKind, StatusFlag
from wearsense.store import derived
from wearsense.store.db import DEFAULT_GAP_ALERT_HOURS, Device, SequenceHole, Store, StoredEvent

Clock = Callable[[], float]
Key = tuple[str, int, int]
DAY_S = 86400.0
EPISODE_MARGIN_S = 3600.0
ACTIVITY_HOURS = 24
CHART_DAYS = 14  # AF burden and episodes: the last two weeks
RECENT_WINDOWS_DAYS = (2.0, 30.0, None)  # windows tried for the newest events
ALERT_LOOKBACK_HOURS = 24.0  # unacknowledged falls this recent are raised again at start


@dataclasses.dataclass(frozen=True)
class DeviceDay:
    """One device as the store knows it, over the 24 hours before now."""

    serial: str
    patient: str | None  # who wears it now
    battery_pct: int | None  # from its latest STATUS page 0
    posture_calibrated: bool | None  # the same page's flag; None: no page 0 yet
    firmware: str | None
    models: dict[str, int]  # task -> version, as last recorded
    last_received_utc: float | None  # when the store last received one of its events
    wear_s: float  # covered by its summaries in the last 24 hours, up to now
    gaps: list[derived.DataGap]  # in the last 24 hours since its first event, up to now
    newest_utc: float | None  # its newest placed event
    silent_hours: float | None  # since that event
    # events it assigned that never reached the store, whenever (Store.sequence_holes)
    holes: list[SequenceHole] = dataclasses.field(default_factory=list)

    def long_gap(self, gap_hours: float) -> bool:
        return self.silent_hours is not None and self.silent_hours >= gap_hours


@dataclasses.dataclass(frozen=True)
class PatientDay:
    pseudonym: str
    timezone: str
    wearing: list[str]  # serials of the devices worn now
    events_24h: int


@dataclasses.dataclass(frozen=True)
class EpisodeHeartRate:
    """Mean heart rate around one AF episode; minutes relative to the onset."""

    start_utc: float
    minutes: list[float]
    mean_bpm: list[int]
    end_minute: float | None
    status: str = "ended"  # or "open", or how the store closed it (derived.AfEpisode)


class Overview:
    """The read side of the store for a face (the terminal UI), over one open ``Store``;
    ``clock`` gives now (tests fix it). ``gap_hours``: how long a silence is a data gap
    (default: the store's ``gap_alert_hours`` setting)."""

    def __init__(self, store: Store, clock: Clock, gap_hours: float | None = None) -> None:
        self.store = store
        self.clock = clock
        stored = store.setting("gap_alert_hours")
        self.gap_hours = (
            gap_hours if gap_hours is not None else float(stored or DEFAULT_GAP_ALERT_HOURS)
        )
        self._tz_cache: dict[str, tzinfo] = {}

    # -- who and when --------------------------------------------------------------------

    def patients(self) -> list[str]:
        return [p.pseudonym for p in self.store.patients()]

    def tz_of(self, patient: str | None) -> tzinfo | None:
        if patient is None:
            return None
        if patient not in self._tz_cache:
            self._tz_cache[patient] = self.store.patient(patient).tz
        return self._tz_cache[patient]

    def anchor(self, serials: Iterable[str] | None = None) -> float:
        """The time the charts and lists end at: now, or when the store last heard from
        the devices (all, or ``serials``) if that was earlier, so an old store still
        shows its last days without reading all of it."""
        wanted = None if serials is None else set(serials)
        seen = [
            d.last_seen_utc for d in self.store.devices() if wanted is None or d.serial in wanted
        ]
        return min(self.clock(), max(seen)) if seen else self.clock()

    # -- events --------------------------------------------------------------------------

    def recent_events(self, limit: int) -> list[StoredEvent]:
        """The newest ``limit`` placed events, oldest first. Reads a window before the
        anchor, widening it only when it holds fewer than ``limit`` events."""
        end = self.anchor()
        events: list[StoredEvent] = []
        for days in RECENT_WINDOWS_DAYS:
            start = None if days is None else end - days * DAY_S
            events = self.store.events(start_utc=start)
            if len(events) >= limit:
                break
        return events[-limit:]

    def events_since(self, utc: float | None) -> list[StoredEvent]:
        """Placed events at or after ``utc`` (all when None), oldest first."""
        return self.store.events(start_utc=utc)

    def open_falls(self, lookback_hours: float = ALERT_LOOKBACK_HOURS) -> list[StoredEvent]:
        """Falls of the last ``lookback_hours`` (before the clock's now) nobody has
        acknowledged and the wearer did not cancel."""
        start = self.clock() - lookback_hours * 3600.0
        return [
            e
            for e in self.store.unacknowledged_falls(start_utc=start)
            if not self.fall_is_cancelled(e.key)
        ]

    def acknowledge_fall(self, key: Key, by: str = "") -> None:
        """Records the acknowledgement in the store (kept across restarts)."""
        self.store.acknowledge_fall(key, by=by, utc=self.clock())

    def fall_is_cancelled(self, key: Key) -> bool:
        serial, epoch, seq = key
        return any(
            e.epoch == epoch and e.fields is not None and e.fields.get("fall_seq") == seq
            for e in self.store.events(
                serial=serial, types=[EventKind.FALL_CANCELLED], include_unplaced=True
            )
        )

    # -- patients and devices ------------------------------------------------------------

    def patient_days(self) -> list[PatientDay]:
        rows = []
        now = self.clock()
        for p in self.store.patients():
            current = [
                a.serial
                for a in self.store.assignments(p.pseudonym)
                if a.start_utc <= now and (a.end_utc is None or a.end_utc > now)
            ]
            end = self.anchor(a.serial for a in self.store.assignments(p.pseudonym))
            count = len(self.store.events(patient=p.pseudonym, start_utc=end - DAY_S))
            rows.append(PatientDay(p.pseudonym, p.timezone, current, count))
        return rows

    def device_days(self, also: Iterable[str] = ()) -> list[DeviceDay]:
        """Every device the store knows, and the serials ``also`` (a link may know a device
        that has stored nothing yet), by serial."""
        now = self.clock()
        known = {d.serial: d for d in self.store.devices()}
        serials = sorted({*known, *also})
        return [self._device_day(serial, known.get(serial), now) for serial in serials]

    def _device_day(self, serial: str, device: Device | None, now: float) -> DeviceDay:
        # The window: the last 24 hours, but not before the device's first event (the
        # hours before it existed for the store are no data gap) and not after now. A
        # summary stamped after now (a device replaying faster than real time) covers
        # time only up to now.
        first = self.store.first_event_utc(serial)
        window_start = now - DAY_S if first is None else max(now - DAY_S, min(first, now))
        events = self.store.events(serial=serial, start_utc=window_start)
        last = self.store.events(
            serial=serial, types=[EventKind.STATUS_DEVICE], include_unplaced=True
        )
        battery = None
        posture = None
        if last and last[-1].fields:
            battery = int(last[-1].fields["battery_pct"])
            posture = bool(int(last[-1].fields["flags"]) & StatusFlag.POSTURE_CALIBRATED)
        models: dict[str, int] = {}
        if device is not None and device.afib_version is not None:
            models = {
                "afib": device.afib_version,
                "fall": device.fall_version or 0,
                "activity": device.activity_version or 0,
            }
        history = events or self.store.events(serial=serial, include_unplaced=True)
        received = max((e.received_utc for e in history), default=None)
        covered = derived.clip(derived.covered_intervals(events), window_start, now)
        wear_s = sum(end - start for start, end in covered)
        gaps = (
            derived.data_gaps(events, self.gap_hours, start_utc=window_start, end_utc=now)
            if first is not None
            else []
        )
        newest = max((e.utc for e in history if e.utc is not None), default=None)
        return DeviceDay(
            serial=serial,
            patient=self.store.patient_of(serial, now),
            battery_pct=battery,
            posture_calibrated=posture,
            firmware=device.firmware if device else None,
            models=models,
            last_received_utc=received,
            wear_s=wear_s,
            gaps=gaps,
            newest_utc=newest,
            silent_hours=None if newest is None else max(0.0, now - newest) / 3600,
            holes=self.store.sequence_holes(serial),
        )

    # -- charts --------------------------------------------------------------------------

    def af_burden(self, patient: str) -> list[tuple[date, float]]:
        """(local day, AF burden as a fraction) per day with analysable time."""
        tz = self.store.patient(patient).tz
        start = self._chart_start(patient)
        summaries = self.store.events(
            patient=patient, start_utc=start, types=[EventKind.RHYTHM_SUMMARY]
        )
        days = derived.af_burden_per_day(summaries, tz)
        return [(d.day, d.burden or 0.0) for d in days if d.burden is not None]

    def hr_around_episodes(
        self, patient: str, margin_s: float = EPISODE_MARGIN_S
    ) -> list[EpisodeHeartRate]:
        """For each AF episode (newest last), the mean heart rate of the heart-rate
        summaries from ``margin_s`` before the onset to ``margin_s`` after the end."""
        events = self.store.events(
            patient=patient,
            start_utc=self._chart_start(patient) - margin_s,
            types=[EventKind.AF_START, EventKind.AF_END, EventKind.HR_SUMMARY],
        )
        hr = [
            e for e in events if e.type == EventKind.HR_SUMMARY and e.fields and e.utc is not None
        ]
        traces = []
        for ep in derived.af_episodes(events, end_utc=self.clock()):
            stop = (ep.end_utc if ep.end_utc is not None else self.clock()) + margin_s
            window = [e for e in hr if ep.start_utc - margin_s <= (e.utc or 0) <= stop]
            traces.append(
                EpisodeHeartRate(
                    start_utc=ep.start_utc,
                    minutes=[((e.utc or 0) - ep.start_utc) / 60 for e in window],
                    mean_bpm=[int(e.fields["mean_bpm"]) for e in window if e.fields],
                    end_minute=None if ep.duration_s is None else ep.duration_s / 60,
                    status=ep.status,
                )
            )
        return traces

    def activity_per_hour(
        self, patient: str, hours: int = ACTIVITY_HOURS
    ) -> list[tuple[datetime, dict[str, int]]]:
        """(local hour, minutes per activity class) for the last ``hours`` hourly
        activity summaries of the patient (each covers the hour ending at its time)."""
        tz = self.store.patient(patient).tz
        first = self.anchor(self._serials(patient)) - (hours + 1) * 3600
        summaries = self.store.events(
            patient=patient, start_utc=first, types=[EventKind.ACTIVITY_SUMMARY]
        )
        out = []
        for e in summaries[-hours:]:
            assert e.utc is not None and e.fields is not None
            hour = datetime.fromtimestamp(e.utc - derived.ACTIVITY_SUMMARY_S, tz)
            minutes = dict(zip(derived.ACTIVITY_NAMES, e.fields["minutes"], strict=True))
            out.append((hour, minutes))
        return out

    def _serials(self, patient: str) -> list[str]:
        return [a.serial for a in self.store.assignments(patient)]

    def _chart_start(self, patient: str) -> float:
        """Charts cover the CHART_DAYS local days up to the patient's anchor."""
        return self.anchor(self._serials(patient)) - CHART_DAYS * DAY_S
