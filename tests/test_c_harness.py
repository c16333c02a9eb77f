"""The C unit-test harness (firmware/firmware.mk): every C test passes on the host
(ASan + UBSan) and on the emulated Cortex-M4, and a failing or crashing C test is
reported as such, with a non-zero exit status, on both."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
C_TESTS = sorted(p.stem.removeprefix("test_") for p in (ROOT / "firmware/tests").glob("test_*.c"))

HOST = "c-tests-host"
M4 = pytest.param("c-tests-m4", marks=pytest.mark.m4, id="c-tests-m4")
TARGETS = [pytest.param(HOST, id=HOST), M4]

FAILING_TEST = """\
#include "ws_test.h"

int ws_test_run(void)
{
    WS_TEST_ASSERT_EQ_INT(2 + 2, 4); /* passes */
    WS_TEST_ASSERT(1 + 1 == 3);      /* line 6: fails */
    return ws_test_failures();
}
"""

# Integer division by zero: UBSan stops the host binary; on the M4 the port
# traps it (CCR.DIV_0_TRP) and the fault handler exits with status 2.
CRASHING_TEST = """\
#include "ws_test.h"

int ws_test_run(void)
{
    volatile int zero = 0;
    volatile int x = 7;
    x = x / zero;
    return x == 12345;
}
"""


def run_make(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    # Not inherited from an outer make or the sanitizer pass of `make test`.
    for name in ("LD_PRELOAD", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(name, None)
    return subprocess.run(
        ["make", "-s", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def output(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout + proc.stderr


def test_there_are_c_tests() -> None:
    assert "port" in C_TESTS


@pytest.mark.parametrize("target", TARGETS)
def test_every_c_test_passes(target: str) -> None:
    proc = run_make(target)
    out = output(proc)
    assert proc.returncode == 0, out
    lines = out.splitlines()
    for name in C_TESTS:
        assert f"WS-TEST {name} PASS" in lines, out
    assert not [line for line in lines if line.startswith("WS-TEST ") and "PASS" not in line]


def run_one(target: str, tmp_path: Path, name: str, source: str) -> tuple[int, str]:
    src = tmp_path / f"test_{name}.c"
    src.write_text(source)
    proc = run_make(target, f"CTEST_SRCS={src}", f"CTEST_OUT={tmp_path / 'out'}", "QEMU_TIMEOUT=20")
    return proc.returncode, output(proc)


@pytest.mark.parametrize("target", TARGETS)
def test_failing_c_test_is_reported(target: str, tmp_path: Path) -> None:
    rc, out = run_one(target, tmp_path, "wsfail", FAILING_TEST)
    assert rc != 0, out
    lines = out.splitlines()
    assert "WS-TEST wsfail FAIL 1" in lines, out
    assert "WS-TEST wsfail PASS" not in lines, out
    assert "test_wsfail.c:6: WS_TEST_ASSERT(1 + 1 == 3)" in out, out


@pytest.mark.parametrize("target", TARGETS)
def test_crashing_c_test_is_reported(target: str, tmp_path: Path) -> None:
    rc, out = run_one(target, tmp_path, "wscrash", CRASHING_TEST)
    assert rc != 0, out
    assert "WS-TEST wscrash PASS" not in out.splitlines(), out
    if target == HOST:
        assert "division by zero" in out, out
    else:
        assert "WS-FAULT UsageFault" in out, out
        assert "exited with status 2" in out, out
