"""The model package format, version 1 (docs/model-package.md): the layout the
firmware's ``updates/pkg.c`` reads, byte for byte. ``build`` lays a package out (unsigned),
``parse`` checks its header exactly as the firmware's ``ws_pkg_parse_header`` does (step
1, bounds) and raises :class:`~wearsense.protocol.errors.PackageError` with the
firmware's status. Signing, verification and what the C interpreter says of the model
are ``wearsense.updates.package``.

A package is ``header (128 B) | model .tflite | zero padding to 16 | self-test (32 B) |
Ed25519 signature (64 B)``; the signature covers every byte before it.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import math
import struct
from collections.abc import Sequence

from wearsense.protocol.errors import PackageError, Status
from wearsense.protocol.events import ActivityClass, FallClass, RhythmClass

MAGIC = b"WSPK"
KEY_ID_SIZE = 8  # the first 8 bytes of the SHA-256 of the Ed25519 public key
FORMAT_VERSION = 1
HEADER_SIZE = 128
SELFTEST_SIZE = 32
SIGNATURE_SIZE = 64
ALIGN = 16
MAX_SIZE = 262144  # the largest UPDATE_BEGIN size (protocol §6)
MAX_OUTPUTS = 16
MAX_CHANNELS = 16
MAX_SAMPLE_RATE_HZ = 10000
FLAG_DEV_KEY = 0x01
DTYPE_INT8 = 1
PRNG_XORSHIFT32 = 1

HEADER = struct.Struct("<4sBBBBHH5I32s8sHHBBbBf4sBBbBf16s16s")
SELFTEST = struct.Struct("<IBBH16s8s")
assert HEADER.size == HEADER_SIZE and SELFTEST.size == SELFTEST_SIZE


class Task(enum.IntEnum):
    """Model slots (protocol §3)."""

    AFIB = 0
    FALL = 1
    ACTIVITY = 2


class Placement(enum.IntEnum):
    """Where on the body the model's signals were recorded."""

    CHEST = 0
    WAIST = 1
    WRIST = 2
    THIGH = 3
    ANKLE = 4


CLASS_ENUMS: dict[Task, type[enum.IntEnum]] = {
    Task.AFIB: RhythmClass,
    Task.FALL: FallClass,
    Task.ACTIVITY: ActivityClass,
}


def class_code(task: Task, name: str) -> int:
    """A class name (``af``, ``walk``, ...) or number → the protocol's code for the task."""
    codes = CLASS_ENUMS[task]
    if name.isdigit():
        return int(name)
    try:
        return int(codes[name.upper()])
    except KeyError:
        known = ", ".join(m.name.lower() for m in codes)
        raise PackageError(
            Status.PKG_CLASSES, f"{name!r} is no {task.name.lower()} class ({known})"
        ) from None


def class_map_ok(task: int, codes: Sequence[int]) -> bool:
    """Each code is one of the task's protocol codes (§3), none repeated."""
    if task not in tuple(Task):
        return False
    allowed = {int(m) for m in CLASS_ENUMS[Task(task)]}
    return len(set(codes)) == len(codes) and all(c in allowed for c in codes)


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """The int8 input tensor: ``window_samples`` × ``channels`` values sampled at
    ``sample_rate_hz``, quantized as real = scale × (q − zero_point)."""

    sample_rate_hz: int
    window_samples: int
    channels: int
    scale: float
    zero_point: int

    @property
    def elements(self) -> int:
        return self.window_samples * self.channels


@dataclasses.dataclass(frozen=True)
class OutputSpec:
    """Output i of the model is the class with protocol code ``class_codes[i]``."""

    class_codes: tuple[int, ...]
    scale: float
    zero_point: int


@dataclasses.dataclass(frozen=True)
class SelfTest:
    """Input from xorshift32(seed); ``expected`` is the exact int8 output."""

    seed: int
    expected: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class PackageHeader:
    task: int
    placement: int
    model_version: int
    flags: int
    model_size: int
    model_sha256: bytes
    key_id: bytes
    input: InputSpec
    output: OutputSpec
    selftest: SelfTest

    @property
    def dev_key(self) -> bool:
        return bool(self.flags & FLAG_DEV_KEY)

    @property
    def selftest_offset(self) -> int:
        return _align(HEADER_SIZE + self.model_size)

    @property
    def signed_size(self) -> int:
        return self.selftest_offset + SELFTEST_SIZE


