"""The companion's durable store: one SQLite file (WAL) of patients, devices, their
assignments over time and the events the devices sent.

The BLE link calls ``Store.ingest`` and acknowledges only what it returned: every row is
committed (``synchronous=FULL``) before ``ingest`` returns, re-delivery of an event that
is already stored changes nothing, and the return value is the highest sequence up to
which the (serial, epoch) stream has no hole. Every ``sqlite3`` error is turned into
``StoreError`` naming the file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import json.scanner
import logging
import operator
import os
import shutil
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wearsense.protocol import (
    BY_NAME,
    Event,
    EventKind,
    Gap,
    Quality,
    SignalQuality,
    SignalSource,
    StatusFirmware,
    StatusModels,
)
from wearsense.protocol import encode as encode_event
from wearsense.protocol.errors import ProtocolError
from wearsense.protocol.events import decode as decode_event
from wearsense.protocol.frames import TIME_SYNC_MIN_UTC
from wearsense.store import outbox
from wearsense.store.errors import StoreError
from wearsense.store.schema import (  # noqa: F401  event_fields: tui.services imports it here
    APPLICATION_ID,
    MIGRATIONS,
    RARE_TYPES_SQL,
    SCHEMA_VERSION,
    STRIP_START_UTC,
    SUMMARY_TYPES,
    event_fields,
    fields_json,
)

log = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"
UNDECODABLE = "undecodable"
DEFAULT_GAP_ALERT_HOURS = 4.0
TOUCH_RESOLUTION_S = 1.0  # a device's last_seen_utc lags the last batch by at most this
# Acknowledgements whose fall event was deleted (patient deletion, retention) go with it.
_DELETE_ORPHAN_ACKS = (
    "DELETE FROM fall_acks WHERE NOT EXISTS (SELECT 1 FROM events e WHERE "
    "e.serial = fall_acks.serial AND e.epoch = fall_acks.epoch AND e.seq = fall_acks.seq)"
)

# Strips of a device taken in [start, end): by their first sample's time, by arrival while
# their clock offset is unknown (their reviews go with them: ON DELETE CASCADE).
_DELETE_STRIPS = (
    f"DELETE FROM strips AS s WHERE s.serial = ? AND coalesce({STRIP_START_UTC}, "
    f"s.received_utc) >= ? AND coalesce({STRIP_START_UTC}, s.received_utc) < ?"
)

# Event types that raise an alert for a caregiver (see wearsense.store.alerts); and an
# IMU the device calls unbelievable (SIGNAL_QUALITY, source IMU, IMPLAUSIBLE: the falls it
# does not see mean nothing), at most one alert per device and UTC day.
ALERT_TYPES = (EventKind.FALL, EventKind.FALL_CANCELLED, EventKind.AF_START)


def _sensor_fault(event: Event) -> bool:
    return (
        isinstance(event, SignalQuality)
        and event.source == SignalSource.IMU
        and bool(event.flags & Quality.IMPLAUSIBLE)
    )


def default_db_path() -> Path:
    """``$WEARSENSE_DB``, else ``wearsense.db`` in the user's data directory
    (``$XDG_DATA_HOME/wearsense``, by default ``~/.local/share/wearsense``)."""
    env = os.environ.get("WEARSENSE_DB")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "wearsense" / "wearsense.db"


def timezone(name: str) -> tzinfo:
    """The IANA timezone ``name``; StoreError when it does not exist."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise StoreError(
            f"unknown timezone {name!r} (use an IANA name such as Europe/Berlin)"
        ) from exc


@dataclasses.dataclass(frozen=True)
class Patient:
    id: int
    pseudonym: str
    timezone: str
    created_utc: float

    @property
    def tz(self) -> tzinfo:
        return timezone(self.timezone)


@dataclasses.dataclass(frozen=True)
class Device:
    serial: str
    first_seen_utc: float
    last_seen_utc: float
    firmware: str | None
    afib_version: int | None
    fall_version: int | None
    activity_version: int | None


@dataclasses.dataclass(frozen=True)
class Assignment:
    id: int
    serial: str
    patient: str
    start_utc: float
    end_utc: float | None


@dataclasses.dataclass(frozen=True)
class StoredEvent:
    """One stored event. ``utc`` is None while the device's clock offset is unknown;
    ``fields`` holds the payload (None for an undecodable packet, whose bytes are ``raw``)."""

    serial: str
    epoch: int
    seq: int
    type: str
    decoded: bool
    device_time_s: int | None
    utc: float | None
    model_version: int | None
    fields: dict[str, Any] | None
    raw: bytes
    received_utc: float

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.serial, self.epoch, self.seq)

    def event(self) -> Event:
        """The protocol event again (StoreError for an undecodable packet)."""
        if not self.decoded or self.fields is None or self.device_time_s is None:
            raise StoreError(f"event {self.key} is an undecodable packet")
        cls = BY_NAME[self.type]
        fields = {k: tuple(v) if isinstance(v, list) else v for k, v in self.fields.items()}
        return cls(self.seq, self.device_time_s, self.model_version or 0, **fields)

    def local_time(self, tz: tzinfo) -> datetime | None:
        return None if self.utc is None else datetime.fromtimestamp(self.utc, tz)


