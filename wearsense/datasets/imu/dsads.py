"""DSADS, one sensor unit per dataset folder: ``dsads/`` the right-arm unit (unit 2),
``dsads-torso/`` the torso unit (unit 1) of the same recordings and subjects. Both are
25 Hz, acc in m/s^2 (converted to g) and gyro in rad/s (converted to deg/s), 9 columns
(acc, gyro, mag; the magnetometer is not read); ``data/aXX/pY/sZZ.txt.xz``, 60 segments
of 5 s. One :class:`Unit` reads either folder; only its name and position differ. The
loader keeps the 25 Hz; the front end (`wearsense.firmware.imu`, the C resampler)
brings every set to the device's 50 Hz.

The 60 segments of one activity and subject are cut, in time order, from one continuous
5-minute recording, so the loader joins them back into one recording (windows may then
span a segment boundary, as they would on a device). Mapping of the 19 activities to the
device's classes: sit (a01), stand (a02, a07 standing still in an elevator), lie (a03,
a04), upstairs (a05), downstairs (a06), walk (a09 parking lot, a10/a11 treadmill flat and
inclined), run (a12 treadmill), cycle (a15/a16 exercise bike). The other six (a08
moving in an elevator, a13 stepper, a14 cross trainer, a17 rowing, a18 jumping, a19
basketball) are ``ActivityClass.UNKNOWN`` with their names kept.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from wearsense.datasets.common import DatasetError
from wearsense.datasets.imu.types import (
    DEG_PER_RAD,
    G0,
    ActivitySegment,
    ImuRecording,
    Position,
    check_shape,
    numeric_table,
    read_text,
)
from wearsense.protocol.events import ActivityClass, FallClass

RATE_HZ = 25.0
SEGMENTS = 60
SEGMENT_ROWS = 125
A = ActivityClass
ACTIVITIES: dict[int, tuple[ActivityClass, str]] = {
    1: (A.SIT, "sitting"),
    2: (A.STAND, "standing"),
    3: (A.LIE, "lying on back"),
    4: (A.LIE, "lying on right side"),
    5: (A.UPSTAIRS, "ascending stairs"),
    6: (A.DOWNSTAIRS, "descending stairs"),
    7: (A.STAND, "standing in an elevator (still)"),
    8: (A.UNKNOWN, "moving around in an elevator"),
    9: (A.WALK, "walking in a parking lot"),
    10: (A.WALK, "walking on treadmill 4 km/h flat"),
    11: (A.WALK, "walking on treadmill 4 km/h 15 deg inclined"),
    12: (A.RUN, "running on treadmill 8 km/h"),
    13: (A.UNKNOWN, "exercising on a stepper"),
    14: (A.UNKNOWN, "exercising on a cross trainer"),
    15: (A.CYCLE, "cycling on exercise bike, horizontal"),
    16: (A.CYCLE, "cycling on exercise bike, vertical"),
    17: (A.UNKNOWN, "rowing"),
    18: (A.UNKNOWN, "jumping"),
    19: (A.UNKNOWN, "playing basketball"),
}
SUBJECT_RE = re.compile(r"^p(\d+)$")


@dataclasses.dataclass(frozen=True)
class Unit:
    """One DSADS sensor unit as a dataset: its folder name under the data root (also the
    recordings' ``dataset``) and the body position it was worn at."""

    name: str
    position: Position

    def _data(self, root: Path) -> Path:
        data = root / "data"
        if not data.is_dir():
            raise DatasetError(data, f"{self.name} data folder is missing")
        return data

    def trial_files(self, root: Path) -> list[tuple[str, Path]]:
        """(subject, activity folder aXX/pY) of every activity recording."""
        found = []
        for act in sorted(self._data(root).glob("a[0-9][0-9]")):
            for subj in sorted(act.glob("p*")):
                if SUBJECT_RE.match(subj.name) and subj.is_dir():
                    found.append((subj.name, subj))
        if not found:
            raise DatasetError(self._data(root), "no aXX/pY folders")
        return found

    def load_activity(self, folder: Path) -> ImuRecording:
        """The 60 segments of one activity folder ``aXX/pY`` joined into one recording."""
        act = int(folder.parent.name[1:])
        if act not in ACTIVITIES:
            raise DatasetError(folder, f"unknown activity folder {folder.parent.name}")
        parts = []
        for seg in range(1, SEGMENTS + 1):
            path = folder / f"s{seg:02d}.txt.xz"
            if not path.exists():
                plain = folder / f"s{seg:02d}.txt"
                path = plain if plain.exists() else path
            table = numeric_table(path, read_text(path), 9)
            if len(table) != SEGMENT_ROWS:
                raise DatasetError(path, f"{len(table)} rows, want {SEGMENT_ROWS}")
            parts.append(table)
        table = np.vstack(parts)
        acc = (table[:, 0:3] / G0).astype(np.float32)
        gyro = (table[:, 3:6] * DEG_PER_RAD).astype(np.float32)
        check_shape(folder, acc, gyro)
        code, name = ACTIVITIES[act]
        return ImuRecording(
            dataset=self.name,
            subject=folder.name,
            position=self.position,
            trial=f"a{act:02d}_{folder.name}",
            source=folder,
            rate_hz=RATE_HZ,
            acc_g=acc,
            gyro_dps=gyro,
            fall=FallClass.ADL,
            segments=(ActivitySegment(0, len(acc), code, f"a{act:02d} {name}"),),
        )

    def recordings(self, root: Path, subjects: set[str] | None = None) -> Iterator[ImuRecording]:
        for subject, folder in self.trial_files(root):
            if subjects is None or subject in subjects:
                yield self.load_activity(folder)

    def count(self, root: Path, subjects: set[str] | None = None) -> int:
        return sum(1 for s, _ in self.trial_files(root) if subjects is None or s in subjects)

    def subjects(self, root: Path) -> list[str]:
        return sorted({s for s, _ in self.trial_files(root)})


ARM = Unit("dsads", Position.RIGHT_ARM)  # unit 2, columns 10-18 of the original files
TORSO = Unit("dsads-torso", Position.TORSO)  # unit 1, columns 1-9
# the arm unit keeps its module-level API (``imu.DATASETS["dsads"]`` is this module)
NAME = ARM.name
trial_files = ARM.trial_files
load_activity = ARM.load_activity
recordings = ARM.recordings
count = ARM.count
subjects = ARM.subjects
