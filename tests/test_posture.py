"""Posture calibration: sitting against standing by the tilt from a calibrated standing
gravity (``ws_posture_*``, `wearsense.firmware.imu.Posture`), over the radio
(SET_CONFIG POSTURE) on the emulated wearable, and what it does on held-out-style data
(validation subjects of UCI HAPT)."""

from __future__ import annotations

import numpy as np
import pytest

from wearsense import protocol
from wearsense.datasets import DatasetError
from wearsense.datasets.common import data_root
from wearsense.emulator.device import Wearable, shipped_models
from wearsense.firmware.imu import CHANNELS, WINDOW, Posture
from wearsense.protocol import ProtocolError, Status

CYCLE, SIT, STAND, LIE = 2, 5, 6, 7

try:
    ROOT = data_root()
except DatasetError:  # pragma: no cover
    ROOT = None
needs_data = pytest.mark.skipif(ROOT is None, reason="shared data root not present")
needs_activity = pytest.mark.skipif(2 not in shipped_models(), reason="no activity model")


def _window(gravity: np.ndarray, rng: np.random.Generator, gyro: float = 0.0) -> np.ndarray:
    """A still int8 window (1/32 g per LSB) whose frames scatter around ``gravity`` (g)."""
    acc = gravity * 32 + rng.normal(0, 0.8, (WINDOW, 3))
    w = np.zeros((WINDOW, CHANNELS), dtype=np.int8)
    w[:, :3] = np.clip(np.round(acc), -128, 127).astype(np.int8)
    w[:, 4:] = int(gyro)
    return w


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def test_sit_or_stand_follows_the_tilt_as_a_float_angle_would():
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(60):
        standing = _unit(rng.normal(0, 1, 3))
        posture = Posture()
        posture.start()
        windows = [_window(standing, rng) for _ in range(Posture.CALIB_WINDOWS)]
        assert [posture.feed(w) for w in windows] == [False] * (Posture.CALIB_WINDOWS - 1) + [True]
        assert posture.calibrated
        reference = np.mean([w[:, :3].astype(float).mean(0) for w in windows], axis=0)
        for _ in range(10):
            tilt = rng.uniform(0, 30) if rng.random() < 0.7 else rng.uniform(30, 150)
            axis = _unit(np.cross(standing, rng.normal(0, 1, 3)))
            t = np.radians(tilt)
            now = standing * np.cos(t) + np.cross(axis, standing) * np.sin(t)
            w = _window(now, rng)
            mean = w[:, :3].astype(float).mean(0)
            angle = np.degrees(np.arccos(np.clip(_unit(mean) @ _unit(reference), -1, 1)))
            if min(abs(angle - Posture.SIT_DEG), abs(angle - Posture.LIE_DEG)) < 0.5:
                continue  # the integer rounding's margin
            expected = SIT if angle > Posture.SIT_DEG else STAND
            assert posture.refine(w, STAND) == expected
            assert posture.refine(w, SIT) == expected
            # cycling is learnt from an arm: a trunk beyond 60 degrees from standing lies
            assert posture.refine(w, CYCLE) == (LIE if angle > Posture.LIE_DEG else CYCLE)
            assert posture.refine(w, 0) == 0  # walking stays walking
            checked += 1
    assert checked > 400


def test_a_window_that_turns_or_is_not_gravity_restarts_the_calibration():
    rng = np.random.default_rng(1)
    up = np.array([1.0, 0.0, 0.0])
    posture = Posture()
    assert posture.refine(_window(up, rng), SIT) == SIT  # uncalibrated: the model's call
    posture.start()
    for _ in range(Posture.CALIB_WINDOWS - 1):
        assert not posture.feed(_window(up, rng))
    assert not posture.feed(_window(up, rng, gyro=20))  # turning: 80 deg/s
    assert not posture.feed(_window(up * 0.5, rng))  # half a g: not gravity alone
    for _ in range(Posture.CALIB_WINDOWS - 1):
        assert not posture.feed(_window(up, rng))
    assert posture.feed(_window(up, rng))
    assert posture.reference[0] > 120 and abs(posture.reference[1]) < 4  # 1 g = 128
    with pytest.raises(ValueError, match="shape"):
        posture.refine(np.zeros((WINDOW, 3), np.int8), SIT)


def _still(gravity: np.ndarray, seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * 50)
    acc = np.tile(gravity, (n, 1)) + rng.normal(0, 0.01, (n, 3))
    return np.concatenate([acc, rng.normal(0, 1.0, (n, 3))], axis=1)


@needs_activity
def test_the_companion_calibrates_over_the_radio_and_the_calls_follow():
    upright = _unit(np.array([1.0, -0.15, 0.0]))  # a waist unit as UCI HAPT's phone sits
    t = np.radians(20)
    tilted = _unit(np.array([np.cos(t), -0.15, np.sin(t)]))
    plain = Wearable("WS-PO00")
    plain.feed_imu(_still(tilted, 40, 2), 50)
    assert plain.stats().posture == 0
    assert plain.stats().activity == SIT  # the model alone: 20 degrees of tilt is sitting

    dev = Wearable("WS-PO01")
    cmd = protocol.Command(protocol.Opcode.SET_CONFIG, 1, {"key": 3, "value": 1})
    assert dev.command(cmd).status == Status.OK
    assert dev.stats().posture == 0  # taken with the next activity window
    dev.feed_imu(_still(tilted, 12, 3), 50)  # this wearer's unit stands at 20 degrees
    assert dev.stats().posture == 2
    dev.feed_imu(_still(tilted, 30, 4), 50)
    assert dev.stats().activity == STAND
    dev.feed_imu(_still(upright, 30, 5), 50)  # 20 degrees from this wearer's standing
    assert dev.stats().activity == SIT
    forget = protocol.Command(protocol.Opcode.SET_CONFIG, 2, {"key": 3, "value": 0})
    assert dev.command(forget).status == Status.OK
    dev.feed_imu(_still(tilted, 30, 6), 50)
    assert dev.stats().posture == 0
    assert dev.stats().activity == SIT  # the model's own call again
    with pytest.raises(ProtocolError, match="0..1"):
        protocol.Command(protocol.Opcode.SET_CONFIG, 3, {"key": 3, "value": 2})


@needs_data
@needs_activity
def test_calibration_helps_on_the_validation_subjects():
    from pathlib import Path

    from wearsense.firmware.nn import NNModel
    from wearsense.training.activity import calibrated_predictions
    from wearsense.training.imu_task import int8_trial_probabilities, load_trials, split_ids

    model_path = Path(__file__).resolve().parents[1] / "models" / "activity" / "activity.tflite"
    model = NNModel(model_path.read_bytes())
    trials = load_trials("uci-hapt", None, split_ids("uci-hapt", ["validation"]), None, False)
    probs = int8_trial_probabilities(model, trials, "activity")
    plain = calibrated = total = sessions = 0
    for t, p in zip(trials, probs, strict=True):
        refined, ok = calibrated_predictions(t, p)
        sessions += int(ok)
        plain += int((p.argmax(1) == t.activity.labels).sum())
        calibrated += int((refined == t.activity.labels).sum())
        total += len(refined)
        # only sit and stand calls change, into sit or stand, and cycle calls into lie
        model = p.argmax(1)
        changed = refined != model
        posture = changed & np.isin(model, [SIT, STAND])
        assert np.isin(refined[posture], [SIT, STAND]).all()
        assert (refined[changed & ~posture] == LIE).all()
        assert (model[changed & ~posture] == CYCLE).all()
    assert sessions >= len(trials) - 1  # every session that begins standing
    assert calibrated / total > plain / total + 0.02
