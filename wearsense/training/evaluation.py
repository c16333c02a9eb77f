"""The evaluation report every task writes (`wearsense evaluate <task> --json OUT`).

Schema (the same for every task):
``task``, ``runtime`` (which engine ran the model), ``model_sha256``, ``units`` (records or
subjects evaluated), ``per_class.<label>.{sensitivity,specificity,ppv,f1}`` with ``*_ci``
bootstrap intervals, ``accuracy``, ``macro_f1``, ``confusion``, and ``per_dataset.<name>``
with the same keys. Tasks add their own keys (e.g. AFib's ``macro_f1_nao``, ``af_time``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wearsense.training.metrics import classification_report


@dataclass(frozen=True)
class Outcome:
    """One evaluated unit of decision (a record, a trial or a window)."""

    unit: str  # record or subject id: bootstrap resamples these
    dataset: str
    truth: int
    predicted: int


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_report(
    task: str,
    runtime: str,
    model_path: Path,
    labels: Sequence[str],
    outcomes: Sequence[Outcome],
    bootstrap: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    def report_for(rows: Sequence[Outcome]) -> dict[str, Any]:
        return classification_report(
            [o.truth for o in rows],
            [o.predicted for o in rows],
            labels,
            units=[o.unit for o in rows],
            bootstrap=bootstrap,
            seed=seed,
        )

    report: dict[str, Any] = {
        "task": task,
        "runtime": runtime,
        "model_sha256": sha256_of(model_path),
        "units": len({(o.dataset, o.unit) for o in outcomes}),
        **report_for(outcomes),
        "per_dataset": {},
    }
    for dataset in sorted({o.dataset for o in outcomes}):
        rows = [o for o in outcomes if o.dataset == dataset]
        report["per_dataset"][dataset] = {
            "units": len({o.unit for o in rows}),
            **report_for(rows),
        }
    return report


def _json_safe(value: Any) -> Any:
    """NaN (a metric with an empty denominator) becomes null, as JSON has no NaN."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def write_json(report: dict[str, Any], path: Path) -> None:
    """Writes atomically: a half-written report never replaces a good one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    text = json.dumps(_json_safe(report), indent=2, sort_keys=True, allow_nan=False)
    tmp.write_text(text + "\n")
    tmp.replace(path)
