"""`wearsense imu`: look at the IMU datasets under the data root and at what the
device's impact trigger does on them (docs/imu-front-end.md)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from wearsense.datasets import imu
from wearsense.datasets.common import DatasetError
from wearsense.datasets.imu.summary import summary
from wearsense.testing.imu_trigger import THRESHOLDS, trigger_figures


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
            "Look at the IMU datasets (sisfall, umafall, uci-hapt, dsads, dsads-torso) under "
            "the data root and at what the device's impact trigger does on them. The data root "
            "is --data-dir, else $WEARSENSE_DATA, else ../shared/data next to the repository."
        ),
    )
    sub = parser.add_subparsers(dest="imu_command", metavar="ACTION", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="folder holding one sub-folder per dataset")
    common.add_argument(
        "--dataset",
        action="append",
        choices=sorted(imu.DATASETS),
        help="only this dataset (repeatable; default: all of them)",
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
