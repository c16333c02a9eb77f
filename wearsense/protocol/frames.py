"""Frames the host writes (acknowledgements, commands, model-transfer chunks) and
the command responses the device indicates. Layouts: docs/protocol.md."""

from __future__ import annotations

import dataclasses
import enum
import struct

from wearsense.protocol.crc import crc16
from wearsense.protocol.errors import ProtocolError, Status
from wearsense.protocol.events import SEQ_MAX

ACK_FRAME_SIZE = 6
CHUNK_OVERHEAD = 6
CHUNK_MAX_FRAME = 512
RESPONSE_MAX_DATA = 16
TIME_SYNC_MIN_UTC = 1577836800  # 2020-01-01T00:00:00Z
FACTORY_RESET_MAGIC = 0x54455352
UPDATE_MAX_SIZE = 262144


class AckKind(enum.IntEnum):
    STORED = 1  # every event up to and including seq is durably stored
    RESEND_FROM = 2  # send again, starting at seq


class Opcode(enum.IntEnum):
    TIME_SYNC = 1
    START_RECORDING = 2
    SET_CONFIG = 3
    FACTORY_RESET = 4
    STRIP_GET = 5
    STRIP_RELEASE = 6
    UPDATE_BEGIN = 16
    UPDATE_QUERY = 17
    UPDATE_COMMIT = 18
    UPDATE_ABORT = 19


class ConfigKey(enum.IntEnum):
    FALL_CANCEL_S = 1
    SUMMARY_MIN = 2
    POSTURE = 3  # 1: calibrate the posture now (the wearer stands upright), 0: forget it


class Task(enum.IntEnum):
    AFIB = 0
    FALL = 1
    ACTIVITY = 2


_CONFIG_RANGE = {
    ConfigKey.FALL_CANCEL_S: (5, 300),
    ConfigKey.SUMMARY_MIN: (1, 1440),
    ConfigKey.POSTURE: (0, 1),
}


def _range(ok: bool, what: str) -> None:
    if not ok:
        raise ProtocolError(Status.RANGE, what)


@dataclasses.dataclass(frozen=True)
class Ack:
    kind: AckKind
    epoch: int
    seq: int

    def __post_init__(self) -> None:
        _range(0 <= self.epoch <= 0xFFFF, "epoch outside u16")
        _range(0 <= self.seq <= SEQ_MAX, "sequence outside u24")
        _range(self.kind != AckKind.RESEND_FROM or self.seq >= 1, "resend from sequence 0")

    def encode(self) -> bytes:
        return struct.pack("<BH", self.kind, self.epoch) + self.seq.to_bytes(3, "little")

    @classmethod
    def decode(cls, data: bytes) -> Ack:
        if len(data) != ACK_FRAME_SIZE:
            raise ProtocolError(Status.LENGTH, f"acknowledgement of {len(data)} bytes, expected 6")
        if data[0] not in (AckKind.STORED, AckKind.RESEND_FROM):
            raise ProtocolError(Status.TYPE, f"acknowledgement kind {data[0]}")
        (epoch,) = struct.unpack("<H", data[1:3])
        return cls(AckKind(data[0]), epoch, int.from_bytes(data[3:6], "little"))