@dataclasses.dataclass(frozen=True)
class SequenceHole:
    """Sequence numbers of one device and epoch that lie between stored events but were
    never stored, nor reported dropped by a Gap event: events the device assigned that the
    store lost (another central acknowledged them, a sync broke off)."""

    serial: str
    epoch: int
    first_seq: int
    last_seq: int

    @property
    def count(self) -> int:
        return self.last_seq - self.first_seq + 1

    def __str__(self) -> str:
        span = (
            str(self.first_seq)
            if self.first_seq == self.last_seq
            else f"{self.first_seq}-{self.last_seq}"
        )
        return f"{span} ({self.count} event{'' if self.count == 1 else 's'})"


def describe_holes(holes: Sequence[SequenceHole]) -> str:
    """``23-41 (19 events), 50 (1 event)``, each epoch named when there are several:
    ``epoch 1: 23-41 (19 events); epoch 2: 4-5 (2 events)``."""
    epochs = sorted({h.epoch for h in holes})
    parts = []
    for epoch in epochs:
        ranges = ", ".join(str(h) for h in holes if h.epoch == epoch)
        parts.append(ranges if len(epochs) == 1 else f"epoch {epoch}: {ranges}")
    return "; ".join(parts)


_EVENT_COLUMNS = (
    "serial, epoch, seq, type, decoded, device_time_s, utc, model_version, fields, raw, "
    "received_utc"
)


# A stored event yields to a new copy only while it is an undecodable packet.
_INSERT_EVENT = (
    f"INSERT INTO events ({_EVENT_COLUMNS}) "
    "VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(serial, epoch, seq) DO UPDATE SET type = excluded.type, "
    "decoded = 1, device_time_s = excluded.device_time_s, utc = excluded.utc, "
    "model_version = excluded.model_version, fields = excluded.fields, "
    "raw = excluded.raw WHERE events.decoded = 0"
)


_scan = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]


def _fields(text: str) -> Any:
    """``json.loads(text)`` without its wrappers, for the compact JSON ingest writes (a
    year's export reads 100 000 of them); anything else goes through json.loads."""
    try:
        value, end = _scan(text, 0)
    except (StopIteration, ValueError, TypeError):
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


_new_event = object.__new__
# An events row's place in time order: utc, serial, epoch, seq (the column order of
# _EVENT_COLUMNS).
_TIME_ORDER = operator.itemgetter(6, 0, 1, 2)


def _row_event(row: Sequence[Any]) -> StoredEvent:
    """The StoredEvent of an events row, its fields set in one dict update (the frozen
    dataclass's __init__ sets them one object.__setattr__ at a time: 1.7 us against
    0.65 us an event, a tenth of a year's export selection)."""
    e = _new_event(StoredEvent)
    e.__dict__.update(
        serial=row[0],
        epoch=row[1],
        seq=row[2],
        type=row[3],
        decoded=bool(row[4]),
        device_time_s=row[5],
        utc=row[6],
        model_version=row[7],
        fields=_fields(row[8]) if row[8] is not None else None,
        raw=bytes(row[9]),
        received_utc=row[10],
    )
    return e


