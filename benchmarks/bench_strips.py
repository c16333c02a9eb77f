"""ECG strips (issue #31, docs/strips.md), `python -m benchmarks strips`: the codec's
figures (``benchmarks/strips_codec.py``: ``ratio`` per dataset and against xz -9,
zstd -19 and FLAC on the same int16 samples, ``ratio_vs_flac``,
``m4_instructions_per_sample`` to encode on the Cortex-M4) and the device's
(``benchmarks/strips_device.py``: ``ram_bytes``, ``flash_partition_bytes``,
``strips_capacity``, ``bytes_on_air``, ``transfer_s``, ``power_cut_trials``,
``power_cut_lost``), under one ``strips`` key. Reads CinC 2017 and MIT-BIH from the data
root (``$WEARSENSE_DATA`` or ``../shared/data``)."""

from __future__ import annotations

from typing import Any

from benchmarks import strips_codec, strips_device

KEY = "strips"


def run() -> dict[str, Any]:
    results: dict[str, Any] = {}
    for part in (strips_codec, strips_device):
        got = part.run()
        clash = set(results) & set(got)
        assert not clash, f"both strips parts report {sorted(clash)}"
        results.update(got)
    return results
