"""Figures of the strip block codec (issue #31; combined into `strips` of the bench
results by the strips bench): compression ratio on real recordings against xz -9, zstd -19
and FLAC, and the encoder's Cortex-M4 instructions per sample.

`ratio[dataset]`: raw int16 bytes / compressed bytes over the dataset, for `ours` (the C
encoder through the host binding, blocks of 256 samples, each record on its own) and for
each peer on the same int16 samples, each record compressed on its own: `xz` (Python lzma,
preset 9 | EXTREME), `zstd` (the zstandard package, level 19), `flac` (libFLAC inside
libsndfile through the soundfile package, compression level 8 i.e. `compression_level=1.0`,
16-bit mono; the whole file counted, its metadata blocks included). Datasets: every CinC
2017 test-split record (`cinc2017`, 300 Hz) and every shared MIT-BIH record (`mitdb`,
360 Hz, both leads). `ratio_vs_flac`: ours / FLAC's, per dataset and `overall` (over the
bytes of both datasets together).

`m4_instructions_per_sample`: the encoder on the emulated Cortex-M4 (QEMU -icount,
wearsense/testing/strip_codec_m4.py) over the image's embedded recordings (the first 40
CinC test records, 120 s of each MIT-BIH record's device lead), per dataset and `overall`;
`m4_decode_instructions_per_sample` likewise. Null with a note when the ARM tools or QEMU
are missing.
"""

from __future__ import annotations

import io
import lzma
import os
from typing import Any

import numpy as np

from wearsense.datasets import cinc2017, mitdb
from wearsense.datasets.splits import load_split
from wearsense.strips.codec import encode_samples
from wearsense.testing import strip_codec_m4

KEY = "strips_codec"


def _datasets(data_dir: str | None) -> dict[str, list[np.ndarray]]:
    ids = load_split("cinc2017")["test"]
    cinc = [r.signal.astype(np.int16) for r in cinc2017.iter_records(ids, data_dir)]
    mit = []
    for rid in mitdb.record_ids(data_dir):
        rec = mitdb.load_record(rid, data_dir)
        mit += [
            np.ascontiguousarray(rec.signals[:, i], dtype=np.int16)
            for i in range(rec.signals.shape[1])
        ]
    return {"cinc2017": cinc, "mitdb": mit}


def _flac(x: np.ndarray) -> int:
    import soundfile

    buf = io.BytesIO()
    soundfile.write(buf, x, 8000, format="FLAC", subtype="PCM_16", compression_level=1.0)
    return len(buf.getvalue())


def _zstd(x: np.ndarray) -> int:
    import zstandard

    return len(zstandard.ZstdCompressor(level=19).compress(x.astype("<i2").tobytes()))


def _xz(x: np.ndarray) -> int:
    return len(lzma.compress(x.astype("<i2").tobytes(), preset=9 | lzma.PRESET_EXTREME))


CODERS = {"ours": lambda x: len(encode_samples(x)), "flac": _flac, "zstd": _zstd, "xz": _xz}


def run(data_dir: str | None = None) -> dict[str, Any]:
    data_dir = data_dir or os.environ.get("WEARSENSE_DATA")
    sets = _datasets(data_dir)
    raw = {name: sum(2 * len(x) for x in records) for name, records in sets.items()}
    size: dict[str, dict[str, int]] = {}
    for name, records in sets.items():
        size[name] = {coder: sum(f(x) for x in records) for coder, f in CODERS.items()}
    ratio = {
        name: {coder: round(raw[name] / n, 4) for coder, n in size[name].items()} for name in sets
    }
    total_raw = sum(raw.values())
    overall = {c: round(total_raw / sum(size[n][c] for n in sets), 4) for c in CODERS}
    out: dict[str, Any] = {
        "ratio": {**ratio, "overall": overall},
        "ratio_vs_flac": {
            **{n: round(ratio[n]["ours"] / ratio[n]["flac"], 4) for n in sets},
            "overall": round(overall["ours"] / overall["flac"], 4),
        },
        "records": {n: len(r) for n, r in sets.items()},
        "samples": {n: raw[n] // 2 for n in sets},
    }
    if not strip_codec_m4.available():
        out["m4_instructions_per_sample"] = None
        out["m4_note"] = "arm-none-eabi-gcc or qemu-system-arm missing (make toolchain)"
        return out
    m4 = strip_codec_m4.measure()
    per = m4["sets"]
    n_all = sum(s["samples"] for s in per.values())
    out["m4_instructions_per_sample"] = {
        **{n: s["encode_instructions_per_sample"] for n, s in per.items()},
        "overall": round(
            sum(s["encode_instructions_per_sample"] * s["samples"] for s in per.values()) / n_all, 1
        ),
    }
    out["m4_decode_instructions_per_sample"] = {
        n: s["decode_instructions_per_sample"] for n, s in per.items()
    }
    out["m4_max_block_encode_instructions"] = max(
        s["max_block_encode_instructions"] for s in per.values()
    )
    out["m4_round_trip_mismatches"] = sum(s["mismatches"] for s in per.values())
    out["m4_samples"] = {n: s["samples"] for n, s in per.items()}
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
