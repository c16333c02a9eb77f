"""Record-level signal quality from the firmware's 2-s verdicts.

The device flags each 2-s window (``WS_QUALITY_*``); a short recording such as a
CinC 2017 record (or an on-demand ``ECG_RECORDING``) is called unusable when at least
``RECORD_FLAGGED_FRACTION`` of its windows carry a flag. The first window is left
out: the filters and the detector are still settling in it. The 30 % rule was chosen
on the CinC train split (docs/ecg-front-end.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from wearsense.datasets import DatasetError, cinc2017
from wearsense.datasets.splits import load_split
from wearsense.firmware.ecg import EcgOutput, run_chain

RECORD_FLAGGED_FRACTION = 0.30


def flagged_fraction(output: EcgOutput) -> float:
    flags = output.quality.flags[1:]
    return float(np.mean(flags != 0)) if len(flags) else 0.0


def record_flagged(output: EcgOutput, fraction: float = RECORD_FLAGGED_FRACTION) -> bool:
    return flagged_fraction(output) >= fraction


@dataclass(frozen=True)
class NoiseScore:
    """Fractions of CinC ``~`` records flagged and of the other records flagged."""

    noisy_flagged: float
    clean_flagged: float
    n_noisy: int
    n_clean: int


def score_cinc(
    parts: tuple[str, ...] = ("train", "validation", "test"),
    data_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
) -> NoiseScore:
    labels = cinc2017.read_labels(data_dir)
    split = load_split("cinc2017")
    ids = [r for p in parts for r in split[p] if r in labels]
    if not ids:
        raise DatasetError(
            cinc2017.record_dir(data_dir), f"no records of the {'+'.join(parts)} split listed"
        )
    noisy: list[bool] = []
    clean: list[bool] = []
    for rid in tqdm(ids, desc="cinc2017 quality", disable=not progress):
        rec = cinc2017.load_record(rid, labels[rid], data_dir)
        flagged = record_flagged(run_chain(rec.signal, rec.fs, rec.adc_gain, rec.adc_zero))
        (noisy if rec.label == "~" else clean).append(flagged)
    return NoiseScore(
        float(np.mean(noisy)) if noisy else float("nan"),
        float(np.mean(clean)) if clean else float("nan"),
        len(noisy),
        len(clean),
    )