@dataclasses.dataclass(frozen=True)
class ModelPackage:
    header: PackageHeader
    raw: bytes

    @property
    def model(self) -> bytes:
        return self.raw[HEADER_SIZE : HEADER_SIZE + self.header.model_size]

    @property
    def signed_part(self) -> bytes:
        return self.raw[: self.header.signed_size]

    @property
    def signature(self) -> bytes:
        return self.raw[self.header.signed_size :]

    @property
    def is_signed(self) -> bool:
        return any(self.signature)


@dataclasses.dataclass(frozen=True)
class Expectation:
    """What a device accepts for the slot being updated."""

    task: int
    placement: int
    installed_version: int = 0


def _align(value: int) -> int:
    return (value + ALIGN - 1) // ALIGN * ALIGN


def _scale_ok(scale: float) -> bool:
    bits = struct.unpack("<I", struct.pack("<f", scale))[0]
    exponent = (bits >> 23) & 0xFF
    return bits >> 31 == 0 and exponent not in (0, 0xFF)


def selftest_input(seed: int, count: int) -> bytes:
    """The self-test input the device generates: xorshift32 (13, 17, 5) from ``seed``;
    element i is the top byte of the state after step i + 1 (int8, two's complement)."""
    x = seed & 0xFFFFFFFF
    out = bytearray(count)
    for i in range(count):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out[i] = x >> 24
    return bytes(out)


def build(
    model: bytes,
    *,
    task: int,
    placement: int,
    model_version: int,
    input_spec: InputSpec,
    output_spec: OutputSpec,
    selftest: SelfTest,
) -> bytes:
    """An unsigned package (key id, DEV flag and signature zero); ``sign`` completes it.
    Raises PackageError for anything the device would refuse in step 1 or 4."""
    count = len(output_spec.class_codes)
    if not 1 <= len(model) <= MAX_SIZE:
        raise PackageError(Status.PKG_BOUNDS, f"model of {len(model)} bytes (1..{MAX_SIZE})")
    if task not in tuple(Task) or placement not in tuple(Placement):
        raise PackageError(Status.PKG_BOUNDS, f"unknown task {task} or placement {placement}")
    if not 1 <= model_version <= 0xFFFF:
        raise PackageError(Status.PKG_BOUNDS, f"model version {model_version} outside 1..65535")
    if not 1 <= count <= MAX_OUTPUTS:
        raise PackageError(Status.PKG_BOUNDS, f"{count} outputs (1..{MAX_OUTPUTS})")
    if not class_map_ok(task, output_spec.class_codes):
        raise PackageError(
            Status.PKG_CLASSES, f"class codes {output_spec.class_codes} invalid for task {task}"
        )
    if len(selftest.expected) != count or not all(-128 <= v <= 127 for v in selftest.expected):
        raise PackageError(
            Status.PKG_BOUNDS, f"self-test needs exactly {count} int8 expected outputs"
        )
    if not 1 <= selftest.seed <= 0xFFFFFFFF:
        raise PackageError(Status.PKG_BOUNDS, "self-test seed must be in 1..2^32-1")
    spec = input_spec
    if not (
        1 <= spec.sample_rate_hz <= MAX_SAMPLE_RATE_HZ
        and 1 <= spec.window_samples <= 0xFFFF
        and 1 <= spec.channels <= MAX_CHANNELS
        and -128 <= spec.zero_point <= 127
        and -128 <= output_spec.zero_point <= 127
        and math.isfinite(spec.scale)
        and _scale_ok(spec.scale)
        and _scale_ok(output_spec.scale)
    ):
        raise PackageError(Status.PKG_BOUNDS, "input or output specification out of range")
    selftest_offset = _align(HEADER_SIZE + len(model))
    size = selftest_offset + SELFTEST_SIZE + SIGNATURE_SIZE
    if size > MAX_SIZE:
        raise PackageError(Status.PKG_BOUNDS, f"package of {size} bytes exceeds {MAX_SIZE}")
    header = HEADER.pack(
        MAGIC,
        FORMAT_VERSION,
        task,
        placement,
        0,
        model_version,
        HEADER_SIZE,
        HEADER_SIZE,
        len(model),
        selftest_offset,
        SELFTEST_SIZE,
        selftest_offset + SELFTEST_SIZE,
        hashlib.sha256(model).digest(),
        bytes(KEY_ID_SIZE),
        spec.sample_rate_hz,
        spec.window_samples,
        spec.channels,
        DTYPE_INT8,
        spec.zero_point,
        0,
        spec.scale,
        bytes(4),
        count,
        DTYPE_INT8,
        output_spec.zero_point,
        0,
        output_spec.scale,
        bytes(output_spec.class_codes).ljust(MAX_OUTPUTS, b"\x00"),
        bytes(16),
    )
    expected = bytes(v & 0xFF for v in selftest.expected).ljust(MAX_OUTPUTS, b"\x00")
    section = SELFTEST.pack(selftest.seed, PRNG_XORSHIFT32, count, 0, expected, bytes(8))
    padding = bytes(selftest_offset - HEADER_SIZE - len(model))
    return header + model + padding + section + bytes(SIGNATURE_SIZE)


