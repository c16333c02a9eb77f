"""ECG strips in the store (docs/store.md, "Strips"): the images fetched from the devices
and the clinicians' reviews of them.

A strip is keyed by (device serial, epoch, strip id). The device announces each strip
with a STRIP event (an ordinary event); the image comes later, when someone asks for it
(`wearsense strip get`). ``put_strip`` checks an image with the strip parser before it
stores it, stores the same bytes again as a no-op and refuses other bytes under a key it
already holds (a device that reused a strip id without a new epoch would otherwise
overwrite evidence a clinician may have reviewed). A strip belongs to the patient who
wore the device when its first sample was taken, as an event does; a strip whose device
clock offset is not known yet has no place on a timeline.

Reviews: each is kept (verdict, reviewer, time); the newest is the strip's verdict.
"""

from __future__ import annotations

import dataclasses
import enum
import time
import zlib
from collections.abc import Iterable
from typing import Any

from wearsense.protocol import EventKind
from wearsense.store.db import _EVENT_COLUMNS, Store, StoredEvent, _row_event
from wearsense.store.errors import StoreError
from wearsense.store.schema import STRIP_START_UTC
from wearsense.strips.image import StripFormatError, StripImage, parse_image


class Verdict(enum.StrEnum):
    """A clinician's reading of a strip."""

    CONFIRMED_AF = "confirmed_af"
    NOT_AF = "not_af"
    UNREADABLE = "unreadable"


REASONS = {1: "AF onset", 2: "recording", 3: "fall"}
StripKey = tuple[str, int, int]  # serial, epoch, strip id


@dataclasses.dataclass(frozen=True)
class Review:
    verdict: Verdict
    reviewer: str
    reviewed_utc: float


@dataclasses.dataclass(frozen=True)
class StripEntry:
    """One strip as ``strip list`` shows it: announced by a STRIP event, stored, or both.

    ``start_utc``: the first sample's time (None while the device's clock offset or,
    for a strip only announced, the image is unknown); ``announced_utc``: the STRIP
    event's time; ``subject_seq``: the AF_START or ECG_RECORDING it documents."""

    serial: str
    epoch: int
    strip_id: int
    reason: int
    duration_s: float
    subject_seq: int
    announced_utc: float | None
    start_utc: float | None
    stored: bool
    received_utc: float | None
    review: Review | None
    patient: str | None

    @property
    def key(self) -> StripKey:
        return (self.serial, self.epoch, self.strip_id)

    @property
    def reason_text(self) -> str:
        return REASONS.get(self.reason, f"reason {self.reason}")

    @property
    def state(self) -> str:
        return "stored" if self.stored else "on device"

    @property
    def utc(self) -> float | None:
        """The time the strip is listed at: its first sample, else its announcement."""
        return self.start_utc if self.start_utc is not None else self.announced_utc


@dataclasses.dataclass(frozen=True)
class StoredStrip:
    """A stored strip: its decoded image, its time and its reviews (oldest first)."""

    serial: str
    image: StripImage
    raw: bytes
    received_utc: float
    start_utc: float | None
    reviews: tuple[Review, ...]

    @property
    def key(self) -> StripKey:
        return (self.serial, self.image.epoch, self.image.strip_id)

    @property
    def review(self) -> Review | None:
        return self.reviews[-1] if self.reviews else None

    @property
    def duration_s(self) -> float:
        return self.image.n_samples / self.image.fs_hz

    def millivolts(self) -> Any:
        """The samples in mV (float64 numpy array)."""
        img = self.image
        return (img.samples.astype("float64") - img.adc_zero) / img.adc_gain


def parse_verdict(text: str) -> Verdict:
    try:
        return Verdict(text.strip().lower().replace("-", "_"))
    except ValueError as exc:
        choices = ", ".join(v.value for v in Verdict)
        raise StoreError(f"unknown verdict {text!r} (one of {choices})") from exc


