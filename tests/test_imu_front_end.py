"""The C IMU front end against numpy/scipy references, block-size independence, the
impact trigger, bad input, and byte identity between training input and device input."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as sps

from wearsense.firmware import imu as fe
from wearsense.firmware.imu import FrontEndConfig, FrontEndError, ImuFrontEnd

RATES = (20, 25, 50, 100, 200)


def _noise(n: int, seed: int = 0, scale: float = 1.0) -> np.ndarray:
    return (np.random.default_rng(seed).normal(size=(n, 6)) * scale).astype(np.float32)


# ---------------------------------------------------------------- numpy mirror


def _sqrt32(x: np.ndarray) -> np.ndarray:
    """The firmware's square root, op for op in float32."""
    x = x.astype(np.float32)
    guess = (np.uint32(0x1FBD1DF5) + (x.view(np.uint32) >> np.uint32(1))).astype(np.uint32)
    y = guess.view(np.float32)
    for _ in range(3):
        y = np.float32(0.5) * (y + x / y)
    return np.where(x > 0, y, np.float32(0)).astype(np.float32)


def _quantize(v: np.ndarray) -> np.ndarray:
    r = np.floor(v.astype(np.float32) + np.float32(0.5))
    return np.clip(r, -128, 127).astype(np.int8)


def _frames_int8(y: np.ndarray) -> np.ndarray:
    """int8 frames from the 50 Hz float stream (acc g, gyro deg/s)."""
    a = y[:, :3].astype(np.float32)
    mag = _sqrt32(a[:, 0] * a[:, 0] + a[:, 1] * a[:, 1] + a[:, 2] * a[:, 2])
    acc = np.float32(fe.ACC_LSB_PER_G)
    gyro = np.float32(1.0 / fe.GYRO_DPS_PER_LSB)
    cols = [a[:, 0] * acc, a[:, 1] * acc, a[:, 2] * acc, (mag - np.float32(1)) * acc]
    cols += [y[:, 3] * gyro, y[:, 4] * gyro, y[:, 5] * gyro]
    return np.stack([_quantize(c) for c in cols], axis=1)


def _trigger(mag: np.ndarray, threshold: float, refractory: int) -> list[tuple[int, float]]:
    """The impact trigger as docs/imu-front-end.md specifies it: a crossing opens a
    candidate at that frame; a strictly larger |a| moves the newest candidate, as long as
    it comes within BURST frames of the crossing that opened it, else opens a second one;
    the oldest is reported once the 63 frames after its peak exist. Afterwards a crossing
    opens a new candidate only after the refractory time (counted from the reported peak)
    or when its |a| exceeds the reported peak."""
    out: list[tuple[int, float]] = []
    quiet, last = 0, np.inf
    open_: list[list[int]] = []  # [crossing, peak] per candidate, oldest first
    for f in range(len(mag)):
        if not open_:
            if mag[f] >= np.float32(threshold) and (f >= quiet or mag[f] > last):
                open_.append([f, f])
        elif mag[f] > mag[open_[-1][1]]:
            if f - open_[-1][0] < fe.BURST:
                open_[-1][1] = f
            else:
                open_.append([f, f])
        if open_ and f - open_[0][1] == 63:
            peak = open_.pop(0)[1]
            out.append((peak, float(mag[peak])))
            quiet, last = peak + refractory, mag[peak]
    return out


# ---------------------------------------------------------------- resampler


@pytest.mark.parametrize("fs", RATES)
def test_taps_match_scipy_firwin(fs: int) -> None:
    up, down, taps = fe.resampler_design(fs)
    assert up * fs == down * 50
    if fs == 50:
        assert taps.tolist() == [1.0]
        return
    cutoff = 0.8 * 0.5 * min(fs, 50)
    ref = sps.firwin(taps.size, cutoff, fs=up * fs, window="hamming") * up
    np.testing.assert_allclose(taps, ref, atol=1e-7)


