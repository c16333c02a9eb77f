"""What the emulated wearable senses: real recordings replayed side by side through its
detectors, at a multiple of real time.

The ECG is one MIT-BIH record (lead MLII, ADC counts at 360 Hz as recorded); the IMU is a
playlist of UMAFall trials of one subject, the chest SensorTag (the reference patch is worn
on the chest), played one after another (walking, jogging, sitting down and getting up,
lying down on a bed, a forward fall). The shipped samples (``samples/data``) hold exactly
these; a full data folder (``--data-dir``) holds them too.

A *pass* plays the ECG record and the IMU playlist together from their first samples; the
shorter one then waits (no samples: its sensor is idle) until the longer one ends. With
``loop`` a new pass starts at once (both streams start again; the device clock goes on),
else the player is done. Events come only from the detectors on these samples.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from wearsense.datasets import mitdb
from wearsense.datasets.common import DatasetError, data_root
from wearsense.datasets.imu import Position, umafall

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples" / "data"
DEFAULT_RECORD = "219"
DEFAULT_SUBJECT = "06"
DEFAULT_TRIALS = (
    "ADL_Walking_1",
    "ADL_Jogging_1",
    "ADL_Sitting_GettingUpOnAChair_1",
    "ADL_LyingDown_OnABed_1",
    "Fall_forwardFall_2",
)


class Sensing(Protocol):
    """The part of :class:`~wearsense.emulator.device.Wearable` the player drives."""

    def feed(self, **kwargs: Any) -> None: ...

    def restart_streams(self) -> None: ...


def default_data_dir() -> Path:
    """``$WEARSENSE_DATA`` or ``../shared/data`` when present, else the shipped samples."""
    try:
        return data_root()
    except DatasetError:
        return SAMPLES


@dataclasses.dataclass(frozen=True)
class Recordings:
    """One pass: ECG ADC counts (1-D int16) and IMU frames ((n, 6) g and deg/s)."""

    ecg: np.ndarray
    ecg_fs: int
    adc_gain: float
    adc_zero: int
    imu: np.ndarray
    imu_fs: int
    names: tuple[str, ...]

    @property
    def seconds(self) -> int:
        return max(-(-len(self.ecg) // self.ecg_fs), -(-len(self.imu) // self.imu_fs))


def load(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    record: str = DEFAULT_RECORD,
    subject: str = DEFAULT_SUBJECT,
    trials: tuple[str, ...] = DEFAULT_TRIALS,
) -> Recordings:
    """Reads the ECG record and the IMU playlist from ``data_dir`` (default
    :func:`default_data_dir`). DatasetError names what is missing."""

    root = Path(data_dir) if data_dir is not None else default_data_dir()
    rec = mitdb.load_record(record, root)
    lead = rec.lead_index()
    ecg = np.ascontiguousarray(rec.signals[:, lead], dtype=np.int16)
    folder = root / "umafall" / "UMAFall_Dataset"
    frames: list[np.ndarray] = []
    names = [f"mitdb/{record} ({rec.lead_names[lead]}, {len(ecg) / rec.fs:.0f} s)"]
    rate = 0.0
    for trial in trials:
        found = sorted(folder.glob(f"UMAFall_Subject_{subject}_{trial}_*.csv*"))
        if not found:
            raise DatasetError(folder, f"no trial {trial} of subject {subject}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            units = umafall.load_file(found[0], {Position.CHEST})
        if not units:
            raise DatasetError(found[0], "no usable chest unit")
        unit = units[0]
        if rate and unit.rate_hz != rate:
            raise DatasetError(found[0], f"rate {unit.rate_hz} Hz, the playlist is at {rate}")
        rate = unit.rate_hz
        frames.append(unit.six_axis())
        names.append(f"umafall/{unit.trial} (chest, {unit.duration_s:.0f} s)")
    imu = np.concatenate(frames) if frames else np.zeros((0, 6), np.float32)
    return Recordings(
        ecg=ecg,
        ecg_fs=int(rec.fs),
        adc_gain=float(rec.adc_gain[lead]),
        adc_zero=int(rec.adc_zero[lead]),
        imu=imu,
        imu_fs=int(rate) if rate else 50,
        names=tuple(names),
    )


class Player:
    """Feeds :class:`Recordings` second by second into a device (see the module docstring).
    ``device`` may be replaced (after a reset) between calls."""

    def __init__(self, recordings: Recordings, *, loop: bool = True) -> None:
        self.recordings = recordings
        self.loop = loop
        self.second = 0  # of the current pass
        self.passes = 0  # completed
        self.fed_s = 0  # seconds fed in all

    @property
    def done(self) -> bool:
        return not self.loop and self.passes > 0

    def step(self, device: Sensing, seconds: int) -> int:
        """Feeds up to ``seconds`` seconds of both streams; returns how many it fed."""
        r = self.recordings
        fed = 0
        while fed < seconds and not self.done:
            if self.second == 0:
                device.restart_streams()
            s = self.second
            ecg = r.ecg[s * r.ecg_fs : (s + 1) * r.ecg_fs]
            imu = r.imu[s * r.imu_fs : (s + 1) * r.imu_fs]
            device.feed(
                ecg=ecg if len(ecg) else None,
                ecg_fs=r.ecg_fs,
                imu=imu if len(imu) else None,
                imu_fs=r.imu_fs,
                adc_gain=r.adc_gain,
                adc_zero=r.adc_zero,
            )
            fed += 1
            self.fed_s += 1
            self.second += 1
            if self.second >= r.seconds:
                self.second = 0
                self.passes += 1
        return fed