def put_strip(store: Store, serial: str, image: bytes, received_utc: float | None = None) -> bool:
    """Stores the strip ``image`` of device ``serial``. True when it is new, False when
    these very bytes were stored already; StoreError for an image that does not parse
    or for other bytes under a key already held."""
    if not isinstance(serial, str) or not serial.strip():
        raise StoreError(f"a device serial must be a non-empty string, not {serial!r}")
    raw = bytes(image)
    try:
        img = parse_image(raw)
    except StripFormatError as exc:
        raise StoreError(f"strip image of {serial} refused: {exc}") from exc
    crc = zlib.crc32(raw)
    now = time.time() if received_utc is None else float(received_utc)
    with store.transaction() as db:
        row = db.execute(
            "SELECT image, image_crc32 FROM strips WHERE serial = ? AND epoch = ? AND strip_id = ?",
            (serial, img.epoch, img.strip_id),
        ).fetchone()
        if row is not None:
            if bytes(row[0]) == raw:
                return False
            raise StoreError(
                f"strip {serial} epoch {img.epoch} #{img.strip_id} is stored already with "
                f"other content (image CRC {int(row[1]):08x}, this one {crc:08x}); "
                "the stored strip is kept"
            )
        store._touch_device(db, serial, now)
        db.execute(
            "INSERT INTO strips VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                serial,
                img.epoch,
                img.strip_id,
                img.reason,
                img.start_time_s,
                img.start_ms,
                img.fs_hz,
                img.n_samples,
                img.event_seq,
                raw,
                crc,
                now,
            ),
        )
    return True


def review_strip(
    store: Store, key: StripKey, verdict: Verdict | str, reviewer: str, utc: float | None = None
) -> Review:
    """Records a clinician's review of the stored strip ``key``; earlier ones are kept."""
    verdict = parse_verdict(verdict) if not isinstance(verdict, Verdict) else verdict
    reviewer = reviewer.strip()
    if not reviewer:
        raise StoreError("a review needs the reviewer's name")
    when = time.time() if utc is None else float(utc)
    with store.transaction() as db:
        if not db.execute(
            "SELECT 1 FROM strips WHERE serial = ? AND epoch = ? AND strip_id = ?", key
        ).fetchone():
            raise StoreError(
                f"no stored strip {key[0]} epoch {key[1]} #{key[2]} (`wearsense strip get` "
                "fetches it from the device first)"
            )
        db.execute(
            "INSERT INTO strip_reviews (serial, epoch, strip_id, verdict, reviewer, "
            "reviewed_utc) VALUES (?, ?, ?, ?, ?, ?)",
            (*key, verdict.value, reviewer, when),
        )
    return Review(verdict, reviewer, when)


def reviews(store: Store, key: StripKey) -> tuple[Review, ...]:
    rows = store._all(
        "SELECT verdict, reviewer, reviewed_utc FROM strip_reviews WHERE serial = ? AND "
        "epoch = ? AND strip_id = ? ORDER BY reviewed_utc, id",
        key,
    )
    return tuple(Review(Verdict(v), r, float(t)) for v, r, t in rows)


_START = STRIP_START_UTC


def get_strip(store: Store, key: StripKey) -> StoredStrip:
    """The stored strip ``key``; StoreError when it is not stored (or no longer parses)."""
    row = store._one(
        f"SELECT s.image, s.received_utc, {_START} FROM strips s "
        "WHERE s.serial = ? AND s.epoch = ? AND s.strip_id = ?",
        key,
    )
    if row is None:
        raise StoreError(f"no stored strip {key[0]} epoch {key[1]} #{key[2]}")
    raw = bytes(row[0])
    try:
        img = parse_image(raw)
    except StripFormatError as exc:  # stored by a companion whose parser let it through
        raise StoreError(f"stored strip {key} does not parse: {exc}") from exc
    start = None if row[2] is None else float(row[2])
    return StoredStrip(key[0], img, raw, float(row[1]), start, reviews(store, key))