@pytest.mark.parametrize("fs", RATES)
def test_resampler_matches_upfirdn(fs: int) -> None:
    x = _noise(3 * fs, seed=fs)
    up, down, taps = fe.resampler_design(fs)
    got = fe.resample(x, fs)
    ref = sps.upfirdn(taps.astype(np.float64), x.astype(np.float64), up, down, axis=0)
    # every output whose newest input has arrived, i.e. floor(k*M/L) <= n - 1
    assert got.shape[0] == -(-x.shape[0] * up // down)
    np.testing.assert_allclose(got, ref[: got.shape[0]], atol=2e-6)


def test_resampler_keeps_a_slow_sine_and_removes_a_fast_one() -> None:
    t = np.arange(2000) / 200.0
    slow, fast = np.sin(2 * np.pi * 2.0 * t), np.sin(2 * np.pi * 40.0 * t)
    x = np.zeros((2000, 6), np.float32)
    x[:, 0], x[:, 1] = slow, fast
    y = fe.resample(x, 200)[100:]
    assert 0.95 < np.abs(y[:, 0]).max() < 1.05  # 2 Hz passes
    assert np.abs(y[:, 1]).max() < 0.01  # 40 Hz would alias at 50 Hz: removed


def test_unsupported_rates_and_bad_config_are_refused() -> None:
    for fs in (0, 1000, 33, 7):
        with pytest.raises(FrontEndError) as err:
            ImuFrontEnd(FrontEndConfig(fs_in_hz=fs))
        assert err.value.status == 112
    for bad in (
        {"acc_scale": 0.0},
        {"acc_scale": float("nan")},
        {"gyro_scale": -1.0},
        {"impact_g": 0.5},
        {"impact_g": 40.0},
    ):
        with pytest.raises(FrontEndError) as err:
            ImuFrontEnd(FrontEndConfig(fs_in_hz=50, **bad))  # type: ignore[arg-type]
        assert err.value.status == 113


def test_non_finite_input_is_refused_and_nothing_after_it_taken() -> None:
    front = ImuFrontEnd(FrontEndConfig(fs_in_hz=50))
    x = _noise(50)
    x[30, 4] = np.inf
    with pytest.raises(FrontEndError) as err:
        front.feed(x)
    assert err.value.status == 5 and front.frames == 30


# ---------------------------------------------------------------- windows and trigger


@pytest.mark.parametrize("fs", (25, 200))
def test_int8_windows_equal_the_numpy_mirror(fs: int) -> None:
    x = _noise(12 * fs, seed=3, scale=1.5)
    x[:, 3:] *= 200  # gyro in deg/s range
    out = ImuFrontEnd(FrontEndConfig(fs_in_hz=fs, impact_g=16.0)).process(x)
    frames = _frames_int8(fe.resample(x, fs))
    assert out.frames == frames.shape[0]
    ends = np.arange(fe.WINDOW - 1, out.frames, fe.HOP)
    assert out.window_ends.tolist() == ends.tolist()
    for end, window in zip(ends, out.windows, strict=True):
        assert window.tobytes() == frames[end - fe.WINDOW + 1 : end + 1].tobytes()


def _impulses(n: int, at: list[int], peak_g: float) -> np.ndarray:
    x = np.zeros((n, 6), np.float32)
    x[:, 2] = 1.0  # gravity on z
    for i in at:
        x[i - 2 : i + 3, 0] += np.array([0.3, 0.7, 1.0, 0.7, 0.3], np.float32) * peak_g
    return x


def test_trigger_matches_the_reference_state_machine() -> None:
    x = _impulses(3000, [300, 340, 600, 1000, 1090, 2000, 2995], 3.0)
    x[1500:1510, 1] = 2.2  # a plateau above threshold: peak search keeps the first max
    cfg = FrontEndConfig(fs_in_hz=50, impact_g=2.0, refractory_s=2.0)
    out = ImuFrontEnd(cfg).process(x)
    y = fe.resample(x, 50)
    mag = _sqrt32(y[:, 0] * y[:, 0] + y[:, 1] * y[:, 1] + y[:, 2] * y[:, 2])
    want = _trigger(mag, 2.0, 100)
    assert [(i.frame, pytest.approx(i.peak_g)) for i in out.impacts] == want
    # 340 is within the refractory time of 300, 2995 too close to the end to be windowed
    assert [i.frame for i in out.impacts] == [300, 600, 1000, 1500, 2000]
    for impact in out.impacts:
        row = impact.window[fe.IMPACT_PRE]
        assert row[3] == _quantize(np.float32((impact.peak_g - 1) * 32))


def test_refractory_time_separates_impacts() -> None:
    x = _impulses(2000, [300, 420], 3.0)
    short = ImuFrontEnd(FrontEndConfig(fs_in_hz=50, impact_g=2.0, refractory_s=1.0)).process(x)
    long = ImuFrontEnd(FrontEndConfig(fs_in_hz=50, impact_g=2.0, refractory_s=3.0)).process(x)
    assert [i.frame for i in short.impacts] == [300, 420]
    assert [i.frame for i in long.impacts] == [300]


def _spikes(n: int, at: list[tuple[int, float]]) -> np.ndarray:
    """50 Hz frames in g: gravity on z, single-frame spikes on x (|a| = sqrt(x^2 + 1))."""
    x = np.zeros((n, 6), np.float32)
    x[:, 2] = 1.0
    for i, g in at:
        x[i, 0] = g
    return x


@pytest.mark.parametrize(
    ("spikes", "want"),
    [
        # a step, then the fall's larger impact within 1.26 s: the window moves to the fall
        ([(300, 2.3), (350, 3.9)], [350]),
        # the larger impact after the step's window, within the refractory time: both
        ([(300, 2.3), (380, 3.9)], [300, 380]),
        # a smaller one within the refractory time: only the first
        ([(300, 3.9), (380, 2.3)], [300]),
        # rising peaks: the impact moves while each comes within 63 frames of the last
        # and within BURST frames of the crossing; 1810, 110 frames after it, is too late
        # to move it and opens a second window
        ([(1700, 2.3), (1740, 2.8), (1790, 3.3), (1810, 3.9)], [1790, 1810]),
        # ... but not when it is smaller than the first window's peak
        ([(1700, 2.3), (1750, 2.8), (1790, 3.9), (1810, 3.3)], [1790]),
    ],
)
def test_the_window_lands_on_the_largest_peak_of_a_burst(
    spikes: list[tuple[int, float]], want: list[int]
) -> None:
    x = _spikes(2000, spikes)
    out = ImuFrontEnd(FrontEndConfig(fs_in_hz=50, impact_g=2.0, refractory_s=2.0)).process(x)
    mag = _sqrt32(x[:, 0] * x[:, 0] + x[:, 1] * x[:, 1] + x[:, 2] * x[:, 2])
    assert [i.frame for i in out.impacts] == want
    assert [(i.frame, pytest.approx(i.peak_g)) for i in out.impacts] == _trigger(mag, 2.0, 100)


def test_trigger_matches_the_reference_on_random_bursts() -> None:
    rng = np.random.default_rng(5)
    x = _spikes(
        20000,
        [
            (int(i), float(g))
            for i, g in zip(rng.integers(0, 20000, 400), rng.uniform(1.0, 4.0, 400), strict=True)
        ],
    )
    x += _noise(20000, seed=6, scale=0.05)
    out = ImuFrontEnd(FrontEndConfig(fs_in_hz=50, impact_g=1.6, refractory_s=2.0)).process(x)
    y = fe.resample(x, 50)
    mag = _sqrt32(y[:, 0] * y[:, 0] + y[:, 1] * y[:, 1] + y[:, 2] * y[:, 2])
    want = _trigger(mag, 1.6, 100)
    assert len(want) > 50
    assert [(i.frame, pytest.approx(i.peak_g)) for i in out.impacts] == want


def test_one_block_or_many_give_the_same_output() -> None:
    rng = np.random.default_rng(7)
    x = _impulses(4000, [500, 1700, 3100], 4.0) + _noise(4000, seed=8, scale=0.05)
    x = x.astype(np.float32)
    cfg = FrontEndConfig(fs_in_hz=200, impact_g=2.0)
    whole = ImuFrontEnd(cfg).feed(x)
    pieces = ImuFrontEnd(cfg)
    events: list = []
    start = 0
    while start < len(x):
        step = int(rng.integers(1, 300))
        events += pieces.feed(x[start : start + step])
        start += step
    assert len(whole) == len(events) > 10
    for a, b in zip(whole, events, strict=True):
        assert a[:4] == b[:4] and a[4].tobytes() == b[4].tobytes()
    assert any(flags & 2 for flags, *_ in whole)


def test_training_input_is_the_device_input_byte_for_byte() -> None:
    """Training feeds loader output (g, deg/s); the device feeds raw counts with scales.
    SisFall-like counts: ADXL345 2^-8 g and ITG3200 4000/65536 deg/s per count."""
    from wearsense.datasets.imu import ActivitySegment, ImuRecording, Position, sisfall
    from wearsense.protocol.events import ActivityClass, FallClass

    rng = np.random.default_rng(11)
    counts = np.round(rng.normal(0, 300, size=(3000, 6))).astype(np.int64)
    counts[:, 2] += 256
    counts[1200:1205, 0] += 1500  # an impact
    rec = ImuRecording(
        dataset="sisfall",
        subject="SA00",
        position=Position.WAIST,
        trial="synthetic",
        source=sisfall.__file__,  # type: ignore[arg-type]
        rate_hz=200.0,
        acc_g=(counts[:, :3] * sisfall.ADXL345_G_PER_COUNT).astype(np.float32),
        gyro_dps=(counts[:, 3:] * sisfall.ITG3200_DPS_PER_COUNT).astype(np.float32),
        fall=FallClass.FALL,
        segments=(ActivitySegment(0, 3000, ActivityClass.UNKNOWN, "F01"),),
    )
    training = fe.process_recording(rec, impact_g=2.0)
    device = ImuFrontEnd(
        FrontEndConfig(
            fs_in_hz=200,
            acc_scale=sisfall.ADXL345_G_PER_COUNT,
            gyro_scale=sisfall.ITG3200_DPS_PER_COUNT,
            impact_g=2.0,
        )
    )
    events = []
    for row in counts.astype(np.float32):  # one sample at a time, as the device gets them
        events += device.feed(row[None, :])
    windows = [w for flags, _, _, _, w in events if flags & 1]
    assert len(windows) == len(training.windows) > 0
    assert b"".join(w.tobytes() for w in windows) == training.windows.tobytes()
    assert [e[3] for e in events if e[0] & 2] == [i.frame for i in training.impacts] != []


@pytest.mark.sanitized
def test_front_end_under_sanitizers(asan_core) -> None:
    for fs in RATES:
        x = _impulses(20 * fs, [5 * fs], 5.0) + _noise(20 * fs, seed=fs, scale=0.1)
        cfg = FrontEndConfig(fs_in_hz=fs, impact_g=2.0)
        plain = ImuFrontEnd(cfg).process(x)
        checked = ImuFrontEnd(cfg, module=asan_core).process(x)
        assert plain.windows.tobytes() == checked.windows.tobytes()
        assert fe.resample(x, fs, module=asan_core).shape[0] == plain.frames


def test_shared_vectors_match_the_host_build() -> None:
    """tests/vectors/imu.json (read by the C test on the host and the M4) is what this
    build computes: regenerate it with tools/make_imu_vectors.py after a front-end change."""
    import json
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "tools"))
    try:
        import make_imu_vectors
    finally:
        sys.path.pop(0)
    stored = json.loads((root / "tests" / "vectors" / "imu.json").read_text())
    x = np.array(stored["input"], dtype=np.int64).reshape(-1, 6)
    assert stored["input"] == make_imu_vectors.counts().reshape(-1).tolist()
    events = make_imu_vectors.expected(x)
    assert events == stored["events"]
    assert sum(1 for e in events if e[0] & 2) == 2  # both impacts of the stream fire


