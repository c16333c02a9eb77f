"""Fault soak and load measurements of the link, in one process over Bumble's LocalLink:
the device core behind the emulated wearable, the companion session, the SQLite store.

Faults: the radio link dropped at a random point (by the device), a device reset (a new
core booted on the same flash), the companion killed between receiving a batch and
storing it (an exception nothing catches; the session's task dies and a new companion
starts on the same store file). After the faults every event the core assigned a
sequence number to must be in the store exactly once, with the bytes it was emitted
with. Used bounded by the tests and at full count by ``benchmarks/bench_link.py``.
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

from wearsense.link.loopback import Loopback
from wearsense.link.session import SessionConfig
from wearsense.protocol import Event, HrSummary, encode
from wearsense.store import Store

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


def demo_event(i: int) -> HrSummary:
    """A valid heart-rate summary (synthetic values: only the link is measured here)."""
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


@dataclasses.dataclass
class Audit:
    emitted: int  # sequence numbers the core assigned
    stored_rows: int
    lost: int  # assigned by the core, not stored (decoded) in the store
    duplicated: int  # stored more than once, or stored but never assigned
    mismatched: int  # stored bytes differ from what was injected


def audit(db: Path, serial: str, epoch: int, last_seq: int, injected: dict[int, bytes]) -> Audit:
    """Compares the store with the core's own record (its last assigned sequence and the
    bytes of every event injected into it)."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT seq, raw, decoded FROM events WHERE serial = ? AND epoch = ?", (serial, epoch)
        ).fetchall()
    seqs = [int(seq) for seq, _, _ in rows]
    distinct = set(seqs)
    expected = set(range(1, last_seq + 1))
    decoded = {int(seq) for seq, _, ok in rows if ok}
    raw_of = {int(seq): bytes(raw) for seq, raw, _ in rows}
    mismatched = 0
    for seq, packet in injected.items():
        stored = raw_of.get(seq)
        # The core stamps time; everything else must be what was injected.
        if stored is not None and (stored[:1] + stored[8:-2]) != (packet[:1] + packet[8:-2]):
            mismatched += 1
    return Audit(
        emitted=last_seq,
        stored_rows=len(seqs),
        lost=len(expected - decoded),
        duplicated=(len(seqs) - len(distinct)) + len(distinct - expected),
        mismatched=mismatched,
    )


async def soak(
    loop: Loopback,
    db: Path,
    faults: int,
    seed: int,
    progress: Callable[[int], None] | None = None,
    time_sync: bool = True,
) -> tuple[dict[str, int], Audit]:
    """Injects events while ``faults`` faults happen at random points; returns the fault
    counts and the audit against the core's record. Every connection time-syncs (and so
    makes the core emit its STATUS pages) unless ``time_sync`` is false."""
    rng = random.Random(seed)
    counts = dict.fromkeys(FAULT_KINDS, 0)
    injected: dict[int, bytes] = {}
    store = Store(db)
    i = 0

    def inject() -> None:
        nonlocal i
        event = demo_event(i)
        seq = loop.wearable.inject(event)
        injected[seq] = encode(dataclasses.replace(event, seq=seq))
        i += 1

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
                for _ in range(rng.randint(1, 4)):
                    inject()
                await asyncio.sleep(rng.random() * 0.004)
                fault = rng.random()
                if fault < 0.12:
                    counts["drop"] += 1
                    await loop.wearable.drop_link()
                elif fault < 0.18:
                    counts["reset"] += 1
                    await loop.wearable.reset()
                elif fault < 0.24:
                    counts["kill"] += 1
                    sink.armed = True
                    inject()  # a batch to die on
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
    info = loop.wearable.core.info()
    return counts, audit(db, loop.wearable.core.serial, info.epoch, info.last_seq, injected)


async def load(loop: Loopback, db: Path, events: int, rate_hz: float) -> dict[str, float]:
    """Latency from emission (injection into the core) to the committed row, at a paced
    ``rate_hz``, then sustained throughput of a burst of ``events``."""
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
