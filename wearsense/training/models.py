"""Networks for every task: small 1-D CNNs built only from what the int8 writer and the
firmware interpreter support (Conv1d + BatchNorm, depthwise Conv1d, ReLU, residual add,
global average pooling, Linear; SLICE for a hybrid input).

A *hybrid* network (``side_features`` > 0) takes, after its ``L`` signal samples, a vector
of ``side_features`` hand-made features in the same input row (one int8 input tensor, so
the device writes one buffer): the convolutions see the samples, and a joint hidden layer
sees the pooled convolution features and the side features together,
``ReLU(A·pooled + B·side + b)``, before the classifier.

One family, two roles: a teacher (wide, float, as large as is useful on a laptop CPU)
and students (narrow enough for the device budgets) differ only in their `NetConfig`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclasses.dataclass(frozen=True)
class NetConfig:
    in_channels: int
    n_classes: int
    stem_width: int = 16
    stem_kernel: int = 7
    stem_stride: int = 2
    # (output width, stride) of each depthwise-separable block
    blocks: tuple[tuple[int, int], ...] = ((16, 2), (24, 2), (32, 2), (32, 1))
    kernel: int = 5
    dropout: float = 0.1
    side_features: int = 0  # > 0: a hybrid network (see the module's docstring)
    joint_width: int = 32  # units of a hybrid network's joint hidden layer

    def scaled(self, factor: float) -> NetConfig:
        """The same shape with every width multiplied by ``factor`` (at least 4 channels)."""
        width = max(4, round(self.stem_width * factor))
        blocks = tuple((max(4, round(w * factor)), s) for w, s in self.blocks)
        joint = max(4, round(self.joint_width * factor))
        return dataclasses.replace(self, stem_width=width, blocks=blocks, joint_width=joint)


def same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """Pads as TFLite's SAME padding does (the extra sample goes after), so the int8
    model computes on exactly the samples the float model saw."""
    length = x.shape[-1]
    out = -(-length // stride)
    total = max((out - 1) * stride + kernel - length, 0)
    return F.pad(x, (total // 2, total - total // 2))


class ConvBNAct(nn.Module):
    """Conv1d → BatchNorm1d → ReLU (or no activation); `fuse()` folds the BatchNorm."""

    def __init__(
        self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, act: bool = True
    ) -> None:
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, kernel, stride, padding=0, groups=groups, bias=False)
        self.bn: nn.Module = nn.BatchNorm1d(cout)
        self.act: nn.Module = nn.ReLU() if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(
            self.bn(self.conv(same_pad(x, self.conv.kernel_size[0], self.conv.stride[0])))
        )

    @torch.no_grad()
    def fuse(self) -> None:
        if not isinstance(self.bn, nn.BatchNorm1d):
            return
        bn = self.bn
        assert bn.running_var is not None and bn.running_mean is not None
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        conv = self.conv
        kernel = conv.kernel_size[0]
        fused = nn.Conv1d(
            conv.in_channels,
            conv.out_channels,
            kernel,
            conv.stride[0],
            0,
            groups=conv.groups,
            bias=True,
        )
        assert fused.bias is not None
        fused.weight.copy_(conv.weight * scale[:, None, None])
        fused.bias.copy_(bn.bias - bn.running_mean * scale)
        self.conv, self.bn = fused, nn.Identity()


class SeparableBlock(nn.Module):
    """Depthwise conv → pointwise conv, with a residual add when shapes allow."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.depthwise = ConvBNAct(cin, cin, kernel, stride, groups=cin)
        self.pointwise = ConvBNAct(cin, cout, 1, act=stride != 1 or cin != cout)
        self.residual = stride == 1 and cin == cout
        self.out_act: nn.Module = nn.ReLU() if self.residual else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pointwise(self.depthwise(x))
        return self.out_act(x + y) if self.residual else y


