"""Model-package transfer to a device (docs/protocol.md sections 6-7, docs/model-updates.md).

:func:`upload` is an async generator of the offsets the device acknowledged: a progress
bar, a resume and a test all read the same stream. It speaks to the device through an
:class:`UpdateTransport` (commands with responses, chunk writes without response, and the
device's resume-offset notifications), so the same code drives the emulated device in
process (:class:`DeviceTransport`) and a device over BLE (:class:`SessionTransport`,
on :class:`wearsense.link.session.Session`).

Flow: ``UPDATE_BEGIN`` (the device keeps what it already has of the same package),
``UPDATE_QUERY`` (where to resume), then windows of chunks: the device notifies its
resume offset after every ``WINDOW`` chunks, after each dropped chunk and after the last
byte; the next window starts from the notified offset. ``UPDATE_COMMIT`` verifies and
switches the package in. Any refusal raises :class:`UpdateError` with the device's status.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from wearsense.protocol import Chunk, Command, Opcode, Response, Status
from wearsense.protocol.frames import CHUNK_OVERHEAD

WINDOW = 8  # chunks per resume-offset notification (WS_TRANSFER_WINDOW)
ATT_WRITE_HEADER = 3  # ATT opcode + handle, in front of every written value
DEFAULT_MTU = 247


class UpdateError(Exception):
    """The device refused the update; ``status`` is its answer (docs/protocol.md §9)."""

    def __init__(self, status: Status, message: str) -> None:
        super().__init__(message)
        self.status = status


def chunk_size(mtu: int) -> int:
    """Package bytes per chunk at an ATT MTU: MTU - 3 (ATT header) - 6 (offset, CRC)."""
    return max(1, mtu - ATT_WRITE_HEADER - CHUNK_OVERHEAD)


class UpdateTransport(Protocol):
    """What :func:`upload` needs from a link to the device."""

    mtu: int

    async def command(self, opcode: Opcode, **args: object) -> Response:
        """Writes a command and returns the device's response."""
        ...

    async def write_chunk(self, frame: bytes) -> None:
        """Writes one model-transfer frame without response."""
        ...

    async def next_progress(self, timeout: float) -> tuple[int, Status]:
        """The next resume-offset notification (offset, status); TimeoutError if none."""
        ...


@dataclasses.dataclass
class TransferStats:
    """Bytes the companion wrote over the air (ATT write PDUs, headers included)."""

    att_bytes: int = 0
    chunks: int = 0
    commands: int = 0
    resumes: int = 0  # windows restarted from a notified offset below what was sent


def _decode_progress(frame: bytes) -> tuple[int, Status]:
    if len(frame) != 5:
        raise UpdateError(Status.LENGTH, f"resume-offset notification of {len(frame)} bytes")
    offset, code = struct.unpack("<IB", frame)
    try:
        return offset, Status(code)
    except ValueError:
        raise UpdateError(Status.TYPE, f"unknown status {code} in a notification") from None


async def _latest(queue: asyncio.Queue[tuple[int, Status]], timeout: float) -> tuple[int, Status]:
    """The newest notification: older ones (several dropped chunks of one window) are
    superseded by it."""
    item = await asyncio.wait_for(queue.get(), timeout)
    while not queue.empty():
        item = queue.get_nowait()
    return item


class DeviceTransport:
    """The emulated device core in this process (no radio): ``device`` is a
    :class:`wearsense.firmware.updatable.UpdatableDevice` or anything with its
    ``write_command`` and ``write_transfer``."""

    def __init__(self, device: Any, mtu: int = DEFAULT_MTU) -> None:
        self.device = device
        self.mtu = mtu
        self._token = 0
        self._progress: asyncio.Queue[tuple[int, Status]] = asyncio.Queue()

    async def command(self, opcode: Opcode, **args: object) -> Response:
        self._token = (self._token + 1) & 0xFF
        status, frame = self.device.write_command(Command(opcode, self._token, args).encode())
        if frame is None:
            raise UpdateError(Status(int(status)), f"{opcode.name} refused: {status}")
        return Response.decode(frame)

    async def write_chunk(self, frame: bytes) -> None:
        _, note = self.device.write_transfer(frame)
        if note is not None:
            self._progress.put_nowait(_decode_progress(note))

    async def next_progress(self, timeout: float) -> tuple[int, Status]:
        return await _latest(self._progress, timeout)


