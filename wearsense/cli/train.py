"""`wearsense train TASK`: the teacher, the distilled int8 student, its export."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from wearsense.datasets import DatasetError
from wearsense.training import activity, afib, fall
from wearsense.training.imu_task import ImuTrainConfig, TrialCache, pareto_imu, train_imu
from wearsense.training.tasks import ACTIVITY, FALL, TASKS, Task

REPO = Path(__file__).resolve().parents[2]


def _train(args: argparse.Namespace) -> int:
    task = TASKS[args.task]
    out = Path(args.out or REPO / "build" / "train" / task.name)
    try:
        if task.spec is None:  # AFib: its own recipe (`training.afib.train`)
            return _train_afib(args, out)
        return _train_imu(task, args, out)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _train_afib(args: argparse.Namespace, out: Path) -> int:
    tune = tuple(c for c in (args.tune_offsets or "").split(",") if c)
    tunable = afib.LABELS[1:]  # normal is the reference class
    unknown = [c for c in tune if c not in tunable]
    if unknown:
        print(
            f"error: --tune-offsets: unknown class {unknown[0]!r} "
            f"(choose from {', '.join(tunable)})",
            file=sys.stderr,
        )
        return 2
    leave_out = tuple(r for r in args.mitdb_leave_out.split(",") if r)
    if leave_out:
        try:
            if not args.mitdb_train:
                raise ValueError("it needs --mitdb-train")
            afib.mitdb_train_ids(leave_out)
        except ValueError as exc:
            print(f"error: --mitdb-leave-out: {exc}", file=sys.stderr)
            return 2
    try:
        config = afib.AfibTrainConfig(
            teacher_epochs=args.teacher_epochs,
            student_epochs=args.student_epochs,
            qat_epochs=args.qat_epochs,
            width=args.width,
            seed=args.seed,
            max_records=args.max_records,
            prune_keep=args.prune,
            rr_features=not args.no_rr_features,
            rr_co_teacher=args.rr_co_teacher,
            joint_width=args.joint_width,
            class_balance=0.5 if args.class_balance is None else args.class_balance,
            tune_offsets=tune,
            device=args.device,
            rr_head=args.rr_head,
            mitdb_train=args.mitdb_train,
            mitdb_leave_out=leave_out,
            train_hop=args.train_hop,
        )
    except ValueError as exc:  # AfibTrainConfig checks its own fields (the training hop)
        print(f"error: --train-hop: {exc}", file=sys.stderr)
        return 2
    if args.from_student:
        student = Path(args.from_student)
        if not student.is_file():
            print(f"error: --from-student: no file {student}", file=sys.stderr)
            return 2
        try:
            summary = afib.add_rr_head(out, student, args.data_dir, config)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(json.dumps(summary, indent=2))
        return 0
    if args.pareto:
        widths = tuple(float(w) for w in args.widths.split(","))
        rows = afib.pareto_afib(out, args.data_dir, config, widths)
        print((out / "pareto.md").read_text())
        return 0 if rows else 1
    summary = afib.train_afib(out, args.data_dir, config)
    print(json.dumps(summary, indent=2))
    return 0


def _train_imu(task: Task, args: argparse.Namespace, out: Path) -> int:
    config = ImuTrainConfig(
        teacher_epochs=args.teacher_epochs,
        student_epochs=args.student_epochs,
        qat_epochs=args.qat_epochs,
        width=args.width,
        prune_keep=args.prune,
        seed=args.seed,
        max_subjects=args.max_subjects,
        class_balance=args.class_balance,
    )
    spec = task.spec
    if task is ACTIVITY:  # the activity-only flags
        spec = activity.variant(args.include_arm, args.remount, args.cycle_bias)
    assert spec is not None
    cache: TrialCache = {}
    if args.pareto:
        widths = tuple(float(w) for w in args.widths.split(","))
        rows = pareto_imu(spec, out, args.data_dir, config, widths, cache=cache)
        print((out / "pareto.md").read_text())
        return 0 if rows else 1
    summary = train_imu(spec, out, args.data_dir, config, cache=cache)
    if args.cross_dataset and task is FALL:
        summary["cross_dataset"] = fall.cross_dataset(out, args.data_dir, config, cache=cache)
    print(json.dumps(summary, indent=2))
    return 0


def register(subparsers: Any) -> None:
    train = subparsers.add_parser(
        "train",
        help="train a task's teacher and int8 student from real recordings",
        description=(
            "Train the teacher, distil the student, fine-tune it quantization-aware and export "
            "the int8 .tflite. Reads the data folder's committed training and validation "
            "splits; the test split is never touched. Seeded and reproducible."
        ),
    )
    train.add_argument("task", choices=tuple(TASKS))
    train.add_argument(
        "--data-dir", help="data folder (default: $WEARSENSE_DATA or ../shared/data)"
    )
    train.add_argument("--out", help="output folder (default: build/train/TASK)")
    train.add_argument("--teacher-epochs", type=int, default=30)
    train.add_argument("--student-epochs", type=int, default=40)
    train.add_argument(
        "--qat-epochs",
        type=int,
        default=6,
        help="quantization-aware fine-tuning epochs (default 6; 0: post-training quantization "
        "of the float student)",
    )
    train.add_argument("--width", type=float, default=1.0, help="student width multiplier")
    train.add_argument("--seed", type=int, default=2017)
    train.add_argument(
        "--pareto",
        action="store_true",
        help="train one student per --widths and write pareto.{json,md,png} (F1 on the "
        "validation records against model bytes, arena bytes and MACs)",
    )
    train.add_argument("--widths", default="0.5,1,1.5", help="width multipliers for --pareto")
    train.add_argument(
        "--prune",
        type=float,
        default=1.0,
        metavar="KEEP",
        help="structured channel pruning: keep this fraction (0-1] of the distilled "
        "student's channels, then fine-tune (default 1: no pruning)",
    )
    train.add_argument(
        "--max-records", type=int, help="afib: use at most N records per split (quick runs)"
    )
    train.add_argument(
        "--no-rr-features",
        action="store_true",
        help="afib: the ECG window alone, without the 16 RR-interval features of the beat "
        "detector after it (the version 1 model's input)",
    )
    train.add_argument(
        "--rr-co-teacher",
        type=float,
        default=0.3,
        metavar="W",
        help="afib: weight (0-1) of the co-teacher, gradient boosting on the RR features, in "
        "the student's soft targets (0: the network teacher alone; default 0.3)",
    )
    train.add_argument(
        "--joint-width",
        type=int,
        default=16,
        help="afib: units of the hybrid student's joint layer (default 16)",
    )
    train.add_argument(
        "--tune-offsets",
        metavar="CLASSES",
        help="afib: comma-separated classes among af,other,noisy whose logit offsets are "
        "chosen on the validation records (maximising F1(AF) + mean F1(N,A,O)) and folded "
        "into the int8 model's last bias (default: none; see docs/afib-training.md)",
    )
    train.add_argument(
        "--rr-head",
        type=int,
        default=8,
        metavar="H",
        help="afib: hidden units of the RR head, a small network on the RR features alone "
        "whose logits are added to the trained student's at a weight chosen on the "
        "validation records (default 8, as in the shipped model; 0: none)",
    )
    train.add_argument(
        "--mitdb-train",
        action="store_true",
        help="afib: also train on the windows of the MIT-BIH training split (records of "
        "wearsense/datasets/splits/mitdb.json 'train'), labelled by the rhythm annotation "
        "at each window's centre (AF, normal sinus, other; flutter left out): Holter ectopy "
        "and pauses CinC holds few of (docs/afib-training.md). Not in the shipped model",
    )
    train.add_argument(
        "--train-hop",
        type=int,
        default=640,
        metavar="N",
        help="afib: the CinC training windows start every N samples at 125 Hz (default 640 "
        "= 5.12 s, the device's hop; 320 trains on twice as many, overlapping crops; "
        "validation, evaluation and the device keep 640)",
    )
    train.add_argument(
        "--mitdb-leave-out",
        metavar="RECORDS",
        default="",
        help="afib, with --mitdb-train: comma-separated records of that training split to "
        "leave out, to score the model on a Holter record it never saw (e.g. 232)",
    )
    train.add_argument(
        "--from-student",
        metavar="PATH",
        help="afib: skip the distillation; add the RR head to this saved float student (a "
        "student_float.pt trained without a head, or models/afib/student_base.pt; its "
        "teacher.pt must lie beside it), fine-tune quantization-aware (--qat-epochs) and "
        "export it; version 3 is --qat-epochs 0",
    )
    train.add_argument(
        "--device",
        default="cpu",
        help="afib: torch device to train on, e.g. cuda where a GPU is present (default "
        "cpu; results differ in the last bits between devices)",
    )
    train.add_argument(
        "--max-subjects",
        type=int,
        help="fall/activity: use at most N subjects per dataset and split (quick runs)",
    )
    train.add_argument(
        "--class-balance",
        type=float,
        help="class weights = (inverse class frequency) ** this (0 none, 1 full balance; "
        "default: the task's own, 0.5 for afib)",
    )
    train.add_argument(
        "--include-arm",
        action="store_true",
        help="activity: also train on DSADS's postures (sit, stand, lie of the right-arm "
        "unit; its moving classes, cycling among them, are always in): the measured, "
        "unshipped variant",
    )
    train.add_argument(
        "--remount",
        action="store_true",
        help="activity: mirror the UCI HAPT training sessions worn with the phone's y axis "
        "reversed (walking gravity on +y) back to the usual mounting before training "
        "(measured, not in the shipped model; models/activity/README.md)",
    )
    train.add_argument(
        "--cycle-bias",
        type=float,
        metavar="B",
        help="activity: add B to the trained student's cycle logit before export, a prior "
        "shift (cycling is far rarer at the trunk than in training; -1.5 was measured; "
        "default 0, as the shipped model)",
    )
    train.add_argument(
        "--cross-dataset",
        action="store_true",
        help="fall: also train one model without SisFall and one without UMAFall and test "
        "each on every subject of the dataset it never saw (cross_dataset.json)",
    )
    train.set_defaults(handler=_train)