class Store:
    """The database at ``path``, created (mode 0600) and migrated when needed.

    Use as a context manager or call ``close()``. One ``Store`` per thread.
    """

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True) -> None:
        self.path = Path(path)
        self._name = str(self.path)
        self._conn = self._open(create)
        # last_seen_utc this Store wrote per device in a committed transaction (_touch_device)
        self._touched: dict[str, float] = {}

    # -- opening -------------------------------------------------------------------------

    def _open(self, create: bool) -> sqlite3.Connection:
        path = self.path
        fresh = not path.exists() or (path.is_file() and path.stat().st_size == 0)
        if fresh and not create:
            raise StoreError(
                "no database here (run `wearsense patient add` to create one)", self._name
            )
        if path.exists() and not path.is_file():
            raise StoreError("is not a file", self._name)
        if not fresh:
            try:
                with path.open("rb") as handle:
                    magic = handle.read(len(SQLITE_MAGIC))
            except OSError as exc:
                raise StoreError(f"cannot read: {exc.strerror}", self._name) from exc
            if magic != SQLITE_MAGIC:
                raise StoreError("is not a SQLite database (foreign or corrupt file)", self._name)
        else:
            try:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
                os.close(fd)
                os.chmod(path, 0o600)
            except OSError as exc:
                raise StoreError(f"cannot create: {exc.strerror}", self._name) from exc
        try:
            conn = sqlite3.connect(self._name, isolation_level=None, timeout=10.0)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open: {exc}", self._name) from exc
        try:
            self._setup(conn)
        except sqlite3.Error as exc:
            conn.close()
            raise StoreError(f"unreadable or corrupt database ({exc})", self._name) from exc
        except StoreError:
            conn.close()
            raise
        return conn

    def _setup(self, conn: sqlite3.Connection) -> None:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if app_id not in (0, APPLICATION_ID) or (app_id == 0 and tables):
            raise StoreError("is a SQLite database of another program, not WearSense's", self._name)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        version = 0
        if app_id == APPLICATION_ID:
            row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
            version = row[0] or 0
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"schema version {version} was written by a newer WearSense "
                f"(this one knows up to {SCHEMA_VERSION})",
                self._name,
            )
        for number in range(version + 1, SCHEMA_VERSION + 1):
            conn.execute("BEGIN IMMEDIATE")
            try:
                if number == 1:
                    conn.execute(
                        "CREATE TABLE schema_version "
                        "(version INTEGER PRIMARY KEY, applied_utc REAL)"
                    )
                    conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
                for statement in MIGRATIONS[number - 1].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("INSERT INTO schema_version VALUES (?, ?)", (number, time.time()))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        # A quick structural check catches a truncated or damaged file now, not mid-ingest.
        problems = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
        if problems != "ok":
            raise StoreError(f"corrupt database ({problems})", self._name)
        with contextlib.suppress(OSError):
            for suffix in ("-wal", "-shm"):
                side = Path(self._name + suffix)
                if side.exists():
                    os.chmod(side, 0o600)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return int(self._one("SELECT max(version) FROM schema_version")[0])

    # -- plumbing ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"refused by the database: {exc}", self._name) from exc
        except sqlite3.Error as exc:
            raise StoreError(f"database error: {exc}", self._name) from exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed on success, rolled back on any error."""
        with self._errors():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._touched.clear()  # what it wrote is gone
                self._conn.execute("ROLLBACK")
                raise
            try:
                self._conn.execute("COMMIT")
            except BaseException:
                self._touched.clear()
                raise

    def _one(self, sql: str, args: Sequence[Any] = ()) -> Any:
        with self._errors():
            return self._conn.execute(sql, args).fetchone()

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        with self._errors():
            return self._conn.execute(sql, args).fetchall()

    # -- settings ------------------------------------------------------------------------

    def setting(self, key: str, default: str | None = None) -> str | None:
        row = self._one("SELECT value FROM settings WHERE key = ?", (key,))
        return row[0] if row else default

    def set_setting(self, key: str, value: str | None) -> None:
        with self.transaction() as db:
            if value is None:
                db.execute("DELETE FROM settings WHERE key = ?", (key,))
            else:
                db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, value))

    # -- patients, devices, assignments --------------------------------------------------

    def add_patient(self, pseudonym: str, tz_name: str = "UTC") -> Patient:
        pseudonym = pseudonym.strip()
        if not pseudonym:
            raise StoreError("a patient needs a non-empty pseudonym")
        timezone(tz_name)
        if self._one("SELECT 1 FROM patients WHERE pseudonym = ?", (pseudonym,)):
            raise StoreError(f"patient {pseudonym!r} already exists")
        with self.transaction() as db:
            db.execute(
                "INSERT INTO patients (pseudonym, timezone, created_utc) VALUES (?, ?, ?)",
                (pseudonym, tz_name, time.time()),
            )
        return self.patient(pseudonym)

    def patients(self) -> list[Patient]:
        rows = self._all("SELECT id, pseudonym, timezone, created_utc FROM patients ORDER BY id")
        return [Patient(*r) for r in rows]

    def patient(self, pseudonym: str) -> Patient:
        row = self._one(
            "SELECT id, pseudonym, timezone, created_utc FROM patients WHERE pseudonym = ?",
            (pseudonym,),
        )
        if row is None:
            raise StoreError(f"unknown patient {pseudonym!r} (see `wearsense patient list`)")
        return Patient(*row)

    def devices(self) -> list[Device]:
        return [Device(*r) for r in self._all("SELECT * FROM devices ORDER BY serial")]

    def device(self, serial: str) -> Device:
        row = self._one("SELECT * FROM devices WHERE serial = ?", (serial,))
        if row is None:
            raise StoreError(f"unknown device {serial!r}")
        return Device(*row)

    def _touch_device(self, db: sqlite3.Connection, serial: str, now: float) -> None:
        """Makes the device's row and moves its last_seen_utc to ``now``; skipped when this
        Store wrote a value at most ``TOUCH_RESOLUTION_S`` older (the link's batches come
        many a second: each rewrite was one more page in every ingest commit)."""
        seen = self._touched.get(serial)
        if seen is not None and now <= seen + TOUCH_RESOLUTION_S:
            return
        self._touched[serial] = now if seen is None else max(seen, now)
        db.execute(
            "INSERT INTO devices (serial, first_seen_utc, last_seen_utc) VALUES (?, ?, ?) "
            "ON CONFLICT(serial) DO UPDATE SET "
            "last_seen_utc = max(last_seen_utc, excluded.last_seen_utc)",
            (serial, now, now),
        )

    def assignments(
        self, pseudonym: str | None = None, serial: str | None = None
    ) -> list[Assignment]:
        sql = (
            "SELECT a.id, a.serial, p.pseudonym, a.start_utc, a.end_utc FROM assignments a "
            "JOIN patients p ON p.id = a.patient_id WHERE 1=1"
        )
        args: list[Any] = []
        if pseudonym is not None:
            sql += " AND p.pseudonym = ?"
            args.append(pseudonym)
        if serial is not None:
            sql += " AND a.serial = ?"
            args.append(serial)
        return [Assignment(*r) for r in self._all(sql + " ORDER BY a.start_utc", args)]

    def assign(self, serial: str, pseudonym: str, start_utc: float | None = None) -> Assignment:
        """The device is worn by the patient from ``start_utc`` (default now) until unassigned."""
        serial = serial.strip()
        if not serial:
            raise StoreError("a device needs a non-empty serial")
        patient = self.patient(pseudonym)
        start = time.time() if start_utc is None else float(start_utc)
        for other in self.assignments(serial=serial):
            if other.end_utc is None or other.end_utc > start:
                raise StoreError(
                    f"device {serial} is assigned to {other.patient!r} "
                    f"since {_iso(other.start_utc)}: unassign it first"
                )
        with self.transaction() as db:
            self._touch_device(db, serial, time.time())
            db.execute(
                "INSERT INTO assignments (serial, patient_id, start_utc) VALUES (?, ?, ?)",
                (serial, patient.id, start),
            )
        return self.assignments(serial=serial)[-1]

    def first_unassigned_utc(self, serial: str) -> float | None:
        """When the device's first placed event that no assignment holds happened: the
        first after the end of its latest assignment (None: no such event)."""
        ends = [a.end_utc for a in self.assignments(serial=serial)]
        if None in ends:
            return None  # worn now: nothing of it is waiting for a patient
        after = max((e for e in ends if e is not None), default=None)
        row = self._one(
            "SELECT min(utc) FROM events WHERE serial = ? AND utc IS NOT NULL"
            + ("" if after is None else " AND utc >= ?"),
            (serial,) if after is None else (serial, after),
        )
        return None if row is None or row[0] is None else float(row[0])

    def first_event_utc(self, serial: str) -> float | None:
        """The time of the device's first placed event (None: none yet)."""
        row = self._one("SELECT min(utc) FROM events WHERE serial = ?", (serial,))
        return None if row is None or row[0] is None else float(row[0])

    def count_device_events(
        self, serial: str, start_utc: float | None = None, end_utc: float | None = None
    ) -> int:
        """The device's placed events in [start_utc, end_utc)."""
        sql = "SELECT count(*) FROM events WHERE serial = ? AND utc IS NOT NULL"
        args: list[Any] = [serial]
        if start_utc is not None:
            sql += " AND utc >= ?"
            args.append(start_utc)
        if end_utc is not None:
            sql += " AND utc < ?"
            args.append(end_utc)
        return int(self._one(sql, args)[0])

    def unassign(self, serial: str, end_utc: float | None = None) -> Assignment:
        """Ends the device's open assignment at ``end_utc`` (default now)."""
        open_ = [a for a in self.assignments(serial=serial) if a.end_utc is None]
        if not open_:
            raise StoreError(f"device {serial!r} is not assigned to anyone")
        end = time.time() if end_utc is None else float(end_utc)
        if end <= open_[0].start_utc:
            raise StoreError("the assignment would end before it began")
        with self.transaction() as db:
            db.execute("UPDATE assignments SET end_utc = ? WHERE id = ?", (end, open_[0].id))
        return dataclasses.replace(open_[0], end_utc=end)

    def patient_of(self, serial: str, utc: float | None) -> str | None:
        """Who wore device ``serial`` at ``utc``."""
        if utc is None:
            return None
        row = self._one(
            "SELECT p.pseudonym FROM assignments a JOIN patients p ON p.id = a.patient_id "
            "WHERE a.serial = ? AND a.start_utc <= ? AND (a.end_utc IS NULL OR a.end_utc > ?)",
            (serial, utc, utc),
        )
        return row[0] if row else None

    def delete_patient(self, pseudonym: str) -> dict[str, int]:
        """Removes the patient, their assignments, the events their devices sent while
        assigned to them (by event time, or by arrival for events without one) and their
        alerts. Returns the row counts removed."""
        patient = self.patient(pseudonym)
        windows = [(a.serial, a.start_utc, a.end_utc) for a in self.assignments(pseudonym)]
        counts = {"events": 0, "strips": 0, "alerts": 0, "assignments": len(windows), "patients": 1}
        with self.transaction() as db:
            for serial, start, end in windows:
                bound = float("inf") if end is None else end
                # events without a UTC time yet belong to whoever wore the device
                # when they were received
                counts["events"] += db.execute(
                    "DELETE FROM events WHERE serial = ? AND coalesce(utc, received_utc) >= ? "
                    "AND coalesce(utc, received_utc) < ?",
                    (serial, start, bound),
                ).rowcount
                counts["strips"] += db.execute(_DELETE_STRIPS, (serial, start, bound)).rowcount
            counts["alerts"] = db.execute(
                "DELETE FROM alerts WHERE json_extract(payload, '$.patient') = ?", (pseudonym,)
            ).rowcount
            db.execute(_DELETE_ORPHAN_ACKS)
            db.execute("DELETE FROM assignments WHERE patient_id = ?", (patient.id,))
            db.execute("DELETE FROM patients WHERE id = ?", (patient.id,))
        return counts

    # -- time ----------------------------------------------------------------------------

    def time_offset(self, serial: str, epoch: int) -> int | None:
        row = self._one(
            "SELECT utc_offset_s FROM time_offsets WHERE serial = ? AND epoch = ?", (serial, epoch)
        )
        return None if row is None else int(row[0])

    def set_time_offset(self, serial: str, epoch: int, utc_offset_s: int) -> None:
        """Records the offset the companion set with a time sync for (serial, epoch) and
        gives every event of that stream still without a UTC time its time."""
        with self.transaction() as db:
            self._record_offset(db, serial, epoch, int(utc_offset_s), "sync", time.time())

    def _record_offset(
        self, db: sqlite3.Connection, serial: str, epoch: int, offset: int, source: str, now: float
    ) -> None:
        if source == "status":
            existing = db.execute(
                "SELECT source FROM time_offsets WHERE serial = ? AND epoch = ?", (serial, epoch)
            ).fetchone()
            if existing and existing[0] == "sync":
                return  # what the companion set itself wins over what the device reports
        db.execute(
            "INSERT OR REPLACE INTO time_offsets VALUES (?, ?, ?, ?, ?)",
            (serial, epoch, offset, source, now),
        )
        db.execute(
            "UPDATE events SET utc = device_time_s + ? "
            "WHERE serial = ? AND epoch = ? AND decoded = 1 AND utc IS NULL",
            (offset, serial, epoch),
        )

    # -- ingest --------------------------------------------------------------------------

    def ingest(
        self,
        serial: str,
        epoch: int,
        events: Iterable[Event | tuple[Event, bytes]],
        received_utc: float | None = None,
        history: bool = False,
    ) -> int:
        """Stores decoded events of device ``serial`` in ``epoch``, all in one committed
        transaction, and returns the highest contiguous stored sequence of that stream
        (0 when it has none): the sequence the link may acknowledge.

        Each item is an event or (event, the bytes it was decoded from). An event already
        stored is left as it is; one that replaces an undecodable packet of the same
        sequence takes its place. Alerts for new falls, cancelled falls, AF onsets and
        long data gaps are queued in the same transaction. ``history``: the events are old
        ones decoded again (`redecode`): their STATUS pages do not overwrite the device's
        current firmware, models or clock offset, and they raise no data-gap alert.
        """
        _check_stream(serial, epoch)
        now = time.time() if received_utc is None else float(received_utc)
        items = [(e, encode_event(e)) if isinstance(e, Event) else e for e in events]
        with self.transaction() as db:
            self._touch_device(db, serial, now)
            for event, _ in [] if history else items:
                if isinstance(event, StatusFirmware):
                    if event.time_s + event.utc_offset_s >= TIME_SYNC_MIN_UTC:
                        self._record_offset(db, serial, epoch, event.utc_offset_s, "status", now)
                    db.execute(
                        "UPDATE devices SET firmware = ? WHERE serial = ?",
                        (f"{event.fw_major}.{event.fw_minor}.{event.fw_patch}", serial),
                    )
                elif isinstance(event, StatusModels):
                    db.execute(
                        "UPDATE devices SET afib_version = ?, fall_version = ?, "
                        "activity_version = ? WHERE serial = ?",
                        (event.afib_version, event.fall_version, event.activity_version, serial),
                    )
            row = db.execute(
                "SELECT utc_offset_s FROM time_offsets WHERE serial = ? AND epoch = ?",
                (serial, epoch),
            ).fetchone()
            offset = None if row is None else int(row[0])
            previous = db.execute(
                "SELECT max(utc) FROM events WHERE serial = ?", (serial,)
            ).fetchone()[0]
            # One query finds which of the batch's sequences are stored (decoded) already;
            # the rest is written with one prepared statement. Within the transaction no
            # other writer can store them in between.
            stored = {
                seq
                for (seq,) in db.execute(
                    "SELECT seq FROM events WHERE serial = ? AND epoch = ? AND decoded = 1 "
                    "AND seq IN (SELECT value FROM json_each(?))",
                    (serial, epoch, json.dumps([event.seq for event, _ in items])),
                )
            }
            rows = []
            new: list[tuple[Event, float | None]] = []
            for event, raw in items:
                if event.seq in stored:
                    continue
                stored.add(event.seq)  # a second copy in the same batch yields to the first
                utc = None if offset is None else float(event.time_s + offset)
                rows.append(
                    (
                        serial,
                        epoch,
                        event.seq,
                        event.NAME,
                        event.time_s,
                        utc,
                        event.model_version,
                        fields_json(event),
                        bytes(raw),
                        now,
                    )
                )
                new.append((event, utc))
            db.executemany(_INSERT_EVENT, rows)
            new_alerts: list[tuple[Event, float | None]] = []
            first_new_utc: float | None = None
            for event, utc in new:
                if isinstance(event, Gap):
                    db.execute(
                        "INSERT OR IGNORE INTO dropped_ranges VALUES (?, ?, ?, ?)",
                        (serial, epoch, event.first_seq, event.last_seq),
                    )
                if utc is not None and (first_new_utc is None or utc < first_new_utc):
                    first_new_utc = utc
                if event.NAME in ALERT_TYPES or _sensor_fault(event):
                    new_alerts.append((event, utc))
            for event, utc in new_alerts:
                outbox.enqueue_event(db, serial, epoch, event, utc, now)
            if previous is not None and first_new_utc is not None and not history:
                hours = float(self._setting_in(db, "gap_alert_hours", DEFAULT_GAP_ALERT_HOURS))
                if first_new_utc - previous >= hours * 3600:
                    outbox.enqueue_gap(db, serial, previous, first_new_utc, now)
            return self._advance(db, serial, epoch)

    @staticmethod
    def _setting_in(db: sqlite3.Connection, key: str, default: float) -> float:
        row = db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return float(row[0]) if row else default

    def store_undecodable(
        self,
        serial: str,
        epoch: int,
        seq_hint: int,
        raw: bytes,
        received_utc: float | None = None,
        reason: str = "",
    ) -> int:
        """Keeps the bytes of a packet that failed to decode after its resends, flagged
        as undecodable at sequence ``seq_hint`` (the one the link expected), so the
        stream can be acknowledged past it. A later good event of that sequence
        replaces it. Returns the highest contiguous stored sequence."""
        _check_stream(serial, epoch)
        if not 1 <= seq_hint <= 0xFFFFFF:
            raise StoreError(f"sequence hint {seq_hint} outside 1..16777215")
        now = time.time() if received_utc is None else float(received_utc)
        with self.transaction() as db:
            self._touch_device(db, serial, now)
            db.execute(
                f"INSERT OR IGNORE INTO events ({_EVENT_COLUMNS}) "
                "VALUES (?, ?, ?, ?, 0, NULL, NULL, NULL, ?, ?, ?)",
                (
                    serial,
                    epoch,
                    seq_hint,
                    UNDECODABLE,
                    json.dumps({"reason": reason}) if reason else None,
                    bytes(raw),
                    now,
                ),
            )
            return self._advance(db, serial, epoch)

    def redecode(self) -> tuple[int, int]:
        """Decodes again, with this version's protocol decoder, the packets kept as bytes
        because an earlier companion could not decode them (a newer firmware's event, for
        one). Each that now decodes to an event of the sequence it was kept at takes its
        place (`ingest` with ``history``: alerts for a fall or AF onset found this way are
        queued; the device's current state is left alone). Returns (decoded now, still
        undecodable)."""
        rows = self._all(
            "SELECT serial, epoch, seq, raw, received_utc FROM events WHERE decoded = 0 "
            "ORDER BY serial, epoch, seq"
        )
        done = 0
        for serial, epoch, seq, raw, received in rows:
            try:
                event = decode_event(bytes(raw or b""))
            except ProtocolError:
                continue
            if event.seq != seq:
                continue
            self.ingest(serial, epoch, [(event, bytes(raw))], received_utc=received, history=True)
            done += 1
        return done, len(rows) - done

    def count_undecodable(self) -> int:
        return int(self._one("SELECT count(*) FROM events WHERE decoded = 0")[0])

    def _advance(self, db: sqlite3.Connection, serial: str, epoch: int) -> int:
        row = db.execute(
            "SELECT contiguous_seq FROM streams WHERE serial = ? AND epoch = ?", (serial, epoch)
        ).fetchone()
        start = int(row[0]) if row else 0
        contiguous = start
        # Sequences a Gap event reports as dropped by the device's full queue never come.
        dropped = db.execute(
            "SELECT first_seq, last_seq FROM dropped_ranges "
            "WHERE serial = ? AND epoch = ? AND last_seq > ?",
            (serial, epoch, start),
        ).fetchall()
        ranges = [(int(first), int(last)) for first, last in dropped]
        contiguous = _past_dropped(start, ranges)
        # The cursor is lazy: the scan stops at the first hole.
        for (seq,) in db.execute(
            "SELECT seq FROM events WHERE serial = ? AND epoch = ? AND seq > ? ORDER BY seq",
            (serial, epoch, start),
        ):
            if seq <= contiguous:
                continue
            if seq != contiguous + 1:
                break
            contiguous = _past_dropped(seq, ranges)
        if contiguous != start or row is None:
            db.execute(
                "INSERT OR REPLACE INTO streams VALUES (?, ?, ?)", (serial, epoch, contiguous)
            )
        return contiguous

    def sequence_holes(self, serial: str | None = None) -> list[SequenceHole]:
        """The holes in each device's sequence space (all devices, or ``serial``), by
        serial, epoch and sequence: per epoch, the ranges between two stored events that
        hold no stored event and that no Gap event reported as dropped by the device."""
        sql = (
            "SELECT serial, epoch, prev + 1, seq - 1 FROM ("
            "SELECT serial, epoch, seq, "
            "LAG(seq) OVER (PARTITION BY serial, epoch ORDER BY seq) AS prev FROM events"
            + (" WHERE serial = ?" if serial is not None else "")
            + ") WHERE seq > prev + 1 ORDER BY serial, epoch, seq"
        )
        args: tuple[Any, ...] = (serial,) if serial is not None else ()
        # Fast path (the TUI asks on every reload): a stream whose contiguous prefix
        # reaches its highest stored sequence has no hole between stored events.
        tops = self._all(
            "SELECT e.epoch, max(e.seq), s.contiguous_seq FROM events e "
            "LEFT JOIN streams s ON s.serial = e.serial AND s.epoch = e.epoch"
            + (" WHERE e.serial = ?" if serial is not None else "")
            + " GROUP BY e.serial, e.epoch",
            args,
        )
        if all(c is not None and int(c) >= int(top) for _, top, c in tops):
            return []
        dropped: dict[tuple[str, int], list[tuple[int, int]]] = {}
        for s, e, first, last in self._all(
            "SELECT serial, epoch, first_seq, last_seq FROM dropped_ranges"
            + (" WHERE serial = ?" if serial is not None else ""),
            args,
        ):
            dropped.setdefault((s, int(e)), []).append((int(first), int(last)))
        holes = []
        for s, e, first, last in self._all(sql, args):
            for lo, hi in _minus(int(first), int(last), dropped.get((s, int(e)), [])):
                holes.append(SequenceHole(s, int(e), lo, hi))
        return holes

    def contiguous_seq(self, serial: str, epoch: int) -> int:
        row = self._one(
            "SELECT contiguous_seq FROM streams WHERE serial = ? AND epoch = ?", (serial, epoch)
        )
        return int(row[0]) if row else 0

    # -- queries -------------------------------------------------------------------------

    def events(
        self,
        *,
        patient: str | None = None,
        serial: str | None = None,
        start_utc: float | None = None,
        end_utc: float | None = None,
        types: Iterable[str] | None = None,
        include_unplaced: bool = False,
    ) -> list[StoredEvent]:
        """Events in time order, filtered by patient (through the device assignments at
        the event's time), device, time range [start, end) and type names. Events whose
        UTC time is unknown have no place on a patient's timeline; they are returned
        only for a device query with ``include_unplaced``."""
        args: list[Any] = []
        cols = ", ".join(f"e.{c.strip()}" for c in _EVENT_COLUMNS.split(","))
        if patient is not None:
            pid = self.patient(patient).id
            sql = (
                f"SELECT {cols} FROM events e JOIN assignments a ON a.serial = e.serial "
                "AND e.utc >= a.start_utc AND (a.end_utc IS NULL OR e.utc < a.end_utc) "
                "WHERE a.patient_id = ?"
            )
            args.append(pid)
        else:
            sql = f"SELECT {cols} FROM events e WHERE 1=1"
        if serial is not None:
            sql += " AND e.serial = ?"
            args.append(serial)
        if start_utc is not None:
            sql += " AND e.utc >= ?"
            args.append(start_utc)
        if end_utc is not None:
            sql += " AND e.utc < ?"
            args.append(end_utc)
        if not include_unplaced or patient is not None:
            sql += " AND e.utc IS NOT NULL"
        if types is not None:
            names = list(types)
            sql += f" AND e.type IN ({', '.join('?' * len(names))})"
            args.extend(names)
            if not set(names) & set(SUMMARY_TYPES):
                sql += f" AND e.{RARE_TYPES_SQL}"  # lets SQLite use the partial index by type
        if patient is None:
            sql += " ORDER BY e.utc IS NULL, e.utc, e.serial, e.epoch, e.seq"
            return [_row_event(r) for r in self._all(sql, args)]
        # A patient's rows come per assignment, each run already in time order from
        # events_by_time: merging the runs here (every utc is known) costs a tenth of
        # SQLite's sort of the whole result in a temporary b-tree (a year: 0.2 s).
        rows = self._all(sql, args)
        rows.sort(key=_TIME_ORDER)
        return [_row_event(r) for r in rows]

    # -- fall alerts acknowledged by a person ------------------------------------------

    def acknowledge_fall(
        self, key: tuple[str, int, int], by: str = "", utc: float | None = None
    ) -> bool:
        """Records that the fall ``key`` (serial, epoch, seq) was acknowledged. Returns
        False when it already was (the first acknowledgement is kept). StoreError when
        no FALL event has that key."""
        serial, epoch, seq = key
        with self.transaction() as db:
            row = db.execute(
                "SELECT 1 FROM events WHERE serial = ? AND epoch = ? AND seq = ? AND type = ?",
                (serial, epoch, seq, EventKind.FALL),
            ).fetchone()
            if row is None:
                raise StoreError(f"no fall event {serial} epoch {epoch} seq {seq}")
            cur = db.execute(
                "INSERT OR IGNORE INTO fall_acks VALUES (?, ?, ?, ?, ?)",
                (serial, epoch, seq, time.time() if utc is None else float(utc), by),
            )
            return cur.rowcount == 1

    def fall_acknowledged(self, key: tuple[str, int, int]) -> bool:
        return (
            self._one(
                "SELECT count(*) FROM fall_acks WHERE serial = ? AND epoch = ? AND seq = ?", key
            )[0]
            > 0
        )

    def unacknowledged_falls(self, start_utc: float | None = None) -> list[StoredEvent]:
        """FALL events at or after ``start_utc`` (all when None) nobody acknowledged,
        oldest first; events whose UTC time is unknown included."""
        cols = ", ".join(f"e.{c.strip()}" for c in _EVENT_COLUMNS.split(","))
        sql = (
            f"SELECT {cols} FROM events e WHERE e.type = ? AND e.{RARE_TYPES_SQL} AND NOT EXISTS "
            "(SELECT 1 FROM fall_acks k WHERE k.serial = e.serial AND k.epoch = e.epoch "
            "AND k.seq = e.seq)"
        )
        args: list[Any] = [EventKind.FALL]
        if start_utc is not None:
            sql += " AND (e.utc IS NULL OR e.utc >= ?)"
            args.append(start_utc)
        sql += " ORDER BY e.utc IS NULL, e.utc, e.serial, e.epoch, e.seq"
        return [_row_event(r) for r in self._all(sql, args)]

    def count_events(self) -> int:
        return int(self._one("SELECT count(*) FROM events")[0])

    def devices_of(self, pseudonym: str) -> list[Device]:
        serials = sorted({a.serial for a in self.assignments(pseudonym)})
        return [self.device(s) for s in serials]

    # -- models and updates --------------------------------------------------------------

    def record_model_version(
        self, task: str, version: int, sha256: str | None = None, notes: str = ""
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO model_versions VALUES (?, ?, ?, ?, ?)",
                (task, int(version), sha256, time.time(), notes),
            )

    def model_versions(self, task: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT task, version, sha256, created_utc, notes FROM model_versions"
        rows = self._all(
            sql + (" WHERE task = ?" if task else "") + " ORDER BY task, version",
            (task,) if task else (),
        )
        keys = ("task", "version", "sha256", "created_utc", "notes")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def record_update(
        self,
        serial: str,
        task: str,
        version: int,
        status: str,
        detail: str = "",
        utc: float | None = None,
    ) -> None:
        """One step of a model update of a device (started, committed, failed, ...)."""
        with self.transaction() as db:
            self._touch_device(db, serial, time.time())
            db.execute(
                "INSERT INTO updates (serial, task, version, status, utc, detail) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (serial, task, int(version), status, time.time() if utc is None else utc, detail),
            )

    def updates(self, serial: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT serial, task, version, status, utc, detail FROM updates"
        rows = self._all(
            sql + (" WHERE serial = ?" if serial else "") + " ORDER BY utc, id",
            (serial,) if serial else (),
        )
        keys = ("serial", "task", "version", "status", "utc", "detail")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    # -- retention -----------------------------------------------------------------------

    def retention_days(self) -> float | None:
        value = self.setting("retention_days")
        return None if value is None else float(value)

    def set_retention_days(self, days: float | None) -> None:
        if days is not None and days <= 0:
            raise StoreError("retention must be a positive number of days")
        self.set_setting("retention_days", None if days is None else str(days))

    def apply_retention(self, now_utc: float | None = None) -> int:
        """Deletes events (and delivered alerts) older than the retention period; keeps
        everything when none is set. Returns the number of events removed."""
        days = self.retention_days()
        if days is None:
            return 0
        cutoff = (time.time() if now_utc is None else now_utc) - days * 86400
        with self.transaction() as db:
            removed = db.execute(
                "DELETE FROM events WHERE coalesce(utc, received_utc) < ?", (cutoff,)
            ).rowcount
            db.execute(
                "DELETE FROM alerts WHERE delivered_utc IS NOT NULL AND created_utc < ?", (cutoff,)
            )
            for (serial,) in db.execute("SELECT DISTINCT serial FROM strips").fetchall():
                db.execute(_DELETE_STRIPS, (serial, float("-inf"), cutoff))
            db.execute(_DELETE_ORPHAN_ACKS)
        return int(removed)

    # -- backup --------------------------------------------------------------------------

    def backup(self, destination: str | os.PathLike[str]) -> Path:
        """A consistent copy of the live database (SQLite's online backup API), written
        to a temporary file beside ``destination`` and renamed into place (mode 0600)."""
        dest = Path(destination)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600))
            target = sqlite3.connect(str(tmp))
            try:
                with self._errors():
                    self._conn.backup(target)
                target.execute("PRAGMA journal_mode=DELETE")
            finally:
                target.close()
            os.replace(tmp, dest)
        except OSError as exc:
            raise StoreError(f"cannot write backup: {exc.strerror}", str(dest)) from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return dest


