"""The emulated wearable's GATT permissions as a raw central sees them (issue #29): every
handle answers every ATT operation (an error is an answer; silence is not), no write by
an unbonded central changes anything, and the forged-serial attack fails. The walk is
``wearsense.testing.att_probe``, the same one ``benchmarks/bench_link.py`` reports."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest
from bumble import att, gatt

from wearsense.emulator.att_guard import AttGuard
from wearsense.emulator.wearable import EmulatedWearable, address_for
from wearsense.firmware.device import DeviceCore
from wearsense.link.stack import LocalLink, open_stack
from wearsense.protocol import HrSummary
from wearsense.protocol import gatt as uuids
from wearsense.store import Store
from wearsense.testing import att_probe
from wearsense.testing.att_probe import ProbeReport, RawCentral
from wearsense.testing.loopback import Loopback

SERIAL = "WS-00A1B2C3"
DEVICE_NAME = "00002a00-0000-1000-8000-00805f9b34fb"
APPEARANCE = "00002a01-0000-1000-8000-00805f9b34fb"
DATABASE_HASH = "00002b2a-0000-1000-8000-00805f9b34fb"
SERVICE_CHANGED = "00002a05-0000-1000-8000-00805f9b34fb"
CCCD = "00002902-0000-1000-8000-00805f9b34fb"
T = TypeVar("T")

READ_NOT_PERMITTED = 0x02
WRITE_NOT_PERMITTED = 0x03
INSUFFICIENT_ENCRYPTION = 0x0F
INSUFFICIENT_AUTHENTICATION = 0x05
NEEDS_BOND = {INSUFFICIENT_ENCRYPTION, INSUFFICIENT_AUTHENTICATION}


def run(coro_fn: Callable[[], Awaitable[T]], timeout: float = 300.0) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro_fn(), timeout)

    return asyncio.run(bounded())


def hr(i: int) -> HrSummary:
    return HrSummary(
        seq=0,
        time_s=0,
        model_version=0,
        interval_s=60,
        min_bpm=50,
        mean_bpm=60 + i % 20,
        max_bpm=90,
    )


@pytest.fixture(scope="module")
def walk(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[ProbeReport, tuple[int, ...], tuple[int, ...]]:
    """One probe of a wearable holding 5 events: the report and the core's state before
    and after."""
    tmp = tmp_path_factory.mktemp("att-probe")

    async def body() -> tuple[ProbeReport, tuple[int, ...], tuple[int, ...]]:
        link = LocalLink()
        core = DeviceCore(SERIAL)
        wearable = await EmulatedWearable.open(core, link=link, keystore=tmp / "device.json")
        try:
            for i in range(5):
                wearable.inject(hr(i))
            info = core.info()
            before = (info.epoch, info.last_seq, info.acked_seq, info.pending)
            report = await att_probe.probe(link, address_for(SERIAL), tmp)
            info = core.info()
            after = (info.epoch, info.last_seq, info.acked_seq, info.pending)
            return report, before, after
        finally:
            await wearable.close()

    return run(body)


def test_every_handle_answers_every_operation(walk: tuple[ProbeReport, ...]) -> None:
    report = walk[0]
    assert report.paired, "the owner could not bond"
    assert len(report.handles) >= 40  # GAP, GATT, WearSense, Device Information, Battery
    for mode in ("unbonded", "bonded"):
        probed = {(p.handle, p.operation) for p in report.probes if p.mode == mode}
        every = {
            (h, op)
            for h in [*report.handles, max(report.handles) + 1]
            for op in att_probe.OPERATIONS
        }
        assert probed == every, mode
    silent = [(p.mode, hex(p.handle), p.attribute_type, p.operation) for p in report.unanswered]
    assert silent == [], silent
    figures = report.figures()
    assert figures["unanswered"] == 0
    assert figures["operations_probed"] == len(att_probe.OPERATIONS) + 1  # + malformed


def test_no_unbonded_write_changes_anything(walk: tuple[ProbeReport, ...]) -> None:
    report, before, after = walk
    accepted = [(hex(p.handle), p.attribute_type, p.operation) for p in report.unauthorised_writes]
    assert accepted == []
    # Read back by the owner, Write Commands included: nothing changed.
    assert report.before and report.changed == []
    assert report.figures()["unauthorised_writes_accepted"] == 0
    assert after == before  # nothing acknowledged, nothing dropped, same epoch


# (characteristic UUID, descriptor or None, operation, mode) -> the ATT error expected
EXPECTED_ERRORS = [
    # Identity: readable by anyone, written by nobody.
    (uuids.SERIAL_NUMBER, None, "write_request", "unbonded", WRITE_NOT_PERMITTED),
    (uuids.SERIAL_NUMBER, None, "execute_write", "unbonded", WRITE_NOT_PERMITTED),
    (uuids.SERIAL_NUMBER, None, "write_request", "bonded", WRITE_NOT_PERMITTED),
    (uuids.MANUFACTURER_NAME, None, "prepare_write", "unbonded", WRITE_NOT_PERMITTED),
    (DEVICE_NAME, None, "write_request", "unbonded", WRITE_NOT_PERMITTED),
    (APPEARANCE, None, "write_request", "unbonded", WRITE_NOT_PERMITTED),
    # The values that once left the peer waiting 30 s.
    (uuids.EVENTS, None, "write_request", "bonded", WRITE_NOT_PERMITTED),
    (uuids.EVENTS, None, "read", "bonded", READ_NOT_PERMITTED),
    (uuids.STATUS, None, "write_request", "bonded", WRITE_NOT_PERMITTED),
    (uuids.BATTERY_LEVEL, None, "write_request", "bonded", WRITE_NOT_PERMITTED),
    (DATABASE_HASH, None, "write_request", "bonded", WRITE_NOT_PERMITTED),
    (uuids.ACK, None, "read", "bonded", READ_NOT_PERMITTED),
    (uuids.ACK, None, "read_multiple", "unbonded", READ_NOT_PERMITTED),
    (uuids.ACK, None, "read_by_type", "bonded", READ_NOT_PERMITTED),
    (uuids.STATUS, None, "read_multiple_variable", "unbonded", INSUFFICIENT_ENCRYPTION),
    (SERVICE_CHANGED, None, "read", "unbonded", READ_NOT_PERMITTED),
    # The WearSense service needs the bond.
    (uuids.STATUS, None, "read", "unbonded", INSUFFICIENT_ENCRYPTION),
    (uuids.ACK, None, "write_request", "unbonded", INSUFFICIENT_ENCRYPTION),
    (uuids.COMMAND, None, "write_request", "unbonded", INSUFFICIENT_ENCRYPTION),
    (uuids.EVENTS, CCCD, "write_request", "unbonded", INSUFFICIENT_ENCRYPTION),
    (uuids.EVENTS, CCCD, "read", "unbonded", INSUFFICIENT_ENCRYPTION),
    # Every write needs the bond, the standard services' switches included.
    (uuids.BATTERY_LEVEL, CCCD, "write_request", "unbonded", INSUFFICIENT_ENCRYPTION),
    (SERVICE_CHANGED, CCCD, "write_request", "unbonded", INSUFFICIENT_ENCRYPTION),
]


@pytest.mark.parametrize(("uuid", "descriptor", "operation", "mode", "code"), EXPECTED_ERRORS)
def test_the_refusals_carry_the_proper_att_error(
    walk: tuple[ProbeReport, ...],
    uuid: str,
    descriptor: str | None,
    operation: str,
    mode: str,
    code: int,
) -> None:
    report = walk[0]
    handle = report.handle_of(uuid, descriptor=descriptor)
    probe = report.answers(mode, operation)[handle]
    assert (probe.answer, probe.error) == ("error", code), probe


@pytest.mark.parametrize(
    ("uuid", "descriptor", "operation"),
    [
        (uuids.SERIAL_NUMBER, None, "read"),
        (uuids.BATTERY_LEVEL, None, "read"),
        (DATABASE_HASH, None, "read"),
        (uuids.STATUS, None, "read"),
        (uuids.STATUS, None, "read_multiple"),
        (uuids.EVENTS, CCCD, "write_request"),
        (uuids.TRANSFER, CCCD, "execute_write"),
    ],
)
def test_the_owner_still_reads_and_subscribes(
    walk: tuple[ProbeReport, ...], uuid: str, descriptor: str | None, operation: str
) -> None:
    report = walk[0]
    probe = report.answers("bonded", operation)[report.handle_of(uuid, descriptor=descriptor)]
    assert probe.answer == "response", probe


def test_a_forged_serial_does_not_reach_the_companion(tmp_path: Path) -> None:
    """The attack of issue #29: an unpaired central rewrites the Serial Number String
    (every way ATT offers), then the owner's companion syncs. It must still store and
    acknowledge every event under the real serial."""

    async def body() -> None:
        loop = await Loopback.open(DeviceCore(SERIAL), tmp_path)
        store = Store(tmp_path / "companion.db")
        try:
            for i in range(12):
                loop.wearable.inject(hr(i))
            stranger = await open_stack("attacker", att_probe.STRANGER_ADDRESS, link=loop.link)
            try:
                connection = await att_probe.connect(stranger, address_for(SERIAL))
                central = RawCentral(connection, timeout_s=2.0)
                handles = await central.discover()
                report = ProbeReport({}, [], {}, {}, False, handles)
                serial = report.handle_of(uuids.SERIAL_NUMBER)
                name = report.handle_of(DEVICE_NAME)
                forged = b"WS-FORGED"
                for handle in (serial, name):
                    answer = await central.request(
                        att.ATT_Write_Request(attribute_handle=handle, attribute_value=forged)
                    )
                    assert answer == ("error", WRITE_NOT_PERMITTED)
                    await central.client.send_command(
                        att.ATT_Write_Command(attribute_handle=handle, attribute_value=forged)
                    )
                    await central.request(
                        att.ATT_Prepare_Write_Request(
                            attribute_handle=handle, value_offset=0, part_attribute_value=forged
                        )
                    )
                    await central.request(att.ATT_Execute_Write_Request(flags=1))
                answer = await central.request(att.ATT_Read_Request(attribute_handle=serial))
                assert answer == ("response", None)
                await att_probe.disconnect(connection)
            finally:
                await stranger.close()

            session = loop.session(store)
            task = asyncio.create_task(session.run())
            core = loop.wearable.core

            def synced() -> bool:
                info = core.info()
                stored = store.contiguous_seq(SERIAL, info.epoch)
                return info.acked_seq == info.last_seq == stored and stored >= 12

            deadline = asyncio.get_running_loop().time() + 20.0
            while not synced():
                assert asyncio.get_running_loop().time() < deadline, "not synced in time"
                await asyncio.sleep(0.01)
            await session.stop()
            await task
            assert session.serial == SERIAL
            with sqlite3.connect(tmp_path / "companion.db") as db:
                serials = {row[0] for row in db.execute("SELECT DISTINCT serial FROM events")}
            assert serials == {SERIAL}
        finally:
            store.close()
            await loop.close()

    run(body, timeout=120.0)


def test_malformed_and_unknown_requests_are_answered(walk: tuple[ProbeReport, ...]) -> None:
    """A request cut short gets Invalid PDU, an opcode ATT does not define Request Not
    Supported; Bumble's stack had dropped both (an exception while parsing, an ignored
    opcode), leaving the peer to time out."""
    report = walk[0]
    answers = {p.operation: (p.answer, p.error) for p in report.malformed}
    assert len(answers) == len(att.ATT_REQUESTS) + 1
    for name, answer in answers.items():
        expected = 0x06 if name.startswith("unknown") else 0x04
        assert answer == ("error", expected), name


def test_a_failing_value_callback_is_answered_with_unlikely_error() -> None:
    """A value callback that raises something other than an ATT error (a bug, a device
    fault) still gets the peer an answer, Unlikely Error, instead of silence."""
    sent: list[att.ATT_PDU] = []

    def broken(_connection: object) -> bytes:
        raise RuntimeError("sensor bus fault")

    characteristic = gatt.Characteristic(
        uuids.STATUS,
        gatt.Characteristic.Properties.READ,
        "READABLE",
        gatt.CharacteristicValue(read=broken),
    )
    characteristic.handle = 7

    class Server:
        attributes = [characteristic]
        on_gatt_pdu = None

        def get_attribute(self, handle: int) -> object:
            return characteristic if handle == 7 else None

        def send_response(self, _bearer: object, response: att.ATT_PDU) -> None:
            sent.append(response)

    class Bearer:
        att_mtu = 23
        is_encrypted = False

    guard = AttGuard(Server())  # type: ignore[arg-type]

    async def body() -> None:
        for request in (
            att.ATT_Read_Request(attribute_handle=7),
            att.ATT_Read_Multiple_Request(set_of_handles=[7, 7]),
            att.ATT_Read_Request(attribute_handle=8),
        ):
            guard.on_gatt_pdu(Bearer(), request)  # type: ignore[arg-type]
            await asyncio.sleep(0.01)

    run(body, timeout=10.0)
    assert [(r.error_code, r.attribute_handle_in_error) for r in sent] == [  # type: ignore[attr-defined]
        (att.ATT_UNLIKELY_ERROR_ERROR, 7),
        (att.ATT_UNLIKELY_ERROR_ERROR, 7),
        (att.ATT_INVALID_HANDLE_ERROR, 8),
    ]
