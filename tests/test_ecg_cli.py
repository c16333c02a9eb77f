"""`wearsense ecg qrs` prints one row per record and a gross row; bad data roots
give a clear error and a non-zero status."""

from __future__ import annotations

from pathlib import Path

import pytest

from wearsense.cli import main
from wearsense.datasets import DatasetError, data_root

try:
    ROOT = data_root()
except DatasetError:  # pragma: no cover
    ROOT = None


@pytest.mark.skipif(ROOT is None, reason="shared data root not present")
def test_qrs_table_for_one_record(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ecg", "qrs", "--data-dir", str(ROOT), "--record", "219"]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = lines[1].split()
    assert row[0] == "219" and row[1] == "MLII"
    beats, tp, fn = int(row[2]), int(row[3]), int(row[4])
    assert beats == tp + fn > 1500 and float(row[6]) > 99.0
    assert lines[2].split()[0] == "gross" and "EC57" in lines[3]


def test_missing_data_root_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ecg", "qrs", "--data-dir", str(tmp_path / "none")]) == 1
    assert "none" in capsys.readouterr().err
    assert main(["ecg", "quality", "--data-dir", str(tmp_path)]) == 1
    assert "cinc2017" in capsys.readouterr().err


def test_quality_without_any_split_record_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "cinc2017" / "training2017"
    folder.mkdir(parents=True)
    (folder / "REFERENCE.csv").write_text("X99999,N\n")  # labelled, in no split
    assert main(["ecg", "quality", "--data-dir", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "no records of the train+validation+test split listed" in captured.err
    assert "flagged" not in captured.out
