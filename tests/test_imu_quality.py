"""Is the IMU believable (``ws_imu_rest_gravity`` and the app's IMU quality,
docs/imu-front-end.md): at rest a healthy accelerometer reads 1 g whatever its
orientation; one that reads otherwise (a scale fault, a dead axis) makes the device say
so with SIGNAL_QUALITY (source IMU, IMPLAUSIBLE) instead of silently seeing no falls."""

from __future__ import annotations

import numpy as np
import pytest

from wearsense import protocol
from wearsense.emulator.device import Wearable
from wearsense.firmware import core
from wearsense.firmware.imu import CHANNELS, WINDOW

IMPLAUSIBLE = int(protocol.Quality.IMPLAUSIBLE)


def _rest_gravity(window: np.ndarray) -> int:
    lib, ffi = core().lib, core().ffi
    w = np.ascontiguousarray(window, dtype=np.int8)
    return int(lib.ws_imu_rest_gravity(ffi.from_buffer("int8_t[]", w)))


def _window(g: tuple[float, float, float], gyro: int = 0, wobble: int = 0) -> np.ndarray:
    """An int8 window (1/32 g, 4 deg/s per LSB) at gravity g (in g)."""
    w = np.zeros((WINDOW, CHANNELS), dtype=np.int8)
    w[:, :3] = np.round(np.array(g) * 32).astype(np.int8)
    w[::2, 0] += wobble
    w[:, 4] = gyro
    return w


def test_rest_gravity_in_c():
    lib = core().lib
    assert lib.ws_imu_rest_gravity(core().ffi.NULL) == -1
    assert _rest_gravity(_window((0, 0, 1.0))) == 0
    assert _rest_gravity(_window((0.6, 0, -0.8))) == 0  # 1 g, any orientation
    assert _rest_gravity(_window((0, 0, 0.72))) == 0
    assert _rest_gravity(_window((0, 0, 1.28))) == 0
    assert _rest_gravity(_window((0, 0, 0.25))) == 1  # a unit-scaling fault
    assert _rest_gravity(_window((0, 0, 0.0))) == 1  # a dead sensor
    assert _rest_gravity(_window((0, 0, 1.4))) == 1
    assert _rest_gravity(_window((0, 0, 0.25), gyro=5)) == -1  # turning: not at rest
    assert _rest_gravity(_window((0, 0, 0.25), wobble=5)) == -1  # moving: not at rest
    assert _rest_gravity(_window((0, 0, 0.25), gyro=4, wobble=4)) == 1  # within the limits


def _imu(gravity: np.ndarray, seconds: float, seed: int, moving: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * 50)
    acc = np.tile(gravity, (n, 1)) + rng.normal(0, 0.01, (n, 3))
    gyro = rng.normal(0, 1.0, (n, 3))
    if moving:  # walking-like: 2 Hz sway and trunk rotation
        t = np.arange(n) / 50
        acc += 0.3 * np.sin(2 * np.pi * 2 * t)[:, None] * np.array([1.0, 0.2, 0.1])
        gyro += 60 * np.sin(2 * np.pi * 1 * t)[:, None]
    return np.concatenate([acc, gyro], axis=1)


def _imu_quality(dev: Wearable) -> list[protocol.SignalQuality]:
    return [
        e
        for e in dev.events()
        if isinstance(e, protocol.SignalQuality) and e.source == protocol.SignalSource.IMU
    ]


def test_a_healthy_unit_is_never_called_implausible():
    dev = Wearable("WS-IQ01", models=None)
    up = np.array([0.0, -1.0, 0.0])
    dev.feed_imu(_imu(up, 30, 1), 50)
    dev.feed_imu(_imu(up, 30, 2, moving=True), 50)
    dev.feed_imu(_imu(np.array([0.0, 0.0, 1.0]), 30, 3), 50)  # lying down
    assert dev.stats().imu_implausible == 0
    assert _imu_quality(dev) == []


def test_a_scale_fault_is_reported_with_its_duration():
    dev = Wearable("WS-IQ02", models=None)
    faulty = np.array([0.0, -0.25, 0.0])  # at rest it reads a quarter of gravity
    dev.feed_imu(_imu(faulty, 4, 1), 50)
    assert dev.stats().imu_implausible == 0  # 4 at-rest windows in a row needed
    dev.feed_imu(_imu(faulty, 26, 2), 50)
    assert dev.stats().imu_implausible == 1
    dev.feed_imu(_imu(faulty, 20, 3, moving=True), 50)  # moving: the state holds
    assert dev.stats().imu_implausible == 1
    assert _imu_quality(dev) == []  # reported when it ends or at a summary boundary
    dev.feed_imu(_imu(np.array([0.0, -1.0, 0.0]), 12, 4), 50)  # the unit is fixed
    assert dev.stats().imu_implausible == 0
    (q,) = _imu_quality(dev)
    assert q.flags == IMPLAUSIBLE
    assert 44 <= q.duration_s <= 56  # about 50 s of unbelievable signal


def test_a_lasting_fault_is_reported_every_summary_interval():
    dev = Wearable("WS-IQ03", models=None)
    faulty = np.array([0.0, 0.0, 0.0])  # a dead accelerometer
    for seed in range(4):
        dev.feed_imu(_imu(faulty, 300, seed), 50)  # 20 minutes
        dev.tick()
    reports = _imu_quality(dev)
    assert len(reports) >= 1
    assert all(r.flags == IMPLAUSIBLE for r in reports)
    assert dev.stats().imu_implausible == 1
    assert sum(r.duration_s for r in reports) <= 20 * 60


def test_the_companion_shows_and_exports_it():
    from tui.services import describe

    severity, text = describe("signal_quality", {"source": 1, "flags": 16, "duration_s": 600})
    assert severity.name == "WARNING"
    assert text == "IMU signal: implausible for 10 min"
    event = protocol.SignalQuality(0, 1, 1, source=1, flags=IMPLAUSIBLE, duration_s=600)
    assert protocol.decode(protocol.encode(event)) == event
    with pytest.raises(protocol.ProtocolError, match="bits 0-4"):
        protocol.SignalQuality(0, 1, 1, source=1, flags=32, duration_s=600)
