"""The strip image: the bytes a strip is stored as in the device's flash, sent over the
air and kept by the companion (docs/strips.md, "Strip image"). Little-endian; a 44-byte
header then the codec's blocks back to back.

``parse_image`` checks everything (magic, version, reason, ranges, the header CRC-16, the
payload length and CRC-32, every block, the sample count) and raises
``StripFormatError`` on the first fault. ``build_image`` makes an image on the host with
the firmware's C block encoder (tests, tools, the companion's development images).
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from wearsense.protocol import crc16
from wearsense.strips.codec import StripFormatError, decode_payload, encode_samples

MAGIC = b"WSTR"
VERSION = 1
HEADER_SIZE = 44
REASON_AF_ONSET = 1
REASON_RECORDING = 2
REASON_FALL = 3  # reserved: defined by the format, not made by the firmware yet
REASONS = {REASON_AF_ONSET: "af_onset", REASON_RECORDING: "recording", REASON_FALL: "fall"}
# magic, version, reason, strip_id, epoch, start_time_s, start_ms, fs_hz, adc_gain,
# adc_zero, n_samples, event_seq, payload_len, payload_crc32 (header_crc16 follows)
_HEAD = struct.Struct("<4sBBHHIHHfiIIII")
assert _HEAD.size == HEADER_SIZE - 2


@dataclass(frozen=True)
class StripImage:
    """A parsed strip: the header's fields and the decoded int16 samples (ADC counts;
    mV = (count - adc_zero) / adc_gain)."""

    version: int
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
    header_crc16: int
    image_crc32: int  # zlib.crc32 of the whole image, as STRIP_GET reports it
    samples: npt.NDArray[np.int16] = field(repr=False)

    @property
    def reason_name(self) -> str:
        return REASONS[self.reason]

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs_hz

    def millivolts(self) -> npt.NDArray[np.float64]:
        return (self.samples.astype(np.float64) - self.adc_zero) / self.adc_gain


def parse_image(data: bytes) -> StripImage:
    """The strip in ``data`` (exactly one image, nothing after it)."""
    data = bytes(data)
    if len(data) < HEADER_SIZE:
        raise StripFormatError(f"strip image of {len(data)} bytes, the header alone is 44")
    fields = _HEAD.unpack_from(data)
    (magic, version, reason, strip_id, epoch, start_s, start_ms, fs_hz, gain, zero, n,
     event_seq, payload_len, payload_crc) = fields  # fmt: skip
    if magic != MAGIC:
        raise StripFormatError(f"not a strip image (magic {magic!r})")
    if version != VERSION:
        raise StripFormatError(f"strip image version {version}, this reader knows {VERSION}")
    stored_crc16 = int.from_bytes(data[42:44], "little")
    if crc16(data[:42]) != stored_crc16:
        raise StripFormatError("header CRC-16 does not match")
    if reason not in REASONS:
        raise StripFormatError(f"unknown reason {reason}")
    if strip_id == 0:
        raise StripFormatError("strip id 0 is invalid")
    if start_ms > 999:
        raise StripFormatError(f"start_ms {start_ms} out of range 0..999")
    if fs_hz == 0:
        raise StripFormatError("sample rate 0")
    if not (math.isfinite(gain) and gain > 0):
        raise StripFormatError(f"ADC gain {gain} is not a positive number")
    if payload_len != len(data) - HEADER_SIZE:
        raise StripFormatError(
            f"payload length {payload_len}, the image holds {len(data) - HEADER_SIZE} bytes"
        )
    payload = data[HEADER_SIZE:]
    if zlib.crc32(payload) != payload_crc:
        raise StripFormatError("payload CRC-32 does not match")
    samples = decode_payload(payload)
    if len(samples) != n:
        raise StripFormatError(f"header says {n} samples, the blocks hold {len(samples)}")
    return StripImage(
        version=version, reason=reason, strip_id=strip_id, epoch=epoch, start_time_s=start_s,
        start_ms=start_ms, fs_hz=fs_hz, adc_gain=gain, adc_zero=zero, n_samples=n,
        event_seq=event_seq, payload_len=payload_len, payload_crc32=payload_crc,
        header_crc16=stored_crc16, image_crc32=zlib.crc32(data), samples=samples,
    )  # fmt: skip


def build_image(
    samples: npt.ArrayLike,
    *,
    strip_id: int,
    reason: int = REASON_AF_ONSET,
    epoch: int = 1,
    start_time_s: int = 0,
    start_ms: int = 0,
    fs_hz: int = 300,
    adc_gain: float = 1000.0,
    adc_zero: int = 0,
    event_seq: int = 0,
) -> bytes:
    """An image of ``samples`` (int16 ADC counts) with the C block encoder."""
    x = np.ascontiguousarray(samples, dtype=np.int16)
    payload = encode_samples(x)
    head = _HEAD.pack(
        MAGIC, VERSION, reason, strip_id, epoch, start_time_s, start_ms, fs_hz, adc_gain,
        adc_zero, len(x), event_seq, len(payload), zlib.crc32(payload),
    )  # fmt: skip
    return head + crc16(head).to_bytes(2, "little") + payload
