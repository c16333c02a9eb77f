"""A short libFuzzer run of the interpreter (the long one is `make fuzz`): builds the
target with clang's ASan/UBSan/fuzzer runtimes and runs it over the seed corpus plus a
few thousand mutations. Skipped where Debian's clang is not installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("clang") is None, reason="needs clang (make fuzz installs it)")
def test_short_fuzz_run_finds_no_crash(tmp_path: Path) -> None:
    build = subprocess.run(
        ["make", "-s", "fuzz-build"], cwd=ROOT, capture_output=True, text=True, timeout=240
    )
    if build.returncode != 0 and "libclang_rt.fuzzer" in build.stderr:
        pytest.skip("clang's fuzzer runtime is missing (make fuzz installs it)")
    assert build.returncode == 0, build.stderr
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "build" / "fuzz" / "corpus", corpus)
    run = subprocess.run(
        [
            str(ROOT / "build" / "fuzz" / "fuzz_nn"),
            "-runs=20000",
            "-seed=1",
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Done 20000 runs" in run.stderr
