"""Event packets: what the device sends on the events characteristic.

Layout (docs/protocol.md, "Event packet"), little-endian, 12 to 20 bytes::

    0  u8   version (bits 7-5) | type (bits 4-0)
    1  u24  sequence number (per device and epoch, never repeated)
    4  u32  device time, seconds
    8  u16  version of the model that produced the event (0 if none)
    10 ..   payload, a fixed size per type (0 to 8 bytes)
    -2 u16  CRC-16/CCITT-FALSE over every byte before it

``decode`` checks, in this order: length bounds, CRC, version, type, exact length for
the type, field ranges; the firmware's ``ws_event_decode`` checks in the same order so
both report the same status for the same bytes.
"""

from __future__ import annotations

import dataclasses
import enum
import struct
from typing import ClassVar

from wearsense.protocol.crc import crc16
from wearsense.protocol.errors import ProtocolError, Status

PROTOCOL_VERSION = 1
HEADER_SIZE = 10
CRC_SIZE = 2
MIN_SIZE = 12
MAX_SIZE = 20
SEQ_MAX = 0xFFFFFF
HR_MIN, HR_MAX = 20, 250


class EventType(enum.IntEnum):
    AF_START = 1
    AF_END = 2
    RHYTHM_SUMMARY = 3
    HR_SUMMARY = 4
    FALL = 5
    FALL_CANCELLED = 6
    ACTIVITY_CHANGE = 7
    ACTIVITY_SUMMARY = 8
    SIGNAL_QUALITY = 9
    GAP = 10
    STATUS = 11
    ECG_RECORDING = 12
    STRIP = 13


class EventKind(enum.StrEnum):
    """The name of each kind of event, as the store, the exports and the TUI spell it.

    The values are the strings written to databases, JSON and CSV (``docs/protocol.md``,
    "Event kinds"); each event class carries its kind as ``NAME``. STATUS is one wire type
    with three kinds, one per page.
    """

    AF_START = "af_start"
    AF_END = "af_end"
    RHYTHM_SUMMARY = "rhythm_summary"
    HR_SUMMARY = "hr_summary"
    FALL = "fall"
    FALL_CANCELLED = "fall_cancelled"
    ACTIVITY_CHANGE = "activity_change"
    ACTIVITY_SUMMARY = "activity_summary"
    SIGNAL_QUALITY = "signal_quality"
    GAP = "gap"
    STATUS_DEVICE = "status_device"
    STATUS_MODELS = "status_models"
    STATUS_FIRMWARE = "status_firmware"
    ECG_RECORDING = "ecg_recording"
    STRIP = "strip"


class RhythmClass(enum.IntEnum):
    NORMAL = 0
    AF = 1
    OTHER = 2
    NOISY = 3


class ActivityClass(enum.IntEnum):
    WALK = 0
    RUN = 1
    CYCLE = 2
    UPSTAIRS = 3
    DOWNSTAIRS = 4
    SIT = 5
    STAND = 6
    LIE = 7
    UNKNOWN = 255


class FallClass(enum.IntEnum):
    ADL = 0
    FALL = 1


class SignalSource(enum.IntEnum):
    ECG = 0
    IMU = 1


class Quality(enum.IntFlag):
    LEADS_OFF = 1
    NOISY = 2
    SATURATED = 4
    FLAT = 8
    IMPLAUSIBLE = 16  # IMU only: at rest it does not read 1 g (a scale or sensor fault)


class StatusFlag(enum.IntFlag):
    TIME_SYNCED = 1
    CHARGING = 2
    NEW_EPOCH = 4
    POSTURE_CALIBRATED = 8  # the activity detector's posture calibration is in force


ACTIVITY_CLASSES = 8


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise ProtocolError(Status.RANGE, what)


def _hr_ok(bpm: int) -> bool:
    return HR_MIN <= bpm <= HR_MAX


