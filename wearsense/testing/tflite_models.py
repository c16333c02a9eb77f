"""Random small int8 models for bit-exactness tests and benchmarks.

`random_model(choose, rng)` builds a 1-D CNN/MLP from structural choices made by
``choose(low, high)`` (an int in ``[low, high]``): hypothesis's ``data.draw`` in the
tests, a numpy generator in the benchmark, so the same generator serves both.
Weights and activation ranges come from ``rng``; activation ranges are scaled from
the fan-in so outputs mostly stay inside the int8 range instead of saturating.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from wearsense.tflite.builder import GraphBuilder, activation_qparams
from wearsense.tflite.model import Model

Choose = Callable[[int, int], int]
ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")


def _range(rng: np.random.Generator, spread: float) -> tuple[float, int]:
    low = -spread * float(rng.uniform(0.1, 1.5))
    high = spread * float(rng.uniform(0.3, 1.5))
    return activation_qparams(low, high)


def random_model(choose: Choose, rng: np.random.Generator) -> Model:
    g = GraphBuilder("random")
    width = choose(4, 40)
    channels = choose(1, 6)
    spread = float(rng.uniform(0.5, 4.0))
    in_q = _range(rng, spread)
    if choose(0, 3) == 0:
        x = g.quantize(g.float_input((1, 1, width, channels)), in_q)
    else:
        x = g.input((1, 1, width, channels), in_q)
    for _ in range(choose(1, 4)):
        width, channels = g.shape(x)[2], g.shape(x)[3]
        kind = choose(0, 9)
        act = ACTIVATIONS[choose(0, 3)]
        if kind in (0, 1):  # convolution or depthwise convolution
            depthwise = kind == 1
            k = choose(1, 5)
            dilation = choose(1, 3)
            stride = choose(1, 3)
            padding = "SAME" if choose(0, 1) else "VALID"
            if padding == "VALID" and (k - 1) * dilation + 1 > width:
                padding = "SAME"
            out_c = channels * choose(1, 2) if depthwise else choose(1, 8)
            fan_in = k * (1 if depthwise else channels)
            w = rng.normal(0, 1 / np.sqrt(fan_in), size=(out_c, 1 if depthwise else channels, k))
            bias = rng.normal(0, 0.5, size=out_c) if choose(0, 3) else None
            x = g.conv1d(x, w, bias, _range(rng, spread), stride, padding, dilation, act, depthwise)
        elif kind == 2:  # pooling
            size = min(choose(1, 3), width)
            stride = choose(1, 3)
            padding = "SAME" if choose(0, 1) and size > 1 else "VALID"
            x = g.pool1d(x, "max" if choose(0, 1) else "avg", size, stride, padding)
        elif kind == 5:  # explicit PAD then a VALID convolution, as other converters emit
            k = choose(2, 5)
            x = g.pad(x, [(0, 0), (0, 0), ((k - 1) // 2, k // 2), (0, 0)])
            w = rng.normal(0, 1 / np.sqrt(k * channels), size=(choose(1, 6), channels, k))
            x = g.conv1d(
                x,
                w,
                rng.normal(0, 0.5, size=(w.shape[0],)),
                _range(rng, spread),
                1,
                "VALID",
                1,
                act,
            )
        elif kind == 6:  # gating: x * sigmoid-or-tanh(conv(x))
            w = rng.normal(0, 1 / np.sqrt(channels), size=(channels, channels, 1))
            gate = g.conv1d(x, w, None, _range(rng, spread))
            gate = g.logistic(gate) if choose(0, 1) else g.tanh(gate)
            x = g.mul(x, gate, _range(rng, spread))
        elif kind == 7:  # two branches concatenated along channels
            k = choose(1, 3)
            w1 = rng.normal(0, 1 / np.sqrt(k * channels), size=(choose(1, 4), channels, k))
            w2 = rng.normal(0, 1 / np.sqrt(channels), size=(choose(1, 4), channels, 1))
            q = _range(rng, spread)
            a = g.conv1d(x, w1, None, q, 1, "SAME", 1, act)
            b = g.conv1d(x, w2, None, q, 1, "SAME", 1, act)
            x = g.concat([a, b], axis=3)
        elif kind == 8 and width > 1:  # decimation by a strided slice
            step = choose(2, 3)
            # a start at or past the end would leave no element (an empty tensor)
            start = choose(0, min(step, width) - 1)
            x = g.strided_slice(x, [0, 0, start, 0], [1, 1, width, channels], [1, 1, step, 1])
        else:  # residual block: x + conv(x)
            k = choose(1, 5)
            w = rng.normal(0, 1 / np.sqrt(k * channels), size=(channels, channels, k))
            inner = g.conv1d(
                x,
                w,
                rng.normal(0, 0.3, size=channels),
                _range(rng, spread),
                1,
                "SAME",
                choose(1, 2),
                ACTIVATIONS[choose(0, 2)],
            )
            x = g.add(x, inner, _range(rng, 2 * spread), act)
    head = choose(0, 3)
    if head == 1:  # global average pooling then a dense layer
        x = g.global_avg_pool(x)
    elif head == 3:  # global average as MEAN, as other converters emit it
        x = g.mean(x, [1, 2], _range(rng, spread), keep_dims=bool(choose(0, 1)))
    if head in (1, 2, 3):
        depth = int(np.prod(g.shape(x)[1:]))
        units = choose(1, 6)
        w = rng.normal(0, 1 / np.sqrt(depth), size=(units, depth))
        x = g.dense(
            x,
            w,
            rng.normal(0, 0.5, size=units),
            _range(rng, spread),
            ACTIVATIONS[choose(0, 1)],
            per_channel=bool(choose(0, 1)),
        )
        if choose(0, 2) == 0:
            x = g.softmax(x, float(rng.choice([1.0, 0.5, 2.0])))
    if choose(0, 3) == 0:
        x = g.dequantize(x)
    g.output(x)
    return g.build()


def random_inputs(model: Model, rng: np.random.Generator) -> list[np.ndarray]:
    """One random input per graph input (int8 over the full range, or float)."""
    arrays: list[np.ndarray] = []
    for index in model.inputs:
        t = model.tensors[index]
        if t.dtype == "float32":
            arrays.append(rng.normal(0, 2.0, size=t.shape).astype(np.float32))
        else:
            arrays.append(rng.integers(-128, 128, size=t.shape, dtype=np.int8))
    return arrays


SINGLE_OPS = (
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "FULLY_CONNECTED",
    "AVERAGE_POOL_2D",
    "MAX_POOL_2D",
    "ADD",
    "MUL",
    "SOFTMAX",
    "LOGISTIC",
    "TANH",
    "MEAN",
    "PAD",
    "TRANSPOSE",
    "SLICE",
    "CONCATENATION",
    "QUANTIZE",
    "DEQUANTIZE",
)


def single_op_model(op: str, choose: Choose, rng: np.random.Generator) -> Model:
    """A random model around one operator (for per-kernel comparisons)."""
    g = GraphBuilder(op)
    width, channels = choose(1, 24), choose(1, 5)
    spread = float(rng.uniform(0.3, 6.0))
    shape = (1, 1, width, channels)
    if op == "QUANTIZE":
        g.output(g.quantize(g.float_input(shape), _range(rng, spread)))
        return g.build()
    x = g.input(shape, _range(rng, spread))
    act = ACTIVATIONS[choose(0, 3)]
    if op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        depthwise = op == "DEPTHWISE_CONV_2D"
        k, dilation, stride = choose(1, 4), choose(1, 3), choose(1, 3)
        padding = "SAME" if choose(0, 1) or (k - 1) * dilation + 1 > width else "VALID"
        out_c = channels * choose(1, 2) if depthwise else choose(1, 6)
        w = rng.normal(0, 1, size=(out_c, 1 if depthwise else channels, k))
        y = g.conv1d(
            x,
            w,
            rng.normal(0, 1, size=out_c),
            _range(rng, spread),
            stride,
            padding,
            dilation,
            act,
            depthwise,
        )
    elif op == "FULLY_CONNECTED":
        w = rng.normal(0, 1, size=(choose(1, 8), width * channels))
        y = g.dense(
            x,
            w,
            rng.normal(0, 1, size=(w.shape[0],)),
            _range(rng, spread),
            act,
            per_channel=bool(choose(0, 1)),
        )
    elif op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        size = choose(1, min(width, 4))
        y = g.pool1d(
            x,
            "max" if op == "MAX_POOL_2D" else "avg",
            size,
            choose(1, 3),
            "SAME" if choose(0, 1) else "VALID",
        )
    elif op in ("ADD", "MUL"):
        b = g.input(shape, _range(rng, spread), "b")
        q = _range(rng, spread * (spread if op == "MUL" else 2))
        y = g.add(x, b, q, act) if op == "ADD" else g.mul(x, b, q, act)
    elif op == "SOFTMAX":
        y = g.softmax(x, float(rng.choice([1.0, 0.5, 2.0])))
    elif op == "LOGISTIC":
        y = g.logistic(x)
    elif op == "TANH":
        y = g.tanh(x)
    elif op == "MEAN":
        y = g.mean(x, [1, 2] if choose(0, 1) else [2], _range(rng, spread), bool(choose(0, 1)))
    elif op == "PAD":
        y = g.pad(x, [(0, 0), (0, 0), (choose(0, 3), choose(0, 3)), (0, choose(0, 2))])
    elif op == "TRANSPOSE":
        y = g.transpose(x, [0, 2, 1, 3] if choose(0, 1) else [0, 1, 3, 2])
    elif op == "SLICE":
        begin = choose(0, width - 1)
        y = g.slice(x, [0, 0, begin, 0], [1, 1, -1, channels])
    elif op == "STRIDED_SLICE":
        step = choose(1, 3)
        y = g.strided_slice(
            x,
            [0, 0, choose(0, width - 1), 0],
            [1, 1, width, channels],
            [1, 1, step, 1],
            end_mask=choose(0, 1) << 2,
        )
    elif op == "CONCATENATION":
        other = g.input((1, 1, choose(1, 6), channels), g.qparams(x), "other")
        y = g.concat([x, other], axis=2)
    elif op == "DEQUANTIZE":
        y = g.dequantize(x)
    else:
        raise ValueError(f"no single-op generator for {op}")
    g.output(y)
    return g.build()
