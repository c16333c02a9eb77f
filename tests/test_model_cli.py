"""`wearsense model info|run` end to end, plus writer/reader round trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tflite

from wearsense.cli import main
from wearsense.firmware.nn import NNModel
from wearsense.testing.tflite_models import random_model
from wearsense.tflite import Operator, TFLiteError, read_tflite, write_tflite
from wearsense.tflite.builder import GraphBuilder, activation_qparams

Q = activation_qparams(-1.0, 3.0)


def _model(seed: int = 5):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    g = GraphBuilder("cli test")
    x = g.input((1, 1, 20, 2), Q)
    y = g.conv1d(x, rng.normal(size=(3, 2, 3)), rng.normal(size=3), Q, activation="RELU6")
    g.output(g.dense(y, rng.normal(size=(4, 18 * 3)), rng.normal(size=4), Q))
    return g.build()


def test_info_reports_ops_and_arena(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.tflite"
    data = write_tflite(_model())
    path.write_bytes(data)
    assert main(["model", "info", str(path)]) == 0
    text = capsys.readouterr().out
    assert "CONV_2D" in text and "FULLY_CONNECTED" in text
    assert f"arena {NNModel(data).arena_bytes} bytes" in text


def test_info_explains_rejection(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = _model()
    model.operators[1].version = 50
    path = tmp_path / "bad.tflite"
    path.write_bytes(write_tflite(model))
    assert main(["model", "info", str(path)]) == 1
    assert "WS_ERR_NN_OP_VERSION" in capsys.readouterr().out


def test_run_writes_the_interpreter_output(tmp_path: Path) -> None:
    data = write_tflite(_model())
    (tmp_path / "m.tflite").write_bytes(data)
    x = np.random.default_rng(1).integers(-128, 128, size=(1, 1, 20, 2), dtype=np.int8)
    np.save(tmp_path / "in.npy", x)
    args = ["model", "run", str(tmp_path / "m.tflite"), "--input", str(tmp_path / "in.npy")]
    assert main([*args, "--output", str(tmp_path / "out.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), NNModel(data).run(x)[0])
    np.save(tmp_path / "in.npy", x.astype(np.float32))
    assert main([*args, "--output", str(tmp_path / "out.npy")]) == 2


def test_round_trip_and_alignment() -> None:
    rng = np.random.default_rng(11)
    model = random_model(lambda lo, hi: int(rng.integers(lo, hi + 1)), rng)
    data = write_tflite(model)
    back = read_tflite(data)
    assert [op.op for op in back.operators] == [op.op for op in model.operators]
    for a, b in zip(model.tensors, back.tensors, strict=True):
        assert (a.shape, a.dtype, a.zero_point) == (b.shape, b.dtype, b.zero_point)
        assert np.allclose(a.scale, b.scale, rtol=1e-7)
        if a.data is not None:
            assert b.data is not None and np.array_equal(a.data, b.data)
    # every constant buffer sits 16-byte aligned in the file: the firmware reads it in place
    root = tflite.Model.GetRootAsModel(data, 0)
    for index in range(1, root.BuffersLength()):
        table = root.Buffers(index)._tab
        start = table.Vector(table.Offset(4))
        assert start % 16 == 0
        assert data[start : start + table.VectorLen(table.Offset(4))] in {
            t.data.tobytes() for t in model.tensors if t.data is not None
        }
    assert write_tflite(back) == data


def test_description_errors() -> None:
    with pytest.raises(TFLiteError):
        Operator("NOT_AN_OP", [0], [1])
    model = _model()
    model.operators[0].inputs[0] = 99
    with pytest.raises(TFLiteError):
        write_tflite(model)
    with pytest.raises(TFLiteError):
        read_tflite(b"not a model at all")
