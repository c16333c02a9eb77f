"""Which records train, validate and test: the committed CinC 2017 and MIT-BIH splits
(`wearsense/datasets/splits/`), the records of each part through the device's front end,
and the held-out records an evaluation reads.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import numpy as np
from tqdm import tqdm

from wearsense.datasets import DatasetError, cinc2017, mitdb
from wearsense.training.afib.config import AfibTrainConfig
from wearsense.training.afib.inputs import (
    CINC_CLASS,
    FLUTTER,
    HOP,
    WINDOW,
    EcgInput,
    mitdb_windows,
    model_inputs,
    record_input,
)

SPLITS = Path(__file__).resolve().parents[2] / "datasets" / "splits" / "cinc2017.json"


MITDB_SPLITS = SPLITS.with_name("mitdb.json")


class Rows(NamedTuple):
    """Model input rows of a set of records."""

    x: np.ndarray  # int8 model inputs [N, 1, length]
    labels: np.ndarray  # the class of each row
    owner: np.ndarray  # the index of each row's record


@dataclasses.dataclass
class RecordSet:
    ids: list[str]
    labels: np.ndarray  # class code per record
    inputs: list[EcgInput]

    @property
    def sequences(self) -> list[np.ndarray]:
        return [i.sequence for i in self.inputs]

    def window_arrays(self, length: int = WINDOW, hop: int = HOP) -> Rows:
        """The int8 model inputs [N, 1, length] every ``hop`` samples, their labels and the
        index of the record of each row."""
        xs, ys, owner = [], [], []
        for index, (ecg, label) in enumerate(zip(self.inputs, self.labels, strict=True)):
            w = model_inputs(ecg, length, hop)
            xs.append(w)
            ys.append(np.full(len(w), label))
            owner.append(np.full(len(w), index))
        return Rows(np.concatenate(xs)[:, None, :], np.concatenate(ys), np.concatenate(owner))


def load_split_ids() -> dict[str, list[str]]:
    return json.loads(SPLITS.read_text())["parts"]


def load_records(
    ids: Iterable[str], data_dir: str | os.PathLike[str] | None, desc: str
) -> RecordSet:
    ids = list(ids)
    labels = cinc2017.read_labels(data_dir)
    inputs, codes = [], []
    for record in tqdm(
        cinc2017.iter_records(ids, data_dir), total=len(ids), desc=desc, unit="rec", mininterval=1
    ):
        inputs.append(record_input(record))
        codes.append(CINC_CLASS[labels[record.record_id]])
    return RecordSet(ids, np.array(codes, dtype=np.int64), inputs)


def unseen(found: list[str], split_file: Path) -> list[str]:
    """The ids in ``found`` that the committed train and validation splits in
    ``split_file`` do not name (for an unseen folder: all of them), in order."""
    parts = json.loads(split_file.read_text())["parts"]
    seen = set(parts["train"]) | set(parts["validation"])
    return [r for r in found if r not in seen]


def held_out_records(data_dir: str | os.PathLike[str] | None) -> list[str]:
    """Every labelled CinC record under the data folder that training never saw."""
    try:
        found = list(cinc2017.read_labels(data_dir))
    except DatasetError:
        return []
    return unseen(found, SPLITS)


def training_parts(
    data_dir: str | os.PathLike[str] | None, max_records: int | None
) -> dict[str, RecordSet]:
    """The committed training and validation records present under the data folder (at
    most ``max_records`` each), through the device's ECG front end."""
    splits = load_split_ids()
    present = set(cinc2017.read_labels(data_dir))
    parts = {}
    for part in ("train", "validation"):
        ids = [r for r in splits[part] if r in present][:max_records]
        if not ids:
            raise DatasetError(cinc2017.record_dir(data_dir), f"no {part} records found")
        parts[part] = load_records(ids, data_dir, f"ECG front end ({part})")
    return parts


def mitdb_train_ids(leave_out: Iterable[str] = ()) -> list[str]:
    """The MIT-BIH training split's records but ``leave_out`` (each must be one of them,
    and one must remain: ValueError)."""
    split = json.loads(MITDB_SPLITS.read_text())["parts"]["train"]
    leave_out = list(leave_out)
    strangers = [r for r in leave_out if r not in split]
    if strangers:
        raise ValueError(
            f"MIT-BIH record(s) {', '.join(strangers)} not in the training split "
            f"({', '.join(split)}): only those can be left out"
        )
    ids = [r for r in split if r not in leave_out]
    if not ids:
        raise ValueError("no MIT-BIH training record is left to train on")
    return ids


def mitdb_training_rows(
    data_dir: str | os.PathLike[str] | None,
    length: int,
    max_records: int | None = None,
    leave_out: Iterable[str] = (),
) -> Rows:
    """(rows [N, 1, length], labels, index of the record of each row) of the MIT-BIH
    training split's records (`AfibTrainConfig.mitdb_train`) but those in ``leave_out``:
    every window with a rhythm class, flutter and unannotated windows left out. Holter
    ectopy, pauses and AF next to them, which the CinC training records hold few of."""
    ids = mitdb_train_ids(leave_out)[:max_records]
    xs, ys, owner = [], [], []
    for index, record in enumerate(mitdb.iter_records(ids, data_dir)):
        wins, _, truths = mitdb_windows(record, length)
        keep = [k for k, t in enumerate(truths) if t is not None and t != FLUTTER]
        xs.append(wins[keep])
        ys.append(np.array([truths[k] for k in keep], dtype=np.int64))
        owner.append(np.full(len(keep), index))
    if not xs:
        raise DatasetError(str(data_dir or "../shared/data"), "no MIT-BIH training records")
    return Rows(np.concatenate(xs)[:, None, :], np.concatenate(ys), np.concatenate(owner))


def with_mitdb(
    x: np.ndarray,
    y: np.ndarray,
    owner: np.ndarray,
    data_dir: str | os.PathLike[str] | None,
    config: AfibTrainConfig,
) -> Rows:
    """The training rows with the MIT-BIH training split's appended (their records
    numbered after the CinC ones)."""
    x_mit, y_mit, mit_owner = mitdb_training_rows(
        data_dir, x.shape[-1], config.max_records, config.mitdb_leave_out
    )
    return Rows(
        np.concatenate([x, x_mit]),
        np.concatenate([y, y_mit]),
        np.concatenate([owner, mit_owner + owner.max() + 1]),
    )
