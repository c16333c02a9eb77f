"""The int8 interpreter: bit-exactness with TFLM on random models, per-model figures
(MACs, arena bytes ours vs TFLM's, flash bytes). Its libFuzzer run is `fuzz.nn`
(benchmarks/bench_fuzz.py).

`interpreter.models.<name>` covers every `.tflite` under models/ plus two reference
architectures (an ECG and an IMU 1-D CNN) quantized from untrained weights: their
MACs, arena and flash sizes depend on the architecture only, not on training.
`m4_instructions` (DSP kernels, M4_NN_DSP=1) and `m4_instructions_portable` (portable C
kernels, M4_NN_DSP=0) come from firmware/tests/test_nn.c run on the emulated Cortex-M4
(QEMU mps2-an386 with `-icount shift=0`, one instruction per virtual nanosecond; the
test reads SysTick at the 25 MHz processor clock around ws_nn_invoke, so one tick is 40
instructions, calibrated on a known loop): null where the C harness (firmware/firmware.mk)
or the ARM toolchain is missing, or for models not in build/gen/ws_nn_vectors.h (the
C test's generated vectors, tools/make_nn_vectors.py).
`instructions_per_mac` is the optimised count over MACs; `floor_instructions` is MACs / 2.
`m4_per_op_type` splits the optimised count by operator type (the image also runs each
inference one operator at a time, `ws_nn_invoke_op`); `m4_per_op_type_shipped` /
`m4_per_op_type_all` sum it over the shipped models / every model of the image.
`arena_parts` is the plan (activations, requantization, scratch) and `arena_ratio_tflm`
our arena over TFLM's. `std_*` are single layers of common shapes (random weights).
Environment: WEARSENSE_BENCH_MODELS (random models, default 500), WEARSENSE_BENCH_PER_OP
(single-op models per operator, default 100).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from wearsense.firmware import core
from wearsense.firmware.nn import NNModel
from wearsense.testing.m4budget import QEMU
from wearsense.testing.tflite_models import SINGLE_OPS, random_inputs, random_model, single_op_model
from wearsense.testing.tflm_reference import litert_ref_run, tflm_arena_bytes, tflm_run
from wearsense.tflite import write_tflite

KEY = "interpreter"
ROOT = Path(__file__).resolve().parents[1]


def _reference_architectures() -> dict[str, bytes]:
    import torch
    from torch import nn

    from wearsense.tflite.ptq import Residual, quantize_module

    torch.manual_seed(0)
    ecg = nn.Sequential(
        nn.Conv1d(1, 16, 7, stride=2),
        nn.BatchNorm1d(16),
        nn.ReLU(),
        nn.MaxPool1d(2),
        nn.Conv1d(16, 16, 5, padding=2, groups=16),
        nn.Conv1d(16, 32, 1),
        nn.ReLU(),
        nn.MaxPool1d(2),
        Residual(nn.Conv1d(32, 32, 3, padding=1, groups=32), nn.Conv1d(32, 32, 1), nn.ReLU()),
        nn.Conv1d(32, 32, 5, stride=2),
        nn.ReLU(),
        nn.AdaptiveAvgPool1d(1),
        nn.Flatten(),
        nn.Linear(32, 4),
    )
    imu = nn.Sequential(
        nn.Conv1d(6, 24, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool1d(2),
        nn.Conv1d(24, 32, 5, padding=2),
        nn.ReLU6(),
        nn.MaxPool1d(2),
        nn.Conv1d(32, 32, 3, padding=1, groups=32),
        nn.ReLU(),
        nn.AdaptiveAvgPool1d(1),
        nn.Flatten(),
        nn.Linear(32, 8),
    )
    # the layout converters emit for a small ECG CNN: a depthwise convolution with depth
    # multiplier 8 widening 8 channels to 64 (docs/interpreter.md, DSP kernels)
    ecg_dw8 = nn.Sequential(
        nn.Conv1d(1, 8, 7, stride=2),
        nn.ReLU(),
        nn.MaxPool1d(2),
        nn.Conv1d(8, 64, 5, padding=2, groups=8),
        nn.ReLU(),
        nn.Conv1d(64, 16, 1),
        nn.ReLU(),
        nn.MaxPool1d(4),
        nn.Conv1d(16, 64, 3, padding=1, groups=16),
        nn.ReLU(),
        nn.AdaptiveAvgPool1d(1),
        nn.Flatten(),
        nn.Linear(64, 4),
    )
    rng = np.random.default_rng(0)
    return {
        "arch_ecg_cnn": write_tflite(quantize_module(ecg.eval(), rng.normal(size=(16, 1, 2560)))),
        "arch_imu_cnn": write_tflite(quantize_module(imu.eval(), rng.normal(size=(16, 6, 128)))),
        "arch_ecg_dw8": write_tflite(
            quantize_module(ecg_dw8.eval(), rng.normal(size=(16, 1, 1280)))
        ),
    }


def _standard_shapes() -> dict[str, bytes]:
    """Single-layer models of common shapes (random weights): the kernels alone."""
    from wearsense.tflite.builder import GraphBuilder, activation_qparams

    rng = np.random.default_rng(1)
    q = activation_qparams(-4.0, 4.0)
    models: dict[str, bytes] = {}

    def build(name: str, shape: tuple[int, ...], layer: Any) -> None:
        g = GraphBuilder(name)
        g.output(layer(g, g.input(shape, q)))
        models[name] = write_tflite(g.build())

    build(
        "std_pointwise_32x64",
        (1, 1, 128, 32),
        lambda g, x: g.conv1d(
            x, rng.normal(0, 0.2, (64, 32, 1)), rng.normal(size=64), q, activation="RELU"
        ),
    )
    build(
        "std_conv_k5_16x32",
        (1, 1, 128, 16),
        lambda g, x: g.conv1d(
            x, rng.normal(0, 0.1, (32, 16, 5)), rng.normal(size=32), q, 1, "SAME", 1, "RELU"
        ),
    )
    build(
        "std_depthwise_k5_64",
        (1, 1, 128, 64),
        lambda g, x: g.conv1d(
            x,
            rng.normal(0, 0.4, (64, 1, 5)),
            rng.normal(size=64),
            q,
            1,
            "SAME",
            1,
            "RELU",
            depthwise=True,
        ),
    )
    build(
        "std_dense_512x64",
        (1, 512),
        lambda g, x: g.dense(x, rng.normal(0, 0.05, (64, 512)), rng.normal(size=64), q),
    )
    return models


INSTRUCTIONS_PER_TICK = 40  # 25 MHz SysTick, 1 ns per instruction under -icount shift=0
OP_NAMES = {
    0: "ADD",
    1: "AVERAGE_POOL_2D",
    2: "CONCATENATION",
    3: "CONV_2D",
    4: "DEPTHWISE_CONV_2D",
    6: "DEQUANTIZE",
    9: "FULLY_CONNECTED",
    14: "LOGISTIC",
    17: "MAX_POOL_2D",
    18: "MUL",
    22: "RESHAPE",
    25: "SOFTMAX",
    28: "TANH",
    34: "PAD",
    39: "TRANSPOSE",
    40: "MEAN",
    45: "STRIDED_SLICE",
    65: "SLICE",
    98: "LEAKY_RELU",
    114: "QUANTIZE",
}


M4_OPS: dict[bool, dict[str, list[tuple[str, int, int]]]] = {}
# the C test's models, inputs and TFLM's outputs, generated by make (tools/make_nn_vectors.py)
NN_VECTORS = ROOT / "build" / "gen" / "ws_nn_vectors.h"


def _m4_instructions(dsp: bool = True) -> dict[str, tuple[int, int]]:
    """{model name: (instructions per inference, model bytes)} from the M4 test image,
    built with the DSP kernels (M4_NN_DSP=1) or the portable C ones (M4_NN_DSP=0).
    Per-operator counts (the same inference one operator at a time) go to M4_OPS[dsp]:
    {model: [(operator type, MACs, instructions)]}."""
    if not (ROOT / "firmware" / "firmware.mk").exists() or shutil.which("qemu-system-arm") is None:
        return {}
    build = subprocess.run(
        [
            "make",  # the top-level Makefile: it generates the vectors header first
            "-s",
            "c-tests-m4",
            "CTEST_SRCS=firmware/tests/test_nn.c",
            f"M4_NN_DSP={1 if dsp else 0}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    elf = ROOT / "build" / "ctest" / "m4" / "test_nn.elf"
    if build.returncode != 0 or not elf.exists():
        return {}
    run = subprocess.run(
        [*QEMU, "-kernel", str(elf)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    header = NN_VECTORS.read_text()
    sizes = {
        m.group(1): int(m.group(2)) for m in re.finditer(r"uint8_t (\w+)_model\[(\d+)\]", header)
    }
    found = {}
    for m in re.finditer(r"WS-NN-M4 (\w+) systick=(\d+)", run.stdout + run.stderr):
        found[m.group(1)] = (int(m.group(2)) * INSTRUCTIONS_PER_TICK, sizes.get(m.group(1), -1))
    ops: dict[str, list[tuple[str, int, int]]] = {}
    pattern = r"WS-NN-M4-OP (\w+) op=\d+ code=(\d+) macs=(\d+) systick=(\d+)"
    for m in re.finditer(pattern, run.stdout + run.stderr):
        name = OP_NAMES.get(int(m.group(2)), m.group(2))
        ops.setdefault(m.group(1), []).append(
            (name, int(m.group(3)), int(m.group(4)) * INSTRUCTIONS_PER_TICK)
        )
    M4_OPS[dsp] = ops
    return found


def _per_op_type(rows: list[tuple[str, int, int]]) -> dict[str, Any]:
    """{operator type: instructions, MACs, instructions per MAC} summed over rows."""
    table: dict[str, Any] = {}
    for op, macs, instructions in rows:
        entry = table.setdefault(op, {"instructions": 0, "macs": 0})
        entry["instructions"] += instructions
        entry["macs"] += macs
    for entry in table.values():
        entry["instructions_per_mac"] = (
            round(entry["instructions"] / entry["macs"], 3) if entry["macs"] else None
        )
    return table


def _nn_vector_models() -> dict[str, bytes]:
    """{name: model bytes} of the models in build/gen/ws_nn_vectors.h."""
    header = NN_VECTORS
    if not header.exists():
        return {}
    return {
        m.group(1): bytes(int(x) for x in m.group(2).split(","))
        for m in re.finditer(r"uint8_t (\w+)_model\[\d+\][^=]*= \{([^}]*)\}", header.read_text())
    }


def _m4_count(m4: tuple[int, int] | None, data: bytes) -> int | None:
    # only when the M4 image ran this very model (same size as the bench's bytes)
    return m4[0] if m4 and m4[1] == len(data) else None


def _model_figures(
    data: bytes, m4: tuple[int, int] | None, m4_portable: tuple[int, int] | None = None
) -> dict[str, Any]:
    ours = NNModel(data)
    optimised = _m4_count(m4, data)
    portable = _m4_count(m4_portable, data)
    macs = int(ours.macs)
    tflm = tflm_arena_bytes(data)
    return {
        "macs": macs,
        "arena_bytes": ours.arena_bytes,
        "arena_parts": ours.arena_parts,
        "tflm_arena_bytes": tflm,
        "arena_ratio_tflm": round(ours.arena_bytes / tflm, 3) if tflm else None,
        "flash_bytes": len(data),
        "m4_instructions": optimised,
        "m4_instructions_portable": portable,
        "instructions_per_mac": round(optimised / macs, 3) if optimised and macs else None,
        "instructions_per_mac_portable": round(portable / macs, 3) if portable and macs else None,
        # the M4 floor: SMLAD does two multiply-accumulates per instruction
        "floor_instructions": macs // 2,
    }


def _bitexact(count: int) -> dict[str, Any]:
    mismatches = 0
    inferences = 0
    for seed in tqdm(range(count), desc="random models vs TFLM", unit="model"):
        rng = np.random.default_rng(10_000 + seed)
        model = random_model(lambda lo, hi, r=rng: int(r.integers(lo, hi + 1)), rng)
        data = write_tflite(model)
        ours = NNModel(data)
        for _ in range(3):
            inputs = random_inputs(model, rng)
            got = ours.run(*inputs)
            want = tflm_run(data, inputs, outputs=len(model.outputs))
            inferences += 1
            if any(a.tobytes() != b.tobytes() for a, b in zip(got, want, strict=True)):
                mismatches += 1
    return {"models": count, "inferences": inferences, "mismatches": mismatches}


def _per_op(count: int) -> dict[str, Any]:
    """Per operator: our mismatches with TFLM, and LiteRT BUILTIN_REF's disagreements
    with TFLM (models that differ, largest difference in output LSBs)."""
    table: dict[str, Any] = {}
    for op in tqdm(SINGLE_OPS, desc="per-op vs TFLM and LiteRT", unit="op"):
        ours_bad = litert_bad = 0
        litert_max = 0.0
        for seed in range(count):
            rng = np.random.default_rng(seed)
            model = single_op_model(op, lambda lo, hi, r=rng: int(r.integers(lo, hi + 1)), rng)
            data = write_tflite(model)
            inputs = random_inputs(model, rng)
            want = tflm_run(data, inputs)[0]
            if NNModel(data).run(*inputs)[0].tobytes() != want.tobytes():
                ours_bad += 1
            try:
                other = litert_ref_run(data, inputs)[0]
            except Exception:
                continue
            if other.tobytes() != want.tobytes():
                litert_bad += 1
                diff = np.abs(other.astype(np.float64) - want.astype(np.float64)).max()
                if want.dtype == np.float32:
                    scale = model.tensors[model.operators[-1].inputs[0]].scale[0]
                    diff = diff / scale
                litert_max = max(litert_max, float(diff))
        table[op] = {
            "models": count,
            "ours_vs_tflm_mismatches": ours_bad,
            "litert_ref_vs_tflm_mismatches": litert_bad,
            "litert_ref_vs_tflm_max_lsb": litert_max,
        }
    return table


def run() -> dict[str, Any]:
    models: dict[str, Any] = {}
    m4_portable = _m4_instructions(dsp=False)
    m4 = _m4_instructions(dsp=True)
    shipped = sorted((ROOT / "models").glob("**/*.tflite")) if (ROOT / "models").exists() else []
    for path in shipped:
        models[path.stem] = _model_figures(
            path.read_bytes(), m4.get(path.stem), m4_portable.get(path.stem)
        )
    for name, data in {**_reference_architectures(), **_standard_shapes()}.items():
        models[name] = _model_figures(data, m4.get(name), m4_portable.get(name))
    for path in sorted((ROOT / "tests" / "fixtures" / "foreign").glob("*.tflite")):
        models[path.stem] = _model_figures(
            path.read_bytes(), m4.get(path.stem), m4_portable.get(path.stem)
        )
    # the models of the M4 test image (afib among them) not already covered above
    for name, data in _nn_vector_models().items():
        if name not in models:
            models[name] = _model_figures(data, m4.get(name), m4_portable.get(name))
    for name, figures in models.items():
        rows = M4_OPS.get(True, {}).get(name)
        if rows and figures["m4_instructions"] is not None:
            figures["m4_per_op_type"] = _per_op_type(rows)
    # per operator type over the shipped models, and over every model the M4 image ran
    shipped_names = {p.stem for p in shipped}
    all_rows = [r for n, rows in M4_OPS.get(True, {}).items() if n in models for r in rows]
    count = int(os.environ.get("WEARSENSE_BENCH_MODELS", "500"))
    return {
        "models": models,
        "m4_per_op_type_shipped": _per_op_type(
            [r for n, rows in M4_OPS.get(True, {}).items() if n in shipped_names for r in rows]
        ),
        "m4_per_op_type_all": _per_op_type(all_rows),
        "model_struct_bytes": int(core().lib.ws_nn_model_struct_size()),
        "bitexact_tflm": _bitexact(count),
        "per_op": _per_op(int(os.environ.get("WEARSENSE_BENCH_PER_OP", "100"))),
    }
