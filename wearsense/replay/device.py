"""One recording's device: a fresh :class:`~wearsense.emulator.device.Wearable` (the C
device core with its detectors and the shipped models) per recording. Device time
follows the sample clock, so events carry the recording's seconds whatever the speed."""

from __future__ import annotations

from typing import Any

import numpy as np

from wearsense.emulator.device import TASKS, Wearable, shipped_models
from wearsense.firmware.device import DeviceError
from wearsense.protocol.events import Event
from wearsense.replay.runner import ReplayError, SessionFactory
from wearsense.replay.sources import Recording


class WearableSession:
    """Feeds one recording into a Wearable and hands out each new event once."""

    def __init__(self, wearable: Any) -> None:
        self.wearable = wearable
        self._seen: set[int] = set()

    def now_s(self) -> int:
        return int(self.wearable.time_s)

    def feed(self, kind: str, samples: np.ndarray, fs: float) -> None:
        rate = int(round(fs))
        if abs(rate - fs) > 1e-6:
            raise ReplayError(f"sample rate {fs} Hz is not a whole number of hertz")
        try:
            if kind == "ecg":
                self.wearable.feed_ecg(samples, rate)
            elif kind == "imu":
                self.wearable.feed_imu(samples, rate)
            else:
                raise ReplayError(f"unknown stream kind {kind!r}")
        except DeviceError as exc:
            raise ReplayError(f"the device core refused the samples: {exc}") from exc

    def calibrate_posture(self) -> None:
        """The companion's SET_CONFIG POSTURE: the wearer stands, the device calibrates."""
        self.wearable.calibrate_posture(True)

    def drain(self) -> list[Event]:
        fresh = [e for e in self.wearable.detections() if e.seq not in self._seen]
        self._seen.update(e.seq for e in fresh)
        return fresh


def open_session_factory(models: str | None = None) -> SessionFactory:
    """A factory of sessions on fresh Wearables with the models of ``models`` (a folder
    laid out like ``models/``; default the repository's shipped models)."""
    try:
        chosen = shipped_models(models)
    except OSError as exc:
        raise ReplayError(f"cannot read the models ({exc})") from exc
    if not chosen:
        raise ReplayError(f"no models under {models or 'models/'}")

    def factory(rec: Recording) -> WearableSession:
        serial = f"RP-{rec.dataset[:4]}-{rec.subject}"[:16]
        try:
            given: dict[int | str, tuple[bytes, int]] = dict(chosen.items())
            return WearableSession(Wearable(serial, models=given))
        except DeviceError as exc:
            raise ReplayError(f"the device core refused to start: {exc}") from exc

    return factory


def factory_models(models: str | None = None) -> dict[str, int | None]:
    """{task: model version} of the models a replay runs (None: no model, the detector
    does not run)."""
    chosen = shipped_models(models)
    return {name: chosen[task][1] if task in chosen else None for name, task in TASKS.items()}
