"""UMAFall (``umafall/``): four SensorTags (wrist, waist, chest, ankle, ~20 Hz, acc in g
and gyro) and a phone in the right trouser pocket (~200 Hz, acc only), one ``.csv.xz``
per trial holding every sensor.

Which sensor id sits where differs between files, so it is read from each file's header
table (``MAC; Sensor_ID; Position; Device Model``). Sample times are irregular: each
sensor's stream is put on a uniform grid at its nominal rate by linear interpolation of
its own timestamps (duplicated timestamps keep their first sample). Gyroscope units are
not stated in the headers; the SensorTag firmware gives deg/s, which is assumed.

Quirk of the originals: in subject 13's files a spreadsheet mangled every value of
magnitude 1 or more (``1.012.598.156.929.010``, ``-6,10E+10``): the decimal point is
lost and cannot be told back (``10.389.643.907.547`` may be 1.04 or 10.4). Up to 5 % of a
stream's samples may be mangled: they are dropped and the uniform grid interpolates over
them. A stream with more is biased (its large values are the ones missing), so it is
unusable: a unit without a usable accelerometer is left out (without a usable gyroscope
it keeps ``gyro_dps`` None), with a :class:`DatasetWarning` naming the file; with
``strict=True`` it is a :class:`DatasetError` instead.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from wearsense.datasets.common import DatasetError
from wearsense.datasets.imu.types import (
    ActivitySegment,
    DatasetWarning,
    ImuRecording,
    Position,
    check_shape,
    read_text,
)
from wearsense.protocol.events import ActivityClass, FallClass

NAME = "umafall"
TAG_RATE_HZ = 20.0
PHONE_RATE_HZ = 200.0
FILE_RE = re.compile(
    r"^UMAFall_Subject_(?P<subject>\d\d)_(?P<kind>ADL|Fall)_(?P<activity>[A-Za-z_]+?)"
    r"_(?P<trial>\d+)_(?P<date>[\d-]+_[\d-]+)\.csv(\.xz)?$"
)
MAX_BAD_ROWS = 0.05
SENSOR_ROW_RE = re.compile(r"^%\s*([0-9A-Fa-f:]{17})\s*;\s*(\d+)\s*;\s*([A-Za-z]+)\s*;")
POSITION_OF_HEADER = {
    "WAIST": Position.WAIST,
    "CHEST": Position.CHEST,
    "WRIST": Position.WRIST,
    "ANKLE": Position.ANKLE,
    "RIGHTPOCKET": Position.POCKET,
}
ACTIVITY_OF_NAME = {
    "Walking": ActivityClass.WALK,
    "Jogging": ActivityClass.RUN,
    "GoUpstairs": ActivityClass.UPSTAIRS,
    "GoDownstairs": ActivityClass.DOWNSTAIRS,
}  # every other ADL (bending, hopping, clapping, lying down on a bed, ...) is UNKNOWN


def trial_files(root: Path) -> list[tuple[str, Path]]:
    base = root / "UMAFall_Dataset"
    if not base.is_dir():
        raise DatasetError(base, "UMAFall_Dataset folder is missing")
    found = []
    for path in sorted(base.glob("UMAFall_*.csv*")):
        match = FILE_RE.match(path.name)
        if match:
            found.append((match["subject"], path))
    if not found:
        raise DatasetError(base, "no UMAFall trial files (UMAFall_Subject_NN_...csv.xz)")
    return found


def _uniform(path: Path, t_ms: np.ndarray, xyz: np.ndarray, rate: float) -> np.ndarray:
    t_unique, first = np.unique(t_ms, return_index=True)
    if t_unique.size < 2:
        raise DatasetError(path, "a sensor stream has fewer than two distinct timestamps")
    values = xyz[first]
    grid = np.arange(t_unique[0], t_unique[-1] + 1e-9, 1000.0 / rate)
    return np.stack([np.interp(grid, t_unique, values[:, k]) for k in range(3)], axis=1)


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def _parse_rows(path: Path, rows: list[str]) -> np.ndarray:
    """(n, 7) rows; a mangled value becomes NaN (rows whose type or id is mangled go)."""
    try:
        return np.array(" ".join(rows).split(), dtype=np.float64).reshape(-1, 7)
    except ValueError:
        pass  # a mangled value somewhere: parse row by row
    table = np.array([[_float(v) for v in row.split()] for row in rows], dtype=np.float64)
    return table[np.isfinite(table[:, 5]) & np.isfinite(table[:, 6])]


def _stream(table: np.ndarray, kind: int) -> np.ndarray | None:
    """The rows of one sensor type without mangled ones; None if too many were."""
    rows = table[table[:, 5] == kind]
    good = rows[np.all(np.isfinite(rows[:, :5]), axis=1)]
    if len(good) < 2 or len(rows) - len(good) > MAX_BAD_ROWS * len(rows):
        return None
    return good


def load_file(
    path: Path, positions: set[Position] | None = None, strict: bool = False
) -> list[ImuRecording]:
    """One recording per usable sensor unit of the file (restricted to ``positions``)."""
    match = FILE_RE.match(path.name)
    if match is None:
        raise DatasetError(path, "file name is not UMAFall_Subject_NN_<ADL|Fall>_...")
    text = read_text(path)
    placement: dict[int, Position] = {}
    rows: list[str] = []
    for line in text.splitlines():
        if line.startswith("%"):
            sensor = SENSOR_ROW_RE.match(line)
            if sensor and sensor[3].upper() in POSITION_OF_HEADER:
                placement[int(sensor[2])] = POSITION_OF_HEADER[sensor[3].upper()]
            continue
        fields = [f for f in line.split(";") if f.strip()]
        if len(fields) >= 7:
            rows.append(" ".join(fields[:7]))
    if not placement:
        raise DatasetError(path, "header has no sensor table (MAC; Sensor_ID; Position; ...)")
    if not rows:
        raise DatasetError(path, "file holds no samples")
    table = _parse_rows(path, rows)
    fall = FallClass.FALL if match["kind"] == "Fall" else FallClass.ADL
    name = match["activity"]
    activity = (
        ACTIVITY_OF_NAME.get(name, ActivityClass.UNKNOWN) if fall == 0 else (ActivityClass.UNKNOWN)
    )
    out = []
    for sensor_id, position in sorted(placement.items()):
        if positions is not None and position not in positions:
            continue
        mine = table[table[:, 6] == sensor_id]
        acc_rows = _stream(mine, 0)
        gyro_rows = _stream(mine, 1)
        if gyro_rows is None and len(mine[mine[:, 5] == 1]) >= 2:
            reason = f"{position.value} gyroscope has over 5 % mangled values"
            if strict:
                raise DatasetError(path, reason)
            warnings.warn(f"{path}: {reason}; gyro left out", DatasetWarning, stacklevel=2)
        if acc_rows is None:
            if len(mine[mine[:, 5] == 0]) >= 2:  # it sent samples, but mangled ones
                reason = f"{position.value} accelerometer has over 5 % mangled values"
                if strict:
                    raise DatasetError(path, reason)
                warnings.warn(f"{path}: {reason}; unit left out", DatasetWarning, stacklevel=2)
            continue  # a unit listed in the header that sent nothing is simply absent
        rate = PHONE_RATE_HZ if position is Position.POCKET else TAG_RATE_HZ
        acc = _uniform(path, acc_rows[:, 0], acc_rows[:, 2:5], rate)
        gyro = None
        if gyro_rows is not None:
            gyro_full = _uniform(path, gyro_rows[:, 0], gyro_rows[:, 2:5], rate)
            n = min(len(acc), len(gyro_full))
            acc, gyro = acc[:n], gyro_full[:n].astype(np.float32)
        acc32 = acc.astype(np.float32)
        check_shape(path, acc32, gyro)
        out.append(
            ImuRecording(
                dataset=NAME,
                subject=match["subject"],
                position=position,
                trial=f"{match['subject']}_{match['kind']}_{name}_{match['trial']}",
                source=path,
                rate_hz=rate,
                acc_g=acc32,
                gyro_dps=gyro,
                fall=fall,
                segments=(ActivitySegment(0, len(acc32), activity, name),),
            )
        )
    return out


def recordings(
    root: Path,
    subjects: set[str] | None = None,
    positions: set[Position] | None = None,
    strict: bool = False,
) -> Iterator[ImuRecording]:
    for subject, path in trial_files(root):
        if subjects is None or subject in subjects:
            yield from load_file(path, positions, strict)


def count(root: Path, subjects: set[str] | None = None) -> int:
    return sum(1 for s, _ in trial_files(root) if subjects is None or s in subjects)


def subjects(root: Path) -> list[str]:
    return sorted({s for s, _ in trial_files(root)})