@dataclasses.dataclass(frozen=True)
class Event:
    """Common header of every event. Subclasses add their payload fields."""

    seq: int
    time_s: int
    model_version: int

    TYPE: ClassVar[EventType]
    NAME: ClassVar[EventKind]  # the kind of event (a str: its stored and exported name)
    LAYOUT: ClassVar[str] = ""  # struct format of the payload, when it is a plain one

    def __post_init__(self) -> None:
        _require(0 <= self.seq <= SEQ_MAX, f"sequence {self.seq} outside 0..{SEQ_MAX}")
        _require(0 <= self.time_s <= 0xFFFFFFFF, "device time outside u32")
        _require(0 <= self.model_version <= 0xFFFF, "model version outside u16")
        self.check()

    def check(self) -> None:
        """Checks the payload's documented ranges; raises ProtocolError(RANGE)."""

    def payload_fields(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in _payload_names(type(self))}

    def pack_payload(self) -> bytes:
        return struct.pack("<" + self.LAYOUT, *self.payload_fields().values())

    @classmethod
    def unpack_payload(cls, payload: bytes) -> dict[str, object]:
        names = [f.name for f in dataclasses.fields(cls)][3:]
        return dict(zip(names, struct.unpack("<" + cls.LAYOUT, payload), strict=True))

    @classmethod
    def payload_size(cls) -> int:
        return struct.calcsize("<" + cls.LAYOUT)


_NAMES: dict[type[Event], tuple[str, ...]] = {}


def _payload_names(cls: type[Event]) -> tuple[str, ...]:
    """The payload field names of an event class in declaration order (computed once:
    ``dataclasses.fields`` per event was most of the cost of encoding one)."""
    names = _NAMES.get(cls)
    if names is None:
        base = {f.name for f in dataclasses.fields(Event)}
        names = tuple(f.name for f in dataclasses.fields(cls) if f.name not in base)
        _NAMES[cls] = names
    return names


def _fits(value: int, bits: int) -> bool:
    return 0 <= value < (1 << bits)


@dataclasses.dataclass(frozen=True)
class AfStart(Event):
    """An AF episode began ``onset_lag_s`` seconds before the event time."""

    hr_bpm: int
    confidence: int
    onset_lag_s: int
    TYPE = EventType.AF_START
    NAME = EventKind.AF_START
    LAYOUT = "BBH"

    def check(self) -> None:
        _require(_hr_ok(self.hr_bpm), f"heart rate {self.hr_bpm} outside {HR_MIN}..{HR_MAX}")
        _require(0 <= self.confidence <= 100, "confidence outside 0..100")
        _require(_fits(self.onset_lag_s, 16), "onset lag outside u16")


@dataclasses.dataclass(frozen=True)
class AfEnd(Event):
    duration_s: int
    mean_hr_bpm: int
    TYPE = EventType.AF_END
    NAME = EventKind.AF_END
    LAYOUT = "IB"

    def check(self) -> None:
        _require(_fits(self.duration_s, 32), "duration outside u32")
        _require(_hr_ok(self.mean_hr_bpm), "mean heart rate outside 20..250")


@dataclasses.dataclass(frozen=True)
class RhythmSummary(Event):
    """AF time and analysable time over the interval that ends at the event time."""

    interval_s: int
    analysable_s: int
    af_s: int
    TYPE = EventType.RHYTHM_SUMMARY
    NAME = EventKind.RHYTHM_SUMMARY
    LAYOUT = "HHH"

    def check(self) -> None:
        _require(1 <= self.interval_s <= 0xFFFF, "interval outside 1..65535")
        _require(0 <= self.analysable_s <= self.interval_s, "analysable time exceeds interval")
        _require(0 <= self.af_s <= self.analysable_s, "AF time exceeds analysable time")


@dataclasses.dataclass(frozen=True)
class HrSummary(Event):
    interval_s: int
    min_bpm: int
    mean_bpm: int
    max_bpm: int
    TYPE = EventType.HR_SUMMARY
    NAME = EventKind.HR_SUMMARY
    LAYOUT = "HBBB"

    def check(self) -> None:
        _require(1 <= self.interval_s <= 0xFFFF, "interval outside 1..65535")
        _require(_hr_ok(self.min_bpm) and _hr_ok(self.max_bpm), "heart rate outside 20..250")
        _require(self.min_bpm <= self.mean_bpm <= self.max_bpm, "need min <= mean <= max")


@dataclasses.dataclass(frozen=True)
class Fall(Event):
    impact_mg: int
    confidence: int
    stillness_s: int
    TYPE = EventType.FALL
    NAME = EventKind.FALL
    LAYOUT = "HBB"

    def check(self) -> None:
        _require(_fits(self.impact_mg, 16), "impact outside u16")
        _require(0 <= self.confidence <= 100, "confidence outside 0..100")
        _require(_fits(self.stillness_s, 8), "stillness outside u8")


