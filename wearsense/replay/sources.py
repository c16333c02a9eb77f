"""What a replay feeds: recordings of the datasets under the data root, one
:class:`Recording` per record or trial, with the annotations the scoring needs.

Defaults are the held-out test splits (``wearsense/datasets/splits`` for MIT-BIH,
``wearsense/datasets/imu/splits`` for the IMU sets): nothing the detectors were tuned on.
UMAFall trials are replayed from the waist SensorTag (the reference device is a chest or
waist patch); SisFall and UCI-HAPT have one waist unit.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from wearsense.datasets import imu, mitdb
from wearsense.datasets.common import DatasetError, dataset_dir
from wearsense.datasets.splits import load_split
from wearsense.protocol.events import FallClass
from wearsense.replay.scoring import impact_time_s

ECG_DATASETS = ("mitdb",)
IMU_DATASETS = ("sisfall", "umafall", "uci-hapt")
DATASETS = ECG_DATASETS + IMU_DATASETS
SPLITS = ("train", "validation", "test", "all")
DataDir = str | os.PathLike[str] | None


@dataclasses.dataclass(frozen=True, eq=False)
class Recording:
    """One stream to replay. ``kind`` is 'ecg' (``signal`` 1-D, mV) or 'imu' (``signal``
    (n, 6): acc in g, gyro in deg/s). ``annotations`` holds what the scoring of this
    dataset reads (see :mod:`wearsense.replay.scoring`)."""

    dataset: str
    name: str
    subject: str
    kind: str
    fs: float
    signal: np.ndarray
    annotations: dict[str, Any]

    @property
    def duration_s(self) -> float:
        return len(self.signal) / self.fs


def mitdb_ids(split: str, records: list[str] | None, data_dir: DataDir) -> list[str]:
    present = mitdb.record_ids(data_dir)
    if records:
        missing = [r for r in records if r not in present]
        if missing:
            raise DatasetError(f"mitdb/{missing[0]}", "record not in the data folder's RECORDS")
        return list(records)
    if split == "all":
        return present
    wanted = load_split("mitdb")[split]
    missing = [r for r in wanted if r not in present]
    if missing:
        raise DatasetError(f"mitdb/{missing[0]}", f"{split} record missing from the data folder")
    return wanted


def mitdb_samples(rid: str, data_dir: DataDir) -> int:
    """The sample count of a MIT-BIH record, from its header (for the progress bar)."""
    header = dataset_dir("mitdb", data_dir) / f"{rid}.hea"
    try:
        first = header.read_text().splitlines()[0].split()
        return int(first[3])
    except (OSError, IndexError, ValueError) as exc:
        raise DatasetError(header, "cannot read the sample count from the header") from exc


def mitdb_recordings(
    split: str = "test",
    records: list[str] | None = None,
    data_dir: DataDir = None,
    max_s: float | None = None,
) -> Iterator[Recording]:
    """MIT-BIH records as single-lead ECG in mV (MLII where present), with rhythm
    intervals in seconds. ``max_s`` cuts each record (tests use short excerpts)."""
    for rid in mitdb_ids(split, records, data_dir):
        rec = mitdb.load_record(rid, data_dir)
        lead = rec.lead_index()
        n = rec.n_samples if max_s is None else min(rec.n_samples, int(max_s * rec.fs))
        mv = (rec.signals[:n, lead].astype(np.float32) - rec.adc_zero[lead]) / rec.adc_gain[lead]
        rhythms = [
            (r.label, r.start / rec.fs, min(r.end, n) / rec.fs) for r in rec.rhythms if r.start < n
        ]
        excluded = [(s / rec.fs, min(e, n) / rec.fs) for s, e in rec.excluded if s < n]
        yield Recording(
            "mitdb",
            rid,
            rid,
            "ecg",
            float(rec.fs),
            mv.astype(np.float32),
            {"rhythms": rhythms, "excluded": excluded, "lead": rec.lead_names[lead]},
        )


def imu_recordings(
    dataset: str,
    split: str = "test",
    subjects: list[str] | None = None,
    data_dir: DataDir = None,
    limit: int | None = None,
) -> Iterator[Recording]:
    """Waist-unit trials of one IMU set. Fall trials carry the impact time (largest
    acceleration magnitude); UCI-HAPT experiments carry their labelled segments."""
    chosen_split = None if split == "all" else split
    count = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", imu.DatasetWarning)
        stream = imu.recordings(
            dataset,
            data_dir,
            split=chosen_split,
            subject_ids=subjects,
            positions={imu.Position.WAIST},
        )
        for rec in stream:
            if limit is not None and count >= limit:
                return
            count += 1
            yield from_imu(rec)


def from_imu(rec: imu.ImuRecording) -> Recording:
    """One IMU trial as a replay recording, with the annotations its scoring reads."""
    is_fall = rec.fall is FallClass.FALL
    annotations: dict[str, Any] = {
        "is_fall": is_fall,
        "segments": [
            (int(s.activity), s.start / rec.rate_hz, s.stop / rec.rate_hz) for s in rec.segments
        ],
    }
    if is_fall:
        annotations["impact_s"] = impact_time_s(rec.acc_g, rec.rate_hz)
    return Recording(
        rec.dataset, rec.trial, rec.subject, "imu", float(rec.rate_hz), rec.six_axis(), annotations
    )


def count_imu(dataset: str, split: str, subjects: list[str] | None, data_dir: DataDir) -> int:
    """Trial files the stream will read (for the progress bar)."""
    module = imu.DATASETS[dataset]
    chosen: set[str] | None = None if split == "all" else set(imu.split_subjects(dataset, split))
    if subjects is not None:
        chosen = set(subjects) if chosen is None else chosen & set(subjects)
    return int(module.count(dataset_dir(dataset, data_dir), chosen))
