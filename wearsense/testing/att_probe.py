"""A raw ATT central that walks every handle of a GATT server with every ATT operation,
unbonded and bonded, and records what each request was answered (within a timeout).
``tests/test_gatt_permissions.py`` and ``benchmarks/bench_link.py`` read the same
:class:`ProbeReport`.

The walk, on one ``LocalLink`` beside the emulated wearable:

1. The *owner* (a central that pairs and bonds) reads every handle: the values before.
2. A *stranger* (never paired, never encrypted) discovers every handle (Find Information
   over the whole range) and sends each handle every operation of :data:`OPERATIONS`,
   writes carrying a forged value, plus a handle past the last one.
3. The owner reconnects on its bond, reads every handle again (the values after: a
   stranger's write that changed one shows here, Write Commands included) and walks the
   same operations bonded.

A request is *unanswered* when no response or error came back within ``timeout_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bumble import att, core, gatt, hci
from bumble.device import Connection

from wearsense.link.stack import LocalLink, Stack, open_stack

OWNER_ADDRESS = "C0:57:53:00:00:A1"
STRANGER_ADDRESS = "C0:57:53:00:00:A2"
FORGED = b"WS-FORGED"
CCCD_FORGED = b"\x01\x00"  # notifications on: the only well-formed CCCD write
TIMEOUT_S = 2.0

OPERATIONS = (
    "find_information",
    "find_by_type_value",
    "read_by_type",
    "read_by_group_type",
    "read",
    "read_blob",
    "read_multiple",
    "read_multiple_variable",
    "write_request",
    "write_command",
    "prepare_write",
    "execute_write",
)
WRITES = ("write_request", "write_command", "prepare_write", "execute_write")
UNKNOWN_REQUEST = 0x30  # no such ATT request (bit 6 clear: a request, not a command)


def malformed_pdus() -> dict[str, bytes]:
    """Every ATT request cut short (its opcode and one byte, the Execute Write its
    opcode alone) and a request opcode ATT does not define: each must still be
    answered (Invalid PDU, Request Not Supported)."""
    pdus = {
        f"truncated {op.name.lower()}": bytes([op]) + (b"" if op == 0x18 else b"\x01")
        for op in att.ATT_REQUESTS
    }
    pdus[f"unknown request 0x{UNKNOWN_REQUEST:02X}"] = bytes([UNKNOWN_REQUEST, 0x01, 0x00])
    return pdus


@dataclasses.dataclass(frozen=True)
class Probe:
    """One operation on one handle and what came back."""

    mode: str  # "unbonded" or "bonded"
    handle: int
    attribute_type: str
    operation: str
    answer: str  # "response", "error", "none" (nothing within the timeout), "command"
    error: int | None = None  # the ATT error code of an error response
    elapsed_ms: float = 0.0

    @property
    def accepted(self) -> bool:
        return self.answer == "response"


@dataclasses.dataclass
class ProbeReport:
    handles: dict[int, str]  # handle -> attribute type, as Find Information told
    probes: list[Probe]
    before: dict[int, bytes | int]  # handle -> value the owner read, or its ATT error
    after: dict[int, bytes | int]
    paired: bool  # whether the owner could bond (no bonded walk otherwise)
    types: dict[int, core.UUID] = dataclasses.field(default_factory=dict)
    malformed: list[Probe] = dataclasses.field(default_factory=list)  # handle 0

    def handle_of(self, uuid: str, *, descriptor: str | None = None) -> int:
        """The value handle of the first attribute of type ``uuid`` (or, with
        ``descriptor``, the handle of that descriptor type that follows it)."""
        value = next(h for h, t in sorted(self.types.items()) if t == core.UUID(uuid))
        if descriptor is None:
            return value
        wanted = core.UUID(descriptor)
        return next(h for h, t in sorted(self.types.items()) if h > value and t == wanted)

    @property
    def unanswered(self) -> list[Probe]:
        return [p for p in self.probes + self.malformed if p.answer == "none"]

    def answers(self, mode: str, operation: str) -> dict[int, Probe]:
        return {p.handle: p for p in self.probes if p.mode == mode and p.operation == operation}

    @property
    def changed(self) -> list[int]:
        """Handles whose value, as the owner reads it, differs after the stranger's walk."""
        return sorted(h for h in self.before if self.after.get(h) != self.before[h])

    @property
    def unauthorised_writes(self) -> list[Probe]:
        """The stranger's writes that the server accepted (a write or prepare/execute
        response)."""
        return [
            p
            for p in self.probes
            if p.mode == "unbonded"
            and p.operation in WRITES
            and p.accepted
            and p.handle in self.handles
        ]

    def figures(self) -> dict[str, int]:
        """The ``link.security`` figures of the bench."""
        return {
            "handles_probed": len({p.handle for p in self.probes}),
            # the ATT operations, plus "a malformed request" when those were sent
            "operations_probed": len({p.operation for p in self.probes}) + bool(self.malformed),
            "unanswered": len(self.unanswered),
            "unauthorised_writes_accepted": len(self.unauthorised_writes) + len(self.changed),
        }