@dataclasses.dataclass(frozen=True)
class FallCancelled(Event):
    """The wearer pressed the button ``delay_s`` after the fall event ``fall_seq``."""

    fall_seq: int
    delay_s: int
    TYPE = EventType.FALL_CANCELLED
    NAME = EventKind.FALL_CANCELLED

    def check(self) -> None:
        _require(1 <= self.fall_seq <= SEQ_MAX, "fall sequence outside 1..2^24-1")
        _require(_fits(self.delay_s, 8), "delay outside u8")

    def pack_payload(self) -> bytes:
        return self.fall_seq.to_bytes(3, "little") + bytes([self.delay_s])

    @classmethod
    def unpack_payload(cls, payload: bytes) -> dict[str, object]:
        return {"fall_seq": int.from_bytes(payload[0:3], "little"), "delay_s": payload[3]}

    @classmethod
    def payload_size(cls) -> int:
        return 4


@dataclasses.dataclass(frozen=True)
class ActivityChange(Event):
    from_class: int
    to_class: int
    confidence: int
    TYPE = EventType.ACTIVITY_CHANGE
    NAME = EventKind.ACTIVITY_CHANGE
    LAYOUT = "BBB"

    def check(self) -> None:
        from_ok = self.from_class < ACTIVITY_CLASSES or self.from_class == ActivityClass.UNKNOWN
        _require(self.from_class >= 0 and from_ok, "unknown activity class (from)")
        _require(0 <= self.to_class < ACTIVITY_CLASSES, "unknown activity class (to)")
        _require(self.from_class != self.to_class, "an activity change must change class")
        _require(0 <= self.confidence <= 100, "confidence outside 0..100")


@dataclasses.dataclass(frozen=True)
class ActivitySummary(Event):
    """Minutes per activity class over the 60 minutes that end at the event time,
    indexed by ActivityClass; 6 bits each, packed into 48 bits."""

    minutes: tuple[int, ...]
    TYPE = EventType.ACTIVITY_SUMMARY
    NAME = EventKind.ACTIVITY_SUMMARY

    def check(self) -> None:
        _require(len(self.minutes) == ACTIVITY_CLASSES, "need minutes for 8 classes")
        _require(all(0 <= m <= 60 for m in self.minutes), "minutes outside 0..60")
        _require(sum(self.minutes) <= 60, "more than 60 minutes in one hour")

    def pack_payload(self) -> bytes:
        bits = 0
        for i, m in enumerate(self.minutes):
            bits |= m << (6 * i)
        return bits.to_bytes(6, "little")

    @classmethod
    def unpack_payload(cls, payload: bytes) -> dict[str, object]:
        bits = int.from_bytes(payload, "little")
        return {"minutes": tuple((bits >> (6 * i)) & 0x3F for i in range(ACTIVITY_CLASSES))}

    @classmethod
    def payload_size(cls) -> int:
        return 6


@dataclasses.dataclass(frozen=True)
class SignalQuality(Event):
    source: int
    flags: int
    duration_s: int
    TYPE = EventType.SIGNAL_QUALITY
    NAME = EventKind.SIGNAL_QUALITY
    LAYOUT = "BBH"

    def check(self) -> None:
        _require(self.source in (SignalSource.ECG, SignalSource.IMU), "unknown signal source")
        _require(1 <= self.flags <= 0x1F, "quality flags must be a non-empty set of bits 0-4")
        _require(_fits(self.duration_s, 16), "duration outside u16")


@dataclasses.dataclass(frozen=True)
class Gap(Event):
    """``dropped`` events between ``first_seq`` and ``last_seq`` were dropped by a full queue."""

    first_seq: int
    last_seq: int
    dropped: int
    TYPE = EventType.GAP
    NAME = EventKind.GAP

    def check(self) -> None:
        _require(1 <= self.first_seq <= self.last_seq <= SEQ_MAX, "need 1 <= first <= last")
        span = self.last_seq - self.first_seq + 1
        _require(1 <= self.dropped <= min(span, 0xFFFF), "dropped count outside 1..span")

    def pack_payload(self) -> bytes:
        return (
            self.first_seq.to_bytes(3, "little")
            + self.last_seq.to_bytes(3, "little")
            + struct.pack("<H", self.dropped)
        )

    @classmethod
    def unpack_payload(cls, payload: bytes) -> dict[str, object]:
        return {
            "first_seq": int.from_bytes(payload[0:3], "little"),
            "last_seq": int.from_bytes(payload[3:6], "little"),
            "dropped": struct.unpack("<H", payload[6:8])[0],
        }

    @classmethod
    def payload_size(cls) -> int:
        return 8


