"""How often the device's impact trigger fires on the IMU datasets (``wearsense imu
trigger``, ``benchmarks/bench_imu.py``): recall on fall trials and impacts per hour of
daily activity, per dataset, position and threshold, through the firmware's C front end;
and whether the device calls each recording's IMU believable (docs/imu-front-end.md)."""

from __future__ import annotations

import collections
import time
import warnings
from typing import Any

import numpy as np

from wearsense import protocol
from wearsense.datasets import imu
from wearsense.emulator.device import Wearable
from wearsense.firmware import imu as fe
from wearsense.protocol.events import FallClass

THRESHOLDS = (1.4, 1.6, 1.8, 2.0, 2.5, 3.0)
HOLD_S = 2.0  # each trial's end is held still this long so a late impact gets its window

Key = tuple[str, str]


def _held(rec: imu.ImuRecording) -> np.ndarray:
    x = rec.six_axis()
    return np.vstack([x, np.repeat(x[-1:], int(HOLD_S * rec.rate_hz), axis=0)])


def trigger_figures(
    data_dir: str | None = None,
    thresholds: tuple[float, ...] = THRESHOLDS,
    default: float | None = None,
    datasets: list[str] | None = None,
) -> dict[str, Any]:
    """Impact-trigger recall on fall trials and impacts per hour of ADL trials, per
    dataset and position, for each threshold (the C front end, as on the device)."""
    default = fe.DEFAULT_IMPACT_G if default is None else default
    thresholds = tuple(sorted(set(thresholds) | {default}))
    fall_hits: dict[Key, collections.Counter[float]] = collections.defaultdict(collections.Counter)
    adl_hits: dict[Key, collections.Counter[float]] = collections.defaultdict(collections.Counter)
    count: dict[str, collections.Counter[Key]] = collections.defaultdict(collections.Counter)
    hours: dict[Key, float] = collections.defaultdict(float)
    left_out: dict[str, int] = {}
    processed_s = fe_s = 0.0
    for name in datasets or list(imu.DATASETS):
        test_subjects = set(imu.split_subjects(name, "test"))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", imu.DatasetWarning)
            for rec in imu.recordings(name, data_dir, progress=True):
                key = (name, rec.position.value)
                count["recordings"][key] += 1
                count["flagged_implausible"][key] += int(_device_flags_implausible(rec))
                if float(np.median(np.linalg.norm(rec.acc_g, axis=1))) < 0.6:
                    count["median_below_0_6g"][key] += 1
                is_fall = rec.fall is FallClass.FALL
                if is_fall:
                    count["fall"][key] += 1
                else:
                    count["adl"][key] += 1
                    hours[key] += rec.duration_s / 3600.0
                x = _held(rec)
                top = -1
                if is_fall:  # the trial's largest |a| at 50 Hz: the fall's own impact
                    acc = fe.resample(x, rec.rate_hz)[:, :3]
                    top = int(np.argmax(np.einsum("ij,ij->i", acc, acc)))
                for thr in thresholds:
                    started = time.perf_counter()
                    config = fe.FrontEndConfig(
                        fs_in_hz=round(rec.rate_hz),
                        gyro_scale=1.0 if rec.gyro_dps is not None else 0.0,
                        impact_g=thr,
                    )
                    out = fe.ImuFrontEnd(config).process(x)
                    impacts = out.impacts
                    fe_s += time.perf_counter() - started
                    # windows of recorded frames only: the held end is a constant stream
                    # that would look like rest at whatever the last sample read
                    recorded = out.window_ends < int(rec.duration_s * fe.RATE_HZ)
                    if thr == default and np.any(recorded):
                        judged = fe.rest_gravity(out.windows[recorded])
                        count["rest_windows"][key] += int(np.sum(judged >= 0))
                        count["rest_implausible"][key] += int(np.sum(judged == 1))
                    processed_s += x.shape[0] / rec.rate_hz
                    if is_fall:
                        fall_hits[key][thr] += int(bool(impacts))
                        if thr == default and any(abs(i.frame - top) <= 1 for i in impacts):
                            count["largest"][key] += 1
                        if thr == default and rec.subject in test_subjects:
                            count["test_fall"][key] += 1
                            count["test_hit"][key] += int(bool(impacts))
                    else:
                        adl_hits[key][thr] += len(impacts)
        left_out[name] = sum(1 for w in caught if issubclass(w.category, imu.DatasetWarning))
    per_dataset: dict[str, Any] = {}
    for key in sorted(count["recordings"]):
        entry: dict[str, Any] = {
            "recordings": count["recordings"][key],
            "fall_trials": count["fall"][key],
            "adl_trials": count["adl"][key],
            "adl_hours": round(hours[key], 3),
            "recordings_median_g_below_0_6": count["median_below_0_6g"][key],
            # the device's IMU quality (docs/imu-front-end.md, "Is the sensor believable")
            "recordings_flagged_implausible": count["flagged_implausible"][key],
            "rest_windows": count["rest_windows"][key],
            "rest_windows_implausible": count["rest_implausible"][key],
        }
        if count["fall"][key]:
            n = count["fall"][key]
            entry["recall"] = fall_hits[key][default] / n
            # an impact window centred (within one frame) on the trial's largest |a|
            entry["largest_impact_recall"] = count["largest"][key] / n
            if count["test_fall"][key]:
                entry["recall_test_subjects"] = count["test_hit"][key] / count["test_fall"][key]
            entry["recall_by_threshold"] = {f"{t:g}g": fall_hits[key][t] / n for t in thresholds}
        if hours[key] > 0:
            h = hours[key]
            entry["adl_triggers_per_hour"] = adl_hits[key][default] / h
            entry["adl_triggers_per_hour_by_threshold"] = {
                f"{t:g}g": adl_hits[key][t] / h for t in thresholds
            }
        per_dataset.setdefault(key[0], {})[key[1]] = entry
    return {
        "impact_threshold_g": default,
        "refractory_s": fe.DEFAULT_REFRACTORY_S,
        "device_rate_hz": fe.RATE_HZ,
        "per_dataset": per_dataset,
        "streams_left_out_mangled": left_out,
        "front_end_x_realtime": processed_s / max(fe_s, 1e-9),
    }


def _device_flags_implausible(rec: Any) -> bool:
    """Whether the device (its app, no models) calls this recording's IMU unbelievable:
    SIGNAL_QUALITY (IMU, IMPLAUSIBLE) emitted or the state still on at its end."""
    dev = Wearable("WS-IMU-Q", models=None)
    dev.feed_imu(rec.six_axis(), round(rec.rate_hz))
    quality = [e for e in dev.events() if isinstance(e, protocol.SignalQuality)]
    return bool(dev.stats().imu_implausible) or any(
        e.source == protocol.SignalSource.IMU for e in quality
    )
