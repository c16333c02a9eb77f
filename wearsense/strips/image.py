"""TEMPORARY: replaced by helper A's module at merge.

The strip image (docs/protocol.md, "Strip image"): a 44-byte little-endian header and a
payload of self-delimiting blocks. This stand-in frames each block verbatim (u16 total
length, u16 n, n raw int16 LE samples) so the companion side can be built and tested
before the codec lands; the header layout, names and errors are the shared contract's.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import struct
import zlib

import numpy as np
import numpy.typing as npt

from wearsense.protocol.crc import crc16

MAGIC = b"WSTR"
FORMAT_VERSION = 1
HEADER = struct.Struct("<4sBBHHIHHfiIIIIH")
HEADER_SIZE = HEADER.size  # 44
BLOCK_SAMPLES = 256


class StripReason(enum.IntEnum):
    AF_ONSET = 1
    RECORDING = 2
    FALL = 3  # reserved


class StripFormatError(ValueError):
    """A strip image (or one of its blocks) that is malformed: bad magic, version,
    length, CRC, field out of range, or blocks that do not add up to ``n_samples``."""


@dataclasses.dataclass(frozen=True)
class StripImage:
    reason: int
    strip_id: int
    epoch: int
    start_time_s: int
    start_ms: int
    fs_hz: int
    adc_gain: float
    adc_zero: int
    n_samples: int
    event_seq: int
    payload_len: int
    payload_crc32: int
    samples: npt.NDArray[np.int16]
    version: int = FORMAT_VERSION


def _blocks(samples: npt.NDArray[np.int16]) -> bytes:
    out = bytearray()
    for i in range(0, len(samples), BLOCK_SAMPLES):
        part = samples[i : i + BLOCK_SAMPLES].astype("<i2").tobytes()
        out += struct.pack("<HH", 4 + len(part), len(part) // 2) + part
    return bytes(out)


def _decode_payload(buf: bytes) -> npt.NDArray[np.int16]:
    parts = []
    pos = 0
    while pos < len(buf):
        if len(buf) - pos < 4:
            raise StripFormatError(f"truncated block header at payload offset {pos}")
        total, n = struct.unpack_from("<HH", buf, pos)
        if not 1 <= n <= BLOCK_SAMPLES or total != 4 + 2 * n or pos + total > len(buf):
            raise StripFormatError(f"bad block at payload offset {pos} (length {total}, n {n})")
        parts.append(np.frombuffer(buf, dtype="<i2", count=n, offset=pos + 4))
        pos += total
    if not parts:
        return np.zeros(0, dtype=np.int16)
    return np.concatenate(parts).astype(np.int16)


def build_image(
    *,
    reason: int,
    strip_id: int,
    epoch: int,
    start_time_s: int,
    start_ms: int,
    fs_hz: int,
    adc_gain: float,
    adc_zero: int,
    event_seq: int,
    samples: npt.ArrayLike,
) -> bytes:
    """The image of ``samples`` (int16 ADC counts) with these header fields."""
    x = np.asarray(samples)
    if x.ndim != 1 or len(x) == 0 or np.any(x < -32768) or np.any(x > 32767):
        raise StripFormatError("samples must be a non-empty 1-D array of int16 values")
    payload = _blocks(x.astype(np.int16))
    head = HEADER.pack(
        MAGIC, FORMAT_VERSION, reason, strip_id, epoch, start_time_s, start_ms, fs_hz,
        adc_gain, adc_zero, len(x), event_seq, len(payload), zlib.crc32(payload), 0,
    )  # fmt: skip
    head = head[:-2] + struct.pack("<H", crc16(head[:-2]))
    return head + payload


def parse_image(data: bytes) -> StripImage:
    """The strip in ``data``; StripFormatError for anything malformed."""
    data = bytes(data)
    if len(data) < HEADER_SIZE:
        raise StripFormatError(f"a strip image has at least {HEADER_SIZE} bytes, got {len(data)}")
    (magic, version, reason, strip_id, epoch, start_s, start_ms, fs, gain, zero, n, seq,
     plen, pcrc, hcrc) = HEADER.unpack_from(data)  # fmt: skip
    if magic != MAGIC:
        raise StripFormatError("not a strip image (magic is not WSTR)")
    if crc16(data[: HEADER_SIZE - 2]) != hcrc:
        raise StripFormatError("header CRC mismatch")
    if version != FORMAT_VERSION:
        raise StripFormatError(f"strip format version {version} (this companion reads 1)")
    if reason not in tuple(StripReason):
        raise StripFormatError(f"unknown strip reason {reason}")
    if strip_id == 0 or start_ms > 999 or fs == 0 or not math.isfinite(gain) or gain <= 0:
        raise StripFormatError("header field out of range (strip_id, start_ms, fs or gain)")
    if len(data) != HEADER_SIZE + plen:
        raise StripFormatError(f"payload is {len(data) - HEADER_SIZE} bytes, header says {plen}")
    payload = data[HEADER_SIZE:]
    if zlib.crc32(payload) != pcrc:
        raise StripFormatError("payload CRC mismatch")
    samples = _decode_payload(payload)
    if len(samples) != n:
        raise StripFormatError(f"blocks hold {len(samples)} samples, header says {n}")
    return StripImage(
        reason, strip_id, epoch, start_s, start_ms, fs, float(gain), zero, n, seq, plen, pcrc,
        samples, version,
    )  # fmt: skip
