"""Structured channel pruning of a `ConvNet`, for every task.

Channels are removed whole, so the pruned network is an ordinary, narrower `ConvNet` that
the int8 writer exports and the interpreter runs at a smaller size and cost (unlike
zeroed weights, which save nothing on the device).

Channels come in *groups*: the output of the stem or of a non-residual block, together
with every residual block that adds into it (a residual add ties its input and output
channels). A group keeps the ``keep`` fraction of its channels with the largest
importance, the sum of |BatchNorm gamma| of the layers that write into it (network
slimming, Liu et al. 2017): a channel whose scale is near zero contributes little.
Prune an unfused model (BatchNorm present), then fine-tune it.
"""

from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn

from wearsense.training.models import ConvBNAct, ConvNet, NetConfig, SeparableBlock


def _gamma(unit: ConvBNAct) -> torch.Tensor:
    if not isinstance(unit.bn, nn.BatchNorm1d):
        raise ValueError("pruning needs an unfused model (BatchNorm present)")
    return unit.bn.weight.detach().abs()


def _groups(model: ConvNet) -> tuple[list[int], list[torch.Tensor]]:
    """Group index of each feature layer's output, and each group's channel importance."""
    layers = list(model.features)
    stem = layers[0]
    assert isinstance(stem, ConvBNAct)
    owner = [0]
    importance = [_gamma(stem).clone()]
    for layer in layers[1:]:
        assert isinstance(layer, SeparableBlock)
        if layer.residual:
            owner.append(owner[-1])
            importance[owner[-1]] += _gamma(layer.pointwise)
        else:
            owner.append(len(importance))
            importance.append(_gamma(layer.pointwise).clone())
    return owner, importance


def pruned_widths(model: ConvNet, keep: float) -> list[int]:
    """Channels each group keeps: ceil(keep × width), at least 4 and never so many or few
    that a non-residual block would become residual (its add would change the network)."""
    if not 0.0 < keep <= 1.0:
        raise ValueError(f"keep must be in (0, 1], got {keep}")
    owner, importance = _groups(model)
    widths = [min(len(g), max(4, math.ceil(keep * len(g)))) for g in importance]
    layers = list(model.features)
    for index, layer in enumerate(layers[1:], start=1):
        assert isinstance(layer, SeparableBlock)
        src, dst = owner[index - 1], owner[index]
        if src != dst and layer.depthwise.conv.stride[0] == 1 and widths[src] == widths[dst]:
            full = len(importance[dst])
            widths[dst] += 1 if widths[dst] < full else -1
    return widths


def _copy_bn(dst: nn.BatchNorm1d, src: nn.BatchNorm1d, keep: torch.Tensor) -> None:
    assert src.running_mean is not None and src.running_var is not None
    assert dst.running_mean is not None and dst.running_var is not None
    dst.weight.copy_(src.weight[keep])
    dst.bias.copy_(src.bias[keep])
    dst.running_mean.copy_(src.running_mean[keep])
    dst.running_var.copy_(src.running_var[keep])
    if src.num_batches_tracked is not None and dst.num_batches_tracked is not None:
        dst.num_batches_tracked.copy_(src.num_batches_tracked)


@torch.no_grad()
def prune_channels(model: ConvNet, keep: float) -> ConvNet:
    """A new, narrower ConvNet carrying the kept channels' weights (``model`` is unchanged)."""
    owner, importance = _groups(model)
    widths = pruned_widths(model, keep)
    kept = [
        torch.sort(torch.argsort(imp, descending=True)[:w]).values
        for imp, w in zip(importance, widths, strict=True)
    ]
    cfg = model.config
    blocks = tuple((widths[owner[i + 1]], stride) for i, (_w, stride) in enumerate(cfg.blocks))
    new_cfg: NetConfig = dataclasses.replace(cfg, stem_width=widths[0], blocks=blocks)
    new = ConvNet(new_cfg)
    old_layers, new_layers = list(model.features), list(new.features)
    stem_old, stem_new = old_layers[0], new_layers[0]
    assert isinstance(stem_old, ConvBNAct) and isinstance(stem_new, ConvBNAct)
    stem_new.conv.weight.copy_(stem_old.conv.weight[kept[0]])
    _copy_bn(stem_new.bn, stem_old.bn, kept[0])  # type: ignore[arg-type]
    for index in range(1, len(old_layers)):
        old, fresh = old_layers[index], new_layers[index]
        assert isinstance(old, SeparableBlock) and isinstance(fresh, SeparableBlock)
        if fresh.residual != old.residual:
            raise AssertionError("pruning changed a block's residual add")
        inp, out = kept[owner[index - 1]], kept[owner[index]]
        fresh.depthwise.conv.weight.copy_(old.depthwise.conv.weight[inp])
        _copy_bn(fresh.depthwise.bn, old.depthwise.bn, inp)  # type: ignore[arg-type]
        fresh.pointwise.conv.weight.copy_(old.pointwise.conv.weight[out][:, inp])
        _copy_bn(fresh.pointwise.bn, old.pointwise.bn, out)  # type: ignore[arg-type]
    last = kept[owner[-1]]
    if cfg.side_features:  # the pooled features feed the joint layer; the rest is kept whole
        new.join_conv.weight.copy_(model.join_conv.weight[:, last])
        new.join_conv.bias.copy_(model.join_conv.bias)
        new.join_side.load_state_dict(model.join_side.state_dict())
        new.classifier.load_state_dict(model.classifier.state_dict())
        return new
    new.classifier.weight.copy_(model.classifier.weight[:, last])
    new.classifier.bias.copy_(model.classifier.bias)
    return new
