"""The shipped fall and activity models keep their contract with the on-device detectors:
input int8 [1, 1, 128, 7] = the IMU front end's window bytes unchanged; int8 softmax
outputs in protocol order; budgets; signed packages for the waist and the chest that the
firmware's verifier installs; and, on real recordings, the device's own windows in."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from wearsense.firmware.imu import CHANNELS, WINDOW, process_recording
from wearsense.firmware.nn import NNModel
from wearsense.protocol.events import ActivityClass, FallClass
from wearsense.training import activity, fall
from wearsense.updates import package as pkg
from wearsense.updates.keys import dev_signing_key

MODELS = Path(__file__).resolve().parents[1] / "models"
OUTPUTS = {"fall": 2, "activity": 8}


@pytest.mark.parametrize("task", ["fall", "activity"])
def test_shipped_model_contract(task):
    data = (MODELS / task / f"{task}.tflite").read_bytes()
    model = NNModel(data, task)
    (inp,) = model.inputs
    (out,) = model.outputs
    assert inp.shape == (1, 1, WINDOW, CHANNELS) and inp.dtype == np.int8
    assert inp.zero_point == 0
    assert out.shape == (1, OUTPUTS[task]) and out.dtype == np.int8
    assert (out.scale, out.zero_point) == (1 / 256, -128)  # softmax probabilities
    assert len(data) <= 16 * 1024
    if task == "activity":
        assert model.macs <= 300_000


def test_output_order_is_the_protocol_order():
    assert tuple(c.name.lower() for c in FallClass) == fall.LABELS
    assert tuple(c.name.lower() for c in ActivityClass if c.value < 8) == activity.LABELS


@pytest.mark.parametrize("task", ["fall", "activity"])
@pytest.mark.parametrize("placement", ["waist", "chest"])
def test_packages_install_on_the_device_verifier(task, placement):
    from wearsense.firmware.package import FirmwarePackages

    name = f"{task}.wspkg" if placement == "waist" else f"{task}-chest.wspkg"
    raw = (MODELS / task / name).read_bytes()
    parsed = pkg.parse(raw)
    header = parsed.header
    assert parsed.model == (MODELS / task / f"{task}.tflite").read_bytes()
    assert header.placement == int(pkg.Placement[placement.upper()])
    assert header.task == int(pkg.Task[task.upper()])
    # the version the model card states (a retrained model gets a new one)
    card = (MODELS / task / "README.md").read_text()
    stated = re.search(r"development key[,;] version (\d+)", card)
    assert stated and header.model_version == int(stated.group(1)) >= 1 and header.dev_key
    assert header.output.class_codes == tuple(range(OUTPUTS[task]))
    assert (header.input.window_samples, header.input.channels) == (WINDOW, CHANNELS)
    assert header.input.sample_rate_hz == 50
    status, _ = FirmwarePackages().verify_on_interpreter(
        raw, dev_signing_key().public.raw, header.task, header.placement, 0
    )
    assert int(status) == 0


@pytest.mark.parametrize("task", ["fall", "activity"])
def test_metrics_file_is_for_the_shipped_model(task):
    import hashlib

    metrics = json.loads((MODELS / task / "metrics.json").read_text())
    data = (MODELS / task / f"{task}.tflite").read_bytes()
    assert metrics["model_sha256"] == hashlib.sha256(data).hexdigest()
    assert metrics["labels"] == list(fall.LABELS if task == "fall" else activity.LABELS)
    known = {"sisfall", "umafall", "uci-hapt", "dsads", "dsads-torso"}
    assert set(metrics["per_dataset"]) <= known


def _sisfall_fall_trial():
    from wearsense.datasets import DatasetError
    from wearsense.datasets.imu import recordings

    try:
        for rec in recordings("sisfall", subject_ids=["SA07"]):
            if rec.trial.startswith("F01"):
                return rec
    except DatasetError:
        return None
    return None


def test_front_end_window_bytes_go_in_unchanged():
    """A fall's impact window, straight from the front end into the input tensor,
    is called a fall; the same bytes as training saw (SisFall test subject)."""
    rec = _sisfall_fall_trial()
    if rec is None:
        pytest.skip("SisFall not found under the data folder")
    out = process_recording(rec)
    model = NNModel((MODELS / "fall" / "fall.tflite").read_bytes())
    window = max(out.impacts, key=lambda i: i.peak_g).window
    assert window.dtype == np.int8 and window.shape == (WINDOW, CHANNELS)
    probs = model.run(window.reshape(1, 1, WINDOW, CHANNELS))[0]
    assert int(np.argmax(probs)) == int(FallClass.FALL)


@pytest.mark.parametrize("task", ["fall", "activity"])
def test_shipped_model_is_bit_exact_with_tflm(task):
    """The C interpreter and TensorFlow Lite Micro give the same output bytes."""
    pytest.importorskip("tflite_micro")
    from wearsense.testing.tflm_reference import tflm_run

    data = (MODELS / task / f"{task}.tflite").read_bytes()
    model = NNModel(data)
    rng = np.random.default_rng(7)
    for _ in range(5):
        x = rng.integers(-128, 128, size=(1, 1, WINDOW, CHANNELS), dtype=np.int8)
        ours = model.run(x)[0]
        theirs = tflm_run(data, [x])[0]
        assert ours.tobytes() == np.asarray(theirs).tobytes()
