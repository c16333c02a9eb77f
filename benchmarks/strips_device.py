"""Device-side figures of the ECG strips (issue #31; docs/strips.md): what strips cost in
RAM, the partition, how many 30-s strips of real ECG it holds with the codec in the tree,
the bytes on air and modelled transfer time of one strip at MTU 247, and power cuts at
random flash operations while strips are made and released.

Not a ``bench_`` module: the lead combines ``run()`` with the codec's figures under the
``strips`` key of ``build/bench/results.json``. Reads CinC 2017 and MIT-BIH from the data
root (``$WEARSENSE_DATA`` or ``../shared/data``; a dataset that is missing is left out).

- ``ram_bytes``: ``ws_strips_t`` (the 12 KiB ring of compressed blocks, the open and work
  blocks, the table of strips; host build; the M4 figure is ``device.m4_ram_strips_bytes``
  from the replay image).
- ``flash_partition_bytes``: 24 pages of 4 KiB.
- ``strips_capacity.<dataset>``: 30-s strips (consecutive segments of the records, lead
  MLII for MIT-BIH) made into a blank partition until the first one had to be given up:
  how many it then holds; ``strip_image_bytes.<dataset>``: their median image size.
- ``bytes_on_air``: one strip (the median MIT-BIH image): every Strip transfer
  notification at MTU 247 (236 data bytes) with its frame (8), ATT (3), L2CAP (4) and LL
  (preamble, access address, header, MIC, CRC) bytes, plus STRIP_GET and STRIP_RELEASE and
  their indications. ``transfer_s.<phy>``: air time at a 15 ms connection interval, each
  notification one LL packet answered by an empty one (as ``wearsense.updates.transfer``
  models a model transfer), the two commands two connection events each.
- ``power_cut_trials`` / ``power_cut_lost``: a cut at a random operation of the strip
  partition while strips are made and released, then a reboot; lost = strips complete
  and unreleased before the cut (and not given up by the ring's policy) that are missing
  or whose image changed.
"""

from __future__ import annotations

import os
import random
import statistics
from typing import Any

import numpy as np

from wearsense.datasets import cinc2017, mitdb
from wearsense.firmware.device import STRIP_PAGES, DeviceCore, DeviceError
from wearsense.updates.transfer import L2CAP_HEADER, PHY_PREAMBLE, PHY_US_PER_BYTE, T_IFS_US

PAGE_SIZE = 4096
MTU = 247
FRAME_OVERHEAD = 8
ATT_NOTIFY = 3
LL_BYTES = 4 + 2 + 4 + 3  # access address, header, MIC (encrypted link), CRC
INTERVAL_MS = 15.0
STRIP_S = 30
CUT_TRIALS = int(os.environ.get("WEARSENSE_STRIP_CUTS", "300"))


def _segments(name: str, limit: int) -> tuple[int, float, int, list[np.ndarray]]:
    """Up to ``limit`` 30-s int16 segments of a dataset's records (fs, gain, zero)."""
    out: list[np.ndarray] = []
    fs, gain, zero = 0, 1.0, 0
    if name == "cinc2017":
        for rec in cinc2017.iter_records():
            fs, gain, zero = rec.fs, rec.adc_gain, rec.adc_zero
            n = STRIP_S * rec.fs
            out += [rec.signal[i : i + n] for i in range(0, len(rec.signal) - n + 1, n)]
            if len(out) >= limit:
                break
    else:
        for rec in mitdb.iter_records():
            lead = rec.lead_index()
            fs, gain, zero = rec.fs, rec.adc_gain[lead], rec.adc_zero[lead]
            n = STRIP_S * rec.fs
            sig = rec.signals[:, lead]
            out += [sig[i : i + n] for i in range(0, len(sig) - n + 1, 97 * n)]
            if len(out) >= limit:
                break
    return fs, gain, zero, out[:limit]


def capacity(name: str) -> dict[str, Any]:
    fs, gain, zero, segments = _segments(name, 64)
    if not segments:
        return {}
    core = DeviceCore("WS-BENCH", page_size=PAGE_SIZE)
    sizes: list[int] = []
    held = 0
    for seg in segments:
        sid = core.make_strip(seg, fs, adc_gain=gain, adc_zero=zero)
        sizes.append(next(e.image_len for e in core.strips() if e.strip_id == sid))
        if core.strip_stats()["overwritten"]:
            break
        held = len(core.strips())
    return {"capacity": held, "image_bytes": int(statistics.median(sizes)), "fs": fs}


