"""The alert outbox's writers. ``Store.ingest`` queues an alert in the same transaction
that stores its event (a fall, a cancelled fall, an AF onset, an IMU sensor fault) or
ends a data gap, so the alert exists as surely as the event does; delivering, listing and
the silence check are ``wearsense.store.alerts``, above the store."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from wearsense.protocol import Event, EventKind
from wearsense.store.schema import event_fields

# The alert each event kind raises (a fall and a cancelled fall name their alert after
# themselves); SIGNAL_QUALITY raises "sensor_fault", a silence "data_gap".
KINDS = {
    EventKind.FALL: EventKind.FALL,
    EventKind.FALL_CANCELLED: EventKind.FALL_CANCELLED,
    EventKind.AF_START: "af_onset",
}


def _iso(utc: float | None, tz_name: str = "UTC") -> str | None:
    if utc is None:
        return None
    return datetime.fromtimestamp(utc, ZoneInfo(tz_name)).isoformat()


def _patient_at(db: sqlite3.Connection, serial: str, utc: float | None) -> tuple[str, str] | None:
    if utc is None:
        return None
    row = db.execute(
        "SELECT p.pseudonym, p.timezone FROM assignments a JOIN patients p ON p.id = a.patient_id "
        "WHERE a.serial = ? AND a.start_utc <= ? AND (a.end_utc IS NULL OR a.end_utc > ?)",
        (serial, utc, utc),
    ).fetchone()
    return (row[0], row[1]) if row else None


def _insert(
    db: sqlite3.Connection, key: str, kind: str, serial: str, payload: dict[str, Any], now: float
) -> None:
    db.execute(
        "INSERT OR IGNORE INTO alerts (key, kind, serial, payload, created_utc, next_try_utc) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (key, kind, serial, json.dumps(payload, sort_keys=True), now, now),
    )


SENSOR_FAULT_MESSAGE = (
    "the accelerometer does not read 1 g at rest: falls may go undetected; "
    "check or replace the device"
)


def enqueue_event(
    db: sqlite3.Connection, serial: str, epoch: int, event: Event, utc: float | None, now: float
) -> None:
    """Queues the alert for a newly stored fall, cancelled fall, AF onset or IMU sensor
    fault (SIGNAL_QUALITY, source IMU, IMPLAUSIBLE: the store passes no other signal
    quality). A sensor fault gives one alert per device and UTC day, since the device
    reports a lasting fault every summary interval."""
    who = _patient_at(db, serial, utc)
    payload: dict[str, Any] = {
        "serial": serial,
        "epoch": epoch,
        "seq": event.seq,
        "patient": who[0] if who else None,
        "utc": _iso(utc),
        "local_time": _iso(utc, who[1]) if who else None,
        "event": {"type": event.NAME, "model_version": event.model_version, **event_fields(event)},
    }
    if event.NAME == EventKind.SIGNAL_QUALITY:
        kind = "sensor_fault"
        day = datetime.fromtimestamp(now if utc is None else utc, ZoneInfo("UTC")).date()
        key = f"sensor:{serial}:{day.isoformat()}"
        payload["message"] = SENSOR_FAULT_MESSAGE
    else:
        kind = KINDS[event.NAME]
        key = f"event:{serial}:{epoch}:{event.seq}"
    payload["kind"] = kind
    _insert(db, key, kind, serial, payload, now)


def enqueue_gap(
    db: sqlite3.Connection, serial: str, last_utc: float, resumed_utc: float | None, now: float
) -> None:
    """Queues a data-gap alert: no data from ``last_utc`` until ``resumed_utc`` (None: still
    silent at ``now``)."""
    until = now if resumed_utc is None else resumed_utc
    who = _patient_at(db, serial, last_utc)
    hours = (until - last_utc) / 3600
    payload = {
        "kind": "data_gap",
        "serial": serial,
        "patient": who[0] if who else None,
        "from_utc": _iso(last_utc),
        "to_utc": _iso(resumed_utc),
        "ongoing": resumed_utc is None,
        "hours": round(hours, 2),
        "message": f"no data for {hours:.1f} hours",
    }
    state = "ongoing" if resumed_utc is None else "ended"
    _insert(db, f"gap:{serial}:{last_utc:.0f}:{state}", "data_gap", serial, payload, now)
