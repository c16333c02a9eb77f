"""The C interpreter's test vectors (firmware/tests/nn_vectors.h, run natively under the
sanitizers and on the emulated Cortex-M4) carry the models that actually ship: a model
retrained without regenerating them (tools/make_nn_vectors.py) fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TASKS = ("afib", "fall", "activity")


@pytest.mark.parametrize("task", TASKS)
def test_the_c_vectors_hold_the_shipped_model(task: str) -> None:
    header = (ROOT / "firmware" / "tests" / "nn_vectors.h").read_text()
    found = re.search(rf"static const uint8_t {task}_model\[(\d+)\][^{{]*\{{([^}}]*)\}}", header)
    assert found, f"{task}_model missing from nn_vectors.h"
    in_header = bytes(int(b) for b in found.group(2).split(","))
    assert len(in_header) == int(found.group(1))
    shipped = (ROOT / "models" / task / f"{task}.tflite").read_bytes()
    assert in_header == shipped, "run tools/make_nn_vectors.py after changing a shipped model"
