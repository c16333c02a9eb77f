"""PhysioNet/CinC Challenge 2017 (AliveCor single-lead ECG, 300 Hz).

Layout: ``<root>/cinc2017/training2017/{Axxxxx.hea, Axxxxx.mat, REFERENCE.csv}``.
``REFERENCE.csv`` holds the v3 labels (``record,label``, no header); labels are
``N`` normal, ``A`` atrial fibrillation, ``O`` other rhythm, ``~`` too noisy.
Signals are returned as the ADC integers the device would produce (1000 adu/mV).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from wearsense.datasets.common import DatasetError, dataset_dir
from wearsense.datasets.wfdb_io import read_wfdb

NAME = "cinc2017"
LABELS = ("N", "A", "O", "~")
FS_HZ = 300


@dataclass(frozen=True)
class CincRecord:
    """One AliveCor recording: ``signal`` in ADC units, ``signal / adc_gain`` is mV."""

    record_id: str
    label: str
    fs: int
    adc_gain: float
    adc_zero: int
    signal: npt.NDArray[np.int16]

    @property
    def duration_s(self) -> float:
        return len(self.signal) / self.fs


def record_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    folder = dataset_dir(NAME, data_dir) / "training2017"
    if not folder.is_dir():
        raise DatasetError(folder, "CinC 2017 record folder 'training2017' is missing")
    return folder


def read_labels(data_dir: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """{record id: v3 label} from REFERENCE.csv, in file order."""
    path = record_dir(data_dir) / "REFERENCE.csv"
    try:
        text = path.read_text()
    except OSError as exc:
        raise DatasetError(path, f"cannot read the label file ({exc.strerror})") from exc
    labels: dict[str, str] = {}
    for lineno, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row:
            continue
        if len(row) != 2 or row[1].strip() not in LABELS:
            raise DatasetError(
                path,
                f"line {lineno}: expected 'record,label' with a label in "
                f"{'/'.join(LABELS)}, got {','.join(row)!r}",
            )
        labels[row[0].strip()] = row[1].strip()
    if not labels:
        raise DatasetError(path, "no labels")
    return labels


def load_record(
    record_id: str, label: str | None = None, data_dir: str | os.PathLike[str] | None = None
) -> CincRecord:
    """One record; ``label`` is looked up in REFERENCE.csv when not given."""
    if label is None:
        labels = read_labels(data_dir)
        if record_id not in labels:
            raise DatasetError(
                record_dir(data_dir) / "REFERENCE.csv", f"record {record_id!r} has no label"
            )
        label = labels[record_id]
    wf = read_wfdb(record_dir(data_dir) / record_id)
    if wf.fs != FS_HZ or wf.signals.shape[1] != 1:
        raise DatasetError(
            wf.header, f"expected 1 channel at {FS_HZ} Hz, got {wf.signals.shape[1]} at {wf.fs} Hz"
        )
    return CincRecord(
        record_id, label, int(wf.fs), wf.gains[0], wf.baselines[0], wf.signals[:, 0].copy()
    )


def iter_records(
    record_ids: list[str] | None = None, data_dir: str | os.PathLike[str] | None = None
) -> Iterator[CincRecord]:
    """The records named (default: every labelled record), in order."""
    labels = read_labels(data_dir)
    for record_id in record_ids if record_ids is not None else list(labels):
        if record_id not in labels:
            raise DatasetError(
                record_dir(data_dir) / "REFERENCE.csv", f"record {record_id!r} has no label"
            )
        yield load_record(record_id, labels[record_id], data_dir)
