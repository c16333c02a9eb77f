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
from pathlib import Path
from typing import Any

from tqdm import tqdm

from wearsense.emulator.replay import Recordings
from wearsense.emulator.replay import load as load_recordings
from wearsense.emulator.wearable import EmulatedWearable, address_for
from wearsense.firmware.device import DeviceCore
from wearsense.link.stack import LocalLink
from wearsense.testing import att_probe, faults
from wearsense.testing.loopback import Loopback

KEY = "link"
FAULTS = 1000
SEED = 2026
LOAD_EVENTS = 4000
LOAD_RATE_HZ = 100.0
SERIAL = "WS-00BE7C01"


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


async def _probe(workdir: Path) -> att_probe.ProbeReport:
    link = LocalLink()
    core = DeviceCore(SERIAL)
    wearable = await EmulatedWearable.open(core, link=link, keystore=workdir / "device.json")
    try:
        for i in range(5):  # a device with events to protect
            wearable.inject(faults.demo_event(i))
        return await att_probe.probe(link, address_for(SERIAL), workdir)
    finally:
        await wearable.close()


def gatt_permissions() -> dict[str, int]:
    """``link.security``: the ATT probe (wearsense/testing/att_probe.py) walks every
    handle with every ATT operation, unbonded and bonded: handles and operations probed,
    requests left without an answer, unbonded writes accepted or that changed a value."""
    with tempfile.TemporaryDirectory(prefix="wearsense-bench-att-") as tmp:
        return asyncio.run(_probe(Path(tmp))).figures()


def run() -> dict[str, Any]:
    recordings = load_recordings()
    with tempfile.TemporaryDirectory(prefix="wearsense-bench-link-") as tmp:
        soak_dir, load_dir = Path(tmp, "soak"), Path(tmp, "load")
        soak_dir.mkdir()
        load_dir.mkdir()
        counts, audit = asyncio.run(_soak(soak_dir, recordings))
        load = asyncio.run(_load(load_dir))
    return {
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
        "security": {**gatt_permissions()},
        "audit": dataclasses.asdict(audit),
    }
