"""What every export format shares: choosing the events (patient, time range),
de-identification, the canonical event record used by the round trips, atomic writes,
and the export's one exception type."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import os
import secrets
import tempfile
import time as clock
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from wearsense.store import Device, Store, StoredEvent
from wearsense.store.db import timezone
from wearsense.store.strips import StoredStrip, list_strips, stored_strips

DEID_SHIFT_DAYS = (30, 730)  # a random whole-day shift into the past, within these bounds


class ExportError(Exception):
    """Raised when an export cannot be made: nothing to export in the chosen range, an
    unwritable or unusable output path, or a file that does not read back as the format
    it claims (when reading an export). Problems with the database itself are
    ``StoreError``; an unknown patient is a ``StoreError`` from the store."""


@dataclasses.dataclass(frozen=True)
class EventRecord:
    """One event as every export carries it; the round trips compare these."""

    serial: str
    epoch: int
    seq: int
    type: str
    utc: float
    model_version: int
    fields: dict[str, Any]


def record(event: StoredEvent) -> EventRecord:
    assert event.utc is not None and event.fields is not None
    return EventRecord(
        serial=event.serial,
        epoch=event.epoch,
        seq=event.seq,
        type=event.type,
        utc=float(event.utc),
        model_version=event.model_version or 0,
        fields=dict(event.fields),
    )


@dataclasses.dataclass(frozen=True)
class ExportData:
    """The events of one patient in [start_utc, end_utc), de-identified when asked:
    every time moved back by ``shift_s`` (whole days of 86 400 s) and shown in UTC (so
    every time of day is the real one's UTC time of day, across DST), the pseudonym and
    the serials replaced by labels that cannot be linked back, raw bytes and device
    times removed. ``end_utc`` is never past the companion's now (unless an event is)."""

    patient_label: str
    timezone_name: str
    start_utc: float
    end_utc: float
    events: list[StoredEvent]
    devices: list[Device]
    deidentified: bool
    shift_s: int
    strips: list[StoredStrip] = dataclasses.field(default_factory=list)  # stored, in range

    @property
    def tz(self) -> tzinfo:
        return timezone(self.timezone_name)

    def local(self, utc: float) -> datetime:
        return datetime.fromtimestamp(utc, self.tz)

    def iso(self, utc: float) -> str:
        """A time as ISO 8601 in the patient's timezone (with its UTC offset)."""
        return self.local(utc).isoformat(timespec="seconds")

    def days(self) -> list[date]:
        first = self.local(self.start_utc).date()
        last = self.local(self.end_utc - 1).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def parse_when(text: str, tz: tzinfo, end: bool = False) -> float:
    """UTC seconds of an ISO date or date-time; a plain date is the start of that local
    day (``end``: the start of the next day, so --to DAY includes DAY)."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            if end:
                day += timedelta(days=1)
            return datetime.combine(day, time(0), tz).timestamp()
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ExportError(f"{text!r} is not an ISO date (2024-03-01) or date-time") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.timestamp()


def select(
    store: Store,
    pseudonym: str,
    start_utc: float | None = None,
    end_utc: float | None = None,
    *,
    deidentify: bool = False,
    shift_days: int | None = None,
    now: float | None = None,
) -> ExportData:
    """The patient's placed events in the range; ExportError when there are none. The
    range ends at the companion's clock (``now``, default the system clock) when it
    would end later: no figure (a data gap, wear) runs into hours that have not happened."""
    patient = store.patient(pseudonym)
    with paused_gc():
        events = [
            e
            for e in store.events(patient=pseudonym, start_utc=start_utc, end_utc=end_utc)
            if e.decoded
        ]
    if not events:
        where = "at all"
        if start_utc is not None or end_utc is not None:
            tz = patient.tz
            a = datetime.fromtimestamp(start_utc, tz).isoformat() if start_utc else "the start"
            b = datetime.fromtimestamp(end_utc, tz).isoformat() if end_utc else "now"
            where = f"between {a} and {b}"
        raise ExportError(f"no events for patient {pseudonym!r} {where}")
    assert events[0].utc is not None and events[-1].utc is not None
    start = start_utc if start_utc is not None else events[0].utc
    end = end_utc if end_utc is not None else events[-1].utc + 1
    end = min(end, max(clock.time() if now is None else now, events[-1].utc + 1))
    devices = store.devices_of(pseudonym)
    strips = [
        s
        for s in stored_strips(
            store, list_strips(store, patient=pseudonym, start_utc=start, end_utc=end)
        )
        if s.start_utc is not None
    ]
    if not deidentify:
        return ExportData(
            patient.pseudonym, patient.timezone, start, end, events, devices, False, 0, strips
        )
    days = (
        shift_days
        if shift_days is not None
        else secrets.randbelow(DEID_SHIFT_DAYS[1] - DEID_SHIFT_DAYS[0]) + DEID_SHIFT_DAYS[0]
    )
    shift = days * 86400
    salt = secrets.token_bytes(16)
    alias = {d.serial: f"device-{i + 1}" for i, d in enumerate(devices)}
    for e in events:
        alias.setdefault(e.serial, f"device-{len(alias) + 1}")
    shifted = [
        dataclasses.replace(
            e,
            serial=alias[e.serial],
            utc=(e.utc or 0) - shift,
            device_time_s=None,
            raw=b"",
            received_utc=e.received_utc - shift,
            fields=_shift_fields(e.fields, shift),
        )
        for e in events
    ]
    label = "anon-" + hashlib.sha256(salt + patient.pseudonym.encode()).hexdigest()[:10]
    hidden = [
        dataclasses.replace(d, serial=alias[d.serial], first_seen_utc=0.0, last_seen_utc=0.0)
        for d in devices
    ]
    for s in strips:
        alias.setdefault(s.serial, f"device-{len(alias) + 1}")
    shifted_strips = [
        dataclasses.replace(
            s,
            serial=alias[s.serial],
            image=dataclasses.replace(s.image, start_time_s=0),
            raw=b"",
            received_utc=s.received_utc - shift,
            start_utc=(s.start_utc or 0) - shift,
            reviews=tuple(
                dataclasses.replace(r, reviewer="reviewer", reviewed_utc=r.reviewed_utc - shift)
                for r in s.reviews
            ),
        )
        for s in strips
    ]
    return ExportData(
        label, "UTC", start - shift, end - shift, shifted, hidden, True, shift, shifted_strips
    )


def _shift_fields(fields: dict[str, Any] | None, shift: int) -> dict[str, Any] | None:
    """The clock offset a STATUS page reports would undo the shift: move it too."""
    if fields is None or "utc_offset_s" not in fields:
        return fields
    return {**fields, "utc_offset_s": fields["utc_offset_s"] - shift}


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside the block (reference counting still frees
    everything else). An export builds a few hundred thousand objects that all stay
    alive (a year of events, the rows, the figures): each automatic collection
    would walk all of them for nothing, about 15 % of a year's export."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextlib.contextmanager
def atomic_path(destination: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path beside ``destination`` that becomes it (rename) only when the
    block finishes without error; otherwise it is removed and nothing is left behind."""
    dest = Path(destination)
    if dest.is_dir():
        raise ExportError(f"{dest} is a directory; give a file name")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
        os.close(fd)
    except OSError as exc:
        raise ExportError(f"cannot write {dest}: {exc.strerror}") from exc
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, dest)
    except OSError as exc:
        raise ExportError(f"cannot write {dest}: {exc.strerror}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_text_atomic(destination: str | os.PathLike[str], text: str) -> Path:
    with atomic_path(destination) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(destination)


def utc_iso(utc: float) -> str:
    return datetime.fromtimestamp(utc, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def progress(items: list[Any], desc: str, enabled: bool) -> Any:
    """tqdm over a long list, only when asked (interactive CLI use)."""
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="item", leave=False)
