"""`wearsense evaluate TASK`: a shipped int8 model, as the C interpreter runs it, on the
held-out recordings; the metrics as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from wearsense.datasets import DatasetError
from wearsense.training.evaluation import write_json
from wearsense.training.metrics import plot_confusion
from wearsense.training.pipeline import FloatModelError
from wearsense.training.tasks import TASKS, ModelMismatch

REPO = Path(__file__).resolve().parents[2]


def _evaluate(args: argparse.Namespace) -> int:
    task = TASKS[args.task]
    model = Path(args.model or REPO / "models" / task.name / f"{task.name}.tflite")
    if not model.is_file():
        print(f"error: no model at {model}", file=sys.stderr)
        return 2
    try:
        task.check_model(model)
    except ModelMismatch as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        report = task.evaluate(model, args.data_dir, args.include_training, args.bootstrap)
    except (DatasetError, FloatModelError) as exc:  # the latter: a teacher.pt beside the model
        print(f"error: {exc}", file=sys.stderr)
        return 2
    write_json(report, Path(args.json))
    if args.confusion_png:
        plot_confusion(
            report["confusion"], report["labels"], Path(args.confusion_png), task.confusion_title
        )
    print(json.dumps(task.summary(report), indent=2))
    return 0


def report_arguments(parser: argparse.ArgumentParser) -> None:
    """TASK, --data-dir, --json and --bootstrap: what `evaluate` and `baseline` share."""
    parser.add_argument("task", choices=tuple(TASKS))
    parser.add_argument(
        "--data-dir", help="data folder (default: $WEARSENSE_DATA or ../shared/data)"
    )
    parser.add_argument("--json", required=True, help="where to write the metrics (JSON)")
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=1000,
        help="bootstrap resamples for the 95%% intervals (default 1000)",
    )


def register(subparsers: Any) -> None:
    evaluate = subparsers.add_parser(
        "evaluate",
        help="evaluate a shipped int8 model, as the C interpreter runs it, on real recordings",
        description=(
            "Run the int8 model on the firmware's C interpreter over every held-out record "
            "(afib) or subject (fall, activity) under the data folder (those of the committed "
            "training/validation splits are left out unless --include-training-records) and "
            "write the metrics as JSON (schema: wearsense/training/evaluation.py). fall also "
            "reports `trial_end_held`: the same figures with each recording's last sample "
            "held for 2 s, as a worn device's stream goes on after a lab trial ends."
        ),
    )
    report_arguments(evaluate)
    evaluate.add_argument(
        "--model",
        help="the .tflite to evaluate (default: the shipped models/TASK/TASK.tflite)",
    )
    evaluate.add_argument(
        "--include-training-records",
        dest="include_training",
        action="store_true",
        help="also evaluate training/validation records",
    )
    evaluate.add_argument("--confusion-png", help="also draw the confusion matrix here")
    evaluate.set_defaults(handler=_evaluate)
