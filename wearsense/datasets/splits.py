"""Committed train / validation / test splits (``splits/<dataset>.json``).

Splits are by record (CinC 2017 publishes no patient IDs, so a record is the unit)
and by subject for MIT-BIH (one record per subject among the records shared here),
stratified by label. ``tools/make_ecg_splits.py`` wrote them once, seeded; they are
files so that every later issue uses the same ones. Nothing is tuned on ``test``.
"""

from __future__ import annotations

import json
from pathlib import Path

from wearsense.datasets.common import DatasetError

SPLIT_DIR = Path(__file__).with_name("splits")
PARTS = ("train", "validation", "test")


def load_split(dataset: str) -> dict[str, list[str]]:
    """{part: [record ids]} for ``dataset`` (``cinc2017``, ``mitdb``)."""
    path = SPLIT_DIR / f"{dataset}.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DatasetError(path, f"cannot read the split file ({exc})") from exc
    parts = data.get("parts") if isinstance(data, dict) else None
    if not isinstance(parts, dict) or set(parts) != set(PARTS):
        raise DatasetError(path, f"expected parts {PARTS}")
    return {p: [str(r) for r in parts[p]] for p in PARTS}


def split_of(dataset: str, record_id: str) -> str:
    """The part a record belongs to."""
    for part, ids in load_split(dataset).items():
        if record_id in ids:
            return part
    raise DatasetError(SPLIT_DIR / f"{dataset}.json", f"record {record_id!r} is in no part")
