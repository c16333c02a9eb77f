"""Exports a trained `ConvNet` as an int8 `.tflite` through `wearsense.tflite`'s writer.

The network must be fused (`ConvNet.fuse()`). Activation ranges are measured on
calibration data with the model exactly as it will be quantized (after quantization-aware
fine-tuning the fake-quantized outputs are what is measured), so the int8 grid matches
the one the model was fine-tuned on. The input tensor is int8 with the scale the task's
front end defines (its zero point is 0); the output is the softmax over classes
(int8, scale 1/256, zero point -128), so the device reads class probabilities directly.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch
from torch import nn

from wearsense.tflite import Model, write_tflite
from wearsense.tflite.builder import GraphBuilder, activation_qparams
from wearsense.training.models import QUANTIZED_OUTPUTS, ConvBNAct, ConvNet, SeparableBlock


def measure_ranges(model: ConvNet, calibration: np.ndarray) -> dict[str, tuple[float, float]]:
    """Min and max of every quantized tensor over the calibration inputs."""
    low: dict[str, float] = defaultdict(lambda: 0.0)
    high: dict[str, float] = defaultdict(lambda: 0.0)
    handles = []

    def watch(name: str):
        def hook(_module: nn.Module, _inputs: object, out: torch.Tensor) -> None:
            low[name] = min(low[name], float(out.min()))
            high[name] = max(high[name], float(out.max()))

        return hook

    for name, module in model.named_modules():
        if isinstance(module, QUANTIZED_OUTPUTS):
            handles.append(module.register_forward_hook(watch(name)))
    model.eval()
    with torch.no_grad():
        for start in range(0, len(calibration), 256):
            model(torch.from_numpy(calibration[start : start + 256]))
    for handle in handles:
        handle.remove()
    return {name: (low[name], high[name]) for name in high}


def _conv(builder: GraphBuilder, x: int, unit: ConvBNAct, out_q: tuple[float, int]) -> int:
    conv = unit.conv
    if not isinstance(unit.bn, nn.Identity):
        raise ValueError("export needs a fused model: call ConvNet.fuse() first")
    bias = conv.bias.detach().numpy() if conv.bias is not None else None
    return builder.conv1d(
        x,
        conv.weight.detach().numpy(),
        bias,
        out_q,
        stride=conv.stride[0],
        padding="SAME",
        activation="RELU" if isinstance(unit.act, nn.ReLU) else "NONE",
        depthwise=conv.groups > 1,
    )


def _dense(builder: GraphBuilder, x: int, fc: nn.Linear, out_q: tuple[float, int]) -> int:
    weight, bias = fc.weight.detach().numpy(), fc.bias.detach().numpy()
    return builder.dense(x, weight, bias, out_q, per_channel=True)


def export_convnet(
    model: ConvNet,
    calibration: np.ndarray,
    input_scale: float,
    description: str,
) -> tuple[Model, bytes]:
    """(quantized description, `.tflite` bytes) of a fused ConvNet with input [1, C, L]
    (a hybrid network's side features are the last values of that row; SLICE separates
    them from the signal)."""
    ranges = measure_ranges(model, calibration)
    q = {name: activation_qparams(*r) for name, r in ranges.items()}
    _, channels, length = calibration.shape
    builder = GraphBuilder(description)
    x = builder.input((1, 1, length, channels), (float(np.float32(input_scale)), 0))
    side_input = -1
    if model.side:
        signal = length - model.side
        side_input = builder.slice(x, [0, 0, signal, 0], [1, 1, model.side, channels])
        x = builder.slice(x, [0, 0, 0, 0], [1, 1, signal, channels])
    for index, layer in enumerate(model.features):
        name = f"features.{index}"
        if isinstance(layer, ConvBNAct):
            x = _conv(builder, x, layer, q[name])
        elif isinstance(layer, SeparableBlock):
            y = _conv(builder, x, layer.depthwise, q[f"{name}.depthwise"])
            y = _conv(builder, y, layer.pointwise, q[f"{name}.pointwise"])
            x = builder.add(x, y, q[name], activation="RELU") if layer.residual else y
        else:
            raise ValueError(f"cannot export layer {type(layer).__name__}")
    x = builder.global_avg_pool(x)
    if model.side:
        a = _dense(builder, x, model.join_conv, q["join_conv"])
        b = _dense(builder, side_input, model.join_side, q["join_side"])
        x = builder.add(a, b, q["join"], activation="RELU")
    fc = model.classifier
    x = builder.dense(
        x, fc.weight.detach().numpy(), fc.bias.detach().numpy(), q["classifier"], per_channel=True
    )
    builder.output(builder.softmax(x))
    description_model = builder.build()
    return description_model, write_tflite(description_model)