def restore(source: str | os.PathLike[str], destination: str | os.PathLike[str]) -> Path:
    """Replaces the database at ``destination`` with the backup ``source``, after checking
    that the backup is a sound WearSense database. The backup file itself is never
    changed: a copy of it is checked (and migrated, if it is older). A sound destination
    is overwritten through the backup API, so a companion holding it open sees the
    restored content on its next transaction; a destination that is corrupt or not ours
    is replaced as a file (its stale -wal and -shm files removed)."""
    src, dest = Path(source), Path(destination)
    if not src.is_file():
        raise StoreError("no backup here", str(src))
    staging = dest.with_name(f".{dest.name}.restore-{os.getpid()}")
    try:
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, staging)
            os.chmod(staging, 0o600)
        except OSError as exc:
            raise StoreError(f"cannot copy the backup: {exc.strerror}", str(src)) from exc
        with Store(staging, create=False) as backup:
            problems = backup._one("PRAGMA integrity_check(1)")[0]
            if problems != "ok":
                raise StoreError(f"backup is corrupt ({problems})", str(src))
            try:
                live = Store(dest)
            except StoreError as exc:
                log.warning("replacing the unusable database %s: %s", dest, exc.reason)
                tmp = backup.backup(dest.with_name(f".{dest.name}.restore"))
                try:
                    for suffix in ("-wal", "-shm"):
                        with contextlib.suppress(FileNotFoundError):
                            Path(str(dest) + suffix).unlink()
                    os.replace(tmp, dest)
                except OSError as err:
                    raise StoreError(f"cannot replace: {err.strerror}", str(dest)) from err
                return dest
            with live, live._errors():
                backup._conn.backup(live._conn)
    except StoreError as exc:
        if exc.path == str(staging):  # name the user's file, not the staging copy
            raise StoreError(exc.reason, str(src)) from exc
        raise
    finally:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(str(staging) + suffix).unlink()
    return dest


def _check_stream(serial: str, epoch: int) -> None:
    if not isinstance(serial, str) or not serial.strip():
        raise StoreError(f"a device serial must be a non-empty string, not {serial!r}")
    if not isinstance(epoch, int) or not 0 <= epoch <= 0xFFFF:
        raise StoreError(f"epoch {epoch!r} outside 0..65535")


def _past_dropped(seq: int, ranges: list[tuple[int, int]]) -> int:
    """``seq`` moved past every dropped range that begins at or before its successor."""
    moved = True
    while moved:
        moved = False
        for first, last in ranges:
            if first <= seq + 1 <= last:
                seq, moved = last, True
    return seq


def _minus(first: int, last: int, ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of first..last outside every range (inclusive bounds)."""
    parts = [(first, last)]
    for lo, hi in ranges:
        cut = []
        for a, b in parts:
            if hi < a or lo > b:
                cut.append((a, b))
                continue
            if a < lo:
                cut.append((a, lo - 1))
            if hi < b:
                cut.append((hi + 1, b))
        parts = cut
    return parts


def _iso(utc: float) -> str:
    return datetime.fromtimestamp(utc).astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")
