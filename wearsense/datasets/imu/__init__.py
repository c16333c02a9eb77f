"""IMU datasets (falls and activity): SisFall, UMAFall, UCI HAPT, DSADS (right-arm unit,
``dsads``; torso unit, ``dsads-torso``).

Every loader yields :class:`ImuRecording` objects, one sensor unit of one trial, in g
and deg/s, with subject and body position as attributes and labels as the protocol's
``ActivityClass`` / ``FallClass`` codes. Files are read one trial at a time (lazy), so a
whole set never sits in memory; :func:`recordings` shows a progress bar on request.
Subject splits (train / validation / test) are committed in ``splits/<dataset>.json``.
Errors: :class:`wearsense.datasets.DatasetError`, naming the file at fault.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from tqdm import tqdm

from wearsense.datasets.common import DatasetError, dataset_dir
from wearsense.datasets.imu import dsads, sisfall, ucihapt, umafall
from wearsense.datasets.imu.types import ActivitySegment, DatasetWarning, ImuRecording, Position

__all__ = [
    "DATASETS",
    "SPLITS",
    "ActivitySegment",
    "DatasetError",
    "DatasetWarning",
    "ImuRecording",
    "Position",
    "recordings",
    "split_subjects",
    "subjects",
]

# a loader module, or a DSADS unit (the same loader for each of DSADS's unit folders)
Loader = ModuleType | dsads.Unit
DATASETS: dict[str, Loader] = {
    sisfall.NAME: sisfall,
    umafall.NAME: umafall,
    ucihapt.NAME: ucihapt,
    dsads.NAME: dsads,
    dsads.TORSO.name: dsads.TORSO,
}
SPLITS = ("train", "validation", "test")
SPLIT_DIR = Path(__file__).with_name("splits")
DataDir = str | os.PathLike[str] | None


def _module(name: str) -> Loader:
    if name not in DATASETS:
        raise DatasetError(name, f"not an IMU dataset; known: {', '.join(DATASETS)}")
    return DATASETS[name]


def subjects(name: str, data_dir: DataDir = None) -> list[str]:
    """Subject ids present under ``<data root>/<name>``."""
    return list(_module(name).subjects(dataset_dir(name, data_dir)))


def split_subjects(name: str, split: str) -> list[str]:
    """The committed subject list of one split (``train``, ``validation`` or ``test``)."""
    _module(name)
    if split not in SPLITS:
        raise DatasetError(split, f"not a split; known: {', '.join(SPLITS)}")
    path = SPLIT_DIR / f"{name}.json"
    try:
        table = json.loads(path.read_text())
        return [str(s) for s in table[split]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(path, f"unreadable split file ({exc})") from exc


def recordings(
    name: str,
    data_dir: DataDir = None,
    *,
    split: str | None = None,
    subject_ids: list[str] | None = None,
    positions: set[Position] | None = None,
    progress: bool = False,
    strict: bool = False,
) -> Iterator[ImuRecording]:
    """Recordings of one dataset, one trial at a time.

    ``split`` or ``subject_ids`` restrict the subjects; ``positions`` the sensor units
    (UMAFall has five per trial; the other sets one). ``progress`` shows a tqdm bar
    counting trial files. Unusable parts of a file are left out with a DatasetWarning,
    or raise DatasetError when ``strict``."""
    module = _module(name)
    root = dataset_dir(name, data_dir)
    chosen: set[str] | None = None
    if split is not None:
        chosen = set(split_subjects(name, split))
    if subject_ids is not None:
        chosen = set(subject_ids) if chosen is None else chosen & set(subject_ids)
    if module is umafall:
        stream = umafall.recordings(root, chosen, positions, strict)
    else:
        stream = (
            r for r in module.recordings(root, chosen) if not positions or r.position in positions
        )
    if not progress:
        yield from stream
        return
    bar = tqdm(total=module.count(root, chosen), desc=name, unit="trial")
    last = None
    try:
        for rec in stream:
            if rec.source != last:
                bar.update(1)
                last = rec.source
            yield rec
    finally:
        bar.close()
