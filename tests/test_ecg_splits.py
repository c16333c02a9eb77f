"""The committed ECG splits are disjoint, cover the records present, and are
stratified (every label in every part)."""

from __future__ import annotations

from collections import Counter

import pytest

from wearsense.datasets import DatasetError, cinc2017, data_root, mitdb
from wearsense.datasets.splits import PARTS, load_split, split_of

try:
    ROOT = data_root()
except DatasetError:  # pragma: no cover
    ROOT = None


@pytest.mark.parametrize("dataset", ["cinc2017", "mitdb"])
def test_parts_are_disjoint(dataset: str) -> None:
    parts = load_split(dataset)
    seen: set[str] = set()
    for part in PARTS:
        ids = set(parts[part])
        assert len(ids) == len(parts[part]), f"duplicate ids in {part}"
        assert not ids & seen, f"{part} overlaps another part"
        seen |= ids
        assert ids


@pytest.mark.skipif(ROOT is None, reason="shared data root not present")
def test_cinc_split_covers_data_and_is_stratified() -> None:
    labels = cinc2017.read_labels(ROOT)
    parts = load_split("cinc2017")
    assert set().union(*map(set, parts.values())) == set(labels)
    total = Counter(labels.values())
    for part, ids in parts.items():
        counts = Counter(labels[r] for r in ids)
        for label, n in total.items():
            share = counts[label] / len(ids)
            assert abs(share - n / len(labels)) < 0.02, (part, label)


@pytest.mark.skipif(ROOT is None, reason="shared data root not present")
def test_mitdb_split_covers_records() -> None:
    parts = load_split("mitdb")
    assert set().union(*map(set, parts.values())) == set(mitdb.record_ids(ROOT))
    assert split_of("mitdb", parts["test"][0]) == "test"
    with pytest.raises(DatasetError, match="no part"):
        split_of("mitdb", "999")
