"""Post-training quantization of PyTorch modules: the int8 model tracks the float
module and runs bit-exact on our interpreter and TFLM."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from nn_helpers import assert_bit_exact  # noqa: E402
from torch import nn  # noqa: E402

from wearsense.firmware.nn import NNModel  # noqa: E402
from wearsense.tflite import TFLiteError, write_tflite  # noqa: E402
from wearsense.tflite.ptq import Residual, quantize_input, quantize_module  # noqa: E402


def _net() -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv1d(3, 8, 5, padding=2),
        nn.BatchNorm1d(8),
        nn.ReLU(),
        Residual(nn.Conv1d(8, 8, 3, padding=1, groups=8), nn.ReLU6(), nn.Conv1d(8, 8, 1)),
        nn.ReLU(),
        nn.MaxPool1d(2),
        nn.Conv1d(8, 6, 3, stride=2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(6 * 7, 5),
    )
    with torch.no_grad():
        net[1].running_mean.uniform_(-0.5, 0.5)
        net[1].running_var.uniform_(0.5, 2.0)
        net[1].weight.uniform_(0.5, 1.5)
    return net.eval()


def test_quantized_module_tracks_float_and_is_bit_exact() -> None:
    net = _net()
    calibration = torch.randn(128, 3, 32)
    model = quantize_module(net, calibration.numpy())
    ops = [op.op for op in model.operators]
    assert ops.count("CONV_2D") == 3 and "DEPTHWISE_CONV_2D" in ops and "ADD" in ops
    assert "BatchNorm" not in str(ops)
    interpreter = NNModel(write_tflite(model))
    out = model.tensors[model.outputs[0]]
    errors = []
    for signal in torch.randn(20, 3, 32):
        q = interpreter.run(quantize_input(model, signal.numpy()))[0]
        got = (q.astype(np.float64) - out.zero_point[0]) * out.scale[0]
        expected = net(signal[None]).detach().numpy()
        errors.append(np.abs(got - expected).max() / out.scale[0])
    assert np.median(errors) < 4  # within a few output quantization steps
    assert_bit_exact(model, np.random.default_rng(0))


def test_float_io_model() -> None:
    net = nn.Sequential(
        nn.Conv1d(2, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(4, 3)
    )
    model = quantize_module(
        net.eval(), np.random.default_rng(2).normal(size=(32, 2, 16)), float_io=True
    )
    assert model.operators[0].op == "QUANTIZE" and model.operators[-1].op == "DEQUANTIZE"
    assert_bit_exact(model, np.random.default_rng(3))


@pytest.mark.parametrize(
    "module",
    [
        nn.Conv1d(2, 2, 3, padding=1, stride=2),
        nn.LSTM(2, 2),
        nn.Sequential(nn.ReLU()),
        nn.Conv1d(2, 2, 3, padding=1, padding_mode="circular"),
    ],
)
def test_unsupported_modules_are_refused(module: nn.Module) -> None:
    with pytest.raises(TFLiteError):
        quantize_module(nn.Sequential(module), np.zeros((4, 2, 16)))
