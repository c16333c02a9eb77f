"""The strip block codec (docs/strips.md, "Codec").

``decode_block`` / ``decode_payload``: the reference decoder in Python, written from the
format description (not from firmware/src/strips/codec.c), so that a round trip through
the C encoder and this decoder checks both against the document. ``encode_block``: the
firmware's C encoder through the host binding (``wearsense.firmware``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from wearsense import firmware

BLOCK_SAMPLES = 512
HEADER_BYTES = 3  # length, method: a full block
SHORT_HEADER_BYTES = 5  # length, method, count: a block of fewer samples
BLOCK_MAX_BYTES = HEADER_BYTES + 2 * BLOCK_SAMPLES
METHOD_SHORT = 0x80  # method bit: a u16 sample count follows
PRED_VERBATIM = 7  # predictor field of a verbatim block
METHOD_VERBATIM = PRED_VERBATIM << 4  # method byte of a full verbatim block
SHIFT = 3  # the running mean holds 2^SHIFT times the mean residual
CODE_BITS = 16  # longest Rice code word; longer ones are escaped
# x^[i] = (c1 x[i-1] + c2 x[i-2] + c3 x[i-3] + 2) >> 2, and how far each reaches back
PREDICTORS: tuple[tuple[int, int, int], ...] = (
    (0, 0, 0),
    (4, 0, 0),
    (8, -4, 0),
    (12, -12, 4),
    (7, -3, 0),
    (6, -2, 0),
    (11, -10, 3),
)
TAPS = (0, 1, 2, 3, 2, 2, 3)


class StripFormatError(ValueError):
    """A strip block or image that is not well formed."""


def _signed16(v: int) -> int:
    return v - 0x10000 if v & 0x8000 else v


def decode_block(buf: bytes, offset: int = 0) -> tuple[npt.NDArray[np.int16], int]:
    """The samples of the block at ``buf[offset:]`` and the offset just past it."""
    data = memoryview(buf)
    if offset < 0 or len(data) - offset < HEADER_BYTES:
        raise StripFormatError(f"block at {offset}: fewer than {HEADER_BYTES} header bytes")
    blen = data[offset] | data[offset + 1] << 8
    method = data[offset + 2]
    if method & METHOD_SHORT:
        if len(data) - offset < SHORT_HEADER_BYTES:
            raise StripFormatError(
                f"block at {offset}: fewer than {SHORT_HEADER_BYTES} header bytes"
            )
        head = SHORT_HEADER_BYTES
        count = data[offset + 3] | data[offset + 4] << 8
        if not 1 <= count < BLOCK_SAMPLES:
            raise StripFormatError(f"block at {offset}: sample count {count} out of range")
    else:
        head, count = HEADER_BYTES, BLOCK_SAMPLES
    if not head <= blen <= BLOCK_MAX_BYTES:
        raise StripFormatError(f"block at {offset}: length {blen} out of range")
    if offset + blen > len(data):
        raise StripFormatError(
            f"block at {offset}: {blen} bytes announced, {len(data) - offset} present"
        )
    body = bytes(data[offset + head : offset + blen])
    pred, k = (method >> 4) & 7, method & 0x0F
    if pred == PRED_VERBATIM:
        if k != 0 or len(body) != 2 * count:
            raise StripFormatError(f"block at {offset}: malformed verbatim block")
        return np.frombuffer(body, dtype="<i2").astype(np.int16), offset + blen
    try:
        samples = _decode_bits(body, count, pred, k)
    except StripFormatError as exc:
        raise StripFormatError(f"block at {offset}: {exc}") from None
    return np.array(samples, dtype=np.int16), offset + blen


def _decode_bits(body: bytes, count: int, pred: int, k: int) -> list[int]:
    nbits = 8 * len(body)
    bits = int.from_bytes(body, "big")
    pos = 0

    def read(width: int) -> int:
        nonlocal pos
        if pos + width > nbits:
            raise StripFormatError("bit stream ends inside a sample")
        value = (bits >> (nbits - pos - width)) & ((1 << width) - 1)
        pos += width
        return value

    out = [_signed16(read(16))]
    s = (1 << k) << SHIFT
    for i in range(1, count):
        c1, c2, c3 = PREDICTORS[i if i < TAPS[pred] else pred]
        x1 = out[i - 1]
        x2 = out[i - 2] if i >= 2 else 0
        x3 = out[i - 3] if i >= 3 else 0
        estimate = (c1 * x1 + c2 * x2 + c3 * x3 + 2) >> 2
        zeros = CODE_BITS - k if k < CODE_BITS else 0
        avail = min(zeros, nbits - pos)
        window = (bits >> (nbits - pos - avail)) & ((1 << avail) - 1) if avail else 0
        if window == 0:
            if avail < zeros:
                raise StripFormatError("bit stream ends inside a sample")
            pos += zeros
            x = _signed16(read(16))
            e = x - estimate
            u = 2 * e if e >= 0 else -2 * e - 1
            if (u >> k) + k + 1 <= CODE_BITS:
                raise StripFormatError(f"sample {i}: escape of a residual the code reaches")
        else:
            q = avail - window.bit_length()
            pos += q + 1
            u = (q << k) | read(k)
            x = estimate + ((u >> 1) ^ -(u & 1))
            if not -32768 <= x <= 32767:
                raise StripFormatError(f"sample {i}: {x} outside int16")
        out.append(x)
        s += u - (s >> SHIFT)
        k = (s | (1 << SHIFT)).bit_length() - 1 - SHIFT
    if (pos + 7) // 8 != len(body):
        raise StripFormatError(f"{len(body)} data bytes, the samples take {(pos + 7) // 8}")
    if bits & ((1 << (nbits - pos)) - 1):
        raise StripFormatError("nonzero padding bits")
    return out


def decode_payload(buf: bytes) -> npt.NDArray[np.int16]:
    """Every block of ``buf`` (blocks back to back, nothing else), samples concatenated."""
    parts: list[npt.NDArray[np.int16]] = []
    offset = 0
    while offset < len(buf):
        samples, offset = decode_block(buf, offset)
        parts.append(samples)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)


def encode_block(samples: npt.ArrayLike) -> bytes:
    """One block of 1..512 int16 samples, by the firmware's C encoder."""
    x = np.ascontiguousarray(samples, dtype=np.int16)
    if not 1 <= len(x) <= BLOCK_SAMPLES:
        raise ValueError(f"a block holds 1..{BLOCK_SAMPLES} samples, got {len(x)}")
    ffi, lib = firmware.ffi(), firmware.lib()
    out = ffi.new(f"uint8_t[{BLOCK_MAX_BYTES}]")
    length = ffi.new("size_t *")
    src = ffi.from_buffer("int16_t[]", x)
    status = lib.ws_strip_encode_block(src, len(x), out, BLOCK_MAX_BYTES, length)
    if status != 0:
        raise RuntimeError(f"ws_strip_encode_block failed with status {status}")
    return bytes(ffi.buffer(out, length[0]))


def encode_samples(samples: npt.ArrayLike) -> bytes:
    """A whole signal as consecutive blocks of 512 samples (the last one shorter)."""
    x = np.ascontiguousarray(samples, dtype=np.int16)
    return b"".join(encode_block(x[i : i + BLOCK_SAMPLES]) for i in range(0, len(x), BLOCK_SAMPLES))
