"""Short libFuzzer runs of the device face (the long ones are `make fuzz` and `make bench`):
builds the command, acknowledgement and model-transfer targets (firmware/fuzz) with clang's
ASan/UBSan/fuzzer runtimes and runs each over its seed corpus, made from the protocol
vectors, plus a few thousand mutations. Skipped where Debian's clang is not installed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FUZZ = ROOT / "build" / "fuzz"
RUNS = 5000
SHA1_NAME = re.compile(r"[0-9a-f]{40}")


@pytest.fixture(scope="module")
def built() -> Path:
    build = subprocess.run(
        ["make", "-s", "fuzz-build"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    if build.returncode != 0 and "libclang_rt.fuzzer" in build.stderr:
        pytest.skip("clang's fuzzer runtime is missing (make fuzz installs it)")
    assert build.returncode == 0, build.stderr
    return FUZZ


@pytest.mark.skipif(shutil.which("clang") is None, reason="needs clang (make fuzz installs it)")
@pytest.mark.parametrize("target", ["command", "ack", "transfer"])
def test_short_device_fuzz_run_finds_no_crash(built: Path, target: str, tmp_path: Path) -> None:
    # the seeds only: `make fuzz` and `make bench` add libFuzzer's finds (named by their
    # SHA-1) to the same folder, and loading thousands of them alone passes -runs
    seeds = sorted(
        p for p in (built / f"corpus_{target}").iterdir() if not SHA1_NAME.fullmatch(p.name)
    )
    assert len(seeds) >= 10, "the seed corpus comes from tests/vectors/protocol.json"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for seed in seeds:
        shutil.copy(seed, corpus / seed.name)
    run = subprocess.run(
        [
            str(built / f"fuzz_{target}"),
            f"-runs={RUNS}",
            "-seed=1",
            "-max_len=200",  # mk/fuzz.mk FUZZ_DEVICE_MAX_LEN
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"Done {RUNS} runs" in run.stderr
    assert not list(tmp_path.glob("crash-*"))
