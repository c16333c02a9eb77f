"""The C interpreter's test vectors (build/gen/ws_nn_vectors.h, run natively under the
sanitizers and on the emulated Cortex-M4) are generated at build time and carry the
models that actually ship: the make rule depends on every shipped model, so a
retrained model regenerates them, and the generator embeds each one byte for byte."""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TASKS = ("afib", "fall", "activity")
HEADER = ROOT / "build" / "gen" / "ws_nn_vectors.h"


def _generator():
    spec = importlib.util.spec_from_file_location(
        "make_nn_vectors", ROOT / "tools" / "make_nn_vectors.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_generator_embeds_every_shipped_model() -> None:
    embedded = {name: data for name, data, *_ in _generator().shipped_cases()}
    for task in TASKS:
        assert embedded[task] == (ROOT / "models" / task / f"{task}.tflite").read_bytes()


def test_make_regenerates_the_vectors_when_a_model_changes() -> None:
    plan = subprocess.run(
        ["make", "-p", "-n", "-q", "build/gen/ws_nn_vectors.h"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    rule = re.search(r"^build/gen/ws_nn_vectors\.h:(.*)$", plan, re.M)
    assert rule, "no make rule for build/gen/ws_nn_vectors.h"
    for task in TASKS:
        assert f"models/{task}/{task}.tflite" in rule.group(1).split()


def test_the_vectors_are_not_tracked() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "firmware/tests/nn_vectors.h", "build/gen"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if tracked.returncode != 0:
        pytest.skip("not a git checkout")
    assert tracked.stdout == ""


@pytest.mark.parametrize("task", TASKS)
def test_a_built_header_holds_the_shipped_model(task: str) -> None:
    if not HEADER.exists():
        pytest.skip("build/gen/ws_nn_vectors.h not built yet (make builds it before the C tests)")
    header = HEADER.read_text()
    found = re.search(rf"static const uint8_t {task}_model\[(\d+)\][^{{]*\{{([^}}]*)\}}", header)
    assert found, f"{task}_model missing from ws_nn_vectors.h"
    in_header = bytes(int(b) for b in found.group(2).split(","))
    assert len(in_header) == int(found.group(1))
    shipped = (ROOT / "models" / task / f"{task}.tflite").read_bytes()
    assert in_header == shipped, "make rebuilds build/gen/ws_nn_vectors.h from the shipped models"
