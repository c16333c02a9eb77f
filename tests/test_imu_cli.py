"""`wearsense imu summary|trigger` on a small synthetic data root."""

from __future__ import annotations

import json
import lzma
from pathlib import Path

import pytest

from wearsense.cli import main


def _sisfall_root(tmp_path: Path) -> Path:
    folder = tmp_path / "sisfall" / "SisFall_dataset" / "SA01"
    folder.mkdir(parents=True)
    still = " 0, 256, 0, 0, 0, 0, 0, 0, 0;\n"
    bump = " 900, 256, 0, 0, 0, 0, 0, 0, 0;\n"  # about 3.6 g on the ADXL345
    fall = still * 600 + bump * 10 + still * 800
    with lzma.open(folder / "F01_SA01_R01.txt.xz", "wt") as handle:
        handle.write(fall)
    with lzma.open(folder / "D01_SA01_R01.txt.xz", "wt") as handle:
        handle.write(still * 1440)
    return tmp_path


def test_summary_counts_trials_and_hours(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _sisfall_root(tmp_path)
    out = tmp_path / "summary.json"
    assert (
        main(
            ["imu", "summary", "--data-dir", str(root), "--dataset", "sisfall", "--json", str(out)]
        )
        == 0
    )
    waist = json.loads(out.read_text())["sisfall"]["positions"]["waist"]
    assert waist == {"subjects": 1, "recordings": 2, "fall_trials": 1, "hours": 0.004}


def test_trigger_fires_on_the_fall_only(tmp_path: Path) -> None:
    root = _sisfall_root(tmp_path)
    out = tmp_path / "trigger.json"
    args = ["imu", "trigger", "--data-dir", str(root), "--dataset", "sisfall"]
    assert main([*args, "--thresholds", "2.0", "5.0", "--json", str(out)]) == 0
    waist = json.loads(out.read_text())["per_dataset"]["sisfall"]["waist"]
    assert waist["recall_by_threshold"] == {"1.6g": 1.0, "2g": 1.0, "5g": 0.0}
    assert waist["adl_triggers_per_hour"] == 0.0
    assert waist["largest_impact_recall"] == 1.0  # the window is centred on the bump


def test_missing_dataset_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["imu", "summary", "--data-dir", str(tmp_path), "--dataset", "dsads"]) == 1
    assert "dsads" in capsys.readouterr().out