@dataclasses.dataclass(frozen=True)
class Command:
    """A request on the command characteristic. ``args`` holds the opcode's fields:

    TIME_SYNC utc_s; START_RECORDING duration_s; SET_CONFIG key, value;
    FACTORY_RESET magic; STRIP_GET strip_id, offset; STRIP_RELEASE strip_id, image_crc32;
    UPDATE_BEGIN task, version, size, sha256 (32 bytes);
    UPDATE_QUERY / UPDATE_COMMIT / UPDATE_ABORT task.
    """

    opcode: Opcode
    token: int
    args: dict[str, object] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        _range(0 <= self.token <= 0xFF, "token outside u8")
        _check_command(self.opcode, self.args)

    def encode(self) -> bytes:
        return bytes([self.opcode, self.token]) + _pack_args(self.opcode, self.args)

    @classmethod
    def decode(cls, data: bytes) -> Command:
        if len(data) < 2:
            raise ProtocolError(Status.LENGTH, "command shorter than 2 bytes")
        if data[0] not in tuple(Opcode):
            raise ProtocolError(Status.TYPE, f"command opcode {data[0]}")
        opcode = Opcode(data[0])
        if len(data) != 2 + _ARGS_SIZE[opcode]:
            raise ProtocolError(Status.LENGTH, f"{opcode.name} of {len(data)} bytes")
        return cls(opcode, data[1], _unpack_args(opcode, data[2:]))


_ARGS_SIZE = {
    Opcode.TIME_SYNC: 4,
    Opcode.START_RECORDING: 1,
    Opcode.SET_CONFIG: 3,
    Opcode.FACTORY_RESET: 4,
    Opcode.STRIP_GET: 6,
    Opcode.STRIP_RELEASE: 6,
    Opcode.UPDATE_BEGIN: 39,
    Opcode.UPDATE_QUERY: 1,
    Opcode.UPDATE_COMMIT: 1,
    Opcode.UPDATE_ABORT: 1,
}


def _int(args: dict[str, object], name: str) -> int:
    value = args.get(name)
    if not isinstance(value, int):
        raise ProtocolError(Status.RANGE, f"argument {name!r} missing or not an integer")
    return value


def _check_command(opcode: Opcode, args: dict[str, object]) -> None:
    if opcode == Opcode.TIME_SYNC:
        _range(TIME_SYNC_MIN_UTC <= _int(args, "utc_s") <= 0xFFFFFFFF, "time before 2020")
    elif opcode == Opcode.START_RECORDING:
        _range(10 <= _int(args, "duration_s") <= 60, "recording duration outside 10..60 s")
    elif opcode == Opcode.SET_CONFIG:
        key, value = _int(args, "key"), _int(args, "value")
        _range(key in _CONFIG_RANGE, f"unknown configuration key {key}")
        low, high = _CONFIG_RANGE[ConfigKey(key)]
        _range(low <= value <= high, f"configuration value outside {low}..{high}")
    elif opcode == Opcode.FACTORY_RESET:
        _range(_int(args, "magic") == FACTORY_RESET_MAGIC, "factory reset without its magic")
    elif opcode == Opcode.STRIP_GET:
        _range(1 <= _int(args, "strip_id") <= 0xFFFF, "strip id outside 1..65535")
        _range(0 <= _int(args, "offset") <= 0xFFFFFFFF, "offset outside u32")
    elif opcode == Opcode.STRIP_RELEASE:
        _range(1 <= _int(args, "strip_id") <= 0xFFFF, "strip id outside 1..65535")
        _range(0 <= _int(args, "image_crc32") <= 0xFFFFFFFF, "image CRC-32 outside u32")
    elif opcode == Opcode.UPDATE_BEGIN:
        _range(_int(args, "task") in tuple(Task), "unknown task")
        _range(1 <= _int(args, "version") <= 0xFFFF, "model version outside 1..65535")
        _range(1 <= _int(args, "size") <= UPDATE_MAX_SIZE, "package size outside 1..256 KiB")
        sha = args.get("sha256")
        _range(isinstance(sha, bytes | bytearray) and len(sha) == 32, "sha256 must be 32 bytes")
    else:
        _range(_int(args, "task") in tuple(Task), "unknown task")