def _recording(x: np.ndarray, rate: float, fall: int, segments: list[tuple[int, int, int]]):
    from wearsense.datasets.imu import ActivitySegment, ImuRecording, Position
    from wearsense.protocol.events import ActivityClass, FallClass

    return ImuRecording(
        dataset="synthetic",
        subject="S1",
        position=Position.WAIST,
        trial="T1",
        source=fe.__file__,  # type: ignore[arg-type]
        rate_hz=rate,
        acc_g=x[:, :3].copy(),
        gyro_dps=x[:, 3:].copy(),
        fall=FallClass(fall),
        segments=tuple(ActivitySegment(a, b, ActivityClass(c), "") for a, b, c in segments),
    )


def test_activity_windows_take_only_windows_inside_one_known_segment() -> None:
    from wearsense.protocol.events import ActivityClass

    x = _impulses(6000, [], 2.0) + _noise(6000, seed=4, scale=0.05)
    segments = [(0, 2000, ActivityClass.WALK), (2000, 2300, 255), (2300, 5000, ActivityClass.SIT)]
    rec = _recording(x.astype(np.float32), 100.0, 0, segments)  # 100 Hz: frames = samples / 2
    got = fe.activity_windows(rec)
    delay = fe.process_recording(rec).delay_s
    want = []
    for end in range(fe.WINDOW - 1, 3000, fe.HOP):
        first = ((end - fe.WINDOW + 1) / 50 - delay) * 100
        last = (end / 50 - delay) * 100
        for a, b, code in segments:
            if a <= first and last < b and code != 255:
                want.append((end, int(code)))
    assert list(zip(got.frames.tolist(), got.labels.tolist(), strict=True)) == want
    assert {int(ActivityClass.WALK), int(ActivityClass.SIT)} == set(got.labels.tolist())
    assert got.windows.shape == (len(want), fe.WINDOW, fe.CHANNELS)


def test_impact_windows_label_the_strongest_impact_of_a_fall() -> None:
    x = _impulses(1500, [300, 800], 2.5)
    x[795:806, 0] *= 2.0  # the second impact is the fall
    fall = fe.impact_windows(_recording(x, 50.0, 1, [(0, 1500, 255)]), None)
    assert fall.frames.tolist() == [800] and fall.labels.tolist() == [1]
    assert fall.peak_g[0] > 4.0
    adl = fe.impact_windows(_recording(x, 50.0, 0, [(0, 1500, 255)]))
    assert adl.frames.tolist() == [300, 800] and adl.labels.tolist() == [0, 0]
