"""UCI HAPT (``uci-hapt/``): a phone on the waist, 50 Hz, acc in g (gravity included) and
gyro in rad/s (converted to deg/s), one acc and one gyro ``.txt.xz`` per experiment.

``RawData/labels.txt`` rows are ``experiment user activity start end``; start and end are
read as 1-based inclusive row numbers (the original is silent; consecutive segments
touch, as in ``243 1364`` then ``1365 1506``) and become 0-based half-open segments.
Activities 1-6 map to walk, upstairs, downstairs, sit, stand, lie; the six postural
transitions (7-12) are kept as segments with ``ActivityClass.UNKNOWN`` and their own
names, so a trainer can drop them or give them a class of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from wearsense.datasets.common import DatasetError
from wearsense.datasets.imu.types import (
    DEG_PER_RAD,
    ActivitySegment,
    ImuRecording,
    Position,
    check_shape,
    numeric_table,
    read_text,
)
from wearsense.protocol.events import ActivityClass, FallClass

NAME = "uci-hapt"
RATE_HZ = 50.0
ACC_RE = re.compile(r"^acc_exp(?P<exp>\d\d)_user(?P<user>\d\d)\.txt(\.xz)?$")
ACTIVITY_OF_ID = {
    1: (ActivityClass.WALK, "WALKING"),
    2: (ActivityClass.UPSTAIRS, "WALKING_UPSTAIRS"),
    3: (ActivityClass.DOWNSTAIRS, "WALKING_DOWNSTAIRS"),
    4: (ActivityClass.SIT, "SITTING"),
    5: (ActivityClass.STAND, "STANDING"),
    6: (ActivityClass.LIE, "LAYING"),
    7: (ActivityClass.UNKNOWN, "STAND_TO_SIT"),
    8: (ActivityClass.UNKNOWN, "SIT_TO_STAND"),
    9: (ActivityClass.UNKNOWN, "SIT_TO_LIE"),
    10: (ActivityClass.UNKNOWN, "LIE_TO_SIT"),
    11: (ActivityClass.UNKNOWN, "STAND_TO_LIE"),
    12: (ActivityClass.UNKNOWN, "LIE_TO_STAND"),
}


def _raw(root: Path) -> Path:
    raw = root / "HAPT Data Set" / "RawData"
    if not raw.is_dir():
        raise DatasetError(raw, "HAPT Data Set/RawData folder is missing")
    return raw


def trial_files(root: Path) -> list[tuple[str, Path]]:
    """(user, acc file) of every experiment."""
    found = []
    for path in sorted(_raw(root).glob("acc_exp*")):
        match = ACC_RE.match(path.name)
        if match:
            found.append((match["user"], path))
    if not found:
        raise DatasetError(_raw(root), "no acc_expXX_userYY.txt.xz files")
    return found


def read_labels(root: Path) -> dict[tuple[int, int], list[tuple[int, int, int]]]:
    """(experiment, user) -> [(activity id, start, stop)] with 0-based half-open bounds."""
    path = _raw(root) / "labels.txt"
    table = numeric_table(path, read_text(path), 5).astype(np.int64)
    out: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    for exp, user, act, start, end in table.tolist():
        if act not in ACTIVITY_OF_ID or start < 1 or end < start:
            raise DatasetError(path, f"bad row {exp} {user} {act} {start} {end}")
        out.setdefault((exp, user), []).append((act, start - 1, end))
    return out


def load_experiment(
    acc_path: Path, labels: dict[tuple[int, int], list[tuple[int, int, int]]]
) -> ImuRecording:
    match = ACC_RE.match(acc_path.name)
    if match is None:
        raise DatasetError(acc_path, "file name is not acc_expXX_userYY.txt[.xz]")
    gyro_path = acc_path.with_name(acc_path.name.replace("acc_", "gyro_", 1))
    acc = numeric_table(acc_path, read_text(acc_path), 3).astype(np.float32)
    gyro = (numeric_table(gyro_path, read_text(gyro_path), 3) * DEG_PER_RAD).astype(np.float32)
    if len(gyro) != len(acc):
        raise DatasetError(gyro_path, f"{len(gyro)} rows but {acc_path.name} has {len(acc)}")
    check_shape(acc_path, acc, gyro)
    exp, user = int(match["exp"]), int(match["user"])
    segments = []
    for act, start, stop in sorted(labels.get((exp, user), []), key=lambda r: r[1]):
        if stop > len(acc):
            raise DatasetError(acc_path, f"label segment {start + 1}-{stop} beyond {len(acc)} rows")
        code, name = ACTIVITY_OF_ID[act]
        segments.append(ActivitySegment(start, stop, code, name))
    return ImuRecording(
        dataset=NAME,
        subject=match["user"],
        position=Position.WAIST,
        trial=f"exp{match['exp']}_user{match['user']}",
        source=acc_path,
        rate_hz=RATE_HZ,
        acc_g=acc,
        gyro_dps=gyro,
        fall=FallClass.ADL,
        segments=tuple(segments),
    )


def recordings(root: Path, subjects: set[str] | None = None) -> Iterator[ImuRecording]:
    labels = read_labels(root)
    for user, path in trial_files(root):
        if subjects is None or user in subjects:
            yield load_experiment(path, labels)


def count(root: Path, subjects: set[str] | None = None) -> int:
    return sum(1 for s, _ in trial_files(root) if subjects is None or s in subjects)


def subjects(root: Path) -> list[str]:
    return sorted({s for s, _ in trial_files(root)})