# -- the requests ------------------------------------------------------------------------


def _type16(attribute_type: core.UUID) -> core.UUID:
    """Find By Type Value takes a 16-bit type; a 128-bit one is asked as 'primary service'."""
    if len(attribute_type.to_bytes()) == 2:
        return attribute_type
    return gatt.GATT_PRIMARY_SERVICE_ATTRIBUTE_TYPE


def _forged(attribute_type: core.UUID) -> bytes:
    if attribute_type == gatt.GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR:
        return CCCD_FORGED
    return FORGED


def _pdus(operation: str, handle: int, attribute_type: core.UUID) -> list[att.ATT_PDU]:
    value = _forged(attribute_type)
    match operation:
        case "find_information":
            return [att.ATT_Find_Information_Request(starting_handle=handle, ending_handle=handle)]
        case "find_by_type_value":
            return [
                att.ATT_Find_By_Type_Value_Request(
                    starting_handle=handle,
                    ending_handle=handle,
                    attribute_type=_type16(attribute_type),
                    attribute_value=value,
                )
            ]
        case "read_by_type":
            return [
                att.ATT_Read_By_Type_Request(
                    starting_handle=handle, ending_handle=handle, attribute_type=attribute_type
                )
            ]
        case "read_by_group_type":
            return [
                att.ATT_Read_By_Group_Type_Request(
                    starting_handle=handle,
                    ending_handle=handle,
                    attribute_group_type=gatt.GATT_PRIMARY_SERVICE_ATTRIBUTE_TYPE,
                )
            ]
        case "read":
            return [att.ATT_Read_Request(attribute_handle=handle)]
        case "read_blob":
            return [att.ATT_Read_Blob_Request(attribute_handle=handle, value_offset=0)]
        case "read_multiple":
            return [att.ATT_Read_Multiple_Request(set_of_handles=[handle, handle])]
        case "read_multiple_variable":
            return [att.ATT_Read_Multiple_Variable_Request(set_of_handles=[handle, handle])]
        case "write_request":
            return [att.ATT_Write_Request(attribute_handle=handle, attribute_value=value)]
        case "write_command":
            return [att.ATT_Write_Command(attribute_handle=handle, attribute_value=value)]
        case "prepare_write":
            return [
                att.ATT_Prepare_Write_Request(
                    attribute_handle=handle, value_offset=0, part_attribute_value=value
                )
            ]
        case "execute_write":  # a one-part reliable write: prepare, then execute
            return [
                att.ATT_Prepare_Write_Request(
                    attribute_handle=handle, value_offset=0, part_attribute_value=value
                ),
                att.ATT_Execute_Write_Request(flags=1),
            ]
    raise ValueError(f"unknown ATT operation {operation!r}")


