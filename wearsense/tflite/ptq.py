"""Post-training quantization of a small PyTorch network into a `Model`.

Supported: an ``nn.Sequential`` (nested freely) of ``Conv1d`` (plain or depthwise,
``padding`` 0 or "same"-style at stride 1), ``BatchNorm1d`` right after a convolution
(folded into it), ``ReLU``/``ReLU6`` (fused into the layer before), ``MaxPool1d``/
``AvgPool1d`` without padding, ``AdaptiveAvgPool1d(1)``, ``Flatten``, ``Linear``,
``Dropout``/``Identity`` (dropped), and `Residual` (``x + body(x)``). The input is
``[batch, channels, length]`` as in PyTorch; the model's input is NHWC
``[1, 1, length, channels]``. Activation ranges are the min/max seen on the
calibration data. Needs the ``train`` extra (torch).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from wearsense.tflite.builder import GraphBuilder, activation_qparams
from wearsense.tflite.model import Model, TFLiteError


class Residual(nn.Module):
    """``x + body(x)``: the residual block the quantizer understands."""

    def __init__(self, *body: nn.Module) -> None:
        super().__init__()
        self.body = nn.Sequential(*body)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


@dataclass
class _Step:
    kind: str  # conv, pool, gap, flatten, linear, residual
    params: dict[str, Any] = field(default_factory=dict)
    activation: str = "NONE"
    body: list[_Step] = field(default_factory=list)


def _flatten_modules(module: nn.Module) -> list[nn.Module]:
    if isinstance(module, nn.Sequential):
        out: list[nn.Module] = []
        for child in module:
            out.extend(_flatten_modules(child))
        return out
    return [module]


def _conv_step(conv: nn.Conv1d) -> _Step:
    w = conv.weight.detach().double().numpy()
    b = conv.bias.detach().double().numpy() if conv.bias is not None else np.zeros(w.shape[0])
    k, d, s = conv.kernel_size[0], conv.dilation[0], conv.stride[0]
    if conv.groups not in (1, conv.in_channels) or (conv.groups > 1 and w.shape[1] != 1):
        raise TFLiteError("Conv1d: only plain or depthwise convolutions are supported")
    pad = conv.padding
    eff = (k - 1) * d + 1
    if pad in (0, (0,), "valid"):
        padding = "VALID"
    elif s == 1 and eff % 2 == 1 and pad in ("same", (eff // 2,), eff // 2):
        padding = "SAME"
    else:
        raise TFLiteError(f"Conv1d: padding {pad!r} with stride {s} has no TFLite equivalent")
    if conv.padding_mode != "zeros":
        raise TFLiteError("Conv1d: only zero padding is supported")
    params = {
        "weight": w,
        "bias": b,
        "stride": s,
        "dilation": d,
        "padding": padding,
        "depthwise": conv.groups > 1 and conv.groups == conv.in_channels,
    }
    return _Step("conv", params)


def _fold_bn(step: _Step, bn: nn.BatchNorm1d) -> None:
    if bn.running_mean is None or bn.running_var is None:
        raise TFLiteError("BatchNorm1d without running statistics cannot be folded")
    gamma = bn.weight.detach().double().numpy() if bn.weight is not None else 1.0
    beta = bn.bias.detach().double().numpy() if bn.bias is not None else 0.0
    mean = bn.running_mean.detach().double().numpy()
    var = bn.running_var.detach().double().numpy()
    factor = gamma / np.sqrt(var + bn.eps)
    step.params["weight"] = step.params["weight"] * factor[:, None, None]
    step.params["bias"] = (step.params["bias"] - mean) * factor + beta


def _plan(modules: list[nn.Module]) -> list[_Step]:
    steps: list[_Step] = []
    for module in modules:
        last = steps[-1] if steps else None
        if isinstance(module, nn.Conv1d):
            steps.append(_conv_step(module))
        elif isinstance(module, nn.BatchNorm1d):
            if last is None or last.kind != "conv" or last.activation != "NONE":
                raise TFLiteError("BatchNorm1d must directly follow a Conv1d")
            _fold_bn(last, module)
        elif isinstance(module, nn.ReLU | nn.ReLU6):
            act = "RELU" if isinstance(module, nn.ReLU) else "RELU6"
            if last is None or last.kind not in ("conv", "linear", "residual"):
                raise TFLiteError(f"{type(module).__name__} must follow a conv, linear or residual")
            if last.activation != "NONE":
                raise TFLiteError("two activations in a row")
            last.activation = act
        elif isinstance(module, nn.MaxPool1d | nn.AvgPool1d):
            k = module.kernel_size if isinstance(module.kernel_size, int) else module.kernel_size[0]
            s = module.stride if isinstance(module.stride, int) else module.stride[0]
            pad = module.padding if isinstance(module.padding, int) else module.padding[0]
            if pad != 0 or module.ceil_mode:
                raise TFLiteError("pooling with padding or ceil_mode is not supported")
            if isinstance(module, nn.MaxPool1d) and module.dilation not in (1, (1,)):
                raise TFLiteError("dilated max pooling is not supported")
            kind = "max" if isinstance(module, nn.MaxPool1d) else "avg"
            steps.append(_Step("pool", {"kind": kind, "size": k, "stride": s or k}))
        elif isinstance(module, nn.AdaptiveAvgPool1d):
            if module.output_size not in (1, (1,)):
                raise TFLiteError("AdaptiveAvgPool1d: only output size 1")
            steps.append(_Step("gap"))
        elif isinstance(module, nn.Flatten):
            steps.append(_Step("flatten"))
        elif isinstance(module, nn.Linear):
            w = module.weight.detach().double().numpy()
            b = module.bias.detach().double().numpy() if module.bias is not None else None
            steps.append(_Step("linear", {"weight": w, "bias": b}))
        elif isinstance(module, Residual):
            steps.append(_Step("residual", body=_plan(_flatten_modules(module.body))))
        elif isinstance(module, nn.Dropout | nn.Identity):
            continue
        else:
            raise TFLiteError(f"{type(module).__name__} is not supported by the quantizer")
    return steps


def _act(x: torch.Tensor, activation: str) -> torch.Tensor:
    if activation == "RELU":
        return F.relu(x)
    if activation == "RELU6":
        return F.relu6(x)
    return x


class _Ranges:
    """Min/max of every intermediate tensor, in execution order."""

    def __init__(self) -> None:
        self.values: list[tuple[float, float]] = []

    def record(self, x: torch.Tensor) -> torch.Tensor:
        self.values.append((float(x.min()), float(x.max())))
        return x


def _forward(steps: list[_Step], x: torch.Tensor, ranges: _Ranges) -> torch.Tensor:
    for step in steps:
        p = step.params
        if step.kind == "conv":
            w = torch.from_numpy(p["weight"])
            groups = x.shape[1] if p["depthwise"] else 1
            pad = ((w.shape[2] - 1) * p["dilation"]) // 2 if p["padding"] == "SAME" else 0
            x = F.conv1d(x, w, torch.from_numpy(p["bias"]), p["stride"], pad, p["dilation"], groups)
            x = ranges.record(_act(x, step.activation))
        elif step.kind == "pool":
            pool = F.max_pool1d if p["kind"] == "max" else F.avg_pool1d
            x = pool(x, p["size"], p["stride"])
        elif step.kind == "gap":
            x = x.mean(dim=2, keepdim=True)
        elif step.kind == "flatten":
            x = x.flatten(1)
        elif step.kind == "linear":
            b = torch.from_numpy(p["bias"]) if p["bias"] is not None else None
            x = ranges.record(_act(F.linear(x, torch.from_numpy(p["weight"]), b), step.activation))
        else:
            inner = _forward(step.body, x, ranges)
            x = ranges.record(_act(x + inner, step.activation))
    return x


def _build(
    steps: list[_Step],
    g: GraphBuilder,
    x: int,
    ranges: list[tuple[float, float]],
    state: dict[str, Any],
) -> int:
    for step in steps:
        p = step.params
        if step.kind == "conv":
            q = activation_qparams(*ranges.pop(0))
            x = g.conv1d(
                x,
                p["weight"],
                p["bias"],
                q,
                p["stride"],
                p["padding"],
                p["dilation"],
                step.activation,
                p["depthwise"],
            )
        elif step.kind == "pool":
            x = g.pool1d(x, p["kind"], p["size"], p["stride"])
        elif step.kind == "gap":
            x = g.global_avg_pool(x)
        elif step.kind == "flatten":
            shape = g.shape(x)
            state["flatten"] = (shape[2], shape[3])  # torch flattens channel-major
            x = g.reshape(x, (shape[0], shape[2] * shape[3]))
        elif step.kind == "linear":
            w = p["weight"]
            if state.get("flatten") and len(g.shape(x)) == 2:
                width, channels = state.pop("flatten")
                w = (
                    w.reshape(w.shape[0], channels, width)
                    .transpose(0, 2, 1)
                    .reshape(w.shape[0], -1)
                )
            q = activation_qparams(*ranges.pop(0))
            x = g.dense(x, w, p["bias"], q, step.activation)
        else:
            inner = _build(step.body, g, x, ranges, state)
            x = g.add(x, inner, activation_qparams(*ranges.pop(0)), step.activation)
    return x


def quantize_module(
    module: nn.Module,
    calibration: np.ndarray | torch.Tensor,
    float_io: bool = False,
    description: str = "wearsense ptq",
) -> Model:
    """The int8 description of ``module`` calibrated on ``calibration``
    (``[samples, channels, length]``). With ``float_io`` the model takes and returns
    float32 through QUANTIZE/DEQUANTIZE; otherwise int8 in, int8 out."""
    module = module.eval()
    steps = _plan(_flatten_modules(module))
    data = torch.as_tensor(np.asarray(calibration), dtype=torch.float64)
    if data.ndim != 3:
        raise TFLiteError("calibration data must be [samples, channels, length]")
    ranges = _Ranges()
    with torch.no_grad():
        _forward(steps, data, ranges)
    _, channels, length = data.shape
    g = GraphBuilder(description)
    in_q = activation_qparams(float(data.min()), float(data.max()))
    if float_io:
        x = g.quantize(g.float_input((1, 1, length, channels)), in_q)
    else:
        x = g.input((1, 1, length, channels), in_q)
    x = _build(steps, g, x, list(ranges.values), {})
    if float_io:
        x = g.dequantize(x)
    g.output(x)
    return g.build()


def quantize_input(model: Model, signal: np.ndarray) -> np.ndarray:
    """``[channels, length]`` float signal -> the model's int8 NHWC input."""
    t = model.tensors[model.inputs[0]]
    nhwc = np.asarray(signal, dtype=np.float64).T.reshape(t.shape)
    q = np.round(nhwc / t.scale[0]) + t.zero_point[0]
    return np.clip(q, -128, 127).astype(np.int8)
