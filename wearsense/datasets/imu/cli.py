"""`wearsense imu`: look at the IMU datasets under the data root and at what the
device's impact trigger does on them (docs/imu-front-end.md)."""

from __future__ import annotations

import argparse
import collections
import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from wearsense.datasets import imu
from wearsense.datasets.common import DatasetError
from wearsense.protocol.events import FallClass

THRESHOLDS = (1.4, 1.6, 1.8, 2.0, 2.5, 3.0)
HOLD_S = 2.0  # each trial's end is held still this long so a late impact gets its window

Key = tuple[str, str]


def _held(rec: imu.ImuRecording) -> np.ndarray:
    x = rec.six_axis()
    return np.vstack([x, np.repeat(x[-1:], int(HOLD_S * rec.rate_hz), axis=0)])


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


def trigger_figures(
    data_dir: str | None = None,
    thresholds: tuple[float, ...] = THRESHOLDS,
    default: float | None = None,
    datasets: list[str] | None = None,
) -> dict[str, Any]:
    """Impact-trigger recall on fall trials and impacts per hour of ADL trials, per
    dataset and position, for each threshold (the C front end, as on the device)."""
    from wearsense.firmware import imu as fe

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
    from wearsense import protocol
    from wearsense.firmware.wearable import Wearable

    dev = Wearable("WS-IMU-Q", models=None)
    dev.feed_imu(rec.six_axis(), round(rec.rate_hz))
    quality = [e for e in dev.events() if isinstance(e, protocol.SignalQuality)]
    return bool(dev.stats().imu_implausible) or any(
        e.source == protocol.SignalSource.IMU for e in quality
    )


def _write(result: dict[str, Any], path: str | None) -> None:
    text = json.dumps(result, indent=1)
    if path:
        Path(path).write_text(text + "\n")
        print(f"wrote {path}")
    else:
        print(text)


def _summary(args: argparse.Namespace) -> int:
    try:
        _write(summary(args.data_dir, args.dataset), args.json)
    except DatasetError as exc:
        print(f"error: {exc}")
        return 1
    return 0


def _trigger(args: argparse.Namespace) -> int:
    try:
        result = trigger_figures(
            args.data_dir, tuple(args.thresholds), args.threshold, args.dataset
        )
    except DatasetError as exc:
        print(f"error: {exc}")
        return 1
    _write(result, args.json)
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "imu",
        help="IMU datasets and the impact trigger (docs/imu-front-end.md)",
        description=(
            "Look at the IMU datasets (sisfall, umafall, uci-hapt, dsads) under the data "
            "root and at what the device's impact trigger does on them. The data root is "
            "--data-dir, else $WEARSENSE_DATA, else ../shared/data next to the repository."
        ),
    )
    sub = parser.add_subparsers(dest="imu_command", metavar="ACTION", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="folder holding one sub-folder per dataset")
    common.add_argument(
        "--dataset",
        action="append",
        choices=sorted(imu.DATASETS),
        help="only this dataset (repeatable; default: all four)",
    )
    common.add_argument("--json", metavar="OUT", help="write the result here instead of stdout")
    summ = sub.add_parser(
        "summary",
        parents=[common],
        help="subjects, recordings, fall trials and hours per dataset and position",
        description=(
            "Read every trial (with a progress bar) and count subjects, recordings, fall "
            "trials and hours per dataset and sensor position, plus the committed split "
            "sizes. Exit status 1 with the file named when a file is missing or bad."
        ),
    )
    summ.set_defaults(handler=_summary)
    trig = sub.add_parser(
        "trigger",
        parents=[common],
        help="impact-trigger recall on falls and triggers per hour of daily activity",
        description=(
            "Run every trial through the firmware's IMU front end (the C code the device "
            "runs) and report, per dataset and position, the fraction of fall trials on "
            "which the impact trigger fires and its impacts per hour of ADL trials."
        ),
    )
    trig.add_argument(
        "--threshold", type=float, default=None, help="headline threshold in g (default 1.6)"
    )
    trig.add_argument(
        "--thresholds",
        type=float,
        nargs="+",
        default=list(THRESHOLDS),
        metavar="G",
        help="thresholds of the sweep, in g",
    )
    trig.set_defaults(handler=_trigger)