class SessionTransport:
    """A connected :class:`wearsense.link.session.Session` (bleak, any backend)."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.mtu = session.mtu
        self._progress: asyncio.Queue[tuple[int, Status]] = asyncio.Queue()
        self._subscribed = False

    async def _subscribe(self) -> None:
        if not self._subscribed:

            def on_progress(frame: bytes) -> None:
                # A malformed notification is ignored: the window times out and resumes.
                with contextlib.suppress(UpdateError):
                    self._progress.put_nowait(_decode_progress(frame))

            await self.session.subscribe_transfer(on_progress)
            self._subscribed = True

    async def command(self, opcode: Opcode, **args: object) -> Response:
        await self._subscribe()
        response: Response = await self.session.command(opcode, **args)
        return response

    async def write_chunk(self, frame: bytes) -> None:
        await self.session.write_transfer(frame)

    async def next_progress(self, timeout: float) -> tuple[int, Status]:
        return await _latest(self._progress, timeout)


def _check(response: Response, what: str) -> Response:
    if response.status != Status.OK:
        status = Status(response.status)
        raise UpdateError(status, f"{what}: the device answered {status.name}")
    return response


async def upload(
    transport: UpdateTransport,
    package: bytes,
    *,
    task: int,
    version: int,
    stats: TransferStats | None = None,
    window_timeout_s: float = 5.0,
    max_stalls: int = 5,
    commit: bool = True,
    stop_after: Callable[[int], Awaitable[bool]] | None = None,
) -> AsyncIterator[int]:
    """Transfers ``package`` and yields every offset the device acknowledged (the first
    is where it resumed); with ``commit`` ends with ``UPDATE_COMMIT``. ``UpdateError``
    carries the device's status when it refuses (BEGIN, a stalled transfer, COMMIT)."""
    stats = stats if stats is not None else TransferStats()
    size = len(package)
    digest = hashlib.sha256(package).digest()

    async def command(opcode: Opcode, what: str, **args: object) -> Response:
        stats.commands += 1
        stats.att_bytes += ATT_WRITE_HEADER + len(Command(opcode, 0, args).encode())
        return _check(await transport.command(opcode, **args), what)

    await command(
        Opcode.UPDATE_BEGIN, "UPDATE_BEGIN", task=task, version=version, size=size, sha256=digest
    )
    query = await command(Opcode.UPDATE_QUERY, "UPDATE_QUERY", task=task)
    offset, in_progress = struct.unpack("<IH", query.data[:6])
    if in_progress != version or offset > size:
        raise UpdateError(Status.STATE, f"the device resumes version {in_progress} at {offset}")
    yield offset
    step = chunk_size(transport.mtu)
    stalls = flash_restarts = 0
    while offset < size:
        sent = offset
        for _ in range(WINDOW):
            if sent >= size:
                break
            data = package[sent : sent + step]
            frame = Chunk(sent, data).encode()
            stats.chunks += 1
            stats.att_bytes += ATT_WRITE_HEADER + len(frame)
            await transport.write_chunk(frame)
            sent += len(data)
        try:
            acked, status = await transport.next_progress(window_timeout_s)
        except TimeoutError:
            stalls += 1
            if stalls > max_stalls:
                raise UpdateError(Status.BUSY, f"no progress from the device at {offset}") from None
            query = await command(Opcode.UPDATE_QUERY, "UPDATE_QUERY", task=task)
            acked, status = struct.unpack("<I", query.data[:4])[0], Status.OK
        if status == Status.FLASH:
            # The device could not program over what its flash held and started the
            # transfer again from 0; a second time means the flash itself is failing.
            flash_restarts += 1
            if flash_restarts > 1:
                raise UpdateError(status, f"the device's flash refuses the package at {acked}")
        elif status not in (Status.OK, Status.STATE, Status.CRC):
            raise UpdateError(status, f"chunk at {acked} refused: {status.name}")
        if acked < sent:
            stats.resumes += 1
        if acked > offset:
            stalls = 0
        offset = acked
        yield offset
        if stop_after is not None and await stop_after(offset):
            return
    if commit:
        await command(Opcode.UPDATE_COMMIT, "UPDATE_COMMIT", task=task)


async def push(
    transport: UpdateTransport,
    package: bytes,
    *,
    task: int,
    version: int,
    on_offset: Callable[[int], None] | None = None,
    stats: TransferStats | None = None,
) -> TransferStats:
    """Runs :func:`upload` to the end; ``on_offset`` sees every acknowledged offset."""
    stats = stats if stats is not None else TransferStats()
    async for offset in upload(transport, package, task=task, version=version, stats=stats):
        if on_offset is not None:
            on_offset(offset)
    return stats


# ---- modelled air time (docs/model-updates.md, "Transfer time") ----

PHY_US_PER_BYTE = {"1M": 8.0, "2M": 4.0}
PHY_PREAMBLE = {"1M": 1, "2M": 2}
T_IFS_US = 150.0
LL_OVERHEAD = 4 + 2 + 3  # access address, LL header, CRC
L2CAP_HEADER = 4


def modelled_transfer_s(
    package_size: int,
    *,
    phy: str = "1M",
    interval_ms: float = 15.0,
    mtu: int = DEFAULT_MTU,
    window: int = WINDOW,
    commands: int = 3,
) -> float:
    """Air time of one transfer, as docs/model-updates.md derives it: every chunk is one LL
    data packet (data length extension: MTU + 4 bytes of L2CAP header) answered by an empty
    packet, T_IFS between; a connection event carries n = floor(interval / t_pair) of them;
    each window of ``window`` chunks takes ceil(window / n) events plus one for the
    resume-offset notification; each command (BEGIN, QUERY, COMMIT) takes two events (the
    write and its indication). Device-side verification time is not included."""
    us = PHY_US_PER_BYTE[phy]
    data = (PHY_PREAMBLE[phy] + LL_OVERHEAD + L2CAP_HEADER + mtu) * us
    empty = (PHY_PREAMBLE[phy] + LL_OVERHEAD) * us
    pair_us = data + T_IFS_US + empty + T_IFS_US
    per_event = max(1, int(interval_ms * 1000 // pair_us))
    chunks = -(-package_size // chunk_size(mtu))
    windows = -(-chunks // window)
    events = windows * (-(-min(window, chunks) // per_event) + 1) + 2 * commands
    return events * interval_ms / 1000.0
