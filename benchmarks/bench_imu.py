"""IMU front end on the real recordings: how often the impact trigger fires on fall
trials (recall) and on daily activities (triggers per hour), per dataset and sensor
position, for a sweep of thresholds; plus the front end's speed.

Every trial of every subject under the data root is run through the C front end (the
same code the device runs), with the end of each trial held still for 2 s so an impact
near the end still gets the frames after it. A fall trial counts as recalled when at
least one impact fires anywhere in it. The trigger only decides when the fall classifier
runs, so its recall bounds the detector's sensitivity; its ADL rate is how often the
classifier must run (not a false-alarm rate of the detector).
"""

from __future__ import annotations

import collections
import time
import warnings
from typing import Any

import numpy as np

from wearsense.datasets import imu
from wearsense.firmware import imu as fe
from wearsense.protocol.events import FallClass

KEY = "imu"
THRESHOLDS = (1.4, 1.6, 1.8, 2.0, 2.5, 3.0)
HOLD_S = 2.0


def _held(rec: imu.ImuRecording) -> np.ndarray:
    x = rec.six_axis()
    tail = np.repeat(x[-1:], int(HOLD_S * rec.rate_hz), axis=0)
    return np.vstack([x, tail])


def _stream(name: str) -> list[imu.ImuRecording]:
    return list(imu.recordings(name, progress=True))


def run() -> dict[str, Any]:
    # (dataset, position) -> counters
    falls: dict[tuple[str, str], collections.Counter[float]] = collections.defaultdict(
        collections.Counter
    )
    adl_hits: dict[tuple[str, str], collections.Counter[float]] = collections.defaultdict(
        collections.Counter
    )
    n_fall: collections.Counter[tuple[str, str]] = collections.Counter()
    test_fall: collections.Counter[tuple[str, str]] = collections.Counter()
    test_hit: collections.Counter[tuple[str, str]] = collections.Counter()
    n_adl: collections.Counter[tuple[str, str]] = collections.Counter()
    adl_hours: collections.Counter[tuple[str, str]] = collections.Counter()
    low_gravity: collections.Counter[tuple[str, str]] = collections.Counter()
    n_rec: collections.Counter[tuple[str, str]] = collections.Counter()
    input_hours = 0.0
    fe_seconds = 0.0
    left_out: collections.Counter[str] = collections.Counter()
    for name in imu.DATASETS:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", imu.DatasetWarning)
            loaded = list(_stream(name))
        left_out[name] = sum(1 for w in caught if issubclass(w.category, imu.DatasetWarning))
        test_subjects = set(imu.split_subjects(name, "test"))
        for rec in loaded:
            key = (name, rec.position.value)
            n_rec[key] += 1
            if float(np.median(np.linalg.norm(rec.acc_g, axis=1))) < 0.6:
                low_gravity[key] += 1
            x = _held(rec)
            if rec.fall is FallClass.FALL:
                n_fall[key] += 1
            else:
                n_adl[key] += 1
                adl_hours[key] += rec.duration_s / 3600.0
            for thr in THRESHOLDS:
                started = time.perf_counter()
                config = fe.FrontEndConfig(
                    fs_in_hz=round(rec.rate_hz),
                    gyro_scale=1.0 if rec.gyro_dps is not None else 0.0,
                    impact_g=thr,
                )
                out = fe.ImuFrontEnd(config).process(x)
                fe_seconds += time.perf_counter() - started
                input_hours += x.shape[0] / rec.rate_hz / 3600.0
                if rec.fall is FallClass.FALL:
                    falls[key][thr] += 1 if out.impacts else 0
                    if thr == fe.DEFAULT_IMPACT_G and rec.subject in test_subjects:
                        test_fall[key] += 1
                        test_hit[key] += 1 if out.impacts else 0
                else:
                    adl_hits[key][thr] += len(out.impacts)
    per_dataset: dict[str, Any] = {}
    for key in sorted(n_rec):
        name, position = key
        entry: dict[str, Any] = {
            "recordings": n_rec[key],
            "fall_trials": n_fall[key],
            "adl_trials": n_adl[key],
            "adl_hours": round(adl_hours[key], 3),
            "recordings_median_g_below_0_6": low_gravity[key],
        }
        default = fe.DEFAULT_IMPACT_G
        if n_fall[key]:
            entry["recall"] = falls[key][default] / n_fall[key]
            if test_fall[key]:
                entry["recall_test_subjects"] = test_hit[key] / test_fall[key]
            entry["recall_by_threshold"] = {
                f"{t:g}g": falls[key][t] / n_fall[key] for t in THRESHOLDS
            }
        if adl_hours[key] > 0:
            entry["adl_triggers_per_hour"] = adl_hits[key][default] / adl_hours[key]
            entry["adl_triggers_per_hour_by_threshold"] = {
                f"{t:g}g": adl_hits[key][t] / adl_hours[key] for t in THRESHOLDS
            }
        per_dataset.setdefault(name, {})[position] = entry
    return {
        "impact_threshold_g": fe.DEFAULT_IMPACT_G,
        "refractory_s": fe.DEFAULT_REFRACTORY_S,
        "device_rate_hz": fe.RATE_HZ,
        "per_dataset": per_dataset,
        "streams_left_out_mangled": dict(left_out),
        "front_end_x_realtime": input_hours * 3600.0 / max(fe_seconds, 1e-9),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=1))