class RawCentral:
    """ATT requests on one connection, each bounded by ``timeout_s``."""

    def __init__(self, connection: Connection, timeout_s: float) -> None:
        self.connection = connection
        self.timeout_s = timeout_s
        self.client = connection.gatt_client

    async def request(self, pdu: att.ATT_PDU) -> tuple[str, int | None]:
        try:
            response = await asyncio.wait_for(self.client.send_request(pdu), self.timeout_s)
        except (TimeoutError, core.TimeoutError):
            return "none", None
        if response.op_code == att.Opcode.ATT_ERROR_RESPONSE:
            return "error", int(response.error_code)
        return "response", None

    async def raw(self, data: bytes) -> tuple[str, int | None]:
        """Sends ``data`` as it is and waits for whatever response comes back."""
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[Any] = loop.create_future()
        client: Any = self.client
        original = client.on_gatt_pdu

        def intercept(pdu: att.ATT_PDU) -> None:
            if pdu.op_code in att.ATT_RESPONSES and not answered.done():
                answered.set_result(pdu)
            else:
                original(pdu)

        client.on_gatt_pdu = intercept
        try:
            client.send_gatt_pdu(data)
            response = await asyncio.wait_for(answered, self.timeout_s)
        except TimeoutError:
            return "none", None
        finally:
            client.on_gatt_pdu = original
        if response.op_code == att.Opcode.ATT_ERROR_RESPONSE:
            return "error", int(response.error_code)
        return "response", None

    async def malformed(self, mode: str) -> list[Probe]:
        probes = []
        for name, data in malformed_pdus().items():
            started = time.perf_counter()
            answer, error = await self.raw(data)
            elapsed = (time.perf_counter() - started) * 1000.0
            probes.append(Probe(mode, 0, "-", name, answer, error, elapsed))
        return probes

    async def operation(self, operation: str, handle: int, attribute_type: core.UUID) -> Probe:
        started = time.perf_counter()
        answer, error = "response", None
        for pdu in _pdus(operation, handle, attribute_type):
            if pdu.op_code == att.Opcode.ATT_WRITE_COMMAND:
                await self.client.send_command(pdu)
                answer = "command"
                continue
            answer, error = await self.request(pdu)
            if answer != "response":
                if operation == "execute_write":  # clear what a refused prepare left
                    with contextlib.suppress(Exception):
                        await self.request(att.ATT_Execute_Write_Request(flags=0))
                break
        if operation == "prepare_write":  # leave no queued write behind
            with contextlib.suppress(Exception):
                await self.request(att.ATT_Execute_Write_Request(flags=0))
        elapsed = (time.perf_counter() - started) * 1000.0
        return Probe("", handle, str(attribute_type), operation, answer, error, elapsed)

    async def discover(self) -> dict[int, core.UUID]:
        """Every handle and its type (Find Information over 0x0001..0xFFFF)."""
        handles: dict[int, core.UUID] = {}
        start = 0x0001
        while start <= 0xFFFF:
            pdu = att.ATT_Find_Information_Request(starting_handle=start, ending_handle=0xFFFF)
            response = await asyncio.wait_for(self.client.send_request(pdu), self.timeout_s)
            if response.op_code == att.Opcode.ATT_ERROR_RESPONSE:
                break
            size = 2 if response.format == 1 else 16
            data = response.information_data
            last = start
            for offset in range(0, len(data), 2 + size):
                handle = int.from_bytes(data[offset : offset + 2], "little")
                handles[handle] = core.UUID.from_bytes(data[offset + 2 : offset + 2 + size])
                last = handle
            start = last + 1
        return handles

    async def snapshot(self, handles: dict[int, core.UUID]) -> dict[int, bytes | int]:
        """What a Read Request of each handle returns: the value, or the ATT error."""
        values: dict[int, bytes | int] = {}
        for handle in handles:
            pdu = att.ATT_Read_Request(attribute_handle=handle)
            try:
                response = await asyncio.wait_for(self.client.send_request(pdu), self.timeout_s)
            except (TimeoutError, core.TimeoutError):
                values[handle] = -1
                continue
            if response.op_code == att.Opcode.ATT_ERROR_RESPONSE:
                values[handle] = int(response.error_code)
            else:
                values[handle] = bytes(response.attribute_value)
        return values

    async def walk(self, mode: str, handles: dict[int, core.UUID]) -> list[Probe]:
        probes = []
        beyond = max(handles, default=0) + 1
        targets = {**handles, beyond: gatt.GATT_PRIMARY_SERVICE_ATTRIBUTE_TYPE}
        for handle, attribute_type in targets.items():
            for operation in OPERATIONS:
                probe = await self.operation(operation, handle, attribute_type)
                probes.append(dataclasses.replace(probe, mode=mode))
        return probes