def _pack_args(opcode: Opcode, args: dict[str, object]) -> bytes:
    if opcode in (Opcode.TIME_SYNC,):
        return struct.pack("<I", _int(args, "utc_s"))
    if opcode == Opcode.START_RECORDING:
        return bytes([_int(args, "duration_s")])
    if opcode == Opcode.SET_CONFIG:
        return struct.pack("<BH", _int(args, "key"), _int(args, "value"))
    if opcode == Opcode.FACTORY_RESET:
        return struct.pack("<I", _int(args, "magic"))
    if opcode == Opcode.STRIP_GET:
        return struct.pack("<HI", _int(args, "strip_id"), _int(args, "offset"))
    if opcode == Opcode.STRIP_RELEASE:
        return struct.pack("<HI", _int(args, "strip_id"), _int(args, "image_crc32"))
    if opcode == Opcode.UPDATE_BEGIN:
        sha = args["sha256"]
        assert isinstance(sha, bytes | bytearray)
        head = struct.pack("<BHI", _int(args, "task"), _int(args, "version"), _int(args, "size"))
        return head + bytes(sha)
    return bytes([_int(args, "task")])


def _unpack_args(opcode: Opcode, raw: bytes) -> dict[str, object]:
    if opcode == Opcode.TIME_SYNC:
        return {"utc_s": struct.unpack("<I", raw)[0]}
    if opcode == Opcode.START_RECORDING:
        return {"duration_s": raw[0]}
    if opcode == Opcode.SET_CONFIG:
        key, value = struct.unpack("<BH", raw)
        return {"key": key, "value": value}
    if opcode == Opcode.FACTORY_RESET:
        return {"magic": struct.unpack("<I", raw)[0]}
    if opcode == Opcode.STRIP_GET:
        strip_id, offset = struct.unpack("<HI", raw)
        return {"strip_id": strip_id, "offset": offset}
    if opcode == Opcode.STRIP_RELEASE:
        strip_id, crc = struct.unpack("<HI", raw)
        return {"strip_id": strip_id, "image_crc32": crc}
    if opcode == Opcode.UPDATE_BEGIN:
        task, version, size = struct.unpack("<BHI", raw[:7])
        return {"task": task, "version": version, "size": size, "sha256": bytes(raw[7:])}
    return {"task": raw[0]}


@dataclasses.dataclass(frozen=True)
class Response:
    """The device's answer to a command, indicated on the command characteristic."""

    opcode: Opcode
    token: int
    status: int
    data: bytes = b""

    def __post_init__(self) -> None:
        _range(0 <= self.token <= 0xFF and 0 <= self.status <= 0xFF, "token/status outside u8")
        if len(self.data) > RESPONSE_MAX_DATA:
            raise ProtocolError(Status.LENGTH, "response data longer than 16 bytes")

    def encode(self) -> bytes:
        return bytes([0x80 | self.opcode, self.token, self.status]) + self.data

    @classmethod
    def decode(cls, data: bytes) -> Response:
        if not 3 <= len(data) <= 3 + RESPONSE_MAX_DATA:
            raise ProtocolError(Status.LENGTH, f"response of {len(data)} bytes")
        if not data[0] & 0x80 or (data[0] & 0x7F) not in tuple(Opcode):
            raise ProtocolError(Status.TYPE, f"response opcode {data[0]:#04x}")
        return cls(Opcode(data[0] & 0x7F), data[1], data[2], bytes(data[3:]))


@dataclasses.dataclass(frozen=True)
class Chunk:
    """One model-transfer write: the package bytes at ``offset``."""

    offset: int
    data: bytes

    def __post_init__(self) -> None:
        _range(0 <= self.offset <= 0xFFFFFFFF, "offset outside u32")
        if not 1 <= len(self.data) <= CHUNK_MAX_FRAME - CHUNK_OVERHEAD:
            raise ProtocolError(Status.LENGTH, f"chunk of {len(self.data)} data bytes")

    def encode(self) -> bytes:
        body = struct.pack("<I", self.offset) + self.data
        return body + struct.pack("<H", crc16(body))

    @classmethod
    def decode(cls, data: bytes) -> Chunk:
        if not CHUNK_OVERHEAD + 1 <= len(data) <= CHUNK_MAX_FRAME:
            raise ProtocolError(Status.LENGTH, f"chunk frame of {len(data)} bytes")
        if crc16(data[:-2]) != struct.unpack("<H", data[-2:])[0]:
            raise ProtocolError(Status.CRC, "chunk CRC-16 does not match")
        return cls(struct.unpack("<I", data[:4])[0], bytes(data[4:-2]))


