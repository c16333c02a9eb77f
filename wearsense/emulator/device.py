"""The whole device from Python: the device core plus the detectors (firmware/src/app/
detect.c, firmware/src/detectors/), fed with sensor samples as they arrive. Rules and
budgets: docs/detectors.md.

A :class:`Wearable` is a :class:`~wearsense.firmware.device.DeviceCore` (flash, queue, BLE
face, resets) with the app on top::

    from wearsense.emulator.device import Wearable

    dev = Wearable("WS-0001")                  # blank flash, the shipped models of models/
    dev.feed_ecg(record.signals[:, 0], 360, adc_gain=200.0, adc_zero=1024)  # ADC counts
    dev.feed_ecg(millivolts, 250)              # or floats in mV (adc_gain None)
    dev.feed_imu(samples, 200)                 # (N, 6): acc x,y,z in g, gyro x,y,z in deg/s
    dev.feed(ecg=..., ecg_fs=250, imu=..., imu_fs=50)  # both streams, second by second
    dev.press_button()                         # FALL_CANCELLED within the fall-cancel window
    for event in dev.detections():             # decoded events, no STATUS pages
        print(event.NAME, event.time_s, event.model_version)
    dev.set_model("fall", blob, version=3)     # hand a model to a task (as model updates do)
    dev.stats()                                # windows judged, model runs, ... (AppStats)

**Time.** Device time follows the sample clock: each stream counts its samples from the
device time at its first sample, and before each second of a stream is fed the device
clock (the platform's ``now_s`` hook) is moved to that second (never back). So a replay
stamps events with the recording's seconds, whatever the speed of the host. Feeding one
stream after another puts them one after the other in time; :meth:`Wearable.feed` runs
two recordings side by side.

**Models.** ``models="shipped"`` (default) loads each ``models/<task>/<task>.tflite`` that
exists, with the version of its signed package (1 without one); ``models=None`` starts
without models; a dict ``{task: (blob, version)}`` gives them explicitly. A task without a
model does not run its detector. :meth:`Wearable.set_model` raises :class:`DeviceError` with
the firmware's status (:class:`WearableError`, ``code_name``) when the interpreter refuses a
model (``NN_FORMAT`` ...), it does not fit the shared arena (``NN_ARENA``) or has the wrong
input/output shape (``NN_SHAPE``).

Events are never scripted here: everything comes from the detectors on the samples fed.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from wearsense import protocol
from wearsense.firmware.device import DeviceCore, DeviceError
from wearsense.protocol import Status
from wearsense.protocol.package import parse as parse_package

TASKS = {"afib": 0, "fall": 1, "activity": 2}
MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
DEFAULT_IMPACT_G = 1.6
DEFAULT_REFRACTORY_FRAMES = 100  # 2 s at 50 Hz
MV_GAIN = 1000.0  # float input in mV is fed as int16 microvolts


# Statuses of the firmware that never travel over the radio (ws_status.h).
_LOCAL_STATUS = {
    0x40: "NN_FORMAT",
    0x41: "NN_BOUNDS",
    0x42: "NN_ALIGN",
    0x43: "NN_SCHEMA",
    0x44: "NN_LIMIT",
    0x45: "NN_OP",
    0x46: "NN_OP_VERSION",
    0x47: "NN_TYPE",
    0x48: "NN_SHAPE",
    0x49: "NN_QUANT",
    0x4A: "NN_OPTIONS",
    0x4B: "NN_INDEX",
    0x4C: "NN_GRAPH",
    0x4D: "NN_ARENA",
    0x4E: "NN_NOT_READY",
    0x4F: "NN_BUFFER",
    0x60: "DSP_RATE",
    0x61: "DSP_CONFIG",
    0x70: "IMU_RATE",
    0x71: "IMU_CONFIG",
}


class WearableError(DeviceError):
    """The firmware refused a call; ``code`` is its status byte and ``code_name`` its name
    (``NN_SHAPE``, ``DSP_RATE`` ...); ``status`` is set when the code is a protocol one."""

    def __init__(self, message: str, code: int) -> None:
        try:
            status: Status | None = Status(code)
            name = Status(code).name
        except ValueError:
            status, name = None, _LOCAL_STATUS.get(code, f"status {code}")
        super().__init__(f"{message}: {name}", status)
        self.code = code
        self.code_name = name


def _check(code: int, message: str) -> None:
    if code != 0:
        raise WearableError(message, code)


@dataclasses.dataclass(frozen=True)
class AppStats:
    """Counters of the detectors (``ws_app_stats_t``)."""

    ecg_samples: int
    imu_samples: int
    af_windows: int
    af_noisy: int
    af_af: int
    af_runs: int
    fall_runs: int
    activity_runs: int
    activity_windows: int
    activity_reused: int
    impacts: int
    model_loads: int
    events: int
    append_errors: int
    activity: int
    in_af: bool
    fall_pending: bool
    last_af_class: int
    posture: int  # 0 uncalibrated, 1 calibrating, 2 calibrated, 3 calibrating again
    imu_implausible: int  # 1 while the IMU is unbelievable (gravity at rest is not 1 g)
    arena_bytes: int
    arena_needed: int


def _task(task: int | str) -> int:
    if isinstance(task, str):
        if task not in TASKS:
            raise DeviceError(f"unknown task {task!r}: one of {', '.join(TASKS)}")
        return TASKS[task]
    if task not in (0, 1, 2):
        raise DeviceError(f"unknown task {task}: 0 afib, 1 fall, 2 activity")
    return task


def shipped_models(models_dir: str | Path | None = None) -> dict[int, tuple[bytes, int]]:
    """The models present under ``models_dir`` (default the repository's ``models/``):
    ``{task: (tflite bytes, version)}``; the version comes from the signed package."""
    root = Path(models_dir) if models_dir is not None else MODELS_DIR
    found: dict[int, tuple[bytes, int]] = {}
    for name, task in TASKS.items():
        tflite = root / name / f"{name}.tflite"
        if not tflite.is_file():
            continue
        version = 1
        pkg = root / name / f"{name}.wspkg"
        if pkg.is_file():
            try:
                version = parse_package(pkg.read_bytes()).header.model_version
            except Exception:  # noqa: BLE001 - a bad package only loses its version number
                version = 1
        found[task] = (tflite.read_bytes(), version)
    return found


class Wearable(DeviceCore):
    """The device core with its detectors (see the module docstring)."""

    def __init__(
        self,
        serial: str = "WS-0001",
        flash: bytes | None = None,
        *,
        models: str | dict[int | str, tuple[bytes, int]] | None = "shipped",
        impact_g: float = DEFAULT_IMPACT_G,
        **kwargs: Any,
    ) -> None:
        if models == "shipped":
            chosen: dict[int, tuple[bytes, int]] = shipped_models()
        elif models is None:
            chosen = {}
        elif isinstance(models, dict):
            chosen = {_task(k): v for k, v in models.items()}
        else:
            raise DeviceError(f"models={models!r}: 'shipped', None or a dict")
        versions = [0, 0, 0]
        for task, (_, version) in chosen.items():
            versions[task] = version
        kwargs.setdefault("model_versions", tuple(versions))
        super().__init__(serial, flash, **kwargs)
        self._app = self._alloc("ws_app_t *", self.lib.ws_app_size())
        _check(self.lib.ws_app_init(self._app, self._dev), "the app refused to start")
        _check(self.lib.ws_app_attach_strips(self._app, self._strips), "strips")
        self._blobs: dict[int, Any] = {}
        self._models: dict[int, tuple[bytes, int]] = {}
        self.impact_g = impact_g
        self._ecg_cfg: tuple[int, float, int, int, int] | None = None
        self._imu_cfg: tuple[int, float] | None = None
        self._ecg_pos = 0  # samples of the current ECG stream
        self._imu_pos = 0
        self._ecg_origin = 0  # platform clock at the stream's first sample
        self._imu_origin = 0
        for task, (blob, version) in chosen.items():
            self._install(task, blob, version)

    # ---- models ----

    def _install(self, task: int, blob: bytes, version: int) -> None:
        if not 0 <= version <= 0xFFFF:
            raise DeviceError(f"model version {version}: u16")
        raw = self.ffi.new("uint8_t[]", max(len(blob), 1) + 16)
        address = int(self.ffi.cast("uintptr_t", raw))
        aligned = self.ffi.cast("uint8_t *", raw) + (-address) % 16
        self.ffi.memmove(aligned, blob, len(blob))
        _check(
            self.lib.ws_app_set_model(self._app, task, aligned, len(blob), version),
            f"the firmware refused the model for task {task}",
        )
        self._blobs[task] = raw  # the firmware runs it in place: keep it alive
        self._models[task] = (bytes(blob), version)

    def set_model(self, task: int | str, blob: bytes, version: int) -> None:
        """Hands a model to a task (``ws_app_set_model``); STATUS pages announce it."""
        t = _task(task)
        self._install(t, blob, version)
        self.set_model_version(t, version)

    # ---- sensors ----

    def _advance(self, origin: int, pos: int, fs: int) -> None:
        target = origin + pos // fs
        if target > self._clock.now_s:
            self._clock.now_s = target

    def feed_ecg(
        self,
        samples: npt.ArrayLike,
        fs: int,
        *,
        adc_gain: float | None = None,
        adc_zero: int = 0,
        adc_min: int = -32768,
        adc_max: int = 32767,
        _settle: bool = True,
    ) -> None:
        """ECG samples as they arrive: ADC counts with ``adc_gain`` counts per mV (and
        ``adc_zero``, the rails ``adc_min``/``adc_max``), or floats in mV when ``adc_gain``
        is None. A new rate or ADC description starts a new ECG stream."""
        data = np.asarray(samples)
        if data.ndim != 1:
            raise DeviceError(f"ECG samples of shape {data.shape}: need one lead (1-D)")
        if adc_gain is None:
            if not np.all(np.isfinite(data)):
                raise DeviceError("ECG samples contain NaN or infinity")
            counts = np.clip(np.round(data.astype(np.float64) * MV_GAIN), -32768, 32767)
            cfg = (int(fs), MV_GAIN, 0, -32768, 32767)
        else:
            if data.size and (data.min() < -32768 or data.max() > 32767):
                raise DeviceError("ECG ADC counts outside int16")
            counts = data
            cfg = (int(fs), float(adc_gain), int(adc_zero), int(adc_min), int(adc_max))
        if int(fs) != fs or fs <= 0:
            raise DeviceError(f"ECG rate {fs}: need a positive integer rate in Hz")
        if cfg != self._ecg_cfg:
            c = self.ffi.new("ws_ecg_config_t *")
            c.fs_in_hz, c.adc_gain, c.adc_zero, c.adc_min, c.adc_max = cfg
            _check(self.lib.ws_app_config_ecg(self._app, c), f"ECG front end refused {cfg}")
            self._ecg_cfg = cfg
            self._ecg_pos = 0
            self._ecg_origin = int(self._clock.now_s)
        buf = np.ascontiguousarray(counts, dtype=np.int16)
        fs_i = int(fs)
        start = 0
        while start < len(buf):
            take = min(len(buf) - start, fs_i - self._ecg_pos % fs_i)
            self._advance(self._ecg_origin, self._ecg_pos, fs_i)
            chunk = buf[start : start + take]
            _check(
                self.lib.ws_app_feed_ecg(self._app, self.ffi.from_buffer("int16_t[]", chunk), take),
                "ECG feed failed",
            )
            start += take
            self._ecg_pos += take
        if _settle:
            self._advance(self._ecg_origin, self._ecg_pos, fs_i)
            self.tick()

    def feed_imu(self, samples: npt.ArrayLike, fs: int, *, _settle: bool = True) -> None:
        """IMU samples as they arrive: (N, 6) acc x,y,z in g then gyro x,y,z in deg/s, or
        (N, 3) acc only. A new rate (or gyro presence) starts a new IMU stream."""
        data = np.asarray(samples, dtype=np.float32)
        if data.ndim != 2 or data.shape[1] not in (3, 6):
            raise DeviceError(f"IMU samples of shape {data.shape}: need (N, 6) or (N, 3)")
        if int(fs) != fs or fs <= 0:
            raise DeviceError(f"IMU rate {fs}: need a positive integer rate in Hz")
        gyro = data.shape[1] == 6
        if not gyro:
            data = np.concatenate([data, np.zeros_like(data)], axis=1)
        cfg = (int(fs), 1.0 if gyro else 0.0)
        if cfg != self._imu_cfg:
            c = self.ffi.new("ws_imu_config_t *")
            c.fs_in_hz = cfg[0]
            c.acc_scale = 1.0
            c.gyro_scale = cfg[1]
            c.impact_g = self.impact_g
            c.refractory = DEFAULT_REFRACTORY_FRAMES
            _check(self.lib.ws_app_config_imu(self._app, c), f"IMU front end refused {cfg}")
            self._imu_cfg = cfg
            self._imu_pos = 0
            self._imu_origin = int(self._clock.now_s)
        buf = np.ascontiguousarray(data, dtype=np.float32)
        fs_i = int(fs)
        start = 0
        while start < len(buf):
            take = min(len(buf) - start, fs_i - self._imu_pos % fs_i)
            self._advance(self._imu_origin, self._imu_pos, fs_i)
            chunk = buf[start : start + take]
            _check(
                self.lib.ws_app_feed_imu(self._app, self.ffi.from_buffer("float[]", chunk), take),
                "IMU feed failed",
            )
            start += take
            self._imu_pos += take
        if _settle:
            self._advance(self._imu_origin, self._imu_pos, fs_i)
            self.tick()

    def feed(
        self,
        *,
        ecg: npt.ArrayLike | None = None,
        ecg_fs: int = 250,
        imu: npt.ArrayLike | None = None,
        imu_fs: int = 50,
        **ecg_adc: Any,
    ) -> None:
        """Both streams side by side: second s of the ECG, then second s of the IMU, both at
        device time s (from each stream's origin), then the clock moves on and summaries
        are due (ECG keywords as :meth:`feed_ecg`). The replay image does the same."""
        e = np.asarray(ecg) if ecg is not None else None
        m = np.asarray(imu) if imu is not None else None
        seconds = max(
            0 if e is None else -(-len(e) // ecg_fs), 0 if m is None else -(-len(m) // imu_fs)
        )
        for s in range(seconds):
            if e is not None and s * ecg_fs < len(e):
                self.feed_ecg(e[s * ecg_fs : (s + 1) * ecg_fs], ecg_fs, _settle=False, **ecg_adc)
            if m is not None and s * imu_fs < len(m):
                self.feed_imu(m[s * imu_fs : (s + 1) * imu_fs], imu_fs, _settle=False)
            if e is not None and self._ecg_cfg is not None:
                self._advance(self._ecg_origin, self._ecg_pos, self._ecg_cfg[0])
            if m is not None and self._imu_cfg is not None:
                self._advance(self._imu_origin, self._imu_pos, self._imu_cfg[0])
            self.tick()

    def set_leads_off(self, leads_off: bool) -> None:
        """The AFE's leads-off comparator (every ECG window is then flagged LEADS_OFF)."""
        _check(self.lib.ws_app_set_leads_off(self._app, int(leads_off)), "leads-off")

    def press_button(self) -> None:
        """The wearer pressed the button (cancels a recent FALL: FALL_CANCELLED)."""
        _check(self.lib.ws_app_button(self._app), "button")

    def calibrate_posture(self, calibrate: bool = True) -> None:
        """The companion's posture calibration (SET_CONFIG POSTURE): with ``calibrate``
        the next activity windows, while the wearer stands upright and still, give the
        standing gravity that then tells sitting from standing (``ws_app_posture``);
        without it the calibration is forgotten."""
        _check(self.lib.ws_app_posture(self._app, int(calibrate)), "posture calibration")

    def tick(self) -> None:
        """Emits the summaries whose interval has passed at the current device time."""
        _check(self.lib.ws_app_tick(self._app), "tick")

    def advance(self, seconds: int) -> None:
        """Moves the device clock on (no samples: the wearer took the patch off)."""
        super().advance(seconds)
        self.tick()

    # ---- reading back ----

    @property
    def time_s(self) -> int:
        """Device time, seconds."""
        return int(self.lib.ws_device_time_s(self._dev))

    def events(self) -> list[protocol.Event]:
        """Every unacknowledged event held, decoded, in seq order."""
        return self.pending()

    def detections(self) -> list[protocol.Event]:
        """The events the detectors produced (no STATUS pages, no GAP)."""
        return [
            e
            for e in self.pending()
            if not isinstance(
                e,
                (
                    protocol.StatusDevice,
                    protocol.StatusModels,
                    protocol.StatusFirmware,
                    protocol.Gap,
                ),
            )
        ]

    def afib_rr_features(self, window: int) -> bytes | None:
        """The RR features the AFib detector computes for its window ``window`` (10.24 s
        windows from the ECG stream's start) from the beats reported so far, or None
        while that window has not ended (``ws_app_afib_rr_features``)."""
        out = self.ffi.new("int8_t[]", int(self.lib.WS_AFIB_RR_FEATURES))
        code = int(self.lib.ws_app_afib_rr_features(self._app, window, out))
        if code == int(self.lib.WS_ERR_RANGE):
            return None
        _check(code, f"RR features of AFib window {window}")
        return bytes(self.ffi.buffer(out))

    def stats(self) -> AppStats:
        raw = self.ffi.new("ws_app_stats_t *")
        self.lib.ws_app_get_stats(self._app, raw)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(AppStats):
            v = int(getattr(raw, f.name))
            values[f.name] = bool(v) if f.name in ("in_af", "fall_pending") else v
        return AppStats(**values)

    def reset(self, *, announce: bool = True) -> Wearable:
        """A new wearable booted on this one's flash with the same models (a reset: RAM
        state is lost, the detectors start over, device time never goes back)."""
        return Wearable(
            self.serial,
            self.flash_image(),
            models=dict(self._models),  # type: ignore[arg-type]
            impact_g=self.impact_g,
            settings=self.settings_image(),
            strips=self.strips_image(),
            page_size=self.page_size,
            page_count=self.page_count,
            strip_pages=self.strip_pages,
            now_s=self.now_s,
            battery_pct=self.battery_pct,
            model_versions=self.info().model_versions,
            sanitized=self._sanitized,
            announce=announce,
        )

    def clone(self) -> DeviceCore:
        """Not supported: the detectors' state holds pointers into this object."""
        raise DeviceError("Wearable.clone is not supported; use reset() or a new Wearable")
