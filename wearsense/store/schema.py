"""The database layout and its migrations.

Each migration is applied once, in order, inside one transaction, and recorded in
``schema_version``. A file is recognised as ours by ``PRAGMA application_id`` (the four
bytes "WSNS"); a SQLite file with another id, or with tables but no id, is foreign.
Times are UTC seconds since 1970 (REAL); local times exist only at display.
"""

from __future__ import annotations

import dataclasses
import json
import operator
from collections.abc import Callable
from typing import Any

from wearsense.protocol import Event, EventKind

APPLICATION_ID = 0x57534E53  # "WSNS"

# The event types of the periodic summaries, left out of the index by type (migration 5).
SUMMARY_TYPES: tuple[str, ...] = (
    EventKind.HR_SUMMARY,
    EventKind.RHYTHM_SUMMARY,
    EventKind.ACTIVITY_SUMMARY,
)
# The partial index's condition, word for word: SQLite uses that index only for a query
# whose WHERE clause contains this very term.
RARE_TYPES_SQL = "type NOT IN ({})".format(", ".join(f"'{t}'" for t in SUMMARY_TYPES))

MIGRATIONS: tuple[str, ...] = (
    # 1: patients, devices, assignments, events, time offsets, models, updates, alerts
    """
    CREATE TABLE patients (
        id INTEGER PRIMARY KEY,
        pseudonym TEXT NOT NULL UNIQUE,
        timezone TEXT NOT NULL,
        created_utc REAL NOT NULL
    );
    CREATE TABLE devices (
        serial TEXT PRIMARY KEY,
        first_seen_utc REAL NOT NULL,
        last_seen_utc REAL NOT NULL,
        firmware TEXT,
        afib_version INTEGER,
        fall_version INTEGER,
        activity_version INTEGER
    );
    CREATE TABLE assignments (
        id INTEGER PRIMARY KEY,
        serial TEXT NOT NULL REFERENCES devices(serial),
        patient_id INTEGER NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
        start_utc REAL NOT NULL,
        end_utc REAL,
        CHECK (end_utc IS NULL OR end_utc > start_utc)
    );
    CREATE INDEX assignments_by_serial ON assignments(serial, start_utc);
    CREATE INDEX assignments_by_patient ON assignments(patient_id);
    CREATE TABLE time_offsets (
        serial TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        utc_offset_s INTEGER NOT NULL,
        source TEXT NOT NULL CHECK (source IN ('status', 'sync')),
        recorded_utc REAL NOT NULL,
        PRIMARY KEY (serial, epoch)
    );
    CREATE TABLE events (
        serial TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        decoded INTEGER NOT NULL,
        device_time_s INTEGER,
        utc REAL,
        model_version INTEGER,
        fields TEXT,
        raw BLOB NOT NULL,
        received_utc REAL NOT NULL,
        PRIMARY KEY (serial, epoch, seq)
    ) WITHOUT ROWID;
    CREATE INDEX events_by_time ON events(serial, utc);
    CREATE INDEX events_by_type ON events(type, utc);
    CREATE TABLE streams (
        serial TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        contiguous_seq INTEGER NOT NULL,
        PRIMARY KEY (serial, epoch)
    );
    CREATE TABLE model_versions (
        task TEXT NOT NULL,
        version INTEGER NOT NULL,
        sha256 TEXT,
        created_utc REAL NOT NULL,
        notes TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (task, version)
    );
    CREATE TABLE updates (
        id INTEGER PRIMARY KEY,
        serial TEXT NOT NULL,
        task TEXT NOT NULL,
        version INTEGER NOT NULL,
        status TEXT NOT NULL,
        utc REAL NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        serial TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_utc REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_try_utc REAL NOT NULL,
        delivered_utc REAL,
        last_error TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX alerts_pending ON alerts(delivered_utc, next_try_utc);
    """,
    # 2: the sequence ranges Gap events report as dropped, kept apart so the contiguity
    # check after each ingest no longer scans the whole stream for Gap events
    f"""
    CREATE TABLE dropped_ranges (
        serial TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        PRIMARY KEY (serial, epoch, first_seq, last_seq)
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO dropped_ranges
        SELECT serial, epoch,
               json_extract(fields, '$.first_seq'), json_extract(fields, '$.last_seq')
        FROM events WHERE type = '{EventKind.GAP}' AND decoded = 1;
    """,
    # 3: who acknowledged which fall alert and when, so an acknowledgement survives a
    # restart of the terminal UI and an unacknowledged fall is raised again
    """
    CREATE TABLE fall_acks (
        serial TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        acked_utc REAL NOT NULL,
        by TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (serial, epoch, seq)
    ) WITHOUT ROWID;
    """,
    # 4: ECG strips fetched from the devices (the image bytes as the device sent them,
    # a few header fields for listing without decoding) and clinicians' reviews of them
    # (every review kept; the newest is the verdict)
    """
    CREATE TABLE strips (
        serial TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        strip_id INTEGER NOT NULL,
        reason INTEGER NOT NULL,
        start_time_s INTEGER NOT NULL,
        start_ms INTEGER NOT NULL,
        fs_hz INTEGER NOT NULL,
        n_samples INTEGER NOT NULL,
        event_seq INTEGER NOT NULL,
        image BLOB NOT NULL,
        image_crc32 INTEGER NOT NULL,
        received_utc REAL NOT NULL,
        PRIMARY KEY (serial, epoch, strip_id)
    ) WITHOUT ROWID;
    CREATE TABLE strip_reviews (
        id INTEGER PRIMARY KEY,
        serial TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        strip_id INTEGER NOT NULL,
        verdict TEXT NOT NULL CHECK (verdict IN ('confirmed_af', 'not_af', 'unreadable')),
        reviewer TEXT NOT NULL,
        reviewed_utc REAL NOT NULL,
        FOREIGN KEY (serial, epoch, strip_id) REFERENCES strips ON DELETE CASCADE
    );
    CREATE INDEX strip_reviews_by_strip ON strip_reviews(serial, epoch, strip_id, reviewed_utc);
    """,
    # 5: the index by type leaves out the periodic summaries (nine in ten events, always
    # asked for by device or patient and time, which events_by_time serves): each ingest
    # commit then rewrites one index fewer (the write-ahead log per year of events fell
    # from 273 MB to 169 MB). A query by type uses it only when it repeats the index's
    # condition (`RARE_TYPES_SQL`).
    f"""
    DROP INDEX events_by_type;
    CREATE INDEX events_by_type ON events(type, utc) WHERE {RARE_TYPES_SQL};
    """,
    # 6: streams keyed by (serial, epoch) without a rowid: the contiguous sequence it holds
    # changes in every ingest commit, and a rowid table rewrote its row and its key index
    # (two pages a commit instead of one)
    """
    CREATE TABLE streams_v6 (
        serial TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        contiguous_seq INTEGER NOT NULL,
        PRIMARY KEY (serial, epoch)
    ) WITHOUT ROWID;
    INSERT INTO streams_v6 SELECT serial, epoch, contiguous_seq FROM streams;
    DROP TABLE streams;
    ALTER TABLE streams_v6 RENAME TO streams;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)

# The UTC time of a strip's first sample (SQL over ``strips AS s``): its device time plus
# the clock offset of its device and epoch; NULL while that offset is unknown.
STRIP_START_UTC = (
    "(s.start_time_s + s.start_ms / 1000.0 + (SELECT o.utc_offset_s FROM time_offsets o "
    "WHERE o.serial = s.serial AND o.epoch = s.epoch))"
)


_HEADER_FIELDS = frozenset(f.name for f in dataclasses.fields(Event))
_PAYLOAD_NAMES: dict[type[Event], tuple[str, ...]] = {}


def payload_names(cls: type[Event]) -> tuple[str, ...]:
    """The payload field names of an event class, in declaration order (cached)."""
    names = _PAYLOAD_NAMES.get(cls)
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(cls) if f.name not in _HEADER_FIELDS)
        _PAYLOAD_NAMES[cls] = names
    return names


def event_fields(event: Event) -> dict[str, Any]:
    """The payload of an event as JSON-ready values (tuples become lists)."""
    out: dict[str, Any] = {}
    for name in payload_names(type(event)):
        value = getattr(event, name)
        out[name] = [int(v) for v in value] if isinstance(value, tuple) else int(value)
    return out


_FORMATTERS: dict[type[Event], Callable[[Event], str]] = {}


def _formatter(cls: type[Event], event: Event) -> Callable[[Event], str]:
    """The function that writes the ``fields`` text of events of ``cls`` (built once per
    class, from the first event: which payload fields are tuples)."""
    spec = tuple((n, isinstance(getattr(event, n), tuple)) for n in payload_names(cls))
    text = "{" + ",".join(f'"{n}":[%s]' if many else f'"{n}":%d' for n, many in spec) + "}"
    names = [n for n, _ in spec]
    if not names:
        return lambda _event: "{}"
    if not any(many for _, many in spec):
        # %d writes what int() gives (bools as 0/1, NumPy integers, floats truncated);
        # anything else raises TypeError and takes the general path of fields_json.
        get = operator.attrgetter(*names)
        if len(names) == 1:
            return lambda e: text % (get(e),)
        return lambda e: text % get(e)

    def general(e: Event) -> str:
        return text % tuple(
            ",".join([str(int(v)) for v in getattr(e, n)]) if many else int(getattr(e, n))
            for n, many in spec
        )

    return general


def fields_json(event: Event) -> str:
    """``json.dumps(event_fields(event), separators=(",", ":"))``, the text the
    ``events.fields`` column holds, from a formatter per event class (ingest writes one
    per event)."""
    cls = type(event)
    write = _FORMATTERS.get(cls)
    if write is None:
        write = _FORMATTERS[cls] = _formatter(cls, event)
    try:
        return write(event)
    except TypeError:  # a field that is a tuple in one event and a number in another
        return json.dumps(event_fields(event), separators=(",", ":"))
