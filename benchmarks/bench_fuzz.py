"""libFuzzer runs of every fuzz target (mk/fuzz.mk), ASan and UBSan on: `nn` (the model
loader and interpreter, firmware/fuzz/fuzz_nn.c; moved here from `interpreter.fuzz`),
`command`, `ack` and `transfer` (the device core's command and acknowledgement writes and
the update service's model-transfer writes, each a sequence of operations per input,
firmware/fuzz/device_ops.h), `strip_transfer` (the same harness with ECG strips made,
requested, sent and released, firmware/fuzz/fuzz_strip_transfer.c), `strip_decode` (the
strip block decoder, accepted blocks
re-encoded and decoded again, firmware/fuzz/fuzz_strip_decode.c; seeds from
tools/make_strip_corpus.py), `image` (the MCUboot-format firmware image verifier,
firmware/fuzz/fuzz_image.c, issue #32; a tenth of the runs: each input that parses costs
an Ed25519 check).

`fuzz.<target>`: `executions` (libFuzzer's executed units), `crashes` (crash, leak or
timeout artifacts plus a run that failed without leaving one: a sanitizer report, a
trap of the harness's checks), `seconds` (the run's wall time), `workers` and
`executions_per_s` (all processes together).
Each target runs until it has made WEARSENSE_FUZZ_RUNS executions (default 10 000 000,
what issue #29 asks), or for WEARSENSE_FUZZ_MAX_SECONDS (default 900) if that comes
first, in WEARSENSE_FUZZ_WORKERS libFuzzer processes (default 2, or fewer CPUs) sharing
one corpus, each making its share of the runs (`workers`; `executions` is their sum).
Each worker's libFuzzer log is build/fuzz/logs/<target>-<n>.log: while the logs went to
pipes read one after the other, the second worker blocked on its full stderr pipe soon
after it started, so the "two processes" ran as one. The device targets take inputs of at
most 200 bytes (mk/fuzz.mk, FUZZ_DEVICE_MAX_LEN; at 600 their rate fell 3-fold as the
corpus grew), the queue and the strip codec are built without comparison tracing, and the
queue finds the next notification without reading every page (docs/device-core.md,
Testing). `command` then made 9.7 million executions in 451 s with two processes on this
2-core machine shared with other work (21 500/s; before: 3.5 million in 900 s), so
10 million per device target takes some 8 minutes here, well inside the 900-s cap.
Crash inputs go
to build/fuzz/crashes/<target>-*. Figures are null (with `error`) where clang or its fuzzer
runtime is missing and cannot be installed (`make clang`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

KEY = "fuzz"
ROOT = Path(__file__).resolve().parents[1]
FUZZ = ROOT / "build" / "fuzz"
TARGETS = ("nn", "command", "ack", "transfer", "strip_transfer", "strip_decode", "image")
# as mk/fuzz.mk (fuzz_max_len): the device targets take 200 bytes, 30 to 60 operations
MAX_LEN = {"nn": 16384, "strip_decode": 600, "image": 2048}
# The image verifier (issue #32) checks an Ed25519 signature on every input that gets that
# far (about 7 000 executions/s a process): a tenth of the others' runs, at most.
RUNS_SHARE = {"image": 10}
DEVICE_MAX_LEN = 200


def _corpus(target: str) -> Path:
    return FUZZ / ("corpus" if target == "nn" else f"corpus_{target}")


def _command(target: str, runs: int, max_seconds: int, seed: int) -> list[str]:
    return [
        str(FUZZ / f"fuzz_{target}"),
        f"-runs={runs}",
        f"-max_total_time={max_seconds}",
        f"-max_len={MAX_LEN.get(target, DEVICE_MAX_LEN)}",
        f"-seed={seed}",
        "-print_final_stats=1",
        f"-artifact_prefix={FUZZ / 'crashes'}/{target}-",
        str(_corpus(target)),
    ]


def _run(target: str, runs: int, max_seconds: int, workers: int) -> dict[str, Any]:
    """`workers` libFuzzer processes on one corpus, each making its share of `runs`."""
    crashes_dir = FUZZ / "crashes"
    crashes_dir.mkdir(parents=True, exist_ok=True)
    before = set(crashes_dir.iterdir())
    share = -(-runs // workers)
    # Each worker's log goes to a file: with pipes read one after the other, the second
    # worker blocked on its full stderr pipe (64 KiB of NEW lines) until the first ended.
    logs = [FUZZ / "logs" / f"{target}-{i}.log" for i in range(workers)]
    logs[0].parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    procs = []
    for i, log in enumerate(logs):
        with log.open("w") as err:
            procs.append(
                subprocess.Popen(
                    _command(target, share, max_seconds, seed=1 + i),
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                )
            )
    for proc in procs:
        proc.wait()
    seconds = time.perf_counter() - started
    outputs = [(p, log.read_text(errors="replace")) for p, log in zip(procs, logs, strict=True)]
    executions: int | None = 0
    failed = False
    for proc, stderr in outputs:
        found = re.search(r"stat::number_of_executed_units:\s+(\d+)", stderr)
        if found and executions is not None:
            executions += int(found.group(1))
        else:
            executions = None
        if proc.returncode != 0:
            failed = True
            print(f"[bench] fuzz_{target} exited {proc.returncode}:\n{stderr[-3000:]}", flush=True)
    new_crashes = len(set(crashes_dir.iterdir()) - before)
    return {
        "executions": executions,
        "crashes": new_crashes + (1 if failed and new_crashes == 0 else 0),
        "seconds": round(seconds, 1),
        "workers": workers,
        "executions_per_s": round(executions / seconds) if executions and seconds else None,
    }


def run() -> dict[str, Any]:
    if shutil.which("clang") is None:
        subprocess.run(["make", "-s", "clang"], cwd=ROOT, check=False)
    build = subprocess.run(["make", "-s", "fuzz-build"], cwd=ROOT, capture_output=True, text=True)
    if build.returncode != 0:
        error = build.stderr[-300:]
        return {
            t: {"executions": None, "crashes": None, "seconds": None, "error": error}
            for t in TARGETS
        }
    runs = int(os.environ.get("WEARSENSE_FUZZ_RUNS", "10000000"))
    max_seconds = int(os.environ.get("WEARSENSE_FUZZ_MAX_SECONDS", "900"))
    workers = int(os.environ.get("WEARSENSE_FUZZ_WORKERS", str(min(2, os.cpu_count() or 1))))
    results: dict[str, Any] = {}
    for target in TARGETS:
        print(
            f"[bench] fuzz_{target}: {runs // RUNS_SHARE.get(target, 1)} executions in "
            f"{workers} processes "
            f"(at most {max_seconds} s)",
            flush=True,
        )
        results[target] = _run(target, runs // RUNS_SHARE.get(target, 1), max_seconds, workers)
        print(f"[bench] fuzz_{target}: {results[target]}", flush=True)
    return results
