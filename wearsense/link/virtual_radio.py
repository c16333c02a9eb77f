"""Bumble's virtual LE controllers on loopback, with link supervision (docs/link.md).

``python -m wearsense.link.virtual_radio 127.0.0.1:A 127.0.0.1:B`` serves one virtual LE
controller per TCP port, all on one virtual radio link; a host attaches with Bumble's
``tcp-client:127.0.0.1:A`` transport. It replaces ``python -m bumble.apps.controllers``,
whose controllers strand a peripheral when the central's host is killed:

- Bumble's tcp-server transport keeps the controller (and its connections) when its host
  goes away, and Bumble's virtual controller has no link supervision: nothing ever tells
  the other side that the link is gone. After ``kill -9`` of the companion the emulated
  wearable kept a connection to nobody, never got a disconnection and so never advertised
  again (``HCI_Reset`` from the next host does not clear the connections either).
- Here each host connection gets a fresh controller (a radio powered on with its host).
  When the host's TCP connection closes (the process died, the radio is gone) its
  controller is powered off: it leaves the radio link and says nothing more. Each peer it
  was connected to then loses the link the way a real radio does, after the connection's
  **supervision timeout** (the one the central asked for in its connect request; Bumble's
  central asks for 720 ms) with ``HCI_Disconnection_Complete`` reason 0x08 *Connection
  Timeout*. A host that disconnects cleanly still sends ``LL_TERMINATE_IND`` at once.
- A PDU sent to a controller that has left the link is lost on air (Bumble's link raises),
  so a disconnection asked for during the supervision timeout still completes.
- A new host on a port whose host is still attached takes the port over; the old one is
  cut off (its controller powered off as above).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from typing import Any

from bumble import hci, ll
from bumble.controller import Controller
from bumble.link import LocalLink
from bumble.transport.common import StreamPacketSource

log = logging.getLogger(__name__)

CONNECTION_TIMEOUT = hci.HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR  # 0x08
DEFAULT_SUPERVISION_TIMEOUT_S = 0.72  # when a connection's own value is unknown


class SupervisedLink(LocalLink):
    """A ``LocalLink`` on which a control PDU to a controller that left is lost."""

    def send_ll_control_pdu(
        self, sender_address: hci.Address, receiver_address: hci.Address, packet: Any
    ) -> None:
        if self.find_le_controller(receiver_address) is None:
            log.debug("LL PDU to %s lost: no such controller on air", receiver_address)
            return
        super().send_ll_control_pdu(sender_address, receiver_address, packet)


class SupervisedController(Controller):
    """A Bumble virtual controller that remembers each LE connection's supervision
    timeout and, when powered off, lets its peers time out their links."""

    def __init__(self, name: str, link: LocalLink, **kw: Any) -> None:
        super().__init__(name, link=link, **kw)
        self.timeouts_s: dict[hci.Address, float] = {}  # by peer address
        self.powered = True

    # -- supervision timeout bookkeeping ---------------------------------------------

    def create_le_connection(self, peer_address: hci.Address) -> None:
        pending = self.pending_le_connection
        if pending is not None:
            if isinstance(pending, hci.HCI_LE_Extended_Create_Connection_Command):
                timeout = pending.supervision_timeouts[0]
            else:
                timeout = pending.supervision_timeout
            self.timeouts_s[pending.peer_address] = timeout * 0.01
        super().create_le_connection(peer_address)

    def on_le_connect_ind(self, packet: ll.ConnectInd) -> None:
        self.timeouts_s[packet.initiator_address] = packet.timeout * 0.01
        super().on_le_connect_ind(packet)

    def on_ll_control_pdu(self, sender_address: hci.Address, packet: Any) -> None:
        if isinstance(packet, ll.ConnectionUpdateInd):
            self.timeouts_s[sender_address] = packet.timeout * 0.01
        super().on_ll_control_pdu(sender_address, packet)

    def supervision_timeout_s(self, peer: hci.Address) -> float:
        return self.timeouts_s.get(peer, DEFAULT_SUPERVISION_TIMEOUT_S)

    # -- power -----------------------------------------------------------------------

    def power_off(self) -> None:
        """The host is gone: stop advertising and scanning, leave the radio link, and let
        each connected peer time out its link after the supervision timeout."""
        if not self.powered:
            return
        self.powered = False
        self.host = None
        self.le_legacy_advertiser.stop()
        for advertising_set in self.advertising_sets.values():
            advertising_set.stop()
        self.le_scan_enable = False
        self.pending_le_connection = None
        loop = asyncio.get_running_loop()
        for peer_address, connection in list(self.le_connections.items()):
            peer = self.link.find_le_controller(peer_address)
            if peer is None:
                continue
            peer_connection = peer.le_connections.get(connection.self_address)
            if peer_connection is None:
                continue
            timeout = self.supervision_timeout_s(peer_address)
            log.info(
                "%s: host gone; %s loses the link to %s in %.2f s (supervision timeout)",
                self.name,
                peer.name,
                connection.self_address,
                timeout,
            )
            loop.call_later(timeout, _time_out, peer, peer_connection)
        self.le_connections.clear()
        with contextlib.suppress(KeyError):
            self.link.remove_controller(self)


def _time_out(controller: Controller, connection: Any) -> None:
    """The supervision timer ran out: the link is lost unless it already ended."""
    current = controller.le_connections.get(connection.peer_address)
    if current is not None and current is connection:
        controller.on_le_disconnected(current, CONNECTION_TIMEOUT)


class _HostSink:
    """Controller -> host: HCI packets written to the host's TCP connection."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport

    def on_packet(self, packet: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(packet)


class Port:
    """One TCP port of the virtual radio: at most one host, each with its own controller."""

    def __init__(self, radio: VirtualRadio, name: str) -> None:
        self.radio = radio
        self.name = name
        self.transport: asyncio.Transport | None = None
        self.controller: SupervisedController | None = None

    def attach(self, transport: asyncio.Transport) -> _HostProtocol:
        self.detach()
        controller = SupervisedController(self.name, self.radio.link)
        controller.host = _HostSink(transport)
        self.transport, self.controller = transport, controller
        return _HostProtocol(self, transport, controller)

    def detach(self, transport: asyncio.Transport | None = None) -> None:
        """The attached host left (or ``transport``, when it is still the attached one)."""
        if transport is not None and transport is not self.transport:
            return
        old_transport, old_controller = self.transport, self.controller
        self.transport = self.controller = None
        if old_controller is not None:
            old_controller.power_off()
        if old_transport is not None and not old_transport.is_closing():
            old_transport.close()


class _HostProtocol(asyncio.Protocol):
    def __init__(
        self, port: Port, transport: asyncio.Transport, controller: SupervisedController
    ) -> None:
        self.port = port
        self.transport = transport
        self.source = StreamPacketSource()  # a fresh HCI parser per host connection
        self.source.set_packet_sink(controller)

    def data_received(self, data: bytes) -> None:
        try:
            self.source.data_received(data)
        except Exception as exc:  # a host that sends garbage is cut off
            log.warning("%s: bad HCI data from the host (%s): cut off", self.port.name, exc)
            self.port.detach(self.transport)

    def connection_lost(self, exc: Exception | None) -> None:
        log.info("%s: host gone (%s)", self.port.name, exc or "closed")
        self.port.detach(self.transport)


class VirtualRadio:
    """Virtual controllers on one radio link, one per loopback TCP port."""

    def __init__(self) -> None:
        self.link = SupervisedLink()
        self.ports: list[Port] = []
        self.servers: list[asyncio.Server] = []

    async def serve(self, host: str, port: int) -> Port:
        served = Port(self, f"C{len(self.ports)}:{port}")
        loop = asyncio.get_running_loop()

        def protocol() -> asyncio.Protocol:
            return _Accepting(served)

        self.servers.append(await loop.create_server(protocol, host, port))
        self.ports.append(served)
        return served

    def close(self) -> None:
        for server in self.servers:
            server.close()
        for port in self.ports:
            port.detach()


class _Accepting(asyncio.Protocol):
    """Hands an accepted connection to its port (which makes the host's protocol)."""

    def __init__(self, port: Port) -> None:
        self.port = port
        self.inner: _HostProtocol | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.inner = self.port.attach(transport)

    def data_received(self, data: bytes) -> None:
        if self.inner is not None:
            self.inner.data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.inner is not None:
            self.inner.connection_lost(exc)


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.removeprefix("tcp-server:").rpartition(":")
    return host or "127.0.0.1", int(port)


async def _serve(addresses: list[tuple[str, int]]) -> None:
    radio = VirtualRadio()
    try:
        for host, port in addresses:
            await radio.serve(host, port)
        await asyncio.get_running_loop().create_future()  # until the process is stopped
    finally:
        radio.close()


def main(argv: list[str] | None = None) -> int:
    names = sys.argv[1:] if argv is None else argv
    if len(names) < 2:
        print("usage: python -m wearsense.link.virtual_radio HOST:PORT HOST:PORT [...]")
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve([_address(name) for name in names]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
