"""Proves the sanitizer build really catches errors: deliberate bugs compiled only into
wearsense._firmware_asan must be reported by AddressSanitizer and UBSan, and the same
functions called correctly must run clean."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.sanitized

CALL = "from wearsense.firmware import core; print(core(sanitized=True).lib.{}({}))"


def run_canary(function: str, argument: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CALL.format(function, argument)],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
    )


def test_asan_catches_stack_overflow(asan_core):
    clean = run_canary("ws_canary_stack_overflow", 7)
    assert clean.returncode == 0, clean.stderr
    caught = run_canary("ws_canary_stack_overflow", 8)
    assert caught.returncode != 0
    assert "AddressSanitizer: stack-buffer-overflow" in caught.stderr


def test_ubsan_catches_signed_overflow(asan_core):
    clean = run_canary("ws_canary_signed_overflow", -1)
    assert clean.returncode == 0, clean.stderr
    caught = run_canary("ws_canary_signed_overflow", 1)
    assert caught.returncode != 0
    assert "runtime error: signed integer overflow" in caught.stderr
