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

``security`` holds what an attacker central gets: the pairing figures
(``legacy_pairing_accepted``, ``unbonded_access``: counts of attempts the wearable accepted,
each must be 0) come from a raw Bumble central (``wearsense.testing.intruder``) trying every
kind of pairing, and none, against a wearable out of the box and one with an owner.
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
from wearsense.emulator.wearable import EmulatedWearable, address_for
from wearsense.firmware.device import DeviceCore
from wearsense.link.stack import LocalLink
from wearsense.protocol import HrSummary
from wearsense.store import Store
from wearsense.testing import att_probe, faults, flood, intruder, kill9
from wearsense.testing.loopback import Loopback

KEY = "link"
FAULTS = 1000
SEED = 2026
LOAD_EVENTS = 4000
LOAD_RATE_HZ = 100.0
SERIAL = "WS-00BE7C01"
PAIRING_TRIES = 10  # each attack, in each of the two states of the wearable
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


def _hr() -> HrSummary:
    return HrSummary(0, 0, 0, interval_s=60, min_bpm=60, mean_bpm=65, max_bpm=70)


async def _pairing_probe(workdir: Path) -> dict[str, Any]:
    """Every attack of ``intruder.ATTACKS`` against a wearable out of the box (pairing window
    open: only the rules on the pairing itself stand) and again once its owner bonded (the
    window closed: a proper Secure Connections bond is refused too)."""
    loop = await Loopback.open(DeviceCore(SERIAL), workdir)
    attacker = await intruder.Intruder.open(loop.link)
    peer = address_for(SERIAL)
    core = loop.wearable.core
    try:
        ack = core.info().last_seq
        out_of_box = await intruder.probe(
            attacker, peer, PAIRING_TRIES, window_open=True, ack_seq=ack
        )
        freed = core.info().acked_seq  # nobody else acknowledged: anything freed is theirs
        with Store(workdir / "owner.db") as store:
            session = loop.session(store)
            task = asyncio.create_task(session.run())
            await session.wait_streaming(10)
            await session.stop()
            await task
        owner_acked = core.info().acked_seq
        core.inject(_hr())  # something left to free
        ack = core.info().last_seq
        owned = await intruder.probe(attacker, peer, PAIRING_TRIES, window_open=False, ack_seq=ack)
        freed += core.info().acked_seq - owner_acked
    finally:
        await attacker.close()
        await loop.close()
    both = (out_of_box, owned)
    return {
        "legacy_pairing_accepted": sum(p.legacy_accepted for p in both),
        "legacy_pairing_attempts": sum(p.legacy_pairings for p in both),
        "unbonded_access": sum(p.operations_accepted for p in both),
        "unbonded_access_attempts": sum(p.operations for p in both),
        "intruder_pairings_accepted": sum(p.pairings_accepted for p in both),
        "intruder_connections": sum(p.attempts for p in both),
        "intruder_pairing_refusals": {
            reason: sum(p.refusals.get(reason, 0) for p in both)
            for reason in sorted({r for p in both for r in p.refusals})
        },
        "intruder_events_freed": freed,
    }


def _security_pairing(workdir: Path) -> dict[str, Any]:
    """The pairing part of ``link.security`` (issue 29): what an attacker central gets."""
    workdir.mkdir()
    return asyncio.run(_pairing_probe(workdir))


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
        security: dict[str, Any] = {}
        security.update(_security_pairing(Path(tmp, "pairing")))
        security.update(gatt_permissions())
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
        "security": security,
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