def _bounds(ok: bool, reason: str) -> None:
    if not ok:
        raise PackageError(Status.PKG_BOUNDS, reason)


def parse(data: bytes) -> ModelPackage:
    """Step 1, header bounds, in the firmware's order; raises PackageError."""
    data = bytes(data)
    _bounds(len(data) >= HEADER_SIZE, f"{len(data)} bytes, shorter than the header")
    fields = HEADER.unpack_from(data)
    (magic, fmt, task, placement, flags, version, header_size) = fields[:7]
    (model_offset, model_size, selftest_offset, selftest_size, signed_size) = fields[7:12]
    (sha, key_id, rate, window, channels, in_dtype, in_zero, in_res, in_scale) = fields[12:21]
    (res_a, count, out_dtype, out_zero, out_res, out_scale, codes, res_b) = fields[21:]
    if magic != MAGIC or fmt != FORMAT_VERSION:
        raise PackageError(Status.PKG_FORMAT, f"not a WearSense package v{FORMAT_VERSION}")
    _bounds(
        header_size == HEADER_SIZE and model_offset == HEADER_SIZE and 1 <= model_size <= MAX_SIZE,
        "header size, model offset or model size wrong",
    )
    model_end = HEADER_SIZE + model_size
    _bounds(
        selftest_offset == _align(model_end)
        and selftest_size == SELFTEST_SIZE
        and signed_size == selftest_offset + SELFTEST_SIZE
        and signed_size + SIGNATURE_SIZE == len(data)
        and len(data) <= MAX_SIZE,
        f"sizes do not add up to the package length {len(data)} (truncated or padded?)",
    )
    seed, prng, st_count, st_res, expected, st_res_b = SELFTEST.unpack_from(data, selftest_offset)
    _bounds(
        task in tuple(Task)
        and placement in tuple(Placement)
        and flags & ~FLAG_DEV_KEY == 0
        and version >= 1
        and 1 <= rate <= MAX_SAMPLE_RATE_HZ
        and window >= 1
        and 1 <= channels <= MAX_CHANNELS
        and in_dtype == DTYPE_INT8
        and in_res == 0
        and _scale_ok(in_scale)
        and not any(res_a)
        and 1 <= count <= MAX_OUTPUTS
        and out_dtype == DTYPE_INT8
        and out_res == 0
        and _scale_ok(out_scale)
        and not any(res_b),
        "a header field is outside its range or a reserved byte is not zero",
    )
    _bounds(
        not any(codes[count:]) and not any(expected[count:]),
        "class codes or expected outputs beyond the output count are not zero",
    )
    _bounds(
        not any(data[model_end:selftest_offset])
        and seed != 0
        and prng == PRNG_XORSHIFT32
        and st_count == count
        and st_res == 0
        and not any(st_res_b),
        "padding or self-test section malformed",
    )
    header = PackageHeader(
        task=task,
        placement=placement,
        model_version=version,
        flags=flags,
        model_size=model_size,
        model_sha256=sha,
        key_id=key_id,
        input=InputSpec(rate, window, channels, in_scale, in_zero),
        output=OutputSpec(tuple(codes[:count]), out_scale, out_zero),
        selftest=SelfTest(seed, tuple(b - 256 if b > 127 else b for b in expected[:count])),
    )
    return ModelPackage(header, data)
