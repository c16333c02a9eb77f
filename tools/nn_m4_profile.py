"""Per-operator instruction profile of the int8 interpreter on the emulated Cortex-M4.

Builds firmware/tests/test_nn.c for the M4 (M4_NN_DSP=1 optimised kernels, or
--portable for the reference C ones), runs it in QEMU with `-icount shift=0` (one
instruction per virtual nanosecond; SysTick at 25 MHz = 40 instructions per tick) and
prints, per model and operator, the instructions, MACs and instructions per MAC, then a
summary per operator type.

Usage: .venv/bin/python tools/nn_m4_profile.py [--portable] [--model NAME ...]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for benchmarks.bench_interpreter

from benchmarks.bench_interpreter import INSTRUCTIONS_PER_TICK as PER_TICK  # noqa: E402
from benchmarks.bench_interpreter import OP_NAMES as OPS  # noqa: E402
from wearsense.testing.m4budget import QEMU  # noqa: E402


def run_image(portable: bool) -> str:
    dsp = "0" if portable else "1"
    subprocess.run(
        [
            "make",  # the top-level Makefile: it generates the vectors header first
            "-s",
            "build/ctest/m4/test_nn.elf",
            f"M4_NN_DSP={dsp}",
        ],
        cwd=ROOT,
        check=True,
    )
    run = subprocess.run(
        [*QEMU, "-kernel", str(ROOT / "build/ctest/m4/test_nn.elf")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    return run.stdout + run.stderr


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--portable", action="store_true", help="the portable C kernels")
    ap.add_argument("--model", action="append", help="only these models")
    args = ap.parse_args()
    out = run_image(args.portable)
    for line in re.findall(r"WS-TEST .*", out):
        print(line)
    totals = {
        m.group(1): int(m.group(2)) * PER_TICK
        for m in re.finditer(r"WS-NN-M4 (\w+) systick=(\d+)", out)
    }
    by_type: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    pat = r"WS-NN-M4-OP (\w+) op=(\d+) code=(\d+) macs=(\d+) systick=(\d+)"
    current = None
    for m in re.finditer(pat, out):
        name, idx, code, macs, ticks = m.group(1), *map(int, m.groups()[1:])
        if args.model and name not in args.model:
            continue
        if name != current:
            current = name
            print(f"\n{name}: {totals.get(name)} instructions per inference")
        instr = ticks * PER_TICK
        op = OPS.get(code, str(code))
        by_type[op][0] += instr
        by_type[op][1] += macs
        ipm = f"{instr / macs:6.2f}" if macs else "     -"
        print(f"  op {idx:2d} {op:18s} macs={macs:8d} instr={instr:9d} instr/MAC={ipm}")
    print("\nper operator type (selected models):")
    for op, (instr, macs) in sorted(by_type.items(), key=lambda kv: -kv[1][0]):
        ipm = f"{instr / macs:6.2f}" if macs else "     -"
        print(f"  {op:18s} instr={instr:10d} macs={macs:9d} instr/MAC={ipm}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
