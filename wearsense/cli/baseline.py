"""`wearsense baseline TASK`: the classical recipe of ../shared/BASELINES.md on our own
splits, scored on the held-out data `wearsense evaluate` uses."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from wearsense.cli.evaluate import report_arguments
from wearsense.datasets import DatasetError
from wearsense.training.evaluation import write_json
from wearsense.training.tasks import TASKS


def _baseline(args: argparse.Namespace) -> int:
    task = TASKS[args.task]
    if args.limit is not None and args.limit < 1:
        print(f"error: --limit {args.limit}: give at least 1", file=sys.stderr)
        return 2
    try:
        report = task.baseline(args.data_dir, args.bootstrap, args.limit)
    except (DatasetError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    write_json(report, Path(args.json))
    print(json.dumps(_measured(task.summary(report)), indent=2))
    return 0


def _measured(value: Any) -> Any:
    """``value`` without the entries a baseline does not measure (None)."""
    if isinstance(value, dict):
        return {k: _measured(v) for k, v in value.items() if v is not None}
    return value


def register(subparsers: Any) -> None:
    baseline = subparsers.add_parser(
        "baseline",
        help="the classical baselines of ../shared/BASELINES.md on our own splits",
        description=(
            "Train the classical recipe of ../shared/BASELINES.md (features + trees, float, "
            "on the host) on the committed training split and score it on the same held-out "
            "records (afib: CinC 2017; neurokit2 R peaks, RR, signal-quality and beat-shape "
            "features, gradient boosting chosen on the validation records), trials (fall: "
            "the window around each trial's largest |a|, random forest of 500 trees; per "
            "trial, so no false alarms per hour) or users (activity: UCI HAPT, six basic "
            "activities; 495 features of the device's IMU windows, random forest of 500 "
            "trees) that `wearsense evaluate` uses, so the "
            "int8 models can be compared with it one to one. Writes the evaluation schema "
            "as JSON (docs/classical-baselines.md). About 30 s (afib), 15 s (activity) and "
            "20 s (fall) on 2 cores."
        ),
    )
    report_arguments(baseline)
    baseline.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help="quick check: at most N records (afib) or subjects (fall, activity) of each part",
    )
    baseline.set_defaults(handler=_baseline)