@dataclasses.dataclass(frozen=True)
class _StatusPage(Event):
    """STATUS events share one wire type; the first payload byte is the page."""

    TYPE = EventType.STATUS
    PAGE: ClassVar[int]

    def pack_payload(self) -> bytes:
        return struct.pack("<B" + self.LAYOUT, self.PAGE, *self.payload_fields().values())

    @classmethod
    def unpack_payload(cls, payload: bytes) -> dict[str, object]:
        names = [f.name for f in dataclasses.fields(cls)][3:]
        values = struct.unpack("<" + cls.LAYOUT, payload[1:])
        return {n: v for n, v in zip(names, values, strict=False)}

    @classmethod
    def payload_size(cls) -> int:
        return 8


@dataclasses.dataclass(frozen=True)
class StatusDevice(_StatusPage):
    """STATUS page 0: battery, epoch (a new one after a factory reset), free queue slots."""

    battery_pct: int
    epoch: int
    queue_free: int
    flags: int
    boot_count: int
    NAME = EventKind.STATUS_DEVICE
    LAYOUT = "BHHBB"
    PAGE = 0

    def check(self) -> None:
        _require(0 <= self.battery_pct <= 100, "battery outside 0..100 %")
        _require(_fits(self.epoch, 16) and _fits(self.queue_free, 16), "field outside u16")
        _require(0 <= self.flags <= 0x0F, "unknown status flag bits")
        _require(_fits(self.boot_count, 8), "boot count outside u8")


@dataclasses.dataclass(frozen=True)
class StatusModels(_StatusPage):
    """STATUS page 1: the running model version of each task (last byte reserved, 0)."""

    afib_version: int
    fall_version: int
    activity_version: int
    NAME = EventKind.STATUS_MODELS
    LAYOUT = "HHHx"
    PAGE = 1

    def check(self) -> None:
        for v in (self.afib_version, self.fall_version, self.activity_version):
            _require(_fits(v, 16), "model version outside u16")

    @classmethod
    def unpack_payload(cls, payload: bytes) -> dict[str, object]:
        _require(payload[7] == 0, "reserved byte of status page 1 is not zero")
        return super().unpack_payload(payload)


@dataclasses.dataclass(frozen=True)
class StatusFirmware(_StatusPage):
    """STATUS page 2: firmware version and the wall-clock offset set by time sync
    (UTC seconds = device time + utc_offset_s, valid when TIME_SYNCED is set)."""

    fw_major: int
    fw_minor: int
    fw_patch: int
    utc_offset_s: int
    NAME = EventKind.STATUS_FIRMWARE
    LAYOUT = "BBBi"
    PAGE = 2

    def check(self) -> None:
        for v in (self.fw_major, self.fw_minor, self.fw_patch):
            _require(_fits(v, 8), "firmware version part outside u8")
        _require(-(1 << 31) <= self.utc_offset_s < (1 << 31), "UTC offset outside i32")


@dataclasses.dataclass(frozen=True)
class EcgRecording(Event):
    """Result of an on-demand recording (command START_RECORDING)."""

    rhythm_class: int
    confidence: int
    hr_bpm: int
    duration_s: int
    quality: int
    TYPE = EventType.ECG_RECORDING
    NAME = EventKind.ECG_RECORDING
    LAYOUT = "BBBBB"

    def check(self) -> None:
        _require(self.rhythm_class in tuple(RhythmClass), "unknown rhythm class")
        _require(0 <= self.confidence <= 100, "confidence outside 0..100")
        _require(self.hr_bpm == 0 or _hr_ok(self.hr_bpm), "heart rate outside 0 or 20..250")
        _require(1 <= self.duration_s <= 60, "duration outside 1..60 s")
        _require(0 <= self.quality <= 0x0F, "unknown quality bits")


class StripReason(enum.IntEnum):
    """Why the device made an ECG strip (STRIP event, strip image header)."""

    AF_ONSET = 1
    RECORDING = 2
    FALL = 3  # reserved: not made today