# -- the walk ----------------------------------------------------------------------------


async def connect(stack: Stack, address: str, attempts: int = 20) -> Connection:
    peer = hci.Address(address, hci.Address.RANDOM_DEVICE_ADDRESS)
    last: Exception | None = None
    for _ in range(attempts):
        try:
            return await stack.device.connect(peer, timeout=5.0)
        except Exception as exc:  # still connected to the previous central: retry
            last = exc
            await asyncio.sleep(0.1)
    raise ConnectionError(f"cannot connect to {address}: {last}")


async def disconnect(connection: Connection) -> None:
    with contextlib.suppress(Exception):
        await connection.disconnect()
    await asyncio.sleep(0.05)  # the peripheral advertises again


async def _secure(connection: Connection, bonded: bool) -> bool:
    try:
        if bonded:
            await asyncio.wait_for(connection.encrypt(), 10.0)
        else:
            await asyncio.wait_for(connection.pair(), 10.0)
    except Exception:
        return False
    return bool(connection.is_encrypted)


async def probe(
    link: LocalLink,
    address: str,
    workdir: Path,
    *,
    bonded: bool = True,
    timeout_s: float = TIMEOUT_S,
    before_pairing: Callable[[], Awaitable[None] | None] | None = None,
) -> ProbeReport:
    """Walks the GATT server at ``address`` on ``link`` (see the module's docstring).
    ``bonded=False`` skips the owner (no values before/after, no bonded walk).
    ``before_pairing`` runs before the owner pairs (e.g. opening a pairing window)."""
    stranger = await open_stack("att-stranger", STRANGER_ADDRESS, link=link)
    owner = (
        await open_stack("att-owner", OWNER_ADDRESS, link=link, keystore=workdir / "owner.json")
        if bonded
        else None
    )
    try:
        before: dict[int, bytes | int] = {}
        after: dict[int, bytes | int] = {}
        paired = False
        if owner is not None:
            connection = await connect(owner, address)
            if before_pairing is not None:
                started = before_pairing()
                if started is not None:
                    await started
            paired = await _secure(connection, bonded=False)
            central = RawCentral(connection, timeout_s)
            handles = await central.discover()
            before = await central.snapshot(handles)
            await disconnect(connection)

        connection = await connect(stranger, address)
        central = RawCentral(connection, timeout_s)
        handles = await central.discover()
        probes = await central.walk("unbonded", handles)
        malformed = await central.malformed("unbonded")
        await disconnect(connection)

        if owner is not None:
            connection = await connect(owner, address)
            central = RawCentral(connection, timeout_s)
            if paired and await _secure(connection, bonded=True):
                after = await central.snapshot(handles)
                probes += await central.walk("bonded", handles)
            else:
                after = await central.snapshot(handles)
            await disconnect(connection)
        types = {handle: str(attribute_type) for handle, attribute_type in handles.items()}
        return ProbeReport(types, probes, before, after, paired, dict(handles), malformed)
    finally:
        for stack in (stranger, owner):
            if stack is not None:
                await stack.close()


def format_report(report: ProbeReport) -> str:
    """One line per handle: its type and each operation's answer, per mode."""
    lines = []
    for mode in ("unbonded", "bonded"):
        rows = [p for p in report.probes if p.mode == mode]
        if not rows:
            continue
        lines.append(f"{mode}: {' '.join(OPERATIONS)}")
        for handle in sorted({p.handle for p in rows}):
            cells = []
            for p in (r for r in rows if r.handle == handle):
                cells.append(
                    "ok"
                    if p.answer == "response"
                    else "cmd"
                    if p.answer == "command"
                    else "NONE"
                    if p.answer == "none"
                    else f"{p.error:02X}"
                )
            kind = report.handles.get(handle, "-")
            lines.append(f"  0x{handle:04X} {kind[:40]:40} {' '.join(cells)}")
    return "\n".join(lines)
