"""Subjects, recordings, fall trials and hours per IMU dataset and sensor position
(``wearsense imu summary``)."""

from __future__ import annotations

import warnings
from typing import Any

from wearsense.datasets import imu
from wearsense.protocol.events import FallClass


def summary(data_dir: str | None = None, datasets: list[str] | None = None) -> dict[str, Any]:
    """Subjects, recordings, fall trials and hours per dataset and position."""
    out: dict[str, Any] = {}
    for name in datasets or list(imu.DATASETS):
        table: dict[str, dict[str, Any]] = {}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", imu.DatasetWarning)
            for rec in imu.recordings(name, data_dir, progress=True):
                row = table.setdefault(
                    rec.position.value,
                    {"subjects": set(), "recordings": 0, "fall_trials": 0, "hours": 0.0},
                )
                row["subjects"].add(rec.subject)
                row["recordings"] += 1
                row["fall_trials"] += int(rec.fall is FallClass.FALL)
                row["hours"] += rec.duration_s / 3600.0
        for row in table.values():
            row["subjects"] = len(row["subjects"])
            row["hours"] = round(row["hours"], 3)
        out[name] = {
            "positions": table,
            "splits": {s: len(imu.split_subjects(name, s)) for s in imu.SPLITS},
            "parts_left_out": sum(1 for w in caught if issubclass(w.category, imu.DatasetWarning)),
        }
    return out
