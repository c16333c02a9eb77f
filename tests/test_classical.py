"""`wearsense baseline`: the classical recipes of ../shared/BASELINES.md on our own splits."""

from __future__ import annotations

import json

import numpy as np
import pytest

from wearsense.cli import main
from wearsense.datasets import DatasetError, cinc2017
from wearsense.datasets.imu import subjects
from wearsense.training import classical

FS = 300
try:
    HAVE_CINC = bool(cinc2017.read_labels())
except DatasetError:  # pragma: no cover - the shared data must be present for these tests
    HAVE_CINC = False
try:
    HAVE_HAPT = bool(subjects("uci-hapt"))
except DatasetError:  # pragma: no cover
    HAVE_HAPT = False


def beats_at(times_s: np.ndarray, duration_s: float = 30.0) -> np.ndarray:
    """A synthetic ECG (mV): a narrow R wave at each time, a small T wave after it."""
    t = np.arange(int(duration_s * FS)) / FS
    x = np.zeros_like(t)
    for r in times_s:
        x += 1.2 * np.exp(-0.5 * ((t - r) / 0.012) ** 2)
        x += 0.25 * np.exp(-0.5 * ((t - r - 0.28) / 0.04) ** 2)
    return x + 0.01 * np.random.default_rng(0).standard_normal(len(t))


def feature(values: np.ndarray, name: str) -> float:
    return float(values[classical.ECG_FEATURES.index(name)])


def test_regular_rhythm_features():
    f = classical.ecg_features(beats_at(np.arange(0.5, 29.5, 0.8)), FS)  # 75 / min
    assert f.shape == (len(classical.ECG_FEATURES),)
    assert feature(f, "heart_rate") == pytest.approx(75, abs=2)
    assert feature(f, "cv") < 0.03
    assert feature(f, "beat_corr_mean") > 0.95
    assert feature(f, "duration_s") == pytest.approx(30.0)


def test_irregular_rhythm_reads_irregular():
    rng = np.random.default_rng(1)
    times = np.cumsum(rng.uniform(0.45, 1.1, 40)) + 0.3
    irregular = classical.ecg_features(beats_at(times[times < 29.5]), FS)
    regular = classical.ecg_features(beats_at(np.arange(0.5, 29.5, 0.75)), FS)
    assert feature(irregular, "cv") > 3 * feature(regular, "cv")
    assert feature(irregular, "pnn50") > 0.5 > feature(regular, "pnn50")


@pytest.mark.parametrize(
    "signal",
    [np.zeros(30 * FS), np.zeros(FS), np.full(30 * FS, np.nan), np.ones(10 * FS)],
    ids=["flat", "one second", "nan", "constant"],
)
def test_records_without_beats_give_missing_values_not_errors(signal):
    f = classical.ecg_features(signal, FS)
    assert f.shape == (len(classical.ECG_FEATURES),)
    assert np.isnan(feature(f, "heart_rate"))


def test_imu_features_of_still_and_moving_windows():
    still = np.zeros((1, 128, 7), np.int8)
    still[:, :, 2] = 32  # 1 g on z at scale 1/32
    t = np.arange(128) / 50.0
    moving = still.copy()
    moving[0, :, 0] = np.round(20 * np.sin(2 * np.pi * 2.0 * t)).astype(np.int8)
    f = classical.imu_features(np.concatenate([still, moving]))
    assert f.shape[0] == 2 and np.isfinite(f).all()
    assert not np.array_equal(f[0], f[1])
    with pytest.raises(ValueError, match="expected windows"):
        classical.imu_features(np.zeros((2, 128, 6), np.int8))


@pytest.mark.skipif(not HAVE_CINC, reason="CinC 2017 not found under the data folder")
def test_afib_baseline_beats_chance_on_held_out_records():
    report = classical.baseline_afib(bootstrap=20, progress=False, limit=150)
    assert report["task"] == "afib" and report["units"] == 150
    truth = np.array(report["confusion"]).sum(axis=1)
    majority = truth.max() / truth.sum()
    assert report["accuracy"] > majority + 0.05
    assert report["per_class"]["af"]["f1"] > 0.5
    assert set(report["per_class"]) == {"normal", "af", "other", "noisy"}
    assert report["macro_f1_nao"] == pytest.approx(
        np.mean([report["per_class"][k]["f1"] for k in ("normal", "af", "other")])
    )


