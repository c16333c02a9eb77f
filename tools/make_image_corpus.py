"""Seeds build/fuzz/corpus_image for the image verifier's fuzz target (firmware/fuzz/
fuzz_image.c): the imgtool-signed test image of build/gen/ws_image_vectors.h, its
structure-only variants (no protected area, a short body), and a few truncations.

Usage: .venv/bin/python tools/make_image_corpus.py OUT_DIR"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "build/gen/ws_image_vectors.h"


def signed_image() -> bytes:
    text = VECTORS.read_text()
    body = re.search(r"WS_VEC_IMAGE\[\d+\] = \{(.*?)\};", text, re.S)
    if body is None:
        raise SystemExit(f"{VECTORS}: no WS_VEC_IMAGE; run make build/gen/ws_image_vectors.h")
    return bytes(int(x, 16) for x in re.findall(r"0x([0-9a-f]{2})", body.group(1)))


def main(out: Path) -> None:
    image = signed_image()
    out.mkdir(parents=True, exist_ok=True)
    seeds = {"signed": image, "header": image[:32], "half": image[: len(image) // 2]}
    for name, data in seeds.items():
        (out / f"seed-{name}").write_bytes(data)
    print(f"{len(seeds)} seeds in {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