@dataclasses.dataclass(frozen=True)
class Strip(Event):
    """The device holds ECG strip ``strip_id`` (``duration_s`` of raw ECG) documenting the
    event ``subject_seq`` (its AF_START or ECG_RECORDING); the companion fetches it with
    STRIP_GET (docs/protocol.md, "Strip transfer")."""

    strip_id: int
    reason: int
    duration_s: int
    subject_seq: int
    TYPE = EventType.STRIP
    NAME = EventKind.STRIP

    def check(self) -> None:
        _require(1 <= self.strip_id <= 0xFFFF, "strip id outside 1..65535")
        _require(self.reason in tuple(StripReason), "unknown strip reason")
        _require(1 <= self.duration_s <= 0xFF, "duration outside 1..255 s")
        _require(1 <= self.subject_seq <= SEQ_MAX, "subject sequence outside 1..2^24-1")

    def pack_payload(self) -> bytes:
        return (
            struct.pack("<HBB", self.strip_id, self.reason, self.duration_s)
            + self.subject_seq.to_bytes(3, "little")
            + b"\x00"
        )

    @classmethod
    def unpack_payload(cls, payload: bytes) -> dict[str, object]:
        _require(payload[7] == 0, "reserved byte not zero")
        strip_id, reason, duration_s = struct.unpack("<HBB", payload[0:4])
        return {
            "strip_id": strip_id,
            "reason": reason,
            "duration_s": duration_s,
            "subject_seq": int.from_bytes(payload[4:7], "little"),
        }

    @classmethod
    def payload_size(cls) -> int:
        return 8


EVENT_CLASSES: tuple[type[Event], ...] = (
    AfStart,
    AfEnd,
    RhythmSummary,
    HrSummary,
    Fall,
    FallCancelled,
    ActivityChange,
    ActivitySummary,
    SignalQuality,
    Gap,
    StatusDevice,
    StatusModels,
    StatusFirmware,
    EcgRecording,
    Strip,
)
BY_NAME: dict[str, type[Event]] = {cls.NAME: cls for cls in EVENT_CLASSES}
_STATUS_PAGES: dict[int, type[Event]] = {0: StatusDevice, 1: StatusModels, 2: StatusFirmware}
_BY_TYPE: dict[int, type[Event]] = {
    cls.TYPE: cls for cls in EVENT_CLASSES if cls.TYPE != EventType.STATUS
}


def payload_size(event_type: int) -> int | None:
    """Payload bytes of a wire type, or None when the type is unknown."""
    if event_type == EventType.STATUS:
        return 8
    cls = _BY_TYPE.get(event_type)
    return cls.payload_size() if cls else None


def encode(event: Event) -> bytes:
    """The wire bytes of a (validated) event."""
    header = struct.pack(
        "<B3sIH",
        (PROTOCOL_VERSION << 5) | int(event.TYPE),
        event.seq.to_bytes(3, "little"),
        event.time_s,
        event.model_version,
    )
    body = header + event.pack_payload()
    return body + struct.pack("<H", crc16(body))


def decode(data: bytes) -> Event:
    """Decodes one event packet; raises ProtocolError for anything malformed."""
    data = bytes(data)
    if not MIN_SIZE <= len(data) <= MAX_SIZE:
        raise ProtocolError(Status.LENGTH, f"{len(data)} bytes, expected {MIN_SIZE}..{MAX_SIZE}")
    (received,) = struct.unpack("<H", data[-2:])
    if crc16(data[:-2]) != received:
        raise ProtocolError(Status.CRC, "CRC-16 does not match")
    version, event_type = data[0] >> 5, data[0] & 0x1F
    if version != PROTOCOL_VERSION:
        raise ProtocolError(Status.VERSION, f"protocol version {version}")
    size = payload_size(event_type)
    if size is None:
        raise ProtocolError(Status.TYPE, f"event type {event_type}")
    if len(data) != HEADER_SIZE + size + CRC_SIZE:
        raise ProtocolError(
            Status.LENGTH, f"{len(data)} bytes for type {event_type}, expected {size + 12}"
        )
    payload = data[HEADER_SIZE:-CRC_SIZE]
    if event_type == EventType.STATUS:
        cls = _STATUS_PAGES.get(payload[0])
        if cls is None:
            raise ProtocolError(Status.RANGE, f"status page {payload[0]}")
    else:
        cls = _BY_TYPE[event_type]
    seq = int.from_bytes(data[1:4], "little")
    time_s, model_version = struct.unpack("<IH", data[4:10])
    return cls(seq, time_s, model_version, **cls.unpack_payload(payload))
