"""Loaders of wearsense.datasets on the shared real data, and their errors on
missing or damaged files (made in a temporary copy)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from wearsense.datasets import DatasetError, cinc2017, data_root, mitdb

try:
    ROOT = data_root()
except DatasetError:  # pragma: no cover - only without shared data
    ROOT = None

needs_data = pytest.mark.skipif(ROOT is None, reason="shared data root not present")


def test_data_root_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEARSENSE_DATA", str(tmp_path))
    assert data_root() == tmp_path
    other = tmp_path / "other"
    other.mkdir()
    assert data_root(other) == other
    with pytest.raises(DatasetError, match="nowhere"):
        data_root(tmp_path / "nowhere")


@needs_data
def test_cinc_labels_and_record() -> None:
    labels = cinc2017.read_labels(ROOT)
    assert set(labels.values()) == set(cinc2017.LABELS)
    rec = cinc2017.load_record("A00004", data_dir=ROOT)
    assert rec.label == labels["A00004"] == "A"
    assert rec.fs == 300 and rec.adc_gain == 1000.0
    assert rec.signal.dtype == np.int16 and 9 <= rec.duration_s <= 61


@needs_data
def test_mitdb_record_beats_and_rhythms() -> None:
    assert "203" in mitdb.record_ids(ROOT)
    rec = mitdb.load_record("203", ROOT)
    assert rec.signals.shape == (650000, 2) and rec.lead_names[rec.lead_index()] == "MLII"
    assert len(rec.beat_samples) == len(rec.beat_symbols) > 2500
    assert set(rec.beat_symbols) <= mitdb.BEAT_SYMBOLS
    labels = {r.label for r in rec.rhythms}
    assert {"AFIB", "AFL"} <= labels
    # intervals tile the record from the first rhythm mark to its end
    for a, b in zip(rec.rhythms, rec.rhythms[1:], strict=False):
        assert a.end == b.start
    assert rec.rhythms[-1].end == rec.n_samples
    afib = sum(r.end - r.start for r in rec.rhythms if r.label == "AFIB") / rec.fs / 60
    assert 23 < afib < 25  # README: 24.2 min of AFIB
    assert mitdb.load_record("104", ROOT).lead_names[0] == "V5"


def _copy_mitdb(tmp_path: Path, record: str) -> Path:
    dest = tmp_path / "mitdb"
    dest.mkdir()
    for ext in ("hea", "dat", "atr"):
        shutil.copy(ROOT / "mitdb" / f"{record}.{ext}", dest)
    (dest / "RECORDS").write_text(f"{record}\n")
    return dest


@needs_data
def test_without_a_records_file_the_headers_present_are_the_records(tmp_path: Path) -> None:
    dest = _copy_mitdb(tmp_path, "232")
    for ext in ("hea", "dat", "atr"):
        shutil.copy(ROOT / "mitdb" / f"104.{ext}", dest)
    assert mitdb.record_ids(tmp_path) == ["232"]  # RECORDS, when there is one, decides
    (dest / "RECORDS").unlink()
    assert mitdb.record_ids(tmp_path) == ["104", "232"]
    for path in dest.glob("*.hea"):
        path.unlink()
    with pytest.raises(DatasetError, match="no RECORDS file and no .hea"):
        mitdb.record_ids(tmp_path)


@needs_data
def test_missing_and_corrupt_files_are_named(tmp_path: Path) -> None:
    dest = _copy_mitdb(tmp_path, "232")
    assert mitdb.load_record("232", tmp_path).record_id == "232"
    (dest / "232.atr").unlink()
    with pytest.raises(DatasetError, match=r"232\.atr"):
        mitdb.load_record("232", tmp_path)
    data = (dest / "232.dat").read_bytes()
    (dest / "232.dat").write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match=r"232\.hea"):
        mitdb.load_record("232", tmp_path)
    (dest / "232.hea").write_text("garbage line\n")
    with pytest.raises(DatasetError, match=r"232\.hea"):
        mitdb.load_record("232", tmp_path)
    (dest / "232.dat").unlink()
    (dest / "232.hea").unlink()
    with pytest.raises(DatasetError, match=r"232\.hea.*missing"):
        mitdb.load_record("232", tmp_path)
    with pytest.raises(DatasetError, match="cinc2017"):
        cinc2017.read_labels(tmp_path)


@needs_data
def test_cinc_bad_label_file_and_missing_mat(tmp_path: Path) -> None:
    folder = tmp_path / "cinc2017" / "training2017"
    folder.mkdir(parents=True)
    src = ROOT / "cinc2017" / "training2017"
    shutil.copy(src / "A00004.hea", folder)
    (folder / "REFERENCE.csv").write_text("A00004,A\nA00005,Z\n")
    with pytest.raises(DatasetError, match=r"REFERENCE\.csv.*line 2"):
        cinc2017.read_labels(tmp_path)
    (folder / "REFERENCE.csv").write_text("A00004,A\n")
    with pytest.raises(DatasetError, match=r"A00004"):
        cinc2017.load_record("A00004", data_dir=tmp_path)
    with pytest.raises(DatasetError, match="no label"):
        cinc2017.load_record("A99999", data_dir=tmp_path)
