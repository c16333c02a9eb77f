"""The sample recordings shipped in samples/data load with the dataset loaders, hold what
samples/README.md says, and come only from datasets whose licence allows redistribution."""

from __future__ import annotations

from pathlib import Path

from wearsense.datasets import mitdb
from wearsense.datasets.imu import umafall
from wearsense.protocol.events import FallClass

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def test_only_redistributable_datasets_are_shipped() -> None:
    assert sorted(p.name for p in (SAMPLES / "data").iterdir()) == ["mitdb", "umafall"]
    readme = (SAMPLES / "README.md").read_text()
    assert "ODC-By 1.0" in readme and "CC BY 4.0" in readme
    assert "Moody GB" in readme and "Casilari E" in readme


def test_the_mitdb_excerpt_goes_from_sinus_rhythm_into_af() -> None:
    assert mitdb.record_ids(SAMPLES / "data") == ["219"]
    rec = mitdb.load_record("219", SAMPLES / "data")
    assert rec.n_samples == 180 * 360
    assert rec.rhythm_at(int(10 * 360)) == "N"
    assert rec.rhythm_at(int(30 * 360)) == "AFIB"
    assert rec.rhythm_at(rec.n_samples - 1) == "AFIB"


def test_the_umafall_trials_load_with_their_positions_and_labels() -> None:
    recs = list(umafall.recordings(SAMPLES / "data" / "umafall"))
    assert {r.subject for r in recs} == {"06"}
    assert {"waist", "chest", "wrist"} <= {r.position for r in recs}
    waist = [r for r in recs if r.position == "waist"]
    assert len(waist) == 5 and sum(1 for r in waist if r.fall == FallClass.FALL) == 1
