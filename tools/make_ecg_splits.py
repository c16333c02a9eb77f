"""Writes wearsense/datasets/splits/{cinc2017,mitdb}.json (run once; the files are
committed). Stratified by label, seeded, by record (CinC) / subject (MIT-BIH).

    python tools/make_ecg_splits.py [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict

from wearsense.datasets import cinc2017, mitdb
from wearsense.datasets.splits import SPLIT_DIR

SEED = 2017
FRACTIONS = {"train": 0.70, "validation": 0.15, "test": 0.15}


def stratified(labels: dict[str, str], rng: random.Random) -> dict[str, list[str]]:
    by_label: dict[str, list[str]] = defaultdict(list)
    for rec, label in sorted(labels.items()):
        by_label[label].append(rec)
    parts: dict[str, list[str]] = {p: [] for p in FRACTIONS}
    for label in sorted(by_label):
        recs = by_label[label]
        rng.shuffle(recs)
        n_val = max(1, round(len(recs) * FRACTIONS["validation"]))
        n_test = max(1, round(len(recs) * FRACTIONS["test"]))
        parts["validation"] += recs[:n_val]
        parts["test"] += recs[n_val : n_val + n_test]
        parts["train"] += recs[n_val + n_test :]
    return {p: sorted(v) for p, v in parts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    rng = random.Random(SEED)
    labels = cinc2017.read_labels(args.data_dir)
    cinc = stratified(labels, rng)
    # MIT-BIH: one record per subject here; stratum = has AF episodes or not
    strata = {}
    for rec in mitdb.record_ids(args.data_dir):
        r = mitdb.load_record(rec, args.data_dir)
        strata[rec] = "AF" if any(i.label == "AFIB" for i in r.rhythms) else "nonAF"
    mit = stratified(strata, rng)
    docs = {
        "cinc2017": ("record (no patient IDs published)", "v3 label", cinc),
        "mitdb": ("subject (one record per subject here)", "AF episodes or not", mit),
    }
    SPLIT_DIR.mkdir(exist_ok=True)
    for name, (unit, stratum, parts) in docs.items():
        body = {
            "dataset": name,
            "unit": unit,
            "stratified_by": stratum,
            "seed": SEED,
            "made_by": "tools/make_ecg_splits.py",
            "parts": parts,
        }
        (SPLIT_DIR / f"{name}.json").write_text(json.dumps(body, indent=1) + "\n")
        print(name, {p: len(v) for p, v in parts.items()})


if __name__ == "__main__":
    main()