STRIP_FRAME_OVERHEAD = 8  # strip_id u16, offset u32, CRC-16 u16
STRIP_FRAME_MAX = 512


@dataclasses.dataclass(frozen=True)
class StripFrame:
    """One Strip transfer notification: ``data`` of strip ``strip_id``'s image at
    ``offset`` (docs/protocol.md, "Strip transfer")."""

    strip_id: int
    offset: int
    data: bytes

    def __post_init__(self) -> None:
        _range(1 <= self.strip_id <= 0xFFFF, "strip id outside 1..65535")
        _range(0 <= self.offset <= 0xFFFFFFFF, "offset outside u32")
        if not 1 <= len(self.data) <= STRIP_FRAME_MAX - STRIP_FRAME_OVERHEAD:
            raise ProtocolError(Status.LENGTH, f"strip frame of {len(self.data)} data bytes")

    def encode(self) -> bytes:
        body = struct.pack("<HI", self.strip_id, self.offset) + self.data
        return body + struct.pack("<H", crc16(body))

    @classmethod
    def decode(cls, data: bytes) -> StripFrame:
        data = bytes(data)
        if not STRIP_FRAME_OVERHEAD + 1 <= len(data) <= STRIP_FRAME_MAX:
            raise ProtocolError(Status.LENGTH, f"strip frame of {len(data)} bytes")
        if crc16(data[:-2]) != struct.unpack("<H", data[-2:])[0]:
            raise ProtocolError(Status.CRC, "strip frame CRC-16 does not match")
        strip_id, offset = struct.unpack("<HI", data[:6])
        return cls(strip_id, offset, data[6:-2])


STATUS_RECORD_SIZE = 17


@dataclasses.dataclass(frozen=True)
class StatusRecord:
    """The Status characteristic's value (docs/protocol.md section 8)."""

    battery_pct: int
    epoch: int
    last_seq: int
    acked_seq: int
    queue_free: int
    device_time_s: int
    flags: int

    def __post_init__(self) -> None:
        _range(0 <= self.battery_pct <= 100, "battery outside 0..100 %")
        _range(0 <= self.epoch <= 0xFFFF and 0 <= self.queue_free <= 0xFFFF, "field outside u16")
        _range(0 <= self.acked_seq <= self.last_seq <= SEQ_MAX, "need acked <= last <= 2^24-1")
        _range(0 <= self.device_time_s <= 0xFFFFFFFF, "device time outside u32")
        _range(0 <= self.flags <= 0x07, "unknown status flag bits")

    def encode(self) -> bytes:
        return (
            struct.pack("<BBH", 1, self.battery_pct, self.epoch)
            + self.last_seq.to_bytes(3, "little")
            + self.acked_seq.to_bytes(3, "little")
            + struct.pack("<HIB", self.queue_free, self.device_time_s, self.flags)
        )

    @classmethod
    def decode(cls, data: bytes) -> StatusRecord:
        if len(data) != STATUS_RECORD_SIZE:
            raise ProtocolError(Status.LENGTH, f"status record of {len(data)} bytes, expected 17")
        if data[0] != 1:
            raise ProtocolError(Status.VERSION, f"status record version {data[0]}")
        _, battery, epoch = struct.unpack("<BBH", data[:4])
        queue_free, device_time, flags = struct.unpack("<HIB", data[10:17])
        return cls(
            battery,
            epoch,
            int.from_bytes(data[4:7], "little"),
            int.from_bytes(data[7:10], "little"),
            queue_free,
            device_time,
            flags,
        )
