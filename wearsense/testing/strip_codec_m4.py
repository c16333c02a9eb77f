"""Instructions per sample of the strip block encoder and decoder on the Cortex-M4,
measured on the codec's image (firmware/bench/strip_codec.c, ``make strip-codec-image``)
the way :mod:`wearsense.testing.m4budget` measures the replay image: QEMU ``-icount
shift=0`` (one instruction per ns of virtual time), every encode and decode call timed
with SysTick, calibrated on a loop of 2 000 000 instructions. The image embeds real
recordings (tools/make_strip_codec_image.py) and checks every block's round trip on the
M4 itself.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from wearsense.testing.m4budget import BudgetError, available, run_image

ROOT = Path(__file__).resolve().parents[2]
ELF = ROOT / "build" / "strip_codec" / "m4" / "strip_codec.elf"

__all__ = ["ELF", "BudgetError", "available", "measure"]


def measure(build: bool = True) -> dict[str, Any]:
    """{set: {samples, bytes, encode/decode instructions per sample, ...}} from the image."""
    text, per_tick = run_image("strip-codec-image", ELF, "WS-STRIP", build)
    sets: dict[str, Any] = {}
    for m in re.finditer(r"WS-STRIP set=(\w+) (.*)", text):
        f = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
        sets[m.group(1)] = {
            "records": f["records"],
            "samples": f["samples"],
            "ratio": round(2 * f["samples"] / f["bytes"], 4),
            "encode_instructions_per_sample": round(f["encode_ticks"] * per_tick / f["samples"], 1),
            "decode_instructions_per_sample": round(f["decode_ticks"] * per_tick / f["samples"], 1),
            "max_block_encode_instructions": round(f["max_block_encode_ticks"] * per_tick),
            "mismatches": f["mismatches"],
        }
    stack = re.search(r"stack_used=(\d+)", text)
    return {"sets": sets, "stack_bytes": int(stack.group(1)) if stack else None}