@pytest.mark.skipif(not HAVE_HAPT, reason="UCI HAPT not found under the data folder")
def test_activity_baseline_beats_chance_on_held_out_users():
    report = classical.baseline_activity(bootstrap=20, progress=False, subjects_limit=2, trees=40)
    assert report["units"] == 2
    assert report["labels"] == list(classical.ACTIVITY_SIX)
    assert report["accuracy"] > 0.6  # six classes: chance is about 0.17
    assert report["uci_hapt_six_basic_accuracy"] == report["accuracy"]


def test_peak_window_centres_the_largest_impact_and_holds_the_edges():
    stream = np.zeros((300, 6))
    stream[:, 2] = 1.0  # 1 g, still
    stream[100:150, 2] = 0.2  # free fall
    stream[150, :3] = (2.0, 2.0, 2.0)  # the impact, |a| = 3.46 g
    window, extra = classical.peak_window(stream)
    assert window.shape == (128, 7)  # the frame layout: acc, |a| - 1 g, gyro
    assert window[64, 3] == pytest.approx(np.sqrt(12.0) - 1.0)
    assert np.allclose(window[64, :3], 2.0) and np.allclose(window[:, 4:], 0.0)
    assert extra[0] == pytest.approx(np.sqrt(12.0)) and extra[1] == pytest.approx(0.2)
    assert extra[2] == pytest.approx(0.0)  # still after it
    early = stream.copy()
    early[5, :3] = (4.0, 0.0, 0.0)  # an impact 0.1 s into the recording
    window, _ = classical.peak_window(early)
    assert np.allclose(window[:59, :3], early[0, :3])  # the start held before it
    with pytest.raises(ValueError, match="expected a"):
        classical.peak_window(np.zeros((0, 6)))


@pytest.mark.skipif(not HAVE_HAPT, reason="the IMU sets are not under the data folder")
def test_fall_baseline_beats_chance_on_held_out_trials():
    report = classical.baseline_fall(bootstrap=20, progress=False, subjects_limit=1, trees=40)
    assert report["labels"] == ["adl", "fall"]
    assert report["fall_trials"] > 0 and report["adl_trials"] > 0
    assert report["sensitivity"] > 0.7 and report["specificity"] > 0.7
    assert set(report["per_dataset"]) <= {"sisfall", "umafall", "uci-hapt"}
    assert "umafall/wrist" in report["per_position"] or "umafall" not in report["per_dataset"]


def test_cli_refuses_an_empty_limit(tmp_path, capsys):
    out = tmp_path / "b.json"
    assert main(["baseline", "fall", "--limit", "0", "--json", str(out)]) == 2
    assert not out.exists() and "--limit 0" in capsys.readouterr().err


def test_cli_names_a_missing_data_folder(tmp_path, capsys):
    out = tmp_path / "b.json"
    code = main(["baseline", "afib", "--data-dir", str(tmp_path), "--json", str(out)])
    assert code == 2 and not out.exists()
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "cinc2017" in err and "missing" in err


@pytest.mark.skipif(not HAVE_CINC, reason="CinC 2017 not found under the data folder")
def test_cli_writes_the_report(tmp_path, capsys):
    out = tmp_path / "b.json"
    code = main(["baseline", "afib", "--limit", "60", "--bootstrap", "5", "--json", str(out)])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["method"].startswith("neurokit2") and report["units"] == 60
    printed = json.loads(capsys.readouterr().out)
    assert printed["f1_af"] == report["per_class"]["af"]["f1"]
    assert "af_time" not in printed  # nothing the baseline does not measure


@pytest.mark.parametrize("task", ["afib", "fall", "activity"])
def test_model_card_shows_the_committed_baseline_beside_the_student(task, tmp_path):
    from pathlib import Path

    from wearsense.training.model_card import classical_section

    models = Path(__file__).resolve().parents[1] / "models" / task
    metrics = json.loads((models / "metrics.json").read_text())
    base = json.loads((models / "classical_baseline.json").read_text())
    assert classical_section(tmp_path, metrics, task) == ""  # no baseline file: no section
    (tmp_path / "classical_baseline.json").write_text(json.dumps(base))
    text = classical_section(tmp_path, metrics, task)
    assert f"`wearsense baseline {task}`" in text and base["method"] in text
    key = {"afib": None, "fall": "sensitivity", "activity": "uci_hapt_six_basic_accuracy"}[task]
    ours = metrics["per_class"]["af"]["f1"] if key is None else metrics[key]
    theirs = base["per_class"]["af"]["f1"] if key is None else base[key]
    assert f"{100 * ours:.1f} %" in text and f"{100 * theirs:.1f} %" in text
    # the committed card is the one this code writes
    assert text in (models / "README.md").read_text()