def bytes_on_air(image_len: int) -> int:
    data = MTU - 3 - FRAME_OVERHEAD
    frames = -(-image_len // data)
    per_frame = LL_BYTES + 1 + L2CAP_HEADER + ATT_NOTIFY + FRAME_OVERHEAD
    commands = 2 * (LL_BYTES + 1 + L2CAP_HEADER + 3 + 2 + 6)  # GET and RELEASE writes
    commands += (LL_BYTES + 1 + L2CAP_HEADER + 3 + 3 + 8) + (LL_BYTES + 1 + L2CAP_HEADER + 3 + 3)
    return image_len + frames * per_frame + commands


def transfer_s(image_len: int, phy: str) -> float:
    us = PHY_US_PER_BYTE[phy]
    data_us = (PHY_PREAMBLE[phy] + LL_BYTES + L2CAP_HEADER + MTU) * us
    empty_us = (PHY_PREAMBLE[phy] + LL_BYTES) * us
    per_event = max(1, int(INTERVAL_MS * 1000 // (data_us + empty_us + 2 * T_IFS_US)))
    frames = -(-image_len // (MTU - 3 - FRAME_OVERHEAD))
    events = -(-frames // per_event) + 2 * 2
    return round(events * INTERVAL_MS / 1000.0, 3)


def power_cuts(trials: int, seed: int = 31) -> dict[str, int]:
    """Cuts at random strip-partition operations while strips are made and released."""
    rng = random.Random(seed)
    fs = 250
    t = np.arange(12 * fs)
    lost = 0
    for trial in range(trials):
        # 96 pages of 512 bytes: room for the six strips of a trial (none given up)
        core = DeviceCore("WS-CUTS", page_size=512, strip_pages=96)
        for k in range(3):  # complete strips first
            core.make_strip((np.sin(t * (k + 1) / 40) * 500).astype(np.int16), fs)
        if trial % 2:  # and one of them released
            first = core.strips()[0]
            release = first.strip_id.to_bytes(2, "little") + first.image_crc32.to_bytes(4, "little")
            core.write_command(bytes([6, 1]) + release)
        before = {e.strip_id: core.strip_image(e.strip_id) for e in core.strips() if not e.released}
        core.arm_strip_power_cut(rng.randrange(0, 60), rng.randrange(0, 4096), rng.randrange(256))
        for k in range(3):
            seg = (np.sin(t * (k + 5) / 30) * 400 + rng.randrange(-50, 50)).astype(np.int16)
            try:
                core.make_strip(seg, fs)
            except DeviceError:  # the cut failed the write: expected
                break
        given_up = core.strip_stats()["overwritten"]
        back = core.reset(announce=False)  # the power comes back
        held = {e.strip_id for e in back.strips()}
        missing = [sid for sid in before if sid not in held]
        changed = [sid for sid in before if sid in held and back.strip_image(sid) != before[sid]]
        lost += max(0, len(missing) - given_up) + len(changed)
    return {"power_cut_trials": trials, "power_cut_lost": lost}


def run() -> dict[str, Any]:
    probe = DeviceCore("WS-PROBE", page_size=PAGE_SIZE)
    result: dict[str, Any] = {
        "ram_bytes": int(probe.lib.ws_strips_size()),
        "flash_partition_bytes": PAGE_SIZE * STRIP_PAGES,
        "strips_capacity": {},
        "strip_image_bytes": {},
    }
    for name in ("cinc2017", "mitdb"):
        try:
            got = capacity(name)
        except Exception as exc:  # noqa: BLE001 - a dataset missing from the data root
            print(f"[bench] strips: {name} left out ({exc})", flush=True)
            continue
        if got:
            result["strips_capacity"][name] = got["capacity"]
            result["strip_image_bytes"][name] = got["image_bytes"]
    image = result["strip_image_bytes"].get("mitdb") or next(
        iter(result["strip_image_bytes"].values()), 44 + 2 * 360 * STRIP_S
    )
    result["bytes_on_air"] = bytes_on_air(image)
    result["transfer_s"] = {phy: transfer_s(image, phy) for phy in ("1M", "2M")}
    result.update(power_cuts(CUT_TRIALS))
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