def find_strip(store: Store, strip_id: int, serial: str | None = None) -> StripEntry:
    """The listed strip with ``strip_id`` (of ``serial``), the newest epoch's when several
    devices or epochs have one; StoreError when none does."""
    found = [
        e for e in list_strips(store, serial=serial, placed_only=False) if e.strip_id == strip_id
    ]
    if not found:
        raise StoreError(f"no strip #{strip_id}" + (f" of {serial}" if serial else ""))
    serials = {e.serial for e in found}
    if len(serials) > 1:
        raise StoreError(
            f"strip #{strip_id} exists on {len(serials)} devices: name one with --serial"
        )
    return max(found, key=lambda e: e.epoch)


def list_strips(
    store: Store,
    *,
    patient: str | None = None,
    serial: str | None = None,
    start_utc: float | None = None,
    end_utc: float | None = None,
    placed_only: bool = True,
) -> list[StripEntry]:
    """Announced strips (STRIP events) joined with the stored ones, in time order: each
    once, "stored" or "on device". ``patient``: those of the devices the patient wore at
    the strip's time; ``placed_only`` False keeps strips without a known time (for a
    device query)."""
    args: list[Any] = []
    sql = (
        f"SELECT s.serial, s.epoch, s.strip_id, s.reason, s.n_samples * 1.0 / s.fs_hz, "
        f"s.event_seq, {_START}, s.received_utc FROM strips s WHERE 1=1"
    )
    if serial is not None:
        sql += " AND s.serial = ?"
        args.append(serial)
    stored = {(r[0], int(r[1]), int(r[2])): r for r in store._all(sql, args)}
    announced: dict[StripKey, StoredEvent] = {}
    for e in store.events(serial=serial, types=[EventKind.STRIP], include_unplaced=True):
        f = e.fields or {}
        if "strip_id" in f:
            announced[(e.serial, e.epoch, int(f["strip_id"]))] = e
    entries = []
    for key in set(stored) | set(announced):
        row, event = stored.get(key), announced.get(key)
        f = (event.fields or {}) if event is not None else {}
        start = float(row[6]) if row is not None and row[6] is not None else None
        entry = StripEntry(
            serial=key[0],
            epoch=key[1],
            strip_id=key[2],
            reason=int(row[3]) if row is not None else int(f.get("reason", 0)),
            duration_s=float(row[4]) if row is not None else float(f.get("duration_s", 0)),
            subject_seq=int(row[5]) if row is not None else int(f.get("subject_seq", 0)),
            announced_utc=event.utc if event is not None else None,
            start_utc=start,
            stored=row is not None,
            received_utc=float(row[7]) if row is not None else None,
            review=None,
            patient=None,
        )
        got = reviews(store, key) if row is not None else ()
        entry = dataclasses.replace(
            entry, review=got[-1] if got else None, patient=store.patient_of(key[0], entry.utc)
        )
        entries.append(entry)
    out = []
    for entry in entries:
        when = entry.utc
        if when is None and (placed_only or patient is not None):
            continue
        if patient is not None and entry.patient != patient:
            continue
        if when is not None and start_utc is not None and when < start_utc:
            continue
        if when is not None and end_utc is not None and when >= end_utc:
            continue
        out.append(entry)
    if patient is not None:
        store.patient(patient)  # StoreError for an unknown patient, as events() gives
    out.sort(key=lambda e: (e.utc is None, e.utc or 0.0, e.serial, e.epoch, e.strip_id))
    return out


def stored_strips(store: Store, entries: Iterable[StripEntry]) -> list[StoredStrip]:
    """The stored strips among ``entries``, decoded, in the same order."""
    return [get_strip(store, e.key) for e in entries if e.stored]


def subject_event(store: Store, serial: str, epoch: int, seq: int) -> StoredEvent | None:
    """The event a strip documents (AF_START or ECG_RECORDING), when stored."""
    row = store._one(
        f"SELECT {_EVENT_COLUMNS} FROM events WHERE serial = ? AND epoch = ? AND seq = ? "
        "AND decoded = 1",
        (serial, epoch, seq),
    )
    return None if row is None else _row_event(row)


SUBJECT_TYPES = (EventKind.AF_START, EventKind.ECG_RECORDING)
