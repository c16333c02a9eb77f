"""`wearsense ecg`: run the firmware's ECG front end over the shared recordings and
print what it finds (QRS detection per MIT-BIH record, quality flags on CinC 2017)."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from tqdm import tqdm

from wearsense.datasets import DatasetError, mitdb
from wearsense.ecg.qrs import LEARNING_PERIOD_S, gross, score_record
from wearsense.ecg.quality import RECORD_FLAGGED_FRACTION, score_cinc


def _pct(x: float) -> str:
    return "   n/a" if math.isnan(x) else f"{100 * x:6.2f}"


def _qrs(args: argparse.Namespace) -> int:
    try:
        ids = args.record or mitdb.record_ids(args.data_dir)
        start = 0.0 if args.whole else LEARNING_PERIOD_S
        scores = []
        print(
            f"{'record':>7} {'lead':>5} {'beats':>6} {'TP':>6} {'FN':>5} {'FP':>5} "
            f"{'Se %':>6} {'+P %':>6}"
        )
        for rid in tqdm(ids, desc="records", disable=not args.progress, leave=False):
            rec = mitdb.load_record(rid, args.data_dir)
            s = score_record(rec, start_s=start)
            scores.append(s)
            lead = rec.lead_names[rec.lead_index()]
            print(
                f"{rid:>7} {lead:>5} {s.tp + s.fn:6d} {s.tp:6d} {s.fn:5d} {s.fp:5d} "
                f"{_pct(s.sensitivity)} {_pct(s.ppv)}"
            )
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    g = gross(scores)
    print(
        f"{'gross':>7} {'':>5} {g.tp + g.fn:6d} {g.tp:6d} {g.fn:5d} {g.fp:5d} "
        f"{_pct(g.sensitivity)} {_pct(g.ppv)}"
    )
    period = "whole records" if args.whole else f"from {LEARNING_PERIOD_S / 60:.0f} min"
    print(f"AAMI EC57 matching, 150 ms window, {period}")
    return 0


def _quality(args: argparse.Namespace) -> int:
    parts = args.split or ["train", "validation", "test"]
    try:
        score = score_cinc(tuple(parts), args.data_dir, progress=True)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"CinC 2017 ({'+'.join(parts)}): a record is flagged when >= "
        f"{RECORD_FLAGGED_FRACTION:.0%} of its 2-s windows carry a quality flag"
    )
    print(f"  noisy (~) records flagged: {_pct(score.noisy_flagged)} % of {score.n_noisy}")
    print(f"  other records flagged:     {_pct(score.clean_flagged)} % of {score.n_clean}")
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "ecg",
        help="run the device's ECG front end over real recordings",
        description="Run the firmware's ECG chain (the C code the device runs) over the "
        "shared real recordings and score it.",
    )
    sub = parser.add_subparsers(dest="ecg_command", metavar="ACTION", required=True)
    data_help = "data root (default: $WEARSENSE_DATA, else ../shared/data)"
    qrs = sub.add_parser(
        "qrs",
        help="QRS sensitivity / positive predictivity per MIT-BIH record",
        description="Detect R peaks on lead MLII (else the first lead) of each MIT-BIH "
        "record and match them with the beat annotations within 150 ms (AAMI EC57). "
        "Prints one row per record and the gross figures.",
    )
    qrs.add_argument("--data-dir", default=None, help=data_help)
    qrs.add_argument("--record", action="append", help="record id (repeatable; default all)")
    qrs.add_argument(
        "--whole",
        action="store_true",
        help="score whole records (default: skip EC57's 5-min learning period)",
    )
    qrs.add_argument("--progress", action="store_true", help="show a progress bar")
    qrs.set_defaults(handler=_qrs)
    quality = sub.add_parser(
        "quality",
        help="signal-quality flags against the CinC 2017 noisy label",
        description="Run the chain over CinC 2017 records and count how many noisy (~) "
        "and how many other records the signal-quality flags reject.",
    )
    quality.add_argument("--data-dir", default=None, help=data_help)
    quality.add_argument(
        "--split",
        action="append",
        choices=["train", "validation", "test"],
        help="split part(s) to score (repeatable; default all)",
    )
    quality.set_defaults(handler=_quality)