class JoinReLU(nn.Module):
    """ReLU(a + b): the joint hidden layer's sum (a module, so quantization observes it)."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.relu(a + b)


# Modules whose output is an int8 tensor of its own in the exported model: export measures
# their ranges, quantization-aware fine-tuning fake-quantizes them.
QUANTIZED_OUTPUTS = (ConvBNAct, SeparableBlock, nn.Linear, JoinReLU)


class ConvNet(nn.Module):
    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = [
            ConvBNAct(config.in_channels, config.stem_width, config.stem_kernel, config.stem_stride)
        ]
        width = config.stem_width
        for out, stride in config.blocks:
            layers.append(SeparableBlock(width, out, config.kernel, stride))
            width = out
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.dropout = nn.Dropout(config.dropout)
        self.side = config.side_features
        if self.side and config.in_channels != 1:
            raise ValueError("a hybrid network takes one signal channel")
        if self.side:
            self.join_conv = nn.Linear(width, config.joint_width)
            self.join_side = nn.Linear(self.side, config.joint_width)
            self.join = JoinReLU()
            width = config.joint_width
        self.classifier = nn.Linear(width, config.n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.side:
            return self.classifier(self.dropout(self.pool(self.features(x)).flatten(1)))
        signal, side = x[..., : -self.side], x[:, 0, -self.side :]
        pooled = self.pool(self.features(signal)).flatten(1)
        joint = self.join(self.join_conv(self.dropout(pooled)), self.join_side(side))
        return self.classifier(self.dropout(joint))

    def fuse(self) -> ConvNet:
        """Folds every BatchNorm into its convolution (in place; for export and QAT)."""
        for module in self.modules():
            if isinstance(module, ConvBNAct):
                module.fuse()
        return self


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of one inference (convolutions and linear layers)."""
    total = 0

    def conv_hook(module: nn.Conv1d, _inp: object, out: torch.Tensor) -> None:
        nonlocal total
        k = module.kernel_size[0] * module.in_channels // module.groups
        total += int(out.shape[1] * out.shape[2] * k)

    def linear_hook(module: nn.Linear, _inp: object, out: torch.Tensor) -> None:
        nonlocal total
        total += int(module.in_features * module.out_features)

    handles = []
    for module in model.modules():
        if isinstance(module, nn.Conv1d):
            handles.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(linear_hook))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros((1, *input_shape)))
    model.train(was_training)
    for handle in handles:
        handle.remove()
    return total


def add_side_head(
    model: ConvNet,
    w1: np.ndarray,
    b1: np.ndarray,
    w2: np.ndarray,
    b2: np.ndarray,
    weight: float,
) -> ConvNet:
    """A fused hybrid network whose logits gain ``weight`` × the logits of a one-hidden-layer
    head on the side features alone: ``w2·ReLU(w1·side + b1) + b2`` (``w1`` [H, side],
    ``w2`` [classes, H]). The head's H hidden units join the joint layer (their rows of
    ``join_conv`` are zero, their rows of ``join_side`` are ``w1``) and the classifier
    gains their columns, so the graph and its operators stay those of every hybrid
    network: the int8 writer and the device need nothing new. The model's own units are
    copied unchanged; ``model`` itself is left as it was."""
    if not model.side:
        raise ValueError("a side head needs a hybrid network (side_features > 0)")
    hidden, side = w1.shape
    if side != model.side or b1.shape != (hidden,) or w2.shape[1] != hidden:
        raise ValueError("the head's shapes do not fit the network's side features")
    if w2.shape[0] != model.config.n_classes or b2.shape != (model.config.n_classes,):
        raise ValueError("the head's outputs do not match the network's classes")
    joint = model.config.joint_width
    widened = ConvNet(dataclasses.replace(model.config, joint_width=joint + hidden))
    fused = any(isinstance(m, ConvBNAct) and isinstance(m.bn, nn.Identity) for m in model.modules())
    if fused:
        widened.fuse()
    source = model.state_dict()
    state = widened.state_dict()
    with torch.no_grad():
        for key, value in state.items():
            if not key.startswith(("join_conv.", "join_side.", "classifier.")):
                value.copy_(source[key])
        state["join_conv.weight"].zero_()
        state["join_conv.bias"].zero_()
        state["join_conv.weight"][:joint] = source["join_conv.weight"]
        state["join_conv.bias"][:joint] = source["join_conv.bias"]
        state["join_side.weight"][:joint] = source["join_side.weight"]
        state["join_side.weight"][joint:] = torch.as_tensor(w1, dtype=torch.float32)
        state["join_side.bias"][:joint] = source["join_side.bias"]
        state["join_side.bias"][joint:] = torch.as_tensor(b1, dtype=torch.float32)
        state["classifier.weight"][:, :joint] = source["classifier.weight"]
        state["classifier.weight"][:, joint:] = weight * torch.as_tensor(w2, dtype=torch.float32)
        state["classifier.bias"].copy_(
            source["classifier.bias"] + weight * torch.as_tensor(b2, dtype=torch.float32)
        )
    widened.load_state_dict(state)
    return widened.eval()
