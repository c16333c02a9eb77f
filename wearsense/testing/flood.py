"""Write floods against the emulated wearable (docs/link.md, "Flow control"), for the
tests and ``benchmarks/bench_link.py``: an in-process wearable whose radio has air time
(:mod:`wearsense.testing.airtime`), a bonded central subscribed to every notification,
``FLOOD`` writes without response of one kind, then a timed Status read and a timed
event notification."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bleak import BleakClient

from wearsense.emulator import flow
from wearsense.emulator.updatable_device import UpdatableWearable
from wearsense.emulator.wearable import address_for
from wearsense.link.bumble_backend import BumbleATTError
from wearsense.protocol import Ack, AckKind, Command, HrSummary, Opcode, StatusRecord, decode
from wearsense.protocol import gatt as uuids
from wearsense.testing.airtime import pace
from wearsense.testing.loopback import Loopback

SERIAL = "WS-00F10000"
FLOOD = 3000
AIR_PDUS_PER_S = 1000.0
KINDS = ("bad-chunks", "acks", "bad-acks", "commands", "bad-commands")


@dataclasses.dataclass
class FloodResult:
    kind: str
    read_s: float  # the Status read right after the flood
    event_s: float  # an event stored right after the read, until its notification
    busy_answered: bool | None  # a write with response right after: BUSY (None: not tried)
    refused: int  # writes the device refused over budget
    notifications: dict[str, int]  # per characteristic, during the whole round


async def until(predicate: Callable[[], bool], timeout: float) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.002)


def frames(kind: str, epoch: int) -> Callable[[int], tuple[str, bytes]]:
    """The ``i``-th write of a flood of ``kind`` (one of ``KINDS``): (UUID, value)."""

    def make(i: int) -> tuple[str, bytes]:
        if kind == "bad-chunks":
            return uuids.TRANSFER, bytes([i & 0xFF]) * 20  # a CRC that never matches
        if kind == "acks":
            return uuids.ACK, Ack(AckKind.STORED, epoch, 0).encode()
        if kind == "bad-acks":
            return uuids.ACK, bytes([i & 0xFF, 7])
        if kind == "commands":
            return uuids.COMMAND, Command(Opcode.UPDATE_QUERY, i & 0xFF, {"task": 0}).encode()
        return uuids.COMMAND, bytes([0x63, i & 0xFF])  # bad-commands: unknown opcode

    return make


async def flood_then_read(tmp: Path, kind: str, writes: int = FLOOD) -> FloodResult:
    loop = await Loopback.open(UpdatableWearable(SERIAL), tmp)
    try:
        assert loop.wearable.stack.controller is not None
        pace(loop.wearable.stack.controller, AIR_PDUS_PER_S)
        client = BleakClient(address_for(SERIAL), pair=True, **loop.backend_kwargs())
        await client.connect()
        events: list[int] = []
        counts = {"transfer": 0, "status": 0, "responses": 0}

        def on_event(_c: Any, data: bytearray) -> None:
            events.append(decode(bytes(data)).seq)

        def counter(key: str) -> Callable[[Any, bytearray], None]:
            return lambda _c, _d: counts.__setitem__(key, counts[key] + 1)

        await client.start_notify(uuids.EVENTS, on_event)
        await client.start_notify(uuids.TRANSFER, counter("transfer"))
        await client.start_notify(uuids.STATUS, counter("status"))
        await client.start_notify(uuids.COMMAND, counter("responses"))
        core = loop.wearable.core
        await until(lambda: bool(events) and events[-1] == core.info().last_seq, 10)
        make = frames(kind, core.info().epoch)
        for i in range(writes):
            uuid, value = make(i)
            await client.write_gatt_char(uuid, value, response=False)
        control = getattr(loop.wearable.peripheral, "flow", None)
        refused = control.refused if control is not None else 0
        busy: bool | None = None
        if kind in ("acks", "commands"):  # over budget right after the flood: BUSY
            uuid, value = make(0)
            try:
                await client.write_gatt_char(uuid, value, response=True)
                busy = False
            except BumbleATTError as exc:
                busy = exc.att_error == flow.BUSY_ERROR
        t0 = time.monotonic()
        record = StatusRecord.decode(bytes(await client.read_gatt_char(uuids.STATUS)))
        read_s = time.monotonic() - t0
        assert record.epoch == core.info().epoch
        t1 = time.monotonic()
        seq = loop.wearable.inject(HrSummary(0, 0, 0, 60, 50, 60, 70))
        await until(lambda: seq in events, 30)
        event_s = time.monotonic() - t1
        await client.disconnect()
        return FloodResult(kind, read_s, event_s, busy, refused, counts)
    finally:
        await loop.close()
