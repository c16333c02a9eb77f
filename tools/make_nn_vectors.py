"""Writes build/gen/ws_nn_vectors.h: models, inputs and TFLM's outputs for the C test
of the interpreter (firmware/tests/test_nn.c), which runs natively under ASan/UBSan
and on the emulated Cortex-M4, so the M4 build is held to TFLM's bytes too.

The models: the foreign fixtures (tests/fixtures/foreign), every shipped model
(models/*/*.tflite), the benchmark's reference architectures and shapes, and models
built here from fixed seeds. make builds the header before the C tests compile
(mk/interpreter.mk); it is not tracked in git.

Usage: .venv/bin/python tools/make_nn_vectors.py [OUT]   (needs the dev extra: tflite-micro)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT_DIR))  # for benchmarks.bench_interpreter

from wearsense.firmware.nn import NNModel  # noqa: E402
from wearsense.testing.tflite_models import random_inputs, random_model  # noqa: E402
from wearsense.testing.tflm_reference import tflm_run  # noqa: E402
from wearsense.tflite import write_tflite  # noqa: E402
from wearsense.tflite.builder import GraphBuilder, quantize_weights  # noqa: E402
from wearsense.tflite.model import Model, Operator, Tensor  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "gen" / "ws_nn_vectors.h"


def _array(name: str, data: bytes, kind: str = "uint8_t") -> str:
    body = ",".join(str(b) for b in data)
    return f"static const {kind} {name}[{max(len(data), 1)}] WS_NN_VEC_ALIGN = {{{body}}};\n"


def _conv2d(
    g: GraphBuilder,
    x: int,
    rng: np.random.Generator,
    kh: int,
    kw: int,
    out_c: int,
    stride: tuple[int, int],
    dilation: tuple[int, int],
    padding: str,
    depthwise: bool,
) -> int:
    """A 2-D CONV_2D or DEPTHWISE_CONV_2D (GraphBuilder makes 1-D ones only)."""
    n, h, w, c = g.shape(x)
    number = len(g.operators)
    if depthwise:
        filt = rng.normal(0, 1 / np.sqrt(kh * kw), size=(1, kh, kw, out_c))
        q, scales = quantize_weights(filt, axis=3)
        w_index = g._add(Tensor(f"dw{number}.w", q.shape, "int8", scales, [0] * out_c, 3, q))
    else:
        filt = rng.normal(0, 1 / np.sqrt(kh * kw * c), size=(out_c, kh, kw, c))
        q, scales = quantize_weights(filt, axis=0)
        w_index = g._add(Tensor(f"conv{number}.w", q.shape, "int8", scales, [0] * out_c, 0, q))
    b_index = g._bias(f"op{number}.b", rng.normal(0, 0.5, size=out_c), x, scales)

    def size(i: int, k: int, s: int, d: int) -> int:
        eff = (k - 1) * d + 1
        return (i + s - 1) // s if padding == "SAME" else (i - eff) // s + 1

    out_h, out_w = size(h, kh, stride[0], dilation[0]), size(w, kw, stride[1], dilation[1])
    spread = float(rng.uniform(1.0, 4.0))
    out = g._activation(
        f"op{number}.out", (n, out_h, out_w, out_c), (spread / 128, int(rng.integers(-20, 20)))
    )
    options = {
        "padding": padding,
        "stride_h": stride[0],
        "stride_w": stride[1],
        "dilation_h_factor": dilation[0],
        "dilation_w_factor": dilation[1],
        "fused_activation_function": ["NONE", "RELU", "RELU6"][int(rng.integers(0, 3))],
    }
    if depthwise:
        options["depth_multiplier"] = out_c // c
    op = "DEPTHWISE_CONV_2D" if depthwise else "CONV_2D"
    g.operators.append(Operator(op, [x, w_index, b_index], [out], options))
    return out


def _conv2d_model(seed: int) -> Model:
    """Random 2-D convolutions (partial windows in both directions, odd channel counts):
    CONV_2D, DEPTHWISE_CONV_2D, then a 1x1 CONV_2D, for the M4 kernels' edge cases."""
    rng = np.random.default_rng(seed)

    def r(lo: int, hi: int) -> int:
        return int(rng.integers(lo, hi + 1))

    g = GraphBuilder("conv2d")
    c = r(1, 9)
    x = g.input((1, r(3, 9), r(3, 14), c), (float(rng.uniform(0.01, 0.05)), r(-30, 30)))
    dil = (1, 1) if seed % 3 else (r(1, 2), r(1, 2))
    pad = "SAME" if seed % 2 else "VALID"
    x = _conv2d(g, x, rng, r(1, 3), r(1, 4), r(1, 7), (r(1, 2), r(1, 3)), dil, pad, False)
    c = g.shape(x)[3]
    x = _conv2d(g, x, rng, r(1, 3), r(1, 3), c * r(1, 2), (r(1, 2), r(1, 2)), (1, 1), "SAME", True)
    x = _conv2d(g, x, rng, 1, 1, r(1, 9), (1, 1), (1, 1), "VALID", False)
    g.output(x)
    return g.build()


