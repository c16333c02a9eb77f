"""Shared fixtures. Tests marked `sanitized` run in make test's second pytest pass,
where the sanitizer runtime is preloaded and the C core is the ASan/UBSan build."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "tests" / "vectors"


def sanitizer_loaded() -> bool:
    return "libasan" in os.environ.get("LD_PRELOAD", "")


@pytest.fixture(scope="session")
def protocol_vectors() -> dict[str, Any]:
    return json.loads((VECTORS / "protocol.json").read_text())


@pytest.fixture(scope="session")
def asan_core():
    """The sanitizer build of the C core; only usable under `make test`'s second pass."""
    if not sanitizer_loaded():
        pytest.fail("sanitized tests need the sanitizer runtime preloaded: run them via make test")
    from wearsense.firmware import core

    return core(sanitized=True)
