"""SisFall (``sisfall/``): a waist unit at 200 Hz, one ``.txt.xz`` per trial.

Columns are raw counts: ADXL345 acc (+-16 g, 13 bit), ITG3200 gyro (+-2000 deg/s,
16 bit), MMA8451Q acc (+-8 g, 14 bit). The loader keeps the ADXL345 as the
accelerometer (its +-16 g range does not clip at fall impacts) and the ITG3200 as the
gyroscope. Labels come from the file name ``<CODE>_<SUBJECT>_R<trial>``; the subject
comes from the folder (the README notes SA15's D17 files are misnamed ``SE15``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from wearsense.datasets.common import DatasetError
from wearsense.datasets.imu.types import (
    ActivitySegment,
    ImuRecording,
    Position,
    check_shape,
    numeric_table,
    read_text,
)
from wearsense.protocol.events import ActivityClass, FallClass

NAME = "sisfall"
RATE_HZ = 200.0
ADXL345_G_PER_COUNT = 32.0 / 8192.0  # 2 * 16 g over 2^13
ITG3200_DPS_PER_COUNT = 4000.0 / 65536.0  # 2 * 2000 deg/s over 2^16
MMA8451Q_G_PER_COUNT = 16.0 / 16384.0  # 2 * 8 g over 2^14
FILE_RE = re.compile(r"^(?P<code>[DF]\d\d)_(?P<subject>S[AE]\d\d)_R(?P<trial>\d\d)\.txt(\.xz)?$")

# ADLs that are one of the device's activity classes for the whole trial. D05/D06
# (stairs up then down in one trial) and the posture changes are mixed: UNKNOWN.
ACTIVITY_OF_CODE = {
    "D01": ActivityClass.WALK,  # walking slowly
    "D02": ActivityClass.WALK,  # walking quickly
    "D03": ActivityClass.RUN,  # jogging slowly
    "D04": ActivityClass.RUN,  # jogging quickly
}


def trial_files(root: Path) -> list[tuple[str, Path]]:
    """(subject, file) of every trial under ``root`` (the dataset folder)."""
    base = root / "SisFall_dataset"
    if not base.is_dir():
        raise DatasetError(base, "SisFall_dataset folder is missing")
    found = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.txt*")):
            if FILE_RE.match(path.name):
                found.append((folder.name, path))
    if not found:
        raise DatasetError(base, "no SisFall trial files (<CODE>_<SUBJECT>_Rxx.txt.xz)")
    return found


def load_trial(subject: str, path: Path) -> ImuRecording:
    match = FILE_RE.match(path.name)
    if match is None:
        raise DatasetError(path, "file name is not <CODE>_<SUBJECT>_Rxx.txt[.xz]")
    code = match["code"]
    counts = numeric_table(path, read_text(path), 9)
    acc = (counts[:, 0:3] * ADXL345_G_PER_COUNT).astype(np.float32)
    gyro = (counts[:, 3:6] * ITG3200_DPS_PER_COUNT).astype(np.float32)
    check_shape(path, acc, gyro)
    fall = FallClass.FALL if code.startswith("F") else FallClass.ADL
    activity = ACTIVITY_OF_CODE.get(code, ActivityClass.UNKNOWN)
    return ImuRecording(
        dataset=NAME,
        subject=subject,
        position=Position.WAIST,
        trial=f"{code}_{subject}_R{match['trial']}",
        source=path,
        rate_hz=RATE_HZ,
        acc_g=acc,
        gyro_dps=gyro,
        fall=fall,
        segments=(ActivitySegment(0, len(acc), activity, code),),
    )


def recordings(root: Path, subjects: set[str] | None = None) -> Iterator[ImuRecording]:
    for subject, path in trial_files(root):
        if subjects is None or subject in subjects:
            yield load_trial(subject, path)


def count(root: Path, subjects: set[str] | None = None) -> int:
    return sum(1 for s, _ in trial_files(root) if subjects is None or s in subjects)


def subjects(root: Path) -> list[str]:
    return sorted({s for s, _ in trial_files(root)})
