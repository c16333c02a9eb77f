"""BLE link over a real Bluetooth stack (Bumble, two virtual controllers on a LocalLink,
one process): a fault soak of at least 1000 faults (link drops at random points, device
core resets, companion killed between receiving and storing) audited against the device
core's own record, then end-to-end latency from emission (injection into the core) to
the committed SQLite row at a paced load, and sustained events per second of a burst.

The soak injects nothing: the whole emulated device (the core and its detectors, factory
models) runs on real recordings replayed in a loop (the ECG record and UMAFall trials of
``wearsense/emulator/replay.py``, from ``$WEARSENSE_DATA`` / ``../shared/data`` when
present, else the shipped ``samples/data``), and every event is its detectors' or its
own STATUS pages. The latency/throughput load still injects valid heart-rate summaries
through the core's host test interface, to measure the link alone (docs/link.md).
"""

from __future__ import annotations

import asyncio
import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from wearsense.emulator.replay import Recordings
from wearsense.emulator.replay import load as load_recordings
from wearsense.firmware.device import DeviceCore
from wearsense.testing import faults, flood, kill9
from wearsense.testing.loopback import Loopback

KEY = "link"
FAULTS = 1000
SEED = 2026
LOAD_EVENTS = 4000
LOAD_RATE_HZ = 100.0
SERIAL = "WS-00BE7C01"
KILL9_TRIALS = 20
KILL9_SPEED = 50.0  # replay speed of the emulator process (events keep coming)
FLOOD_ROUNDS_PER_KIND = 4
SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "data"


async def _soak(workdir: Path, recordings: Recordings) -> tuple[dict[str, int], faults.Audit]:
    loop = await Loopback.open(faults.sensing_core(SERIAL), workdir)
    try:
        with tqdm(total=FAULTS, desc="link faults", unit="fault") as bar:
            return await faults.soak(
                loop, workdir / "soak.db", FAULTS, SEED, bar.update, recordings=recordings
            )
    finally:
        await loop.close()


async def _load(workdir: Path) -> dict[str, float]:
    loop = await Loopback.open(DeviceCore(SERIAL), workdir)
    try:
        return await faults.load(loop, workdir / "load.db", LOAD_EVENTS, LOAD_RATE_HZ)
    finally:
        await loop.close()


def run() -> dict[str, Any]:
    recordings = load_recordings()
    with tempfile.TemporaryDirectory(prefix="wearsense-bench-link-") as tmp:
        soak_dir, load_dir = Path(tmp, "soak"), Path(tmp, "load")
        soak_dir.mkdir()
        load_dir.mkdir()
        counts, audit = asyncio.run(_soak(soak_dir, recordings))
        load = asyncio.run(_load(load_dir))
    result = {
        "faults": sum(counts.values()),
        "faults_by_kind": counts,
        "lost": audit.lost,
        "duplicated": audit.duplicated,
        "mismatched": audit.mismatched,
        "events_emitted": audit.emitted,
        "detector_events": audit.detections,
        "events_compared": audit.compared,
        **{k: v for k, v in load.items()},
        "recordings": list(recordings.names),
        "stack": "bumble LocalLink (in-process virtual controllers)",
        "audit": dataclasses.asdict(audit),
    }
    result.setdefault("security", {}).update(supervision_and_flow())
    return result


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def _rounded(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def supervision_and_flow() -> dict[str, Any]:
    """``link.security`` figures of link supervision and flow control (docs/link.md):
    ``KILL9_TRIALS`` SIGKILLs of a real companion process streaming from a real emulator
    process (``wearsense.testing.kill9``: recovered = the next companion streaming again;
    lost / duplicated: the store audited against the device's saved flash), then floods
    of ``flood.FLOOD`` writes of each kind against the in-process wearable with air time
    (``wearsense.testing.flood``) and the Status read right after each."""
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="wearsense-bench-kill9-") as tmp,
        tqdm(total=KILL9_TRIALS, desc="kill -9 trials", unit="trial") as bar,
    ):
        report = kill9.run(
            Path(tmp),
            KILL9_TRIALS,
            data_dir=SAMPLES,
            speed=KILL9_SPEED,
            on_trial=lambda: bar.update(1),
        )
    kill9_wall = time.monotonic() - started
    reads: list[float] = []
    events: list[float] = []
    started = time.monotonic()
    for kind in flood.KINDS:
        for _ in range(FLOOD_ROUNDS_PER_KIND):
            with tempfile.TemporaryDirectory(prefix="wearsense-bench-flood-") as tmp:
                result = asyncio.run(flood.flood_then_read(Path(tmp), kind))
            reads.append(result.read_s * 1000.0)
            events.append(result.event_s * 1000.0)
    return {
        "kill9_trials": report.trials,
        "kill9_recovered": report.recovered,
        "kill9_lost": report.lost,
        "kill9_duplicated": report.duplicated,
        "kill9_recover_s_median": _rounded(sorted(report.recover_s), 0.5),
        "kill9_recover_s_max": _rounded(sorted(report.recover_s), 1.0),
        "kill9_events_stored": report.stored,
        "kill9_acked_seq": report.acked_seq,
        "kill9_wall_s": round(kill9_wall, 1),
        "flood_status_ms_p99": round(_p99(reads), 1),
        "flood_event_ms_p99": round(_p99(events), 1),
        "flood_rounds": len(reads),
        "flood_writes_per_round": flood.FLOOD,
        "flood_air_pdus_per_s": flood.AIR_PDUS_PER_S,
        "flood_wall_s": round(time.monotonic() - started, 1),
    }
