"""The AFib training run's settings and its teacher and student networks."""

from __future__ import annotations

import dataclasses
from typing import Any

from wearsense.training.afib.inputs import HOP, LABELS, RR_FEATURES, WINDOW
from wearsense.training.models import NetConfig


def nets(rr: bool = True, joint_width: int = 16, teacher_width: float = 2.0) -> tuple[Any, Any]:
    student = NetConfig(
        in_channels=1,
        n_classes=len(LABELS),
        stem_width=16,
        stem_kernel=7,
        stem_stride=4,
        blocks=((24, 2), (32, 2), (48, 2), (48, 1), (64, 2)),
        kernel=5,
        dropout=0.2,
        side_features=RR_FEATURES if rr else 0,
        joint_width=joint_width,
    )
    teacher = dataclasses.replace(student.scaled(teacher_width), dropout=0.3)
    return teacher, student


@dataclasses.dataclass(frozen=True)
class AfibTrainConfig:
    teacher_epochs: int = 30
    student_epochs: int = 40
    qat_epochs: int = 6
    width: float = 1.0  # width multiplier of teacher and student
    seed: int = 2017
    max_records: int | None = None  # per split; for quick runs and tests
    prune_keep: float = 1.0  # < 1: structured channel pruning of the student
    prune_epochs: int = 10
    rr_features: bool = True  # a hybrid model: ECG window + RR features of the beats
    # weight of the co-teacher (gradient boosting on the RR features) in the soft targets
    rr_co_teacher: float = 0.3
    joint_width: int = 16  # units of the hybrid student's joint layer
    teacher_width: float = 2.0  # the teacher is the student scaled by this (joint layer too)
    class_balance: float = 0.5  # class weights = (inverse class frequency) ** this
    # classes (of af, other, noisy) whose logit offsets are tuned on the validation
    # records and folded into the int8 model; () keeps the logits as trained
    tune_offsets: tuple[str, ...] = ()
    device: str = "cpu"  # torch device to train on ("cuda" where a GPU is present)
    # hidden units of the RR head added to the trained student's logits (fit_rr_head,
    # weight chosen on the validation records); 0: the student as distilled
    rr_head: int = 8
    # also train on the windows of the MIT-BIH training split (`mitdb_training_rows`)
    mitdb_train: bool = False
    # records of that split left out (a leave-one-record-out study of Holter specificity)
    mitdb_leave_out: tuple[str, ...] = ()
    # the CinC training records' windows start every this many 125 Hz samples (the device
    # and every evaluation use HOP; a smaller hop gives overlapping crops of the records)
    train_hop: int = HOP

    def __post_init__(self) -> None:
        if not 1 <= self.train_hop <= WINDOW:
            raise ValueError(f"train_hop must be 1..{WINDOW} samples, not {self.train_hop}")

    @property
    def input_length(self) -> int:
        return WINDOW + (RR_FEATURES if self.rr_features else 0)


DEFAULT_CONFIG = AfibTrainConfig()  # the shipped recipe's settings
