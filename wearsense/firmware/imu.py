"""The firmware's IMU front end (firmware/src/dsp/imu.c) called from Python.

Training, evaluation and the benchmarks get their model inputs here, from the same C the
device runs: the 50 Hz stream, the impact trigger and the int8 windows
``[ax, ay, az, |a| - 1 g, gx, gy, gz]`` (acc 1/32 g per LSB, gyro 4 deg/s per LSB). The
windows a model trains on are therefore the device's windows, byte for byte.

Errors: :class:`FrontEndError` (a C status other than OK: unsupported rate, bad scale or
threshold, non-finite input), with the status code and a sentence.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from types import ModuleType
from typing import Protocol

import numpy as np

from wearsense.firmware import core
from wearsense.protocol.events import ActivityClass, FallClass


class _Segment(Protocol):
    @property
    def start(self) -> int: ...
    @property
    def stop(self) -> int: ...
    @property
    def activity(self) -> ActivityClass: ...


class _Position(Protocol):
    @property
    def value(self) -> str: ...


class ImuRecording(Protocol):
    """What the front end reads of a recording: a ``wearsense.datasets.imu.ImuRecording``
    (named by its shape so the binding does not import the loaders above it)."""

    @property
    def dataset(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def position(self) -> _Position: ...
    @property
    def trial(self) -> str: ...
    @property
    def rate_hz(self) -> float: ...
    @property
    def gyro_dps(self) -> np.ndarray | None: ...
    @property
    def fall(self) -> FallClass: ...
    @property
    def segments(self) -> Sequence[_Segment]: ...
    def six_axis(self) -> np.ndarray: ...


RATE_HZ = 50
AXES = 6
CHANNELS = 7
WINDOW = 128
HOP = 64
IMPACT_PRE = 64
BURST = 100  # frames after a crossing the impact peak may move to (WS_IMU_BURST)
ACC_LSB_PER_G = 32
GYRO_DPS_PER_LSB = 4
CHANNEL_NAMES = ("ax", "ay", "az", "amag_minus_1g", "gx", "gy", "gz")
# The highest threshold with every fall of the SisFall and UMAFall waist train+validation
# subjects triggered (docs/imu-front-end.md has the sweep).
DEFAULT_IMPACT_G = 1.6
DEFAULT_REFRACTORY_S = 2.0

_STATUS_NAMES = {
    5: "a value is not finite",
    6: "bad argument",
    7: "front end not initialised",
    112: "input rate not supported (50/gcd and fs/gcd must both be <= 10)",
    113: "scale or impact threshold out of range",
}


class FrontEndError(ValueError):
    """The C front end refused its input; ``status`` is the firmware's status code."""

    def __init__(self, status: int, what: str) -> None:
        super().__init__(f"{what}: {_STATUS_NAMES.get(status, 'status')} ({status})")
        self.status = status


def _check(status: int, what: str) -> None:
    if status != 0:
        raise FrontEndError(int(status), what)


@dataclasses.dataclass(frozen=True)
class FrontEndConfig:
    """``fs_in_hz`` input rate; ``acc_scale`` g per input unit; ``gyro_scale`` deg/s per
    input unit (0: no gyroscope); ``impact_g`` trigger threshold on |a| at 50 Hz;
    ``refractory_s`` time after an impact during which no new one starts."""

    fs_in_hz: int
    acc_scale: float = 1.0
    gyro_scale: float = 1.0
    impact_g: float = DEFAULT_IMPACT_G
    refractory_s: float = DEFAULT_REFRACTORY_S


@dataclasses.dataclass(frozen=True)
class Impact:
    frame: int  # the peak's index in the 50 Hz stream
    peak_g: float  # |a| at the peak
    window: np.ndarray  # (WINDOW, CHANNELS) int8, the peak at row IMPACT_PRE


@dataclasses.dataclass(frozen=True)
class FrontEndOutput:
    frames: int  # 50 Hz frames produced
    window_ends: np.ndarray  # (n,) int64, last frame of each activity window
    windows: np.ndarray  # (n, WINDOW, CHANNELS) int8
    impacts: list[Impact]
    delay_s: float  # resampler delay: frame k shows the input at k/50 s - delay_s


def _rate(fs: float) -> int:
    rate = round(fs)
    if abs(rate - fs) > 1e-6 or rate <= 0 or rate > 0xFFFF:
        raise FrontEndError(112, f"input rate {fs} Hz")
    return rate


