"""AFib on real CinC records: the training input is the device's input byte for byte, and
a tiny configuration trained on a small subset beats chance on held-out records when
run as int8 on the C interpreter."""

from __future__ import annotations

import json

import numpy as np
import pytest

from wearsense.datasets import DatasetError, cinc2017
from wearsense.firmware.ecg import EcgChain
from wearsense.training import afib

try:
    LABELS = cinc2017.read_labels()
except DatasetError:  # pragma: no cover - the shared data must be present for these tests
    LABELS = {}
needs_data = pytest.mark.skipif(not LABELS, reason="CinC 2017 not found under the data folder")


@needs_data
def test_training_input_equals_the_device_stream():
    record = cinc2017.load_record("A00004")
    training = afib.record_sequence(record)
    # The device: samples arrive in small blocks, the chain runs in streaming mode.
    chain = EcgChain(record.fs, record.adc_gain, record.adc_zero, normalised=True)
    pieces = [chain.process(record.signal[i : i + 37])[0] for i in range(0, len(record.signal), 37)]
    device = afib.afib_input(np.concatenate(pieces))
    assert training.dtype == np.int8
    assert training.tobytes() == device.tobytes()
    assert len(training) == pytest.approx(record.duration_s * 125, abs=130)


@needs_data
@pytest.mark.parametrize("record_id", ["A00004", "A00005", "A00022"])
def test_rr_features_equal_the_devices(record_id):
    """The RR features training appends to each window are the ones the device's AFib
    detector computes from the beats its front end reports as the samples stream in."""
    from wearsense.emulator.device import Wearable

    record = cinc2017.load_record(record_id)
    ecg = afib.record_input(record)
    rows = afib.model_inputs(ecg, afib.WINDOW + afib.RR_FEATURES)
    training = rows[::2, afib.WINDOW :]  # device windows are back to back: every 2nd hop
    device = Wearable(models=None)
    seen: dict[int, bytes] = {}
    for start in range(0, len(record.signal), 50):
        device.feed_ecg(
            record.signal[start : start + 50],
            record.fs,
            adc_gain=record.adc_gain,
            adc_zero=record.adc_zero,
        )
        k = len(seen)
        while (features := device.afib_rr_features(k)) is not None:
            seen[k] = features
            k += 1
    complete = len(record.signal) / record.fs // 10.24 - 1  # the chain's delay eats a little
    assert len(seen) >= complete >= 1
    for k, features in seen.items():
        assert features == training[k].tobytes(), f"window {k}"
    assert any(training[k][0] > 0 for k in seen)  # beats were found and counted


