"""The companion's BLE session on bleak (docs/link.md).

One :class:`Session` follows one wearable: scan for the WearSense service, connect,
encrypt with the bond (pair the first time), read the serial number (the device's
identity; its address is never used as one), read the status record, check both against
what the bond was made with (``wearsense.link.bonds``: a bond that now brings another
serial or an older epoch is refused before anything is stored), subscribe,
time-sync, then receive events. Each batch of notifications is decoded and **stored
first**; the session acknowledges (``STORED``) only the highest contiguous sequence the
store returned after committing. A packet that does not decode is asked for again
(``RESEND_FROM``); after three failures for the same sequence its raw bytes are stored
flagged undecodable, counted as stored and acknowledged. When the link drops the
session reconnects with exponential backoff. State changes go to ``on_state``.

The same code drives real hardware (bleak's OS backend, the default) and the emulator
(``wearsense.link.bumble_backend``: pass its classes and ``bumble=`` through
``backend_kwargs``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import logging
import random
import struct
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.exc import BleakError

from wearsense.link.bonds import BondIdentities, IdentityChanged
from wearsense.link.errors import LinkError
from wearsense.protocol import (
    Ack,
    AckKind,
    Command,
    Event,
    Opcode,
    ProtocolError,
    Response,
    Status,
    StatusDevice,
    StatusRecord,
    decode,
)
from wearsense.protocol import gatt as uuids

log = logging.getLogger(__name__)

RESEND_LIMIT = 3  # failed receptions of one sequence before its raw bytes are stored


class EventSink(Protocol):
    """Where events go (``wearsense.store.Store`` is one): every call commits before it
    returns, and returns the highest contiguous stored sequence of (serial, epoch)."""

    def ingest(
        self,
        serial: str,
        epoch: int,
        events: Iterable[Event | tuple[Event, bytes]],
        received_utc: float | None = None,
    ) -> int: ...

    def store_undecodable(
        self,
        serial: str,
        epoch: int,
        seq_hint: int,
        raw: bytes,
        received_utc: float | None = None,
        reason: str = "",
    ) -> int: ...

    def contiguous_seq(self, serial: str, epoch: int) -> int: ...

    def set_time_offset(self, serial: str, epoch: int, utc_offset_s: int) -> None: ...


class LinkState(enum.Enum):
    IDLE = "idle"
    SCANNING = "scanning"
    CONNECTING = "connecting"  # connect + encrypt (or pair) + discovery
    SYNCING = "syncing"  # serial, status, subscriptions, time sync
    STREAMING = "streaming"
    BACKOFF = "backoff"  # waiting before the next attempt
    STOPPED = "stopped"


@dataclasses.dataclass
class SessionConfig:
    serial: str | None = None  # follow this device only; None: the first WearSense found
    scan_timeout_s: float = 10.0
    connect_timeout_s: float = 10.0
    command_timeout_s: float = 5.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    max_attempts: int | None = None  # consecutive failed attempts before giving up
    time_sync: bool = True
    # Each acknowledgement costs the device a flash record (docs/protocol.md section 4):
    # acknowledge when this many stored events wait, or when the oldest has waited this
    # long, and when the session stops.
    ack_every: int = 128
    ack_interval_s: float = 2.0


@dataclasses.dataclass
class SessionStats:
    connections: int = 0
    received: int = 0  # notifications, good or bad
    stored: int = 0  # events handed to the sink (new or re-delivered)
    duplicates: int = 0  # already stored, skipped
    undecodable: int = 0  # decode failures
    raw_stored: int = 0  # packets stored raw after RESEND_LIMIT failures
    resends: int = 0  # RESEND_FROM written
    acks: int = 0  # STORED written
    ack_errors: int = 0
    disconnects: int = 0


StateCallback = Callable[[LinkState, str], None]
# on_stored(serial, epoch, events, utc): called once a batch is committed; utc is time.time().
StoredCallback = Callable[[str, int, Sequence[Event], float], None]


class _LinkLost(Exception):
    pass


def _header_seq(raw: bytes) -> int | None:
    """The sequence field of a packet that has a version-1 header, else None."""
    if not 12 <= len(raw) <= 20 or raw[0] >> 5 != 1:
        return None
    return int.from_bytes(raw[1:4], "little") or None


class Session:
    def __init__(
        self,
        sink: EventSink,
        config: SessionConfig | None = None,
        *,
        scanner_backend: type[BaseBleakScanner] | None = None,
        client_backend: type[BaseBleakClient] | None = None,
        backend_kwargs: dict[str, Any] | None = None,
        on_state: StateCallback | None = None,
        on_stored: StoredCallback | None = None,
        clock: Callable[[], float] = time.time,
        identities: BondIdentities | None = None,
    ) -> None:
        self.sink = sink
        self.config = config or SessionConfig()
        self._scanner_backend = scanner_backend
        self._client_backend = client_backend
        self._backend_kwargs = dict(backend_kwargs or {})
        self._on_state = on_state
        self._on_stored = on_stored
        self._clock = clock
        self.identities = identities or BondIdentities()
        self._bond: str | None = None  # the peer address of the current link's bond
        self.state = LinkState.IDLE
        self.stats = SessionStats()
        self.serial: str | None = None
        self.epoch: int | None = None
        self.utc_offset_s: int | None = None
        self._stop = asyncio.Event()
        self._failures: dict[tuple[int, int], int] = {}  # (epoch, seq) -> failed receptions
        self._client: BleakClient | None = None
        self._streaming = asyncio.Event()
        self._others: set[str] = set()  # addresses of WearSense devices with another serial

    # -- public --------------------------------------------------------------------------

    def _set_state(self, state: LinkState, detail: str = "") -> None:
        self.state = state
        log.info("link %s%s", state.value, f": {detail}" if detail else "")
        if self._on_state is not None:
            self._on_state(state, detail)

    async def run(self) -> None:
        """Runs until :meth:`stop` (or ``max_attempts`` consecutive failures, then
        ``LinkError``). Reconnects after every drop, with exponential backoff."""
        failures = 0
        try:
            while not self._stop.is_set():
                reached_streaming = False
                try:
                    reached_streaming = await self._cycle()
                except (LinkError, BleakError, ProtocolError, TimeoutError) as exc:
                    log.warning("link attempt failed: %s", exc)
                    self._set_state(LinkState.BACKOFF, str(exc))
                if self._stop.is_set():
                    break
                failures = 0 if reached_streaming else failures + 1
                limit = self.config.max_attempts
                if limit is not None and failures >= limit:
                    raise LinkError(f"gave up after {failures} failed attempts")
                if failures:
                    delay = min(
                        self.config.backoff_max_s,
                        self.config.backoff_initial_s * 2 ** (failures - 1),
                    ) * random.uniform(0.8, 1.2)
                    self._set_state(LinkState.BACKOFF, f"retry in {delay:.2f} s")
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), delay)
        finally:
            await self._close_client()
            self._set_state(LinkState.STOPPED)

    async def stop(self) -> None:
        """Ends :meth:`run` after the batch in hand is stored; disconnects."""
        self._stop.set()

    async def wait_streaming(self, timeout: float) -> None:
        await asyncio.wait_for(self._streaming.wait(), timeout)

    async def command(self, opcode: Opcode, **args: object) -> Response:
        """Sends a command on the current link and waits for its indicated response."""
        if self._client is None or self._pending_commands is None:
            raise LinkError("not connected")
        return await self._command(self._client, opcode, args)

    # Model transfer (wearsense.updates.transfer.SessionTransport drives these).

    @property
    def mtu(self) -> int:
        """The ATT MTU negotiated on the current link (23 when not connected)."""
        return int(self._client.mtu_size) if self._client is not None else 23

    async def subscribe_transfer(self, callback: Callable[[bytes], None]) -> None:
        """Resume-offset notifications of the model-transfer characteristic go to callback."""
        if self._client is None:
            raise LinkError("not connected")
        await self._client.start_notify(uuids.TRANSFER, lambda _c, data: callback(bytes(data)))

    async def subscribe_strips(self, callback: Callable[[bytes], None]) -> None:
        """Strip transfer notifications (docs/protocol.md) go to callback."""
        if self._client is None:
            raise LinkError("not connected")
        await self._client.start_notify(uuids.STRIP, lambda _c, data: callback(bytes(data)))

    async def write_transfer(self, frame: bytes) -> None:
        """Writes one model-transfer chunk frame (write without response)."""
        if self._client is None:
            raise LinkError("not connected")
        await self._client.write_gatt_char(uuids.TRANSFER, frame, response=False)

    # -- one connection ------------------------------------------------------------------

    _pending_commands: dict[int, asyncio.Future[Response]] | None = None
    _token = 0

    async def _close_client(self) -> None:
        client, self._client = self._client, None
        self._pending_commands = None
        self._streaming.clear()
        if client is not None:
            with contextlib.suppress(Exception):
                await client.disconnect()

    async def _find(self) -> BLEDevice:
        self._set_state(LinkState.SCANNING)

        def match(device: BLEDevice, adv: AdvertisementData) -> bool:
            return uuids.SERVICE in adv.service_uuids and device.address not in self._others

        scanner_kwargs: dict[str, Any] = dict(self._backend_kwargs)
        if self._scanner_backend is not None:
            scanner_kwargs["backend"] = self._scanner_backend
        scan = BleakScanner.find_device_by_filter(
            match,
            timeout=self.config.scan_timeout_s,
            service_uuids=[uuids.SERVICE],
            **scanner_kwargs,
        )
        stop = asyncio.ensure_future(self._stop.wait())
        found = asyncio.ensure_future(scan)
        try:
            await asyncio.wait({stop, found}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if not found.done():
            found.cancel()
            with contextlib.suppress(BaseException):
                await found
            raise LinkError("stopped while scanning")
        device = found.result()
        if device is None:
            self._others.clear()
            raise LinkError(f"no WearSense device found in {self.config.scan_timeout_s:g} s")
        return device

    async def _cycle(self) -> bool:
        device = await self._find()
        self._set_state(LinkState.CONNECTING, device.address)
        lost = asyncio.Event()

        def disconnected(_client: BleakClient) -> None:
            self.stats.disconnects += 1
            lost.set()

        client = BleakClient(
            device,
            disconnected_callback=disconnected,
            timeout=self.config.connect_timeout_s,
            pair=True,
            backend=self._client_backend,
            **self._backend_kwargs,
        )
        self._client = client
        reached = False
        try:
            await client.connect()
            self.stats.connections += 1
            self._set_state(LinkState.SYNCING)
            queue: asyncio.Queue[tuple[bytes, float]] = asyncio.Queue()
            await self._sync(client, queue)
            self._set_state(LinkState.STREAMING, f"{self.serial} epoch {self.epoch}")
            self._streaming.set()
            reached = True
            await self._stream(client, queue, lost)
        except _LinkLost:
            pass
        except BleakError:
            if not lost.is_set() and not self._stop.is_set():
                raise
        finally:
            await self._close_client()
        if not self._stop.is_set():
            self._set_state(LinkState.BACKOFF, "link lost")
        return reached

    async def _sync(self, client: BleakClient, queue: asyncio.Queue[tuple[bytes, float]]) -> None:
        raw_serial = await client.read_gatt_char(uuids.SERIAL_NUMBER)
        serial = bytes(raw_serial).decode("ascii", "replace").strip("\x00 ")
        if not serial:
            raise LinkError("the device reported an empty serial number")
        if self.config.serial is not None and serial != self.config.serial:
            # Not ours: skip this address for a while (addresses change with LE privacy,
            # so this is only a hint; identity is always the serial read here).
            self._others.add(client.address)
            raise LinkError(f"found {serial}, following {self.config.serial}")
        record = StatusRecord.decode(bytes(await client.read_gatt_char(uuids.STATUS)))
        try:
            self.identities.bind(client.address, serial, record.epoch)
        except IdentityChanged:
            self._others.add(client.address)
            raise
        self._bond = client.address
        self.serial = serial
        self._switch_epoch(record.epoch)
        # Events the device will send first: those after the last acknowledgement.
        self._contiguous = self.sink.contiguous_seq(serial, record.epoch)
        if self._contiguous > record.last_seq:
            # The store holds more of this epoch than the device ever assigned: the
            # device lost its flash without starting a new epoch. The device refuses the
            # acknowledgement (STATE) once; its events are skipped as already stored.
            log.error(
                "%s epoch %d: store has seq %d, device assigned only %d",
                serial,
                record.epoch,
                self._contiguous,
                record.last_seq,
            )
        self._last_decoded = record.acked_seq
        self._max_seen = max(self._max_seen, record.last_seq)
        self._awaiting_resend = None
        self._acked = record.acked_seq
        self._ack_due_at = None
        self._pending_commands = {}
        pending = self._pending_commands

        def on_response(_char: BleakGATTCharacteristic, data: bytearray) -> None:
            try:
                response = Response.decode(bytes(data))
            except ProtocolError as exc:
                log.warning("malformed command response %s: %s", bytes(data).hex(), exc)
                return
            future = pending.pop(response.token, None)
            if future is not None and not future.done():
                future.set_result(response)

        await client.start_notify(uuids.COMMAND, on_response)
        if self.config.time_sync:
            utc = int(self._clock())
            response = await self._command(client, Opcode.TIME_SYNC, {"utc_s": utc})
            if response.status == Status.OK and len(response.data) == 4:
                (device_time,) = struct.unpack("<I", response.data)
                self.utc_offset_s = utc - device_time
                assert self.serial is not None and self.epoch is not None
                self.sink.set_time_offset(self.serial, self.epoch, self.utc_offset_s)
            else:
                log.warning("time sync refused (status %d)", response.status)
        # What the store already holds but the device never heard about (an ack lost
        # with a drop, or a companion killed after its commit): acknowledge it now.
        await self._ack(client)

        def on_event(_char: BleakGATTCharacteristic, data: bytearray) -> None:
            queue.put_nowait((bytes(data), self._clock()))

        await client.start_notify(uuids.EVENTS, on_event)

    async def _command(
        self, client: BleakClient, opcode: Opcode, args: dict[str, object]
    ) -> Response:
        pending = self._pending_commands
        if pending is None:
            raise LinkError("not connected")
        self._token = (self._token + 1) & 0xFF
        token = self._token
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        pending[token] = future
        frame = Command(opcode, token, args).encode()
        try:
            await client.write_gatt_char(uuids.COMMAND, frame, response=True)
            return await asyncio.wait_for(future, self.config.command_timeout_s)
        except TimeoutError as exc:
            raise LinkError(f"no response to {opcode.name} in time") from exc
        finally:
            pending.pop(token, None)

    def _switch_epoch(self, epoch: int) -> None:
        assert self.serial is not None
        if epoch != self.epoch:
            log.info("device %s: epoch %s -> %d", self.serial, self.epoch, epoch)
            self.epoch = epoch
            self._contiguous = self.sink.contiguous_seq(self.serial, epoch)
            self._acked = 0
            self._last_decoded = 0
            self._max_seen = 0

    # -- receiving -----------------------------------------------------------------------

    async def _stream(
        self,
        client: BleakClient,
        queue: asyncio.Queue[tuple[bytes, float]],
        lost: asyncio.Event,
    ) -> None:
        while not self._stop.is_set():
            if queue.empty():
                waiters = {
                    asyncio.ensure_future(queue.get()),
                    asyncio.ensure_future(lost.wait()),
                    asyncio.ensure_future(self._stop.wait()),
                }
                due = self._ack_due_at
                timeout = None if due is None else max(0.0, due - time.monotonic())
                done, pending = await asyncio.wait(
                    waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                for waiter in pending:
                    waiter.cancel()
                batch: list[tuple[bytes, float]] = []
                for waiter in done:
                    item = waiter.result()
                    if isinstance(item, tuple):
                        batch.append(item)
            else:
                batch = []
            while not queue.empty():
                batch.append(queue.get_nowait())
            if batch:
                await self._process(client, batch, lost)
            elif lost.is_set():
                raise _LinkLost
            elif not self._stop.is_set():
                await self._maybe_ack(client)
        if not lost.is_set():
            await self._ack(client)  # a clean stop leaves nothing unacknowledged

    async def _process(
        self, client: BleakClient, batch: list[tuple[bytes, float]], lost: asyncio.Event
    ) -> None:
        assert self.serial is not None and self.epoch is not None
        good: list[tuple[Event, bytes]] = []
        for raw, received in batch:
            self.stats.received += 1
            try:
                event = decode(raw)
            except ProtocolError as exc:
                self.stats.undecodable += 1
                self._store(good, received)
                good = []
                await self._undecodable(client, raw, exc, received, lost)
                continue
            if self._awaiting_resend is not None:
                if event.seq != self._awaiting_resend:
                    continue  # in flight before our RESEND_FROM; it comes again
                self._awaiting_resend = None
            if isinstance(event, StatusDevice) and event.epoch != self.epoch:
                self._store(good, received)
                good = []
                if self._bond is not None and self.serial is not None:
                    self.identities.bind(self._bond, self.serial, event.epoch)
                self._switch_epoch(event.epoch)
            self._last_decoded = event.seq
            self._max_seen = max(self._max_seen, event.seq)
            if event.seq <= self._contiguous:
                self.stats.duplicates += 1
                continue
            good.append((event, raw))
        if good:
            self._store(good, batch[-1][1])
        if not lost.is_set():
            await self._maybe_ack(client)

    def _store(self, good: list[tuple[Event, bytes]], received: float) -> None:
        if not good:
            return
        assert self.serial is not None and self.epoch is not None
        self._contiguous = self.sink.ingest(self.serial, self.epoch, good, received_utc=received)
        self.stats.stored += len(good)
        if self._on_stored is not None:
            self._on_stored(self.serial, self.epoch, [e for e, _ in good], time.time())

    async def _undecodable(
        self,
        client: BleakClient,
        raw: bytes,
        error: ProtocolError,
        received: float,
        lost: asyncio.Event,
    ) -> None:
        assert self.serial is not None and self.epoch is not None
        # Which sequence failed: docs/protocol.md takes one more than the last decoded.
        # With notifications still in flight after a RESEND_FROM that guess can name the
        # wrong packet, so a header sequence that is plausible (not stored yet, not past
        # what the stream can hold next) is preferred; see docs/link.md.
        fallback = self._last_decoded + 1
        header = _header_seq(raw)
        plausible = header is not None and self._contiguous < header <= self._max_seen + 1
        seq = header if plausible and header is not None else fallback
        key = (self.epoch, seq)
        self._failures[key] = self._failures.get(key, 0) + 1
        log.warning(
            "undecodable packet %s (seq %d, attempt %d): %s",
            raw.hex(),
            seq,
            self._failures[key],
            error,
        )
        if self._failures[key] < RESEND_LIMIT:
            if self._awaiting_resend is not None and seq != self._awaiting_resend:
                return  # in flight before our RESEND_FROM; the rewind brings it again
            self._awaiting_resend = seq
            self._last_decoded = seq - 1
            if lost.is_set():
                return
            try:
                frame = Ack(AckKind.RESEND_FROM, self.epoch, seq).encode()
                await client.write_gatt_char(uuids.ACK, frame, response=True)
                self.stats.resends += 1
            except BleakError as exc:
                log.warning("RESEND_FROM %d refused: %s", seq, exc)
                self._awaiting_resend = None
            return
        self._contiguous = self.sink.store_undecodable(
            self.serial, self.epoch, seq, raw, received_utc=received, reason=str(error)
        )
        del self._failures[key]
        self.stats.raw_stored += 1
        self._awaiting_resend = None
        self._last_decoded = seq

    async def _maybe_ack(self, client: BleakClient) -> None:
        """Acknowledges when enough stored events wait or the oldest waited long enough."""
        waiting = self._contiguous - self._acked
        if waiting <= 0:
            self._ack_due_at = None
            return
        now = time.monotonic()
        if self._ack_due_at is None:
            self._ack_due_at = now + self.config.ack_interval_s
        if waiting >= self.config.ack_every or now >= self._ack_due_at:
            await self._ack(client)

    async def _ack(self, client: BleakClient) -> None:
        assert self.epoch is not None
        target = self._contiguous
        if target <= self._acked:
            return
        frame = Ack(AckKind.STORED, self.epoch, target).encode()
        try:
            await client.write_gatt_char(uuids.ACK, frame, response=True)
        except BleakError as exc:
            self.stats.ack_errors += 1
            if not client.is_connected:
                raise _LinkLost from exc
            log.warning("acknowledgement %d refused: %s", target, exc)
            self._acked = target  # refused for good (EPOCH/STATE): do not repeat it
            self._ack_due_at = None
            return
        self._acked = target
        self._ack_due_at = None
        self.stats.acks += 1

    _contiguous = 0
    _acked = 0
    _last_decoded = 0
    _max_seen = 0
    _ack_due_at: float | None = None
    _awaiting_resend: int | None = None
