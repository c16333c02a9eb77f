"""Writes wearsense/datasets/imu/splits/<dataset>.json: subjects split by whole subject
into train / validation / test (about 60 / 20 / 20), seeded, and stratified so that
subjects with fall trials and ADL-only subjects are spread over the three parts.

A set that holds another unit of the same recordings (``SAME_SUBJECTS``: DSADS's torso
unit beside its arm unit) takes that set's split unchanged: the same people, so a subject
in training for one unit and in test for the other would leak.

Run once when the data changes: python tools/make_imu_splits.py [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import random

from wearsense.datasets import imu

SEED = "wearsense-imu-splits-1"
SAME_SUBJECTS = {"dsads-torso": "dsads"}  # set: the set whose people it shares


def _has_falls(name: str, data_dir: str | None) -> dict[str, bool]:
    if name not in ("sisfall", "umafall"):
        return {s: False for s in imu.subjects(name, data_dir)}
    module = imu.DATASETS[name]
    root = imu.dataset_dir(name, data_dir)
    falls: dict[str, bool] = {}
    for subject, path in module.trial_files(root):
        is_fall = "_Fall_" in path.name or path.name.startswith("F")
        falls[subject] = falls.get(subject, False) or is_fall
    return falls


def split(name: str, data_dir: str | None) -> dict[str, list[str]]:
    rng = random.Random(f"{SEED}-{name}")
    out: dict[str, list[str]] = {s: [] for s in imu.SPLITS}
    falls = _has_falls(name, data_dir)
    # Deal each stratum round-robin over a test/validation/train/train/train pattern.
    pattern = ["test", "validation", "train", "train", "train"]
    offset = 0
    for stratum in (True, False):
        group = sorted(s for s, f in falls.items() if f is stratum)
        rng.shuffle(group)
        for i, subject in enumerate(group):
            out[pattern[(i + offset) % len(pattern)]].append(subject)
        offset += len(group)
    return {k: sorted(v) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    for name in imu.DATASETS:
        table = split(SAME_SUBJECTS.get(name, name), args.data_dir)
        table_doc: dict[str, object] = {"dataset": name, "seed": SEED, "unit": "subject"}
        if name in SAME_SUBJECTS:
            table_doc["same_subjects_as"] = SAME_SUBJECTS[name]
            table_doc["note"] = (
                f"another sensor unit of the recordings of {SAME_SUBJECTS[name]}: the same "
                "people, so the same subjects in every split; a subject in training for one "
                "unit and in test for the other would leak"
            )
        table_doc.update(table)
        path = imu.SPLIT_DIR / f"{name}.json"
        path.write_text(json.dumps(table_doc, indent=1) + "\n")
        print(name, {k: len(v) for k, v in table.items()}, table["test"])


if __name__ == "__main__":
    main()
