"""Flow control (docs/link.md): a flood of writes on any path (model-transfer chunks,
acknowledgements, commands; valid or bad; with or without response) does not starve the
Status read or the event stream. The device's radio is given air time
(``wearsense.testing.airtime``), so what the device queues to send really waits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
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
PROMPT_S = 0.5  # the flood's own writes are in; a Status read answers within this
T = TypeVar("T")


def run(coro_fn: Callable[[], Awaitable[T]], timeout: float = 90.0) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro_fn(), timeout)

    return asyncio.run(bounded())


async def until(predicate: Callable[[], bool], timeout: float) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.002)


def frames(kind: str, epoch: int) -> Callable[[int], tuple[str, bytes]]:
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


async def flood_then_read(tmp: Path, kind: str) -> tuple[float, float, dict[str, Any]]:
    """(Status read s, event arrival s, counts) after ``FLOOD`` writes of ``kind``."""
    loop = await Loopback.open(UpdatableWearable(SERIAL), tmp)
    try:
        assert loop.wearable.stack.controller is not None
        pace(loop.wearable.stack.controller, 1000.0)
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
        for i in range(FLOOD):
            uuid, value = make(i)
            await client.write_gatt_char(uuid, value, response=False)
        control = getattr(loop.wearable.peripheral, "flow", None)
        counts["refused"] = control.refused if control is not None else 0
        # right after the flood, a write with response over budget gets BUSY
        if kind in ("acks", "commands"):
            uuid, value = make(0)
            with pytest.raises(BumbleATTError) as err:
                await client.write_gatt_char(uuid, value, response=True)
            assert err.value.att_error == flow.BUSY_ERROR
        t0 = time.monotonic()
        record = StatusRecord.decode(bytes(await client.read_gatt_char(uuids.STATUS)))
        read_s = time.monotonic() - t0
        assert record.epoch == core.info().epoch
        t1 = time.monotonic()
        seq = loop.wearable.inject(HrSummary(0, 0, 0, 60, 50, 60, 70))
        await until(lambda: seq in events, 30)
        event_s = time.monotonic() - t1
        await client.disconnect()
        return read_s, event_s, counts
    finally:
        await loop.close()


@pytest.mark.parametrize("kind", ["bad-chunks", "acks", "bad-acks", "commands", "bad-commands"])
def test_a_write_flood_does_not_starve_the_status_read_or_the_events(
    tmp_path: Path, kind: str
) -> None:
    # Before flow control, 3 000 bad chunks queued 3 000 resume-offset notifications
    # ahead of the read's response (about 3 s at 1 000 packets/s); valid acknowledgements
    # and commands queued a status notification each.
    read_s, event_s, counts = run(lambda: flood_then_read(tmp_path, kind))
    assert read_s < PROMPT_S, (kind, read_s, counts)
    assert event_s < PROMPT_S, (kind, event_s, counts)
    if kind in ("acks", "commands"):
        assert counts["refused"] > FLOOD // 2, counts
    assert counts["transfer"] < FLOOD // 10 and counts["status"] < FLOOD // 10, counts


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    bucket = flow.TokenBucket(3, 10.0, clock=lambda: now[0])
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    now[0] = 0.1
    assert bucket.take() and not bucket.take()
    now[0] = 10.0
    assert sum(bucket.take() for _ in range(10)) == 3
