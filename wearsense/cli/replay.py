"""`wearsense replay`: real recordings through the device core, events out, event-level
results against the annotations (docs/replay.md)."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from wearsense.datasets import mitdb
from wearsense.datasets.common import DatasetError, data_root
from wearsense.replay import sources
from wearsense.replay.device import factory_models, open_session_factory
from wearsense.replay.runner import ReplayError, Scorer, run, store_sink, write_json
from wearsense.store import Store


def _recordings(args: argparse.Namespace) -> tuple[list[str], Iterator[sources.Recording], float]:
    """The chosen datasets, a lazy stream of their recordings and the seconds of signal
    (for the progress bar; IMU trials are counted as they are read)."""
    datasets = args.dataset or list(sources.DATASETS)
    data_root(args.data_dir)  # a clear error before anything starts

    def stream() -> Iterator[sources.Recording]:
        for name in datasets:
            if name == "mitdb":
                yield from sources.mitdb_recordings(
                    args.split, args.record, args.data_dir, max_s=args.max_seconds
                )
            else:
                yield from sources.imu_recordings(
                    name, args.split, args.subject, args.data_dir, limit=args.limit
                )

    total = 0.0
    if "mitdb" in datasets:
        ids = sources.mitdb_ids(args.split, args.record, args.data_dir)
        for rid in ids:
            n = sources.mitdb_samples(rid, args.data_dir)
            total += n / mitdb.FS_HZ if args.max_seconds is None else min(n / 360, args.max_seconds)
    return datasets, stream(), total


def _run(args: argparse.Namespace) -> int:
    try:
        speed = args.speed
        if speed is not None and speed <= 0:
            raise ReplayError("--speed must be a positive multiple of real time")
        datasets, recordings, total_s = _recordings(args)
        factory = open_session_factory(args.models)
        scorer = Scorer(
            fall_before_s=args.fall_before,
            fall_after_s=args.fall_after,
            grace_s=args.grace,
            min_episode_s=args.min_episode,
        )
        with contextlib.ExitStack() as stack:
            out: IO[str] | None = None
            if args.events:
                out = stack.enter_context(open(args.events, "w"))  # noqa: SIM115
            sink = None
            if args.store:
                store = Store(args.store)
                sink = store_sink(store, args.start_utc or time.time())
                stack.callback(store.close)
            bar = stack.enter_context(
                tqdm(
                    total=round(total_s) or None,
                    unit="s",
                    desc="replay " + ",".join(datasets),
                    disable=args.quiet,
                )
            )
            fed = [0.0, 0]

            def progress(seconds: float) -> None:
                fed[0] += seconds
                whole = int(fed[0])
                bar.update(whole - fed[1])
                fed[1] = whole

            summary = run(
                recordings,
                factory,
                scorer=scorer,
                jsonl=out,
                sink=sink,
                chunk_s=args.chunk,
                speed=speed,
                imu_hold_s=args.hold,
                on_progress=progress,
                calibrate_posture=args.calibrate_posture,
            )
    except (DatasetError, ReplayError) as exc:
        print(f"wearsense replay: {exc}", file=sys.stderr)
        return 1
    summary["models"] = factory_models(args.models)
    summary["options"] = {
        "datasets": datasets,
        "split": args.split,
        "speed": speed,
        "imu_hold_s": args.hold,
        "chunk_s": args.chunk,
        "calibrate_posture": args.calibrate_posture,
    }
    print(text_summary(summary))
    if args.json:
        write_json(Path(args.json), summary)
    return 0


def _fmt(value: Any, pct: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value * 100:.1f} %" if pct else f"{value:g}"


def text_summary(summary: dict[str, Any]) -> str:
    lines = []
    af = summary.get("mitdb")
    if af and "af_time_sensitivity" in af:
        lines.append(
            f"MIT-BIH {','.join(af['records'])} ({af['hours']} h): AF episodes "
            f"{af['episodes_detected']}/{af['episodes']} detected, onset delay median "
            f"{_fmt(af['onset_delay_s_median'])} s (max {_fmt(af['onset_delay_s_max'])}); "
            f"AF time sensitivity {_fmt(af['af_time_sensitivity'], True)}, specificity "
            f"{_fmt(af['af_time_specificity'], True)}; false episodes {af['false_episodes']} "
            f"({_fmt(af['false_episodes_per_hour'])}/h); flutter time called AF "
            f"{_fmt(af['flutter_time_called_af'], True)} of {af['flutter_hours']} h"
        )
    for name in ("sisfall", "umafall"):
        f = summary.get(name)
        if f and "fall_trials" in f:
            lines.append(
                f"{name}: falls {f['falls_detected']}/{f['fall_trials']} detected "
                f"(missed {f['falls_missed']}, multiple {f['falls_multiple']}); "
                f"false alarms {f['adl_false_alarms']} in {f['adl_hours']} h of ADL "
                f"({_fmt(f['false_alarms_per_hour'])}/h, {f['adl_trials_with_alarm']}/"
                f"{f['adl_trials']} trials)"
            )
    act = summary.get("uci-hapt")
    if act and "agreement" in act:
        per = ", ".join(f"{k} {_fmt(v['agreement'], True)}" for k, v in act["per_class"].items())
        lines.append(
            f"uci-hapt ({act['labelled_hours']} h labelled): timeline agreement "
            f"{_fmt(act['agreement'], True)} (balanced {_fmt(act['balanced_agreement'], True)}); "
            f"{per}"
        )
    missing = [t for t, v in summary.get("models", {}).items() if v is None]
    if missing:
        lines.append(
            "no model for " + ", ".join(missing) + ": those detectors did not run "
            "(their events cannot appear; see --models)"
        )
    rep = summary["replay"]
    lines.append(
        f"replayed {rep['signal_hours']} h of signal in {rep['wall_s']} s "
        f"({_fmt(rep['speed_x_realtime'])}x real time), {rep['events']} events"
    )
    return "\n".join(lines)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="replay recordings through the device core and score the events",
        description=(
            "Feed recordings from the data folder through the device core (the C detectors "
            "the firmware runs), as fast as possible or at --speed times real time, write "
            "the events, and compare them with the annotations: AF episodes on MIT-BIH "
            "(onset delay, AF-time sensitivity and specificity, false episodes; flutter on "
            "its own), falls on SisFall and UMAFall (one FALL per fall trial, false alarms "
            "per hour of daily activity), the activity timeline on UCI-HAPT. Default: the "
            "held-out test subjects and records of every dataset. Data: --data-dir, else "
            "$WEARSENSE_DATA, else ../shared/data next to the repository (docs/replay.md)."
        ),
    )
    parser.add_argument("--data-dir", help="folder holding one sub-folder per dataset")
    parser.add_argument(
        "--dataset",
        action="append",
        choices=sources.DATASETS,
        help="only this dataset (repeatable; default: all four)",
    )
    parser.add_argument(
        "--split", choices=sources.SPLITS, default="test", help="records/subjects (test)"
    )
    parser.add_argument("--record", action="append", help="MIT-BIH record id (repeatable)")
    parser.add_argument("--subject", action="append", help="IMU subject id (repeatable)")
    parser.add_argument("--limit", type=int, help="at most this many trials per IMU dataset")
    parser.add_argument("--max-seconds", type=float, help="cut each MIT-BIH record to this")
    parser.add_argument(
        "--speed", type=float, help="multiple of real time (default: as fast as possible)"
    )
    parser.add_argument("--chunk", type=float, default=2.0, help="seconds fed per call (2)")
    parser.add_argument(
        "--hold",
        type=float,
        default=0.0,
        help="append this many seconds of each IMU trial's last sample (0)",
    )
    parser.add_argument(
        "--calibrate-posture",
        action="store_true",
        help="IMU: send the posture calibration (SET_CONFIG POSTURE) when each recording's "
        "first standing segment begins, as the companion does after asking the wearer to "
        "stand; then sit or stand follow the tilt from it (docs/imu-front-end.md)",
    )
    parser.add_argument("--models", help="folder of shipped models (default models/)")
    parser.add_argument("--events", metavar="OUT.jsonl", help="write every event as JSON lines")
    parser.add_argument("--store", metavar="DB", help="also store the events in this database")
    parser.add_argument("--start-utc", type=float, help="UTC of each recording's start (now)")
    parser.add_argument("--json", metavar="OUT", help="write the results as JSON")
    parser.add_argument(
        "--fall-before",
        type=float,
        default=2.0,
        help="a FALL counts from this many seconds before the impact (2)",
    )
    parser.add_argument(
        "--fall-after", type=float, default=15.0, help="... to this many after it (15)"
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=5.0,
        help="activity: also score leaving out this many seconds after each label change (5)",
    )
    parser.add_argument(
        "--min-episode",
        type=float,
        default=30.0,
        help="annotated AF episodes shorter than this are listed, not counted (30)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=_run)
