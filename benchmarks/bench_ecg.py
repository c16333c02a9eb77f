"""ECG front end on the shared real data: QRS detection on every MIT-BIH record
present (AAMI EC57: 150 ms window, test period from 5 min), and the signal-quality
flags against the CinC 2017 "noisy" label. Keys read by automated checks:
qrs_sensitivity, qrs_ppv, noisy_flagged, clean_flagged, m4_instructions_per_s.

m4_instructions_per_s: firmware/tests/test_dsp_ecg.c built for the Cortex-M4 by the
port's make rules (firmware/firmware.mk) and run in QEMU with ``-icount shift=0``, so
virtual time follows executed instructions; the image calibrates its timer against a
loop of known length and prints the instructions that 20 s of a 360 Hz ECG cost, fed
in one-second blocks. Left out (with a note) when the port or the ARM tools are
missing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from wearsense.datasets import mitdb
from wearsense.datasets.splits import load_split
from wearsense.ecg.qrs import detect_record, gross, score_record
from wearsense.ecg.quality import score_cinc
from wearsense.testing.m4budget import QEMU

KEY = "ecg"
ROOT = Path(__file__).resolve().parents[1]
M4_ELF = "build/ctest/m4/test_dsp_ecg.elf"
HOST_BIN = "build/ctest/host/test_dsp_ecg"


def m4_figures(root: Path = ROOT) -> dict[str, Any]:
    """Instructions per second of ECG on the emulated Cortex-M4, or a note why not."""
    port = root / "firmware" / "port" / "cortex-m4" / "mps2_an386.ld"
    tools = [shutil.which(t) for t in ("arm-none-eabi-gcc", "qemu-system-arm", "make")]
    if not port.exists() or not (root / "firmware" / "firmware.mk").exists():
        return {"m4_note": "Cortex-M4 port not present in this tree"}
    if not all(tools):
        return {"m4_note": "arm-none-eabi-gcc or qemu-system-arm missing (make toolchain)"}
    subprocess.run(
        ["make", "-s", "-f", "firmware/firmware.mk", M4_ELF,
         "CTEST_SRCS=firmware/tests/test_dsp_ecg.c"],
        cwd=root, check=True, capture_output=True,
    )  # fmt: skip
    run = subprocess.run(
        [*QEMU, "-kernel", M4_ELF],
        cwd=root, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    text = run.stdout + run.stderr
    subprocess.run(
        ["make", "-s", "-f", "firmware/firmware.mk", HOST_BIN,
         "CTEST_SRCS=firmware/tests/test_dsp_ecg.c"],
        cwd=root, check=True, capture_output=True,
    )  # fmt: skip
    host = subprocess.run(
        [str(root / HOST_BIN)], cwd=root, capture_output=True, text=True, timeout=300,
        env={**os.environ, "ASAN_OPTIONS": "detect_leaks=0"},
    )  # fmt: skip
    sums = [re.search(r"ECG-CHECKSUM (.*)", t) for t in (text, host.stdout)]
    found = re.search(r"ECG-M4 instructions_per_s=(\d+) init_instructions=(\d+) "
                      r"state_bytes=(\d+)", text)  # fmt: skip
    if run.returncode != 0 or not found:
        raise RuntimeError(f"M4 ECG image failed (status {run.returncode}): {text[-500:]}")
    return {
        # the same output samples and beats on the M4 as on the host, bit for bit
        "m4_matches_host": bool(sums[0] and sums[1] and sums[0].group(1) == sums[1].group(1)),
        "m4_instructions_per_s": int(found.group(1)),
        "m4_init_instructions": int(found.group(2)),
        "m4_state_bytes": int(found.group(3)),
    }


def run() -> dict[str, Any]:
    per_record: dict[str, Any] = {}
    scores, whole = [], []
    split = {r: p for p, ids in load_split("mitdb").items() for r in ids}
    chain_s = signal_s = 0.0
    for rid in mitdb.record_ids():
        rec = mitdb.load_record(rid)
        started = time.perf_counter()
        out = detect_record(rec)
        chain_s += time.perf_counter() - started
        signal_s += rec.n_samples / rec.fs
        s = score_record(rec, out)
        scores.append(s)
        whole.append(score_record(rec, out, start_s=0.0))
        per_record[rid] = {
            "sensitivity": round(s.sensitivity, 5),
            "ppv": round(s.ppv, 5),
            "tp": s.tp,
            "fn": s.fn,
            "fp": s.fp,
            "lead": rec.lead_names[rec.lead_index()],
            "split": split.get(rid, "?"),
        }
    total, total_whole = gross(scores), gross(whole)
    test = gross(s for s in scores if split.get(s.record) == "test")
    cinc = score_cinc()
    cinc_test = score_cinc(("test",))
    return {
        "qrs_sensitivity": round(total.sensitivity, 5),
        "qrs_ppv": round(total.ppv, 5),
        "qrs_records": len(scores),
        "qrs_beats": total.tp + total.fn,
        "qrs_whole_record_sensitivity": round(total_whole.sensitivity, 5),
        "qrs_whole_record_ppv": round(total_whole.ppv, 5),
        "qrs_test_split_sensitivity": round(test.sensitivity, 5),
        "qrs_test_split_ppv": round(test.ppv, 5),
        "qrs_per_record": per_record,
        "noisy_flagged": round(cinc.noisy_flagged, 4),
        "clean_flagged": round(cinc.clean_flagged, 4),
        "cinc_noisy_records": cinc.n_noisy,
        "cinc_clean_records": cinc.n_clean,
        "test_split_noisy_flagged": round(cinc_test.noisy_flagged, 4),
        "test_split_clean_flagged": round(cinc_test.clean_flagged, 4),
        "host_realtime_factor": round(signal_s / chain_s, 1),
        **m4_figures(),
    }
