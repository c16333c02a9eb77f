"""Writes a seed corpus of small valid .tflite models for the interpreter fuzz target.

Usage: python tools/make_nn_corpus.py OUT_DIR [COUNT]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from wearsense.testing.tflite_models import random_model
from wearsense.tflite import write_tflite


def main(argv: list[str]) -> int:
    out = Path(argv[1])
    count = int(argv[2]) if len(argv) > 2 else 40
    out.mkdir(parents=True, exist_ok=True)
    for seed in range(count):
        rng = np.random.default_rng(seed)
        model = random_model(lambda lo, hi, r=rng: int(r.integers(lo, hi + 1)), rng)
        (out / f"seed{seed:03d}.tflite").write_bytes(write_tflite(model))
    print(f"wrote {count} models to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
