"""Bit-exact round trip of the strip codec on real recordings: every CinC 2017 test-split
record and every shared MIT-BIH record (both leads), encoded by the C encoder in blocks of
512 and decoded by the C decoder, all of them; the Python reference decoder decodes a
subset (every 20th CinC test record, 60 s of each MIT-BIH lead), which keeps the test
within a few seconds (it decodes some 0.3 M samples a second). Skipped without the shared
data root."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wearsense import firmware
from wearsense.datasets import DatasetError, cinc2017, data_root, mitdb
from wearsense.datasets.splits import load_split
from wearsense.strips import BLOCK_MAX_BYTES, BLOCK_SAMPLES, decode_payload

ROOT: Path | None
try:
    ROOT = data_root()
except DatasetError:
    ROOT = None

needs_data = pytest.mark.skipif(ROOT is None, reason="shared data root not present")


def c_round_trip(x: np.ndarray) -> bytes:
    """The C encoder then the C decoder over a whole signal; the payload."""
    ffi, lib = firmware.ffi(), firmware.lib()
    x = np.ascontiguousarray(x, dtype=np.int16)
    src = ffi.from_buffer("int16_t[]", x)
    block = ffi.new(f"uint8_t[{BLOCK_MAX_BYTES}]")
    back = ffi.new(f"int16_t[{BLOCK_SAMPLES}]")
    length, n, used = ffi.new("size_t *"), ffi.new("size_t *"), ffi.new("size_t *")
    out = np.empty_like(x)
    parts = []
    for at in range(0, len(x), BLOCK_SAMPLES):
        count = min(BLOCK_SAMPLES, len(x) - at)
        assert lib.ws_strip_encode_block(src + at, count, block, BLOCK_MAX_BYTES, length) == 0
        assert lib.ws_strip_decode_block(block, length[0], back, BLOCK_SAMPLES, n, used) == 0
        assert (n[0], used[0]) == (count, length[0])
        out[at : at + count] = np.frombuffer(ffi.buffer(back, 2 * count), dtype=np.int16)
        parts.append(bytes(ffi.buffer(block, length[0])))
    assert np.array_equal(out, x)
    return b"".join(parts)


@needs_data
def test_cinc_test_split_bit_exact() -> None:
    ids = load_split("cinc2017")["test"]
    raw = coded = 0
    for i, rec in enumerate(cinc2017.iter_records(ids, ROOT)):
        payload = c_round_trip(rec.signal)
        raw, coded = raw + 2 * len(rec.signal), coded + len(payload)
        if i % 20 == 0:
            assert np.array_equal(decode_payload(payload), rec.signal)
    assert raw / coded > 3.0  # lossless ECG compresses several-fold


def _starts(payload: bytes, blocks: int) -> list[int]:
    """The offsets of the first ``blocks`` blocks (each begins with its length)."""
    starts, at = [], 0
    for _ in range(blocks):
        starts.append(at)
        at += int.from_bytes(payload[at : at + 2], "little")
    return starts


@needs_data
def test_mitdb_records_bit_exact() -> None:
    ids = mitdb.record_ids(ROOT)
    assert ids
    for rid in ids:
        rec = mitdb.load_record(rid, ROOT)
        for lead in range(rec.signals.shape[1]):
            x = np.ascontiguousarray(rec.signals[:, lead], dtype=np.int16)
            payload = c_round_trip(x)
            # the first 60 s: 42 whole blocks (21 504 samples) through the Python decoder
            blocks = 60 * rec.fs // BLOCK_SAMPLES
            head = blocks * BLOCK_SAMPLES
            head_bytes = sum(
                int.from_bytes(payload[o : o + 2], "little") for o in _starts(payload, blocks)
            )
            assert np.array_equal(decode_payload(payload[:head_bytes]), x[:head])
