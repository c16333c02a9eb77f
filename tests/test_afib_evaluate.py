"""`wearsense evaluate afib` on a data folder of a few held-out records: the JSON schema
the issue names (the same keys for every task), the confusion PNG, and the MIT-BIH
AF-time figures with the delay of each AF onset."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from wearsense.datasets import DatasetError, cinc2017, mitdb
from wearsense.datasets.common import data_root
from wearsense.training import afib

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "models" / "afib" / "afib.tflite"
MIT_RECORD = "203"  # a test-split Holter record with many AF episodes

try:
    LABELS = cinc2017.read_labels()
    MIT_IDS = mitdb.record_ids()
except DatasetError:  # pragma: no cover - the shared data must be present for these tests
    LABELS, MIT_IDS = {}, []
needs_data = pytest.mark.skipif(
    not LABELS or MIT_RECORD not in MIT_IDS, reason="CinC 2017 or MIT-BIH 203 not found"
)


def _small_data_dir(root: Path) -> list[str]:
    """Links to two held-out CinC records of each class and MIT-BIH 203 under ``root``
    (the layout of ../shared/data); the CinC ids, in REFERENCE.csv order."""
    source = data_root()
    test_ids = afib.held_out_records(None)
    chosen = []
    for label in ("N", "A", "O", "~"):
        chosen += [r for r in test_ids if LABELS[r] == label][:2]
    chosen = [r for r in test_ids if r in set(chosen)]
    cinc = root / "cinc2017" / "training2017"
    cinc.mkdir(parents=True)
    for rid in chosen:
        for ext in (".hea", ".mat"):
            (cinc / f"{rid}{ext}").symlink_to(source / "cinc2017" / "training2017" / f"{rid}{ext}")
    (cinc / "REFERENCE.csv").write_text("".join(f"{r},{LABELS[r]}\n" for r in chosen))
    mit = root / "mitdb"
    mit.mkdir()
    for ext in (".hea", ".dat", ".atr"):
        (mit / f"{MIT_RECORD}{ext}").symlink_to(source / "mitdb" / f"{MIT_RECORD}{ext}")
    return chosen


@needs_data
def test_evaluate_afib_writes_the_issues_schema(tmp_path, capsys):
    from wearsense.cli import main

    chosen = _small_data_dir(tmp_path / "data")
    out, png = tmp_path / "afib.json", tmp_path / "confusion.png"
    code = main(
        [
            "evaluate",
            "afib",
            "--data-dir",
            str(tmp_path / "data"),
            "--json",
            str(out),
            "--confusion-png",
            str(png),
            "--bootstrap",
            "50",
        ]
    )
    assert code == 0, capsys.readouterr().err
    report = json.loads(out.read_text())
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    assert report["task"] == "afib"
    assert "C interpreter" in report["runtime"]
    assert report["model_sha256"] == hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    assert report["units"] == len(chosen) + 1  # CinC records + one Holter record
    assert report["n"] == len(chosen)  # the top level is the CinC records'
    assert set(report["per_class"]) == {"normal", "af", "other", "noisy"}
    for figures in report["per_class"].values():
        assert {"sensitivity", "specificity", "ppv", "f1"} <= set(figures)
    assert 0.0 <= report["accuracy"] <= 1.0 and 0.0 <= report["macro_f1"] <= 1.0
    nao = [report["per_class"][k]["f1"] for k in ("normal", "af", "other")]
    assert report["macro_f1_nao"] == pytest.approx(float(np.mean(nao)))
    assert np.sum(report["confusion"]) == len(chosen)
    assert set(report["per_dataset"]) == {"cinc2017", "mitdb"}
    assert report["per_dataset"]["cinc2017"]["per_class"] == report["per_class"]
    assert set(report["side_by_side"]) == {"teacher", "float_student", "int8_student_c_interpreter"}
    assert report["side_by_side"]["int8_student_c_interpreter"]["macro_f1_nao"] == pytest.approx(
        report["macro_f1_nao"]
    )

    af = report["af_time"]
    assert af["records"] == [MIT_RECORD]
    assert 0.5 < af["sensitivity"] <= 1.0 and 0.0 <= af["specificity"] <= 1.0
    assert af["af_windows"] + af["non_af_windows"] == report["per_dataset"]["mitdb"]["n"]
    onsets = af["onset_delay_s"]
    each = onsets["each"]
    assert len(each) == onsets["episodes"] > 1  # 203 has many AF episodes
    assert all(e["record"] == MIT_RECORD for e in each)
    starts = [e["start_s"] for e in each]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    delays = [e["delay_s"] for e in each if e["delay_s"] is not None]
    assert len(delays) == onsets["episodes_detected"] > 0
    # a delay is to the centre of a window inside the episode
    assert all(
        0.0 <= e["delay_s"] < e["end_s"] - e["start_s"] for e in each if e["delay_s"] is not None
    )
    assert onsets["median"] == pytest.approx(float(np.median(delays)))
    assert onsets["max"] == pytest.approx(max(delays))
    assert onsets["episodes_too_short"] >= 0


@pytest.mark.parametrize(
    ("task", "model", "message"),
    [
        ("afib", "models/fall/fall.tflite", "not an AFib model"),
        ("fall", "models/afib/afib.tflite", "not a fall model"),
        ("activity", "models/fall/fall.tflite", "not an activity model"),
        ("activity", None, "the interpreter does not accept it"),
    ],
)
def test_evaluate_refuses_a_model_that_is_not_the_tasks(task, model, message, tmp_path, capsys):
    from wearsense.cli import main

    path = REPO / model if model else tmp_path / "random.tflite"
    if model is None:
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 300, np.uint8).tobytes())
    out = tmp_path / "report.json"
    code = main(["evaluate", task, "--model", str(path), "--json", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1


class _Payload:
    """Unpickling this runs code: what a hostile `.pt` file would carry."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "ran"))


def test_a_float_model_file_is_never_code(tmp_path):
    import torch

    from wearsense.training.pipeline import FloatModelError, load_float_model

    marker = tmp_path / "marker"
    hostile = tmp_path / "student_float.pt"
    torch.save({"config": _Payload(marker), "state": {}}, hostile)
    with pytest.raises(FloatModelError, match="not a float model saved by wearsense training"):
        load_float_model(hostile)
    assert not marker.exists()
    (tmp_path / "text.pt").write_text("not a model")
    with pytest.raises(FloatModelError):
        load_float_model(tmp_path / "text.pt")
    saved = load_float_model(REPO / "models" / "afib" / "student_float.pt")  # the real thing
    assert saved.config.side_features == afib.RR_FEATURES


def test_from_student_refuses_a_file_that_is_not_a_student(tmp_path, capsys):
    from wearsense.cli import main

    bogus = tmp_path / "student.pt"
    bogus.write_text("not a model")
    code = main(["train", "afib", "--from-student", str(bogus), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "not a float model saved by wearsense training" in err
    assert not (tmp_path / "o" / "afib.tflite").exists()
