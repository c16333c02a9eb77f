"""Quantization-aware fine-tuning that simulates the TFLite int8 scheme the firmware runs:
per-output-channel symmetric int8 weights and per-tensor asymmetric int8 activations.

`prepare_qat(model)` expects a fused model (BatchNorm folded, `ConvNet.fuse()`); it adds
fake quantization to every Conv1d/Linear weight and to every block's output, with
straight-through gradients, so fine-tuning learns weights that survive rounding. The
observed activation ranges are exported with the model (`activation_ranges`).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

from wearsense.training.models import QUANTIZED_OUTPUTS


def _round_ste(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.round(x) - x).detach()


class WeightFakeQuant(nn.Module):
    """Per-output-channel symmetric int8 (scale = max|w| / 127, zero point 0)."""

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        flat = weight.reshape(weight.shape[0], -1)
        scale = flat.abs().amax(dim=1).clamp(min=1e-8) / 127.0
        shape = (-1,) + (1,) * (weight.dim() - 1)
        q = torch.clamp(_round_ste(weight / scale.view(shape)), -127, 127)
        return q * scale.view(shape)


class ActivationFakeQuant(nn.Module):
    """Per-tensor asymmetric int8 with exponential-moving-average min/max ranges."""

    low: torch.Tensor
    high: torch.Tensor
    seen: torch.Tensor

    def __init__(self, momentum: float = 0.05) -> None:
        super().__init__()
        self.momentum = momentum
        self.register_buffer("low", torch.tensor(0.0))
        self.register_buffer("high", torch.tensor(0.0))
        self.register_buffer("seen", torch.tensor(False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            low = torch.clamp(x.detach().min(), max=0.0)
            high = torch.clamp(x.detach().max(), min=0.0)
            if not bool(self.seen):
                self.low.copy_(low)
                self.high.copy_(high)
                self.seen.fill_(True)
            else:
                self.low.lerp_(low, self.momentum)
                self.high.lerp_(high, self.momentum)
        scale = torch.clamp((self.high - self.low) / 255.0, min=1e-8)
        zero_point = torch.round(-128.0 - self.low / scale)
        q = torch.clamp(_round_ste(x / scale) + zero_point, -128, 127)
        return (q - zero_point) * scale


def prepare_qat(model: nn.Module) -> nn.Module:
    """Adds weight and activation fake quantization in place; returns the model."""
    for module in model.modules():
        if isinstance(module, nn.Conv1d | nn.Linear) and not parametrize.is_parametrized(
            module, "weight"
        ):
            parametrize.register_parametrization(module, "weight", WeightFakeQuant())
    quantizers = nn.ModuleDict()
    for name, module in model.named_modules():
        if isinstance(module, (*QUANTIZED_OUTPUTS, nn.AdaptiveAvgPool1d)):
            fq = ActivationFakeQuant()
            quantizers[name.replace(".", "_")] = fq
            module.register_forward_hook(lambda _m, _i, out, fq=fq: fq(out))
    model.add_module("activation_quantizers", quantizers)
    return model


def activation_ranges(model: nn.Module) -> dict[str, tuple[float, float]]:
    quantizers = getattr(model, "activation_quantizers", None)
    if quantizers is None:
        return {}
    return {name: (float(q.low), float(q.high)) for name, q in quantizers.items()}


def strip_qat(model: nn.Module) -> nn.Module:
    """Bakes the fake-quantized weights into plain parameters (for export)."""
    for module in model.modules():
        if isinstance(module, nn.Conv1d | nn.Linear) and parametrize.is_parametrized(
            module, "weight"
        ):
            parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
    return model