def _depthwise_mult_model(mult: int, seed: int) -> Model:
    """DEPTHWISE_CONV_2D with depth multiplier ``mult``: seed 0 a 1-D ECG-like row, the
    others 2-D with partial windows, strides and odd input depths."""
    rng = np.random.default_rng(100 * mult + seed)

    def r(lo: int, hi: int) -> int:
        return int(rng.integers(lo, hi + 1))

    g = GraphBuilder(f"dwmult{mult}")
    if seed == 0:
        c, shape, kernel = r(3, 8), (1, 1, r(40, 64)), (1, 5)
    else:
        c, shape, kernel = r(1, 5), (1, r(3, 8), r(4, 12)), (r(1, 3), r(1, 4))
    x = g.input((*shape, c), (float(rng.uniform(0.01, 0.05)), r(-30, 30)))
    pad = "SAME" if seed % 2 == 0 else "VALID"
    stride = (1, 1) if seed == 0 else (r(1, 2), r(1, 2))
    x = _conv2d(g, x, rng, *kernel, c * mult, stride, (1, 1), pad, True)
    g.output(x)
    return g.build()


def shipped_cases() -> list[tuple[str, bytes, bytes, bytes, int]]:
    """(name, model, input, TFLM's output, arena bytes) of every shipped model."""
    cases = []
    for path in sorted((ROOT / "models").glob("**/*.tflite")):
        data = path.read_bytes()
        model = NNModel(data)
        rng = np.random.default_rng(3)
        x = rng.integers(-128, 128, size=model.inputs[0].shape, dtype=np.int8)
        out = tflm_run(data, [x])[0]
        cases.append((path.stem, data, x.tobytes(), out.tobytes(), model.arena_bytes))
    return cases


