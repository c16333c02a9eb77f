"""Fault soak and load measurements of the link, in one process over Bumble's LocalLink:
the device core behind the emulated wearable, the companion session, the SQLite store.

Faults: the radio link dropped at a random point (by the device), a device reset (a new
core booted on the same flash), the companion killed between receiving a batch and
storing it (an exception nothing catches; the session's task dies and a new companion
starts on the same store file). Between faults the whole device (:func:`sensing_core`)
senses real recordings (``wearsense.emulator.replay``, looped): every event comes from its
detectors or is one of its STATUS pages. After the faults every event the core assigned a
sequence number to must be in the store exactly once, with the bytes the core held
(read from its queue: :class:`Emissions`). :func:`load` still injects synthetic summaries
to time the link alone. Used bounded by the tests and at full count by
``benchmarks/bench_link.py``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import random
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from wearsense.emulator.replay import Player, Recordings
from wearsense.emulator.replay import load as load_recordings
from wearsense.emulator.updatable_device import UpdatableWearable, factory_packages
from wearsense.link.session import SessionConfig
from wearsense.protocol import (
    Event,
    HrSummary,
    StatusDevice,
    StatusFirmware,
    StatusModels,
    decode,
)
from wearsense.store import Store
from wearsense.testing.loopback import Loopback

FAULT_KINDS = ("drop", "reset", "kill")


class Killed(BaseException):
    """The companion process "dies": nothing in the session catches this."""


class KillingSink:
    """A store whose ``ingest`` kills the companion while ``armed``: the batch in hand was
    received and is never stored."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.armed = False

    def ingest(
        self,
        serial: str,
        epoch: int,
        events: Iterable[Event | tuple[Event, bytes]],
        received_utc: float | None = None,
    ) -> int:
        if self.armed:
            raise Killed
        return self.store.ingest(serial, epoch, events, received_utc)

    def store_undecodable(
        self,
        serial: str,
        epoch: int,
        seq_hint: int,
        raw: bytes,
        received_utc: float | None = None,
        reason: str = "",
    ) -> int:
        if self.armed:
            raise Killed
        return self.store.store_undecodable(serial, epoch, seq_hint, raw, received_utc, reason)

    def contiguous_seq(self, serial: str, epoch: int) -> int:
        return self.store.contiguous_seq(serial, epoch)

    def set_time_offset(self, serial: str, epoch: int, utc_offset_s: int) -> None:
        self.store.set_time_offset(serial, epoch, utc_offset_s)


def sensing_core(serial: str) -> UpdatableWearable:
    """The whole emulated device on a blank flash, provisioned with the shipped factory
    packages (as ``wearsense emulate`` does): its events come from its detectors."""
    core = UpdatableWearable(serial)
    for path in factory_packages(core.placement):
        core.provision(path.read_bytes())
    return core


class Emissions:
    """What the device core emitted, read from the core itself: after every stretch of
    replayed signal (before the event loop can run an acknowledgement) the packets of its
    queue are recorded by sequence number, with the bytes the core holds."""

    def __init__(self, loop: Loopback, player: Player) -> None:
        self.loop = loop
        self.player = player
        self.packets: dict[int, bytes] = {}

    def record(self) -> list[int]:
        """Records the core's unacknowledged packets; returns the sequence numbers new here."""
        new: list[int] = []
        core: Any = self.loop.wearable.core  # a whole device (sensing_core)
        for packet in core.pending_packets():
            seq = int.from_bytes(packet[1:4], "little")
            if seq not in self.packets:
                self.packets[seq] = packet
                new.append(seq)
        return new

    def sense(self, seconds: int) -> list[int]:
        """Replays ``seconds`` of signal through the detectors (the events they emit are
        notified); returns the sequence numbers the core assigned meanwhile."""
        self.record()  # anything emitted since the last look (STATUS pages of a reset)
        self.loop.wearable.sense(self.player, seconds)
        return self.record()

    def sense_until_event(self, limit_s: int = 3600) -> list[int]:
        """Replays second by second until the detectors emit something (at most
        ``limit_s`` seconds: the recordings hold an event every minute or so)."""
        self.record()
        core = self.loop.wearable.core
        before = core.info().last_seq
        for _ in range(limit_s):
            self.player.step(core, 1)  # type: ignore[arg-type]
            if core.info().last_seq != before:
                self.loop.wearable.peripheral.kick()
                return self.record()
        raise RuntimeError(f"the detectors emitted nothing in {limit_s} s of signal")


