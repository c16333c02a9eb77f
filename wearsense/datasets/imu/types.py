"""The one shape every IMU loader returns: a recording from one sensor unit on one body
position of one subject, in physical units (g, deg/s), with its labels mapped to the
protocol's class codes (``ActivityClass``, ``FallClass``)."""

from __future__ import annotations

import dataclasses
import enum
import lzma
from pathlib import Path

import numpy as np

from wearsense.datasets.common import DatasetError
from wearsense.protocol.events import ActivityClass, FallClass

G0 = 9.80665  # standard gravity, m/s^2 per g
DEG_PER_RAD = 180.0 / np.pi


class Position(enum.StrEnum):
    """Where the sensor unit sat on the body."""

    WAIST = "waist"
    CHEST = "chest"
    WRIST = "wrist"
    ANKLE = "ankle"
    POCKET = "pocket"  # a phone in the right trouser pocket (UMAFall)
    RIGHT_ARM = "right_arm"  # DSADS unit 2; the README gives no finer placement
    # DSADS unit 1, on the trunk (the device's own placement, like waist and chest); the
    # dataset's description gives no finer placement than "torso"
    TORSO = "torso"


class DatasetWarning(UserWarning):
    """Part of a file was unusable and left out (the message names the file and why);
    the rest of the file was loaded. Loaders raise DatasetError instead when strict."""


@dataclasses.dataclass(frozen=True)
class ActivitySegment:
    """Samples ``start`` (inclusive) to ``stop`` (exclusive) carry one activity.

    ``activity`` is the protocol code; ``ActivityClass.UNKNOWN`` for activities outside
    the eight device classes (transitions, sports, falls). ``source_label`` is the
    dataset's own name for it, kept so nothing is lost by the mapping."""

    start: int
    stop: int
    activity: ActivityClass
    source_label: str


@dataclasses.dataclass(frozen=True, eq=False)
class ImuRecording:
    """One trial of one sensor unit.

    ``acc_g`` is (n, 3) float32 in g, gravity included, in the unit's own axes;
    ``gyro_dps`` is (n, 3) float32 in deg/s, or None where the unit has no gyroscope.
    ``rate_hz`` is the (uniform) sample rate of both. ``fall`` is the trial's label:
    ``FallClass.FALL`` for a fall trial, ``FallClass.ADL`` for every other trial.
    ``segments`` tile the labelled samples (samples outside every segment are unlabelled).
    """

    dataset: str
    subject: str
    position: Position
    trial: str
    source: Path
    rate_hz: float
    acc_g: np.ndarray
    gyro_dps: np.ndarray | None
    fall: FallClass
    segments: tuple[ActivitySegment, ...]

    @property
    def n_samples(self) -> int:
        return int(self.acc_g.shape[0])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.rate_hz

    @property
    def activity(self) -> ActivityClass:
        """The trial's activity when one code covers every labelled sample, else UNKNOWN."""
        codes = {s.activity for s in self.segments}
        return codes.pop() if len(codes) == 1 else ActivityClass.UNKNOWN

    def six_axis(self) -> np.ndarray:
        """(n, 6) float32: acc x,y,z in g then gyro x,y,z in deg/s (zeros without a gyro)."""
        gyro = self.gyro_dps if self.gyro_dps is not None else np.zeros_like(self.acc_g)
        return np.ascontiguousarray(np.hstack([self.acc_g, gyro]), dtype=np.float32)


def read_text(path: Path) -> str:
    """The text of a ``.xz`` (or plain) file; DatasetError naming it when unreadable."""
    try:
        if path.suffix == ".xz":
            with lzma.open(path, "rt", encoding="latin-1") as handle:
                return handle.read()
        return path.read_text(encoding="latin-1")
    except FileNotFoundError as exc:
        raise DatasetError(path, "file is missing") from exc
    except (OSError, lzma.LZMAError, EOFError) as exc:
        raise DatasetError(path, f"cannot read ({exc})") from exc


def numeric_table(path: Path, text: str, columns: int, separators: str = ",;") -> np.ndarray:
    """Parses rows of ``columns`` numbers separated by whitespace or ``separators``."""
    for sep in separators:
        text = text.replace(sep, " ")
    try:
        values = np.array(text.split(), dtype=np.float64)
    except ValueError as exc:
        raise DatasetError(path, f"non-numeric value in the data ({exc})") from exc
    if values.size == 0:
        raise DatasetError(path, "file holds no samples")
    if values.size % columns:
        raise DatasetError(path, f"{values.size} values do not form rows of {columns} columns")
    table = values.reshape(-1, columns)
    if not np.all(np.isfinite(table)):
        raise DatasetError(path, "non-finite value in the data")
    return table


def check_shape(path: Path, acc: np.ndarray, gyro: np.ndarray | None) -> None:
    if acc.ndim != 2 or acc.shape[1] != 3 or acc.shape[0] < 2:
        raise DatasetError(path, f"accelerometer data has shape {acc.shape}, want (n>=2, 3)")
    if gyro is not None and gyro.shape != acc.shape:
        raise DatasetError(path, f"gyroscope shape {gyro.shape} differs from {acc.shape}")