def main() -> int:
    out_path = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    cases: list[tuple[str, bytes, bytes, bytes, int]] = []
    for path in sorted((ROOT / "tests" / "fixtures" / "foreign").glob("*.tflite")):
        data = path.read_bytes()
        model = NNModel(data)
        rng = np.random.default_rng(1)
        x = rng.integers(-128, 128, size=model.inputs[0].shape, dtype=np.int8)
        out = tflm_run(data, [x])[0]
        cases.append((path.stem, data, x.tobytes(), out.tobytes(), model.arena_bytes))
    cases += shipped_cases()
    from benchmarks.bench_interpreter import _reference_architectures, _standard_shapes

    for name, data in {**_reference_architectures(), **_standard_shapes()}.items():
        model = NNModel(data)
        rng = np.random.default_rng(2)
        x = rng.integers(-128, 128, size=model.inputs[0].shape, dtype=np.int8)
        out = tflm_run(data, [x])[0]
        cases.append((name, data, x.tobytes(), out.tobytes(), model.arena_bytes))
    for seed in range(8):  # 2-D convolutions
        described = _conv2d_model(seed)
        data = write_tflite(described)
        rng = np.random.default_rng(seed)
        inputs = random_inputs(described, rng)
        out = tflm_run(data, inputs)[0]
        cases.append(
            (f"conv2d{seed}", data, inputs[0].tobytes(), out.tobytes(), NNModel(data).arena_bytes)
        )
    for mult in (2, 4, 8):  # DEPTHWISE_CONV_2D with depth multiplier > 1 (M4 DSP path)
        for seed in range(3):
            described = _depthwise_mult_model(mult, seed)
            data = write_tflite(described)
            rng = np.random.default_rng(70 + seed)
            inputs = random_inputs(described, rng)
            out = tflm_run(data, inputs)[0]
            cases.append(
                (
                    f"dwmult{mult}_{seed}",
                    data,
                    inputs[0].tobytes(),
                    out.tobytes(),
                    NNModel(data).arena_bytes,
                )
            )
    for seed in range(2):  # LEAKY_RELU between convolutions (planned in place)
        rng = np.random.default_rng(50 + seed)
        g = GraphBuilder(f"leaky_relu{seed}")
        x = g.input((1, 1, 24, 3), (0.03, int(rng.integers(-20, 20))))
        x = _conv2d(g, x, rng, 1, 3, 5, (1, 1), (1, 1), "SAME", False)
        x = g.leaky_relu(x, float(rng.uniform(0.05, 0.5)), (0.02, int(rng.integers(-20, 20))))
        g.output(_conv2d(g, x, rng, 1, 1, 4, (1, 1), (1, 1), "VALID", False))
        described = g.build()
        data = write_tflite(described)
        inputs = random_inputs(described, rng)
        out = tflm_run(data, inputs)[0]
        cases.append(
            (
                f"leaky_relu{seed}",
                data,
                inputs[0].tobytes(),
                out.tobytes(),
                NNModel(data).arena_bytes,
            )
        )
    for seed in range(11, 41):  # random models: edge cases of every kernel
        rng = np.random.default_rng(seed)
        described = random_model(lambda lo, hi, r=rng: int(r.integers(lo, hi + 1)), rng)
        if described.tensors[described.inputs[0]].dtype != "int8":
            continue
        data = write_tflite(described)
        inputs = random_inputs(described, rng)
        out = tflm_run(data, inputs)[0]
        cases.append(
            (f"random{seed}", data, inputs[0].tobytes(), out.tobytes(), NNModel(data).arena_bytes)
        )
    lines = [
        "/* Generated by tools/make_nn_vectors.py: models, inputs and TFLM's outputs. */\n",
        "#ifndef WS_NN_VECTORS_H\n#define WS_NN_VECTORS_H\n\n#include <stddef.h>\n",
        "#include <stdint.h>\n\n#define WS_NN_VEC_ALIGN __attribute__((aligned(16)))\n\n",
    ]
    for name, data, x, out, _ in cases:
        lines.append(_array(f"{name}_model", data))
        lines.append(_array(f"{name}_input", x))
        lines.append(_array(f"{name}_expected", out))
    lines.append(
        "\ntypedef struct {\n    const char *name;\n    const uint8_t *model;\n"
        "    size_t model_size;\n    const uint8_t *input;\n    size_t input_size;\n"
        "    const uint8_t *expected;\n    size_t expected_size;\n"
        "    size_t arena_bytes;\n} ws_nn_vector_t;\n\n"
    )
    lines.append("static const ws_nn_vector_t ws_nn_vectors[] = {\n")
    for name, data, x, out, arena in cases:
        lines.append(
            f'    {{"{name}", {name}_model, {len(data)}, {name}_input, {len(x)}, '
            f"{name}_expected, {len(out)}, {arena}}},\n"
        )
    lines.append("};\n\n#endif\n")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text("".join(lines))
    print(f"wrote {out_path} ({len(cases)} models)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
