"""Protocol codec: full-count differential fuzzing of the C and Python decoders and
codec throughput. (The sanitizer-build fuzzing runs, bounded, in the tests.)"""

from __future__ import annotations

import random
import struct
import time

from tqdm import tqdm

from wearsense import protocol
from wearsense.firmware.protocol import Codec

KEY = "protocol"
FUZZ_INPUTS = 200_000


def _random_packet(rng: random.Random) -> bytes:
    choice = rng.random()
    if choice < 0.3:
        return rng.randbytes(rng.randint(0, 24))
    body = bytes([0x20 | rng.randint(0, 31)]) + rng.randbytes(rng.randint(9, 17))
    if choice < 0.4:
        body = bytes([rng.randint(0, 255)]) + body[1:]
    return body + struct.pack("<H", protocol.crc16(body))


def _python(raw: bytes) -> int:
    try:
        event = protocol.decode(raw)
    except protocol.ProtocolError as exc:
        return int(exc.status)
    assert protocol.encode(event) == raw
    return 0


def run() -> dict[str, object]:
    codec = Codec()
    rng = random.Random(2026)
    disagreements = decoded = 0
    for _ in tqdm(range(FUZZ_INPUTS), desc="protocol fuzz", unit="pkt", mininterval=1):
        raw = _random_packet(rng)
        c_status, _ = codec.decode_event(raw)
        py_status = _python(raw)
        disagreements += c_status != py_status
        decoded += c_status == 0
    sample = protocol.encode(
        protocol.AfStart(1, 3600, 2, hr_bpm=112, confidence=87, onset_lag_s=45)
    )
    n = 50_000
    started = time.perf_counter()
    for _ in range(n):
        protocol.decode(sample)
    py_rate = n / (time.perf_counter() - started)
    return {
        "fuzz_inputs": FUZZ_INPUTS,
        "fuzz_decoded_valid": decoded,
        "fuzz_disagreements": disagreements,
        "python_decode_per_s": round(py_rate),
    }
