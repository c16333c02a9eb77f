"""Writes tests/vectors/imu.json: a synthetic 200 Hz count stream and what the IMU front
end produces from it on the host (events, impact peaks as float bits, an FNV-1a hash of
each int8 window). The C test firmware/tests/test_imu_vectors.c checks the same on the
host and on the Cortex-M4, so device and training compute the same bytes; a Python test
checks the file still matches the host build. Run after changing the front end:
python tools/make_imu_vectors.py"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from wearsense.firmware import imu as fe

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "vectors" / "imu.json"
RATE = 200
ACC_SCALE = 1.0 / 256.0  # ADXL345 at +-16 g: 2^-8 g per count
GYRO_SCALE = 4000.0 / 65536.0  # ITG3200: deg/s per count
IMPACT_G = 1.6
REFRACTORY = 100


def fnv1a(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def counts() -> np.ndarray:
    """8 s of a waist unit: standing, a fall-like impact at 3 s, lying, a bump at 6.5 s."""
    rng = np.random.default_rng(2026)
    n = 8 * RATE
    x = np.round(rng.normal(0, 6, size=(n, 6))).astype(np.int64)
    x[:, 3:] = np.round(rng.normal(0, 40, size=(n, 3)))
    x[:, 2] += 256
    x[600:620, 0] += np.round(900 * np.hanning(20)).astype(np.int64)  # ~3.5 g
    x[620:, 2] -= 256
    x[620:, 1] += 256  # lying: gravity moves to y
    x[1300:1306, 1] += 300
    x[600:700, 5] += 1500
    return x


def expected(x: np.ndarray) -> list[list[int]]:
    config = fe.FrontEndConfig(
        fs_in_hz=RATE,
        acc_scale=ACC_SCALE,
        gyro_scale=GYRO_SCALE,
        impact_g=IMPACT_G,
        refractory_s=REFRACTORY / fe.RATE_HZ,
    )
    rows = []
    for flags, frame, peak, impact_frame, window in fe.ImuFrontEnd(config).feed(x):
        bits = struct.unpack("<I", struct.pack("<f", peak))[0] if flags & 2 else 0
        rows.append([flags, frame, impact_frame if flags & 2 else 0, bits, fnv1a(window.tobytes())])
    return rows


def vectors() -> dict[str, object]:
    x = counts()
    return {
        "about": "IMU front end: synthetic count stream and the host build's output",
        "rate_hz": RATE,
        "acc_scale": ACC_SCALE,
        "gyro_scale": GYRO_SCALE,
        "impact_g": IMPACT_G,
        "refractory_frames": REFRACTORY,
        "input": x.reshape(-1).tolist(),
        "events": expected(x),
        "event_fields": ["flags", "frame", "impact_frame", "impact_g_float_bits", "window_fnv1a"],
    }


def main() -> None:
    OUT.write_text(json.dumps(vectors(), separators=(",", ":")) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