def _frames(samples: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(samples, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != AXES:
        raise FrontEndError(6, f"samples of shape {x.shape}, want (n, {AXES})")
    return x


class ImuFrontEnd:
    """One streaming front end; :meth:`feed` may be called with blocks of any size."""

    def __init__(self, config: FrontEndConfig, module: ModuleType | None = None) -> None:
        self.module = module or core()
        self.ffi, self.lib = self.module.ffi, self.module.lib
        self.config = config
        words = (int(self.lib.ws_imu_state_size()) + 3) // 4
        self._mem = self.ffi.new("float[]", words)
        self._st = self.ffi.cast("ws_imu_t *", self._mem)
        cfg = self.ffi.new("ws_imu_config_t *")
        cfg.fs_in_hz = _rate(config.fs_in_hz)
        cfg.acc_scale = config.acc_scale
        cfg.gyro_scale = config.gyro_scale
        cfg.impact_g = config.impact_g
        cfg.refractory = max(0, min(0xFFFF, round(config.refractory_s * RATE_HZ)))
        _check(self.lib.ws_imu_init(self._st, cfg), f"front end for {config}")
        self._event = self.ffi.new("ws_imu_event_t *")
        self._consumed = self.ffi.new("size_t *")
        self._window = self.ffi.new("int8_t[]", WINDOW * CHANNELS)

    @property
    def frames(self) -> int:
        return int(self.lib.ws_imu_frames(self._st))

    @property
    def delay_s(self) -> float:
        return int(self.lib.ws_imu_delay_us(self._st)) / 1e6

    def _window_array(self) -> np.ndarray:
        _check(self.lib.ws_imu_window(self._st, self._window, WINDOW * CHANNELS), "window")
        raw = self.ffi.buffer(self._window, WINDOW * CHANNELS)
        return np.frombuffer(raw, dtype=np.int8).reshape(WINDOW, CHANNELS).copy()

    def feed(self, samples: np.ndarray) -> list[tuple[int, int, float, int, np.ndarray]]:
        """Feeds (n, 6) samples in sensor units. Returns the events they complete as
        ``(flags, frame, impact_g, impact_frame, window)``; flags bit 1 = activity
        window, bit 2 = impact window."""
        x = _frames(samples)
        events = []
        flat = self.ffi.from_buffer("float[]", x)
        total, offset = x.shape[0], 0
        ev = self._event
        while True:
            pointer = flat + offset * AXES
            status = self.lib.ws_imu_process(self._st, pointer, total - offset, self._consumed, ev)
            offset += int(self._consumed[0])
            _check(status, f"input frame {offset}")
            if ev.flags == 0:
                break
            events.append(
                (
                    int(ev.flags),
                    int(ev.frame),
                    float(ev.impact_g),
                    int(ev.impact_frame),
                    self._window_array(),
                )
            )
        return events

    def process(self, samples: np.ndarray) -> FrontEndOutput:
        """Feeds a whole recording (or the rest of one) and collects what it produced."""
        ends: list[int] = []
        windows: list[np.ndarray] = []
        impacts: list[Impact] = []
        for flags, frame, peak, peak_frame, window in self.feed(samples):
            if flags & 1:
                ends.append(frame)
                windows.append(window)
            if flags & 2:
                impacts.append(Impact(peak_frame, peak, window))
        stacked = np.stack(windows) if windows else np.zeros((0, WINDOW, CHANNELS), dtype=np.int8)
        return FrontEndOutput(
            frames=self.frames,
            window_ends=np.array(ends, dtype=np.int64),
            windows=stacked,
            impacts=impacts,
            delay_s=self.delay_s,
        )


def front_end_for(
    recording: ImuRecording,
    impact_g: float = DEFAULT_IMPACT_G,
    refractory_s: float = DEFAULT_REFRACTORY_S,
    module: ModuleType | None = None,
) -> ImuFrontEnd:
    """A front end for a loaded recording (already in g and deg/s: scales 1)."""
    config = FrontEndConfig(
        fs_in_hz=_rate(recording.rate_hz),
        acc_scale=1.0,
        gyro_scale=1.0 if recording.gyro_dps is not None else 0.0,
        impact_g=impact_g,
        refractory_s=refractory_s,
    )
    return ImuFrontEnd(config, module)


def process_recording(
    recording: ImuRecording,
    impact_g: float = DEFAULT_IMPACT_G,
    refractory_s: float = DEFAULT_REFRACTORY_S,
    module: ModuleType | None = None,
) -> FrontEndOutput:
    """The device's view of one loaded recording: windows and impacts."""
    fe = front_end_for(recording, impact_g, refractory_s, module)
    return fe.process(recording.six_axis())


def resample(samples: np.ndarray, fs_in_hz: float, module: ModuleType | None = None) -> np.ndarray:
    """(n, 6) samples at fs_in_hz to the device's 50 Hz by the C resampler (no scaling)."""
    mod = module or core()
    ffi, lib = mod.ffi, mod.lib
    x = _frames(samples)
    mem = ffi.new("float[]", (int(lib.ws_imu_resampler_size()) + 3) // 4)
    rs = ffi.cast("ws_imu_resampler_t *", mem)
    _check(lib.ws_imu_resampler_init(rs, _rate(fs_in_hz)), f"resampler for {fs_in_hz} Hz")
    cap = int(lib.ws_imu_resampler_max_output(rs, x.shape[0]))
    out = np.zeros((cap, AXES), dtype=np.float32)
    n_out = ffi.new("size_t *")
    status = lib.ws_imu_resample(
        rs, ffi.from_buffer("float[]", x), x.shape[0], ffi.from_buffer("float[]", out), cap, n_out
    )
    _check(status, "resample")
    return out[: int(n_out[0])].copy()


def resampler_design(
    fs_in_hz: float, module: ModuleType | None = None
) -> tuple[int, int, np.ndarray]:
    """(L, M, taps) the C resampler uses for fs_in_hz."""
    mod = module or core()
    ffi, lib = mod.ffi, mod.lib
    mem = ffi.new("float[]", (int(lib.ws_imu_resampler_size()) + 3) // 4)
    rs = ffi.cast("ws_imu_resampler_t *", mem)
    _check(lib.ws_imu_resampler_init(rs, _rate(fs_in_hz)), f"resampler for {fs_in_hz} Hz")
    up, down = ffi.new("uint16_t *"), ffi.new("uint16_t *")
    lib.ws_imu_resampler_ratio(rs, up, down)
    taps = np.zeros(lib.ws_imu_resampler_taps(rs, ffi.NULL, 0), dtype=np.float32)
    lib.ws_imu_resampler_taps(rs, ffi.from_buffer("float[]", taps), taps.size)
    return int(up[0]), int(down[0]), taps


@dataclasses.dataclass(frozen=True)
class LabelledWindows:
    """Model inputs cut from one recording by the device's front end, with labels.

    ``windows`` (n, WINDOW, CHANNELS) int8; ``labels`` (n,) int64 protocol codes
    (``ActivityClass`` for activity windows, ``FallClass`` for impact windows);
    ``frames`` (n,) the 50 Hz frame each window ends at (activity) or peaks at (impact);
    ``peak_g`` (n,) |a| at the impact (0 for activity windows). ``dataset``, ``subject``,
    ``position`` and ``trial`` say where they came from (split and group by them)."""

    dataset: str
    subject: str
    position: str
    trial: str
    windows: np.ndarray
    labels: np.ndarray
    frames: np.ndarray
    peak_g: np.ndarray


def _labelled(
    rec: ImuRecording,
    windows: list[np.ndarray],
    labels: list[int],
    frames: list[int],
    peaks: list[float],
) -> LabelledWindows:
    return LabelledWindows(
        dataset=rec.dataset,
        subject=rec.subject,
        position=rec.position.value,
        trial=rec.trial,
        windows=(np.stack(windows) if windows else np.zeros((0, WINDOW, CHANNELS), np.int8)),
        labels=np.array(labels, dtype=np.int64),
        frames=np.array(frames, dtype=np.int64),
        peak_g=np.array(peaks, dtype=np.float32),
    )


def activity_windows(rec: ImuRecording, out: FrontEndOutput | None = None) -> LabelledWindows:
    """The recording's activity windows that lie wholly inside one labelled segment of a
    device class; windows that straddle two segments, touch unlabelled samples or fall in
    an ``UNKNOWN`` segment (transitions, other sports) are left out. The window's time
    span is mapped back to input samples through the resampler's delay."""
    out = out or process_recording(rec)
    windows: list[np.ndarray] = []
    labels: list[int] = []
    frames: list[int] = []
    for end, window in zip(out.window_ends.tolist(), out.windows, strict=True):
        first_s = (end - WINDOW + 1) / RATE_HZ - out.delay_s
        last_s = end / RATE_HZ - out.delay_s
        first, last = first_s * rec.rate_hz, last_s * rec.rate_hz
        for seg in rec.segments:
            if seg.start <= first and last < seg.stop:
                if seg.activity is not ActivityClass.UNKNOWN:
                    windows.append(window)
                    labels.append(int(seg.activity))
                    frames.append(end)
                break
    return _labelled(rec, windows, labels, frames, [0.0] * len(frames))


def impact_windows(rec: ImuRecording, out: FrontEndOutput | None = None) -> LabelledWindows:
    """The windows around the trigger's impacts. In a fall trial the strongest impact is
    the fall (``FallClass.FALL``) and the others (steps before the fall, the body settling)
    are left out as ambiguous; in every other trial each impact is ``FallClass.ADL``."""
    out = out or process_recording(rec)
    impacts = list(out.impacts)
    if rec.fall is FallClass.FALL and impacts:
        impacts = [max(impacts, key=lambda i: i.peak_g)]
    label = int(rec.fall)
    return _labelled(
        rec,
        [i.window for i in impacts],
        [label] * len(impacts),
        [i.frame for i in impacts],
        [i.peak_g for i in impacts],
    )


class Posture:
    """The firmware's posture calibration (``ws_posture_*``, docs/imu-front-end.md): after
    :meth:`start`, the next ``CALIB_WINDOWS`` still activity windows fed to :meth:`feed`
    give the standing gravity; then :meth:`refine` turns a sit or stand call into sit
    when the window's gravity is tilted more than ``SIT_DEG`` from it, stand otherwise,
    and a cycle call into lie beyond ``LIE_DEG``."""

    def __init__(self, module: ModuleType | None = None) -> None:
        self.module = module or core()
        self.ffi, self.lib = self.module.ffi, self.module.lib
        self._p = self.ffi.new("ws_posture_t *")
        _check(self.lib.ws_posture_reset(self._p), "posture reset")

    CALIB_WINDOWS = 4  # WS_POSTURE_CALIB_WINDOWS
    SIT_DEG = 7  # WS_POSTURE_SIT_DEG
    LIE_DEG = 60  # WS_POSTURE_LIE_DEG: a cycle call beyond this tilt is lie

    def _window(self, window: np.ndarray) -> object:
        w = np.ascontiguousarray(window, dtype=np.int8)
        if w.shape != (WINDOW, CHANNELS):
            raise FrontEndError(6, f"window of shape {w.shape}, want ({WINDOW}, {CHANNELS})")
        return self.ffi.from_buffer("int8_t[]", w)

    def start(self) -> None:
        _check(self.lib.ws_posture_start(self._p), "posture calibration")

    def feed(self, window: np.ndarray) -> bool:
        """True when this window completed the calibration in progress."""
        return bool(self.lib.ws_posture_feed(self._p, self._window(window)))

    @property
    def calibrated(self) -> bool:
        return int(self._p.state) in (2, 3)

    @property
    def reference(self) -> tuple[int, int, int]:
        """Standing gravity, acc mean × 4 (1/128 g per unit) on x, y, z."""
        return (int(self._p.ref[0]), int(self._p.ref[1]), int(self._p.ref[2]))

    def refine(self, window: np.ndarray, cls: int) -> int:
        return int(self.lib.ws_posture_refine(self._p, self._window(window), int(cls)))


def rest_gravity(windows: np.ndarray, module: ModuleType | None = None) -> np.ndarray:
    """``ws_imu_rest_gravity`` of each int8 window [N, WINDOW, CHANNELS]: -1 not at rest,
    0 at rest reading 1 g, 1 at rest reading what no healthy accelerometer reads (the
    device's IMU quality, docs/imu-front-end.md)."""
    m = module or core()
    w = np.ascontiguousarray(windows, dtype=np.int8)
    if w.ndim != 3 or w.shape[1:] != (WINDOW, CHANNELS):
        raise FrontEndError(6, f"windows of shape {w.shape}, want (N, {WINDOW}, {CHANNELS})")
    return np.array(
        [m.lib.ws_imu_rest_gravity(m.ffi.from_buffer("int8_t[]", row)) for row in w], dtype=int
    )
