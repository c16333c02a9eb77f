"""Structured channel pruning (wearsense/training/prune.py) on synthetic inputs: a pruned
network is a narrower ConvNet that keeps its residual structure, computes what the
original computes when nothing is cut, keeps the channels that matter, and exports and
runs on the C interpreter at a smaller size."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wearsense.training.models import ConvNet, NetConfig, count_macs, count_parameters
from wearsense.training.prune import prune_channels, pruned_widths

CFG = NetConfig(
    in_channels=3,
    n_classes=4,
    stem_width=16,
    blocks=((16, 1), (24, 2), (24, 1), (32, 1), (32, 1)),
    kernel=3,
)


def _randomised(cfg: NetConfig, seed: int) -> ConvNet:
    """A net with random BatchNorm statistics and scales (as after training)."""
    torch.manual_seed(seed)
    net = ConvNet(cfg)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            m.weight.data.uniform_(0.2, 1.5)
            m.bias.data.normal_(0, 0.2)
            assert m.running_mean is not None and m.running_var is not None
            m.running_mean.normal_(0, 0.2)
            m.running_var.uniform_(0.5, 2.0)
    return net.eval()


def test_keep_one_is_the_same_network():
    net = _randomised(CFG, 0)
    pruned = prune_channels(net, 1.0).eval()
    x = torch.randn(5, 3, 64)
    assert pruned.config == net.config
    torch.testing.assert_close(pruned(x), net(x))


def test_pruned_net_is_narrower_and_keeps_residual_adds():
    net = _randomised(CFG, 1)
    pruned = prune_channels(net, 0.5)
    assert pruned.config.stem_width == 8
    assert [w for w, _ in pruned.config.blocks] == [8, 12, 12, 16, 16]
    residual = [b.residual for b in list(net.features)[1:]]
    assert [b.residual for b in list(pruned.features)[1:]] == residual
    assert count_parameters(pruned) < 0.45 * count_parameters(net)
    assert count_macs(pruned, (3, 64)) < 0.45 * count_macs(net, (3, 64))
    assert pruned(torch.randn(2, 3, 64)).shape == (2, 4)


def test_a_non_residual_block_never_becomes_residual():
    net = _randomised(CFG, 5)
    # At 0.1 every group shrinks to the 4-channel floor: the (32, 1) block after a group of
    # 4 would add its input to its output, so its group keeps 5.
    pruned = prune_channels(net, 0.1)
    assert [w for w, _ in pruned.config.blocks] == [4, 4, 4, 5, 5]
    assert [b.residual for b in list(pruned.features)[1:]] == [True, False, True, False, True]


def test_channels_with_small_scales_are_the_ones_cut():
    # one channel group: the stem and two residual blocks adding into it
    net = _randomised(NetConfig(3, 4, stem_width=16, blocks=((16, 1), (16, 1)), kernel=3), 2)
    stem_bn = list(net.features)[0].bn
    with torch.no_grad():
        # these stem channels are (almost) zero, and so is what the residual block adds
        stem_bn.weight[[1, 5, 9]] = 1e-4
        stem_bn.bias[[1, 5, 9]] = 0.0
        for reader in list(net.features)[1:3]:  # what the blocks compute on those channels
            for bn in (reader.depthwise.bn, reader.pointwise.bn):
                bn.bias[[1, 5, 9]] = 0.0
                bn.running_mean[[1, 5, 9]] = 0.0
            reader.pointwise.bn.weight[[1, 5, 9]] = 1e-4
    kept_before = count_parameters(net)
    pruned = prune_channels(net, 13 / 16).eval()
    assert pruned.config.stem_width == 13
    # With the three near-zero channels removed, the outputs barely change.
    x = torch.randn(4, 3, 64)
    torch.testing.assert_close(pruned(x), net(x), atol=2e-2, rtol=0)
    assert count_parameters(pruned) < kept_before


def test_prune_needs_an_unfused_net_and_a_fraction():
    net = _randomised(CFG, 3)
    with pytest.raises(ValueError, match="keep"):
        pruned_widths(net, 0.0)
    with pytest.raises(ValueError, match="unfused"):
        prune_channels(net.fuse(), 0.5)


def test_pruned_net_exports_smaller_and_runs_on_the_c_interpreter():
    from wearsense.firmware.nn import NNModel
    from wearsense.training.export import export_convnet
    from wearsense.training.pipeline import int8_probabilities

    rng = np.random.default_rng(0)
    calib = rng.normal(0, 0.5, (64, 3, 64)).astype(np.float32)
    sizes = []
    for keep in (1.0, 0.5):
        net = prune_channels(_randomised(CFG, 4), keep).fuse().eval()
        _, tflite = export_convnet(net, calib, 1 / 64, "pruned")
        model = NNModel(tflite)
        q = np.clip(np.round(calib[:8] * 64), -128, 127).astype(np.int8).transpose(0, 2, 1)
        probs = int8_probabilities(model, q)
        with torch.no_grad():
            ref = torch.softmax(net(torch.from_numpy(q.transpose(0, 2, 1) / 64.0).float()), 1)
        assert np.abs(probs - ref.numpy()).max() < 0.1
        sizes.append((len(tflite), model.macs))
    assert sizes[1][0] < sizes[0][0] and sizes[1][1] < sizes[0][1]
