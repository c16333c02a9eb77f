"""Flow control on the emulated wearable's write paths (docs/link.md, "Flow control").

A central may write as fast as its radio lets it, with or without response, to every
characteristic. Today each write could make the device queue something to send back (a
resume-offset notification per model-transfer chunk, a status notification per
acknowledgement or command, an indication per command); a flood of 3 000 chunks put
3 000 notifications in the device's transmit queue ahead of a Status read's response and
of the event notifications. Here:

- **Budgets per connection** (token buckets): commands ``COMMAND_BURST`` at once, then
  ``COMMAND_RATE`` per second; acknowledgements ``ACK_BURST``, then ``ACK_RATE`` per
  second. A write over budget is not handed to the device core; a write request gets the
  ATT error ``0x80 + BUSY`` (0x89), a write command (without response) is dropped. The
  companion sends a handful of commands per connection and at most one acknowledgement
  every ``ack_interval_s`` (2 s; 20 ms in the in-process tests), far below both.
- **Command responses**: at most ``MAX_PENDING_RESPONSES`` indications waiting for their
  confirmation; a command beyond that gets BUSY too (the companion waits for each
  response before the next command).
- **Notifications caused by writes** (the transfer's resume offset, the status record)
  are coalesced: one per characteristic and connection is in the device's transmit queue
  at a time, and while it is, a newer value replaces the waiting one (only the newest
  resume offset and status count). Model-transfer chunks are always handed to the core
  (constant work each); a flood of them yields a few notifications, not one per chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bumble import att
from bumble.device import Connection

from wearsense.protocol import Status

log = logging.getLogger(__name__)

COMMAND_BURST = 16
COMMAND_RATE = 20.0  # per second
ACK_BURST = 32
ACK_RATE = 64.0  # per second
MAX_PENDING_RESPONSES = 4
DRAIN_WAIT_S = 1.0  # the longest a coalesced notification waits for the queue to drain
BUSY_ERROR = 0x80 + int(Status.BUSY)  # the ATT error of a write over budget


class TokenBucket:
    """``burst`` writes at once, refilled at ``rate`` per second."""

    def __init__(self, burst: int, rate: float, clock: Callable[[], float] = time.monotonic):
        self.burst = float(burst)
        self.rate = rate
        self.clock = clock
        self.tokens = float(burst)
        self.stamp = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Coalescer:
    """Sends the newest value of one notification source on one connection; a value given
    while the previous one is still in the transmit queue replaces the waiting one."""

    def __init__(self, send: Callable[[bytes], Awaitable[None]], drain: Callable[[], Any]):
        self._send = send
        self._drain = drain
        self._waiting: bytes | None = None
        self._task: asyncio.Task[None] | None = None
        self.replaced = 0  # values dropped for a newer one

    def offer(self, value: bytes) -> None:
        if self._waiting is not None:
            self.replaced += 1
        self._waiting = value
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while self._waiting is not None:
            value, self._waiting = self._waiting, None
            try:
                await self._send(value)
                drained = self._drain()
                if drained is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(drained, DRAIN_WAIT_S)
            except Exception as exc:  # the link may have gone meanwhile
                log.debug("coalesced notification not sent: %s", exc)
                return

    def cancel(self) -> None:
        self._waiting = None
        if self._task is not None:
            self._task.cancel()


class ConnectionFlow:
    """The budgets and coalesced notifications of one connection."""

    def __init__(self, connection: Connection, owner: FlowControl | None = None) -> None:
        self.connection = connection
        self.owner = owner
        self.commands = TokenBucket(COMMAND_BURST, COMMAND_RATE)
        self.acks = TokenBucket(ACK_BURST, ACK_RATE)
        self.pending_responses = 0
        self.refused = 0
        self._coalescers: dict[int, Coalescer] = {}

    def _drain(self) -> Awaitable[None] | None:
        host = getattr(self.connection.device, "host", None)
        queue = host.get_data_packet_queue(self.connection.handle) if host else None
        if queue is None:
            return None
        # (raises ValueError when awaited if nothing of the connection was ever queued;
        # the coalescer's wait ignores it)
        drained: Awaitable[None] = queue.drain(self.connection.handle)
        return drained

    def _refuse(self) -> None:
        self.refused += 1
        if self.owner is not None:
            self.owner.refused += 1

    async def drained(self) -> None:
        """Waits (at most DRAIN_WAIT_S) until the connection's transmit queue is empty: the
        strip transfer's pacing (one burst of frames at a time)."""
        drained = self._drain()
        if drained is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(drained, DRAIN_WAIT_S)
        else:
            await asyncio.sleep(0)

    def admit_command(self) -> None:
        """Raises the BUSY ATT error when a command is over budget."""
        if self.pending_responses >= MAX_PENDING_RESPONSES or not self.commands.take():
            self._refuse()
            raise att.ATT_Error(BUSY_ERROR, message="command refused: over budget (BUSY)")

    def admit_ack(self) -> None:
        if not self.acks.take():
            self._refuse()
            raise att.ATT_Error(BUSY_ERROR, message="acknowledgement refused: over budget")

    async def indicate(self, send: Awaitable[None]) -> None:
        """Sends a command response, counted while it waits for its confirmation."""
        self.pending_responses += 1
        try:
            await send
        finally:
            self.pending_responses -= 1

    def notify(self, key: int, value: bytes, send: Callable[[bytes], Awaitable[None]]) -> None:
        """Queues ``value`` for the source ``key`` (an attribute handle), coalesced."""
        coalescer = self._coalescers.get(key)
        if coalescer is None:
            coalescer = self._coalescers[key] = Coalescer(send, self._drain)
        coalescer.offer(value)

    def close(self) -> None:
        for coalescer in self._coalescers.values():
            coalescer.cancel()


def _not_a_refused_write_command(record: logging.LogRecord) -> bool:
    """Bumble logs every exception of a write command (no response to carry it) with its
    traceback; an ATT error there is our refusal of a bad or over-budget write, expected
    by the thousand in a flood: dropped before it is formatted."""
    exc = record.exc_info[1] if record.exc_info else None
    return not isinstance(exc, att.ATT_Error)


class FlowControl:
    """One :class:`ConnectionFlow` per live connection."""

    def __init__(self) -> None:
        self._flows: dict[int, ConnectionFlow] = {}
        self.refused = 0  # writes refused over budget, all connections
        server_log = logging.getLogger("bumble.gatt_server")
        if _not_a_refused_write_command not in server_log.filters:
            server_log.addFilter(_not_a_refused_write_command)

    def of(self, connection: Connection) -> ConnectionFlow:
        flow = self._flows.get(id(connection))
        if flow is None or flow.connection is not connection:
            flow = self._flows[id(connection)] = ConnectionFlow(connection, self)

            def gone(*_args: object) -> None:
                self._flows.pop(id(connection), None)
                flow.close()

            connection.on("disconnection", gone)
        return flow
