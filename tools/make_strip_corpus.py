"""Writes the seed corpus of the strip decoder's fuzz target (firmware/fuzz/
fuzz_strip_decode.c): a few blocks made by the C encoder (an ECG-like wave, a constant,
full-scale alternation, noise stored verbatim, short blocks).

    python tools/make_strip_corpus.py build/fuzz/corpus_strip_decode
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wearsense.strips import encode_block  # noqa: E402


def seeds() -> list[np.ndarray]:
    rng = np.random.default_rng(31)
    t = np.arange(512)
    wave = 300 * np.sin(2 * np.pi * t / 250) + rng.normal(0, 4, 512)
    wave[t % 90 == 45] += 1200
    return [
        np.round(wave).astype(np.int16),
        np.round(wave[:17]).astype(np.int16),
        np.array([-1234], dtype=np.int16),
        np.full(512, 777, dtype=np.int16),
        np.where(t % 2, 32767, -32768).astype(np.int16),
        rng.integers(-32768, 32768, 512).astype(np.int16),
        np.cumsum(rng.integers(-40, 41, 200)).astype(np.int16),
    ]


def main() -> int:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for i, x in enumerate(seeds()):
        (out / f"seed_{i:02d}.bin").write_bytes(encode_block(x))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