def demo_event(i: int) -> HrSummary:
    """A valid heart-rate summary (synthetic values), for :func:`load`:
    only the link is measured there, no detector."""
    low = 40 + i % 50
    return HrSummary(0, 0, 0, 60, min_bpm=low, mean_bpm=low + 5, max_bpm=low + 9)


async def until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise TimeoutError("the link did not catch up in time")
        await asyncio.sleep(0.002)


def all_stored(loop: Loopback, store: Store) -> bool:
    info = loop.wearable.core.info()
    serial = loop.wearable.core.serial
    return (
        store.contiguous_seq(serial, info.epoch) == info.last_seq
        and info.acked_seq == info.last_seq
    )


_STATUS_PAGES = (StatusDevice, StatusModels, StatusFirmware)


@dataclasses.dataclass
class Audit:
    emitted: int  # sequence numbers the core assigned (1..last_seq of the epoch)
    stored_rows: int
    lost: int  # assigned by the core, not stored (decoded) in the store
    duplicated: int  # stored more than once, or stored but never assigned
    mismatched: int  # stored, with bytes other than the ones the core held
    compared: int  # sequence numbers whose bytes were read from the core and compared
    detections: int  # of those, events of the detectors (not STATUS pages)


def audit(db: Path, serial: str, epoch: int, last_seq: int, emitted: dict[int, bytes]) -> Audit:
    """Compares the store with the core's own record: every sequence number up to its last
    assigned one, and the bytes the core held for each event seen in its queue."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT seq, raw, decoded FROM events WHERE serial = ? AND epoch = ?", (serial, epoch)
        ).fetchall()
    seqs = [int(seq) for seq, _, _ in rows]
    distinct = set(seqs)
    expected = set(range(1, last_seq + 1))
    decoded = {int(seq) for seq, _, ok in rows if ok}
    raw_of = {int(seq): bytes(raw) for seq, raw, _ in rows}
    mismatched = sum(
        1 for seq, packet in emitted.items() if seq in raw_of and raw_of[seq] != packet
    )
    detections = sum(
        1 for packet in emitted.values() if not isinstance(decode(packet), _STATUS_PAGES)
    )
    return Audit(
        emitted=last_seq,
        stored_rows=len(seqs),
        lost=len(expected - decoded),
        duplicated=(len(seqs) - len(distinct)) + len(distinct - expected),
        mismatched=mismatched,
        compared=len(emitted),
        detections=detections,
    )


async def soak(
    loop: Loopback,
    db: Path,
    faults: int,
    seed: int,
    progress: Callable[[int], None] | None = None,
    time_sync: bool = True,
    recordings: Recordings | None = None,
) -> tuple[dict[str, int], Audit]:
    """Replays real recordings (default the shipped samples, looped) through the device's
    detectors while ``faults`` faults happen at random points; returns the fault counts and
    the audit against the core's record. ``loop.wearable.core`` must be a whole device
    (:func:`sensing_core`); it reboots on its flash at a reset and the replay goes on.
    Every connection time-syncs (and so makes the core emit its STATUS pages) unless
    ``time_sync`` is false."""
    rng = random.Random(seed)
    counts = dict.fromkeys(FAULT_KINDS, 0)
    emissions = Emissions(loop, Player(recordings or load_recordings(), loop=True))
    store = Store(db)

    config = SessionConfig(
        scan_timeout_s=5.0, backoff_initial_s=0.005, time_sync=time_sync, ack_interval_s=0.02
    )
    try:
        while sum(counts.values()) < faults:
            sink = KillingSink(store)
            session = loop.session(sink, config)
            task = asyncio.create_task(session.run())
            await session.wait_streaming(10)
            killed = False
            for _ in range(rng.randint(3, 25)):
                emissions.sense(rng.randint(5, 40))
                await asyncio.sleep(rng.random() * 0.004)
                fault = rng.random()
                if fault < 0.12:
                    counts["drop"] += 1
                    await loop.wearable.drop_link()
                elif fault < 0.18:
                    counts["reset"] += 1
                    await loop.wearable.reset()
                    emissions.record()  # the boot's STATUS pages
                elif fault < 0.24:
                    counts["kill"] += 1
                    sink.armed = True
                    emissions.sense_until_event()  # a batch to die on
                    killed = True
                    break
                else:
                    continue
                if progress is not None:
                    progress(1)
                if sum(counts.values()) >= faults:
                    break
            if killed:
                if progress is not None:
                    progress(1)
                try:
                    await asyncio.wait_for(task, 10)
                except Killed:
                    pass
                else:
                    raise RuntimeError("the companion survived its kill")
                # A new companion process opens the store afresh.
                store.close()
                store = Store(db)
                continue
            await until(functools.partial(all_stored, loop, store))
            await session.stop()
            await task
        session = loop.session(store, config)
        task = asyncio.create_task(session.run())
        await until(functools.partial(all_stored, loop, store))
        await session.stop()
        await task
    finally:
        store.close()
    emissions.record()
    info = loop.wearable.core.info()
    return counts, audit(
        db, loop.wearable.core.serial, info.epoch, info.last_seq, emissions.packets
    )


async def load(loop: Loopback, db: Path, events: int, rate_hz: float) -> dict[str, float]:
    """Latency from emission (injection into the core) to the committed row, at a paced
    ``rate_hz``, then sustained throughput of a burst of ``events``. Unlike :func:`soak`
    this still injects synthetic HR summaries through the core's host test interface
    (``loop.wearable.core`` may be a bare :class:`DeviceCore`): it measures the link alone;
    replaying the detectors here made the figures the detectors' speed, not the link's."""
    store = Store(db)
    emitted_at: dict[int, float] = {}
    latencies: list[float] = []

    def on_stored(_serial: str, _epoch: int, stored: Any, now: float) -> None:
        for event in stored:
            start = emitted_at.pop(event.seq, None)
            if start is not None:
                latencies.append(now - start)

    config = SessionConfig(scan_timeout_s=5.0, ack_interval_s=0.05)
    session = loop.session(store, config, on_stored=on_stored)
    task = asyncio.create_task(session.run())
    try:
        await session.wait_streaming(10)
        await until(lambda: all_stored(loop, store))  # the boot and time-sync STATUS pages
        paced = max(1, events // 4)
        period = 1.0 / rate_hz
        next_at = time.perf_counter()
        for i in range(paced):
            now = time.perf_counter()
            if now < next_at:
                await asyncio.sleep(next_at - now)
            emitted_at[loop.wearable.inject(demo_event(i))] = time.time()
            next_at += period
        await until(lambda: all_stored(loop, store))
        start = time.perf_counter()
        for i in range(events):
            loop.wearable.inject(demo_event(i))
            if i % 64 == 0:
                await asyncio.sleep(0)
        await until(lambda: all_stored(loop, store), timeout=120)
        elapsed = time.perf_counter() - start
    finally:
        await session.stop()
        await task
        store.close()
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    return {
        "latency_ms_median": round(statistics.median(ordered) * 1000, 3),
        "latency_ms_p99": round(p99 * 1000, 3),
        "latency_samples": len(ordered),
        "latency_rate_hz": rate_hz,
        "events_per_s": round(events / elapsed, 1),
        "burst_events": events,
    }