def test_rr_features_of_known_intervals():
    """Regular beats give no irregularity; alternating intervals give the most."""
    from wearsense.firmware.ecg import Beats

    def features(rr_ms: list[int]) -> np.ndarray:
        samples = np.cumsum(np.array(rr_ms) * 250 // 1000)
        beats = Beats(samples, np.array(rr_ms), np.full(len(rr_ms), 1000), np.zeros(len(rr_ms)))
        return afib.rr_features(beats, [int(samples[-1]) + 200])[0]

    regular = features([800] * 20)
    assert regular[0] == 20 and regular[1] == 50 and regular[2] == 50  # 800 ms / 16
    assert list(regular[4:12]) == [0] * 8 and regular[12] == 0  # no variation
    alternating = features([600, 1000] * 10)
    assert alternating[1] == 50 and alternating[8] == 127  # every difference > 50 ms
    assert alternating[10] == 127  # every difference changes sign: all turning points
    assert alternating[4] > 50 and alternating[5] > 100
    assert afib.rr_features(Beats(*(np.zeros(0, np.int64),) * 4), [5000])[0].tolist() == [0] * 16


@needs_data
def test_tiny_training_beats_chance_on_held_out_records(tmp_path):
    config = afib.AfibTrainConfig(
        teacher_epochs=6,
        student_epochs=6,
        qat_epochs=1,
        width=0.5,
        max_records=240,
        seed=1,
        tune_offsets=("other",),
    )
    summary = afib.train_afib(tmp_path, None, config, show_progress=False)
    assert summary["student"]["tflite_bytes"] < 32 * 1024
    head = summary["rr_head"]  # the default RR head, its weight chosen on validation
    assert head["hidden"] == 8 and head["weight"] in afib.RR_HEAD_WEIGHTS
    assert set(head["validation_f1_af_plus_mean_f1_nao"]) == {
        f"{w:g}" for w in afib.RR_HEAD_WEIGHTS
    }
    offsets = summary["class_offsets"]  # tuned on validation; only "other" may move
    assert offsets["normal"] == offsets["af"] == offsets["noisy"] == 0.0
    held_out = afib.load_split_ids()["validation"][240:340]  # not among the 240 it saw
    records = afib.load_records(held_out, None, "held-out")
    from wearsense.firmware.nn import NNModel

    model = NNModel((tmp_path / "afib.tflite").read_bytes())
    length = afib.model_length(model)
    assert length == afib.WINDOW + afib.RR_FEATURES  # a hybrid: ECG window + RR features
    predicted = np.array(
        [
            afib.probabilities(model, afib.model_inputs(ecg, length)).mean(0).argmax()
            for ecg in records.inputs
        ]
    )
    truth = records.labels
    # Balanced accuracy (mean recall over the classes present); chance is 1/4, and always
    # answering the majority class also scores 1/4.
    recalls = [float((predicted[truth == k] == k).mean()) for k in range(4) if (truth == k).any()]
    assert float(np.mean(recalls)) > 0.32


def test_window_constants_agree_with_the_shipped_model():
    from pathlib import Path

    from wearsense.firmware import core
    from wearsense.firmware.nn import NNModel

    shipped = Path(__file__).resolve().parents[1] / "models" / "afib" / "afib.tflite"
    model = NNModel(shipped.read_bytes())
    assert core().lib.WS_AFIB_WINDOW == afib.WINDOW == afib.model_window(model)
    assert core().lib.WS_AFIB_HOP == afib.HOP
    assert model.arena_bytes <= 16 * 1024 and len(shipped.read_bytes()) <= 32 * 1024
    assert model.macs <= 2_000_000


def test_a_record_normal_on_average_with_one_other_window_is_other():
    n, o, af = afib.CINC_CLASS["N"], afib.CINC_CLASS["O"], afib.CINC_CLASS["A"]

    def window(p_normal: float, p_af: float, p_other: float) -> list[float]:
        return [p_normal, p_af, p_other, 1.0 - p_normal - p_af - p_other]

    calm = [window(0.9, 0.02, 0.05)] * 4
    assert afib.record_class(np.array(calm)) == n
    assert afib.record_class(np.array([*calm, window(0.3, 0.0, 0.6)])) == o
    # the threshold is strict, as the device's float compare
    assert afib.record_class(np.array([*calm, window(0.45, 0.0, 0.5)])) == n
    # a window the device did not show the model does not count
    probs = np.array([*calm, window(0.3, 0.0, 0.6)])
    assert afib.record_class(probs, np.array([True] * 4 + [False])) == n
    # AF on average stays AF
    assert afib.record_class(np.array([window(0.1, 0.8, 0.05)] * 3 + [window(0.1, 0.2, 0.7)])) == af
    # the training's vectorised decisions agree with record_class record by record
    rng = np.random.default_rng(3)
    raw = rng.dirichlet(np.ones(4) * 0.7, size=60)
    owner = np.sort(rng.integers(0, 12, size=60))
    decided = afib.record_decisions(raw, owner, 12)
    for r in range(12):
        rows = raw[owner == r]
        if len(rows):
            assert decided[r] == afib.record_class(rows)


@needs_data
def test_mitdb_training_rows_are_the_evaluations_windows_with_their_rhythms():
    from wearsense.datasets import mitdb

    x, y, owner = afib.mitdb_training_rows(None, afib.WINDOW + afib.RR_FEATURES, max_records=2)
    ids = afib.mitdb_train_ids()[:2]
    assert x.dtype == np.int8 and x.shape[1:] == (1, afib.WINDOW + afib.RR_FEATURES)
    assert len(x) == len(y) == len(owner) and set(owner.tolist()) == {0, 1}
    assert set(y.tolist()) <= {0, 1, 2}
    for index, rid in enumerate(ids):  # the same bytes and classes the evaluation scores
        (record,) = mitdb.iter_records([rid], None)
        wins, _, truths = afib.mitdb_windows(record, afib.WINDOW + afib.RR_FEATURES)
        keep = [k for k, t in enumerate(truths) if t is not None and t != afib.FLUTTER]
        assert np.array_equal(x[owner == index, 0], wins[keep])
        assert y[owner == index].tolist() == [truths[k] for k in keep]


@needs_data
def test_training_with_the_mitdb_split_adds_its_windows(tmp_path):
    config = afib.AfibTrainConfig(
        teacher_epochs=1, student_epochs=1, qat_epochs=0, width=0.5, max_records=1,
        seed=1, rr_head=0, rr_co_teacher=0.0, mitdb_train=True,
    )  # fmt: skip
    summary = afib.train_afib(tmp_path, None, config, show_progress=False)
    cinc = afib.load_records(afib.load_split_ids()["train"][:1], None, "one").window_arrays(
        config.input_length
    )[1]
    mit = afib.mitdb_training_rows(None, config.input_length, max_records=1)[1]
    assert summary["train_windows"] == len(cinc) + len(mit)
    assert summary["config"]["mitdb_train"] is True


@needs_data
def test_a_mitdb_training_record_can_be_left_out():
    length = afib.WINDOW + afib.RR_FEATURES
    split = afib.mitdb_train_ids()
    assert afib.mitdb_train_ids([split[0]]) == split[1:]
    x, y, owner = afib.mitdb_training_rows(None, length, max_records=1, leave_out=[split[0]])
    both, labels, both_owner = afib.mitdb_training_rows(None, length, max_records=2)
    assert np.array_equal(x, both[both_owner == 1]) and np.array_equal(y, labels[both_owner == 1])
    assert set(owner.tolist()) == {0}
    for bad, message in (([split[0], "104"], "104 not in the training split"), (split, "left")):
        with pytest.raises(ValueError, match=message):
            afib.mitdb_train_ids(bad)


def test_train_refuses_a_bad_mitdb_leave_out():
    import subprocess
    import sys

    def train(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "wearsense.cli", "train", "afib", *args]
        return subprocess.run(command, capture_output=True, text=True, check=False)

    alone = train("--mitdb-leave-out", "232")
    assert alone.returncode == 2 and "needs --mitdb-train" in alone.stderr
    test_record = train("--mitdb-train", "--mitdb-leave-out", "203")
    assert test_record.returncode == 2 and "203 not in the training split" in test_record.stderr
    hop = train("--train-hop", "0")
    assert hop.returncode == 2 and "train_hop must be 1..1280" in hop.stderr


@needs_data
def test_pareto_trains_one_student_per_width_and_writes_table_and_plot(tmp_path):
    config = afib.AfibTrainConfig(
        teacher_epochs=1, student_epochs=1, qat_epochs=0, max_records=24, seed=5,
        rr_head=0, rr_co_teacher=0.0,
    )  # fmt: skip
    rows = afib.pareto_afib(tmp_path, None, config, (0.25, 0.5, 1.0), show_progress=False)
    assert [r["width"] for r in rows] == [0.25, 0.5, 1.0]
    for key in ("tflite_bytes", "arena_bytes", "macs"):
        assert rows[0][key] < rows[1][key] < rows[2][key]
    for r in rows:
        assert r["validation_records"] == 24
        assert 0.0 <= r["validation_f1_af"] <= 1.0 and 0.0 <= r["validation_macro_f1_nao"] <= 1.0
        model = (tmp_path / f"width-{r['width']:g}" / "afib.tflite").read_bytes()
        assert len(model) == r["tflite_bytes"]
    assert json.loads((tmp_path / "pareto.json").read_text()) == rows
    table = (tmp_path / "pareto.md").read_text().splitlines()
    assert len(table) == 2 + len(rows) and table[2].startswith("| 0.25 |")
    assert (tmp_path / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_data
def test_a_smaller_training_hop_adds_crops_between_the_devices_windows():
    records = afib.load_records(afib.load_split_ids()["train"][:3], None, "three")
    length = afib.WINDOW + afib.RR_FEATURES
    x, y, owner = records.window_arrays(length)
    dense, dense_y, dense_owner = records.window_arrays(length, afib.HOP // 2)
    for index in range(3):
        mine, every = x[owner == index], dense[dense_owner == index]
        # a crop between each pair of windows, and one after the last when it fits
        assert 2 * len(mine) - 1 <= len(every) <= 2 * len(mine)
        assert np.array_equal(every[::2], mine)  # the device's windows, RR features too
        assert set(dense_y[dense_owner == index].tolist()) == {records.labels[index]}
    with pytest.raises(ValueError, match="train_hop"):
        afib.AfibTrainConfig(train_hop=0)
