"""Makes int8 test fixtures with another quantizer: Google's ai-edge-quantizer.

Step 1 (project venv) writes small float32 1-D CNNs with our writer; step 2 (a
throwaway venv with `pip install ai-edge-quantizer`, which pulls ai-edge-litert)
calibrates them on random data and quantizes them with its static int8 recipe
(`static_wi8_ai8`: per-channel int8 weights, int8 activations). Only the resulting
.tflite files are committed (tests/fixtures/foreign/); tests/test_nn_foreign.py holds
our interpreter to TFLM on them.

    .venv/bin/python tools/make_foreign_fixtures.py float build/foreign-float
    python3 -m venv build/aeq && build/aeq/bin/pip install ai-edge-quantizer
    build/aeq/bin/python tools/make_foreign_fixtures.py quantize build/foreign-float \\
        tests/fixtures/foreign
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def _float_models() -> dict[str, object]:
    from wearsense.tflite import Model, Operator, Tensor

    rng = np.random.default_rng(2024)

    def const(name: str, shape: tuple[int, ...], scale: float) -> Tensor:
        return Tensor(name, shape, "float32", data=rng.normal(0, scale, size=shape))

    def act(name: str, shape: tuple[int, ...]) -> Tensor:
        return Tensor(name, shape, "float32")

    models: dict[str, object] = {}

    # conv -> depthwise -> residual add -> max pool -> conv -> mean -> dense -> softmax
    t = [act("input", (1, 1, 64, 3))]
    ops: list[Operator] = []

    def add(tensor: Tensor) -> int:
        t.append(tensor)
        return len(t) - 1

    def conv(x: int, out_c: int, k: int, stride: int, padding: str, act_fn: str) -> int:
        in_c = t[x].shape[3]
        w = add(const(f"w{len(ops)}", (out_c, 1, k, in_c), 1 / np.sqrt(k * in_c)))
        b = add(const(f"b{len(ops)}", (out_c,), 0.1))
        width = t[x].shape[2]
        out_w = (width + stride - 1) // stride if padding == "SAME" else (width - k) // stride + 1
        y = add(act(f"conv{len(ops)}", (1, 1, out_w, out_c)))
        ops.append(
            Operator(
                "CONV_2D",
                [x, w, b],
                [y],
                {"padding": padding, "stride_w": stride, "fused_activation_function": act_fn},
            )
        )
        return y

    def depthwise(x: int, k: int, act_fn: str) -> int:
        c = t[x].shape[3]
        w = add(const(f"dw{len(ops)}", (1, 1, k, c), 1 / np.sqrt(k)))
        b = add(const(f"db{len(ops)}", (c,), 0.1))
        y = add(act(f"dwconv{len(ops)}", t[x].shape))
        ops.append(
            Operator(
                "DEPTHWISE_CONV_2D",
                [x, w, b],
                [y],
                {"padding": "SAME", "depth_multiplier": 1, "fused_activation_function": act_fn},
            )
        )
        return y

    x = conv(0, 8, 5, 2, "SAME", "RELU")
    y = depthwise(x, 3, "RELU6")
    s = add(act("residual", t[y].shape))
    ops.append(Operator("ADD", [x, y], [s], {"fused_activation_function": "NONE"}))
    p = add(act("pool", (1, 1, 16, 8)))
    ops.append(
        Operator(
            "MAX_POOL_2D",
            [s],
            [p],
            {"padding": "VALID", "stride_w": 2, "filter_width": 2, "filter_height": 1},
        )
    )
    z = conv(p, 12, 3, 1, "VALID", "RELU")
    axes = add(Tensor("axes", (2,), "int32", data=np.array([1, 2], dtype=np.int32)))
    m = add(act("mean", (1, 12)))
    ops.append(Operator("MEAN", [z, axes], [m], {"keep_dims": False}))
    w = add(const("fc_w", (4, 12), 0.3))
    b = add(const("fc_b", (4,), 0.1))
    logits = add(act("logits", (1, 4)))
    ops.append(Operator("FULLY_CONNECTED", [m, w, b], [logits]))
    probs = add(act("probs", (1, 4)))
    ops.append(Operator("SOFTMAX", [logits], [probs], {"beta": 1.0}))
    models["aeq_cnn_softmax"] = Model(t, ops, [0], [probs], "float cnn")

    # an MLP on flattened IMU windows, with average pooling front end
    t = [act("input", (1, 1, 32, 6))]
    ops = []
    pooled = add(act("pooled", (1, 1, 16, 6)))
    ops.append(
        Operator(
            "AVERAGE_POOL_2D",
            [0],
            [pooled],
            {"padding": "VALID", "stride_w": 2, "filter_width": 2, "filter_height": 1},
        )
    )
    shape = add(Tensor("shape", (2,), "int32", data=np.array([1, 96], dtype=np.int32)))
    flat = add(act("flat", (1, 96)))
    ops.append(Operator("RESHAPE", [pooled, shape], [flat]))
    w1 = add(const("fc1_w", (24, 96), 0.1))
    b1 = add(const("fc1_b", (24,), 0.1))
    h = add(act("hidden", (1, 24)))
    ops.append(
        Operator("FULLY_CONNECTED", [flat, w1, b1], [h], {"fused_activation_function": "RELU"})
    )
    w2 = add(const("fc2_w", (8, 24), 0.2))
    b2 = add(const("fc2_b", (8,), 0.1))
    out = add(act("logits", (1, 8)))
    ops.append(Operator("FULLY_CONNECTED", [h, w2, b2], [out]))
    models["aeq_mlp"] = Model(t, ops, [0], [out], "float mlp")
    return models


def write_float(out_dir: Path) -> None:
    from wearsense.tflite import write_tflite

    out_dir.mkdir(parents=True, exist_ok=True)
    for name, model in _float_models().items():
        (out_dir / f"{name}.tflite").write_bytes(write_tflite(model))  # type: ignore[arg-type]
        print(f"wrote {out_dir / name}.tflite")


def quantize(float_dir: Path, out_dir: Path) -> None:
    from ai_edge_quantizer import quantizer, recipe  # throwaway venv only

    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    for path in sorted(float_dir.glob("*.tflite")):
        qt = quantizer.Quantizer(str(path))
        qt.load_quantization_recipe(recipe.static_wi8_ai8())
        shape = (1, 1, 64, 3) if "cnn" in path.stem else (1, 1, 32, 6)
        samples = [{"input": rng.normal(0, 1.0, size=shape).astype(np.float32)} for _ in range(32)]
        calibration = qt.calibrate({"serving_default": samples})
        result = qt.quantize(calibration)
        target = out_dir / path.name
        result.export_model(str(target), overwrite=True)
        print(f"wrote {target}")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "float":
        write_float(Path(sys.argv[2]))
    elif len(sys.argv) >= 4 and sys.argv[1] == "quantize":
        quantize(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        print(__doc__)
        sys.exit(2)
