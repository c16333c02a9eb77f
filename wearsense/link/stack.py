"""Bumble stacks: a Bumble ``Device`` (host) attached either to an in-process virtual
controller on a ``LocalLink`` or to a ``tcp-client:`` HCI transport served by
``python -m wearsense.link.virtual_radio`` (Bumble's virtual controllers, supervised).

Both the emulated wearable and the companion's Bumble-backed bleak backend build their
stack here, so the security settings (LE Secure Connections, bonding, keys kept in a
JSON keystore file only its owner may read: ``wearsense.link.keystore``) are the same on
both sides.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from pathlib import Path
from typing import Any

from bumble import hci, pairing
from bumble.controller import Controller
from bumble.device import Device
from bumble.host import Host
from bumble.keys import KeyStore, MemoryKeyStore
from bumble.link import LocalLink
from bumble.transport import Transport, open_transport
from bumble.transport.common import AsyncPipeSink

from wearsense.link.errors import LinkError
from wearsense.link.keystore import PrivateJsonKeyStore, open_keystore_check

__all__ = ["LocalLink", "Stack", "pairing_config", "open_stack"]


def pairing_config() -> pairing.PairingConfig:
    """LE Secure Connections with bonding; "just works" (the patch has no display or
    keyboard), identity keys exchanged so a bond survives a private address."""
    delegate = pairing.PairingDelegate(
        io_capability=pairing.PairingDelegate.IoCapability.NO_OUTPUT_NO_INPUT,
    )
    return pairing.PairingConfig(sc=True, mitm=False, bonding=True, delegate=delegate)


@dataclasses.dataclass
class Stack:
    """One Bumble device and what keeps it alive (a transport, or a virtual controller)."""

    device: Device
    transport: Transport | None = None
    controller: Controller | None = None

    async def close(self) -> None:
        # A controller that stopped answering must not keep the process from exiting.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.device.power_off(), CLOSE_TIMEOUT_S)
        if self.transport is not None:
            with contextlib.suppress(Exception):
                await self.transport.close()


def _keystore(path: Path | None) -> KeyStore:
    if path is None:
        return MemoryKeyStore()
    return PrivateJsonKeyStore(path)  # mode 0600; LinkError when others may read it


async def open_stack(
    name: str,
    address: str,
    *,
    link: LocalLink | None = None,
    transport: str | None = None,
    keystore: Path | None = None,
) -> Stack:
    """Creates and powers on a Bumble device named ``name`` with the static random
    ``address``, on ``link`` (in-process) or on the HCI ``transport`` (for example
    ``tcp-client:127.0.0.1:6402``). Bonds go to the JSON ``keystore`` file (in memory when
    ``None``; refused with ``LinkError`` when others may read it). Raises ``LinkError`` when
    the transport cannot be opened."""
    if (link is None) == (transport is None):
        raise LinkError("open_stack needs exactly one of link= or transport=")
    if keystore is not None:
        open_keystore_check(keystore)  # LinkError at once, not a retried power-on
    addr = hci.Address(address, hci.Address.RANDOM_DEVICE_ADDRESS)
    if link is not None:
        controller = Controller(name, link=link)
        host = Host(controller, AsyncPipeSink(controller))
        device = Device(name=name, address=addr, host=host)
        await _power_on(device, name, keystore)
        return Stack(device, None, controller)
    assert transport is not None
    # bumble's tcp-server transport can lose a client that reconnects right after the
    # previous one left (the old connection's teardown clears the new one): retry.
    last: Exception | None = None
    for attempt in range(POWER_ON_ATTEMPTS):
        try:
            hci_transport = await open_transport(transport)
        except Exception as exc:  # bumble raises several types for a refused socket
            raise LinkError(f"cannot open HCI transport {transport!r}: {exc}") from exc
        source: Any = hci_transport.source
        device = Device.with_hci(name, addr, source, hci_transport.sink)
        try:
            await asyncio.wait_for(_power_on(device, name, keystore), POWER_ON_TIMEOUT_S)
            return Stack(device, hci_transport, None)
        except (TimeoutError, LinkError) as exc:
            last = exc
            with contextlib.suppress(Exception):
                await hci_transport.close()
            await asyncio.sleep(0.2 * (attempt + 1))
    raise LinkError(f"no controller answered on {transport!r}: {last}")


POWER_ON_ATTEMPTS = 3
CLOSE_TIMEOUT_S = 3.0
POWER_ON_TIMEOUT_S = 5.0


async def _power_on(device: Device, name: str, keystore: Path | None) -> None:
    device.keystore = _keystore(keystore)
    device.pairing_config_factory = lambda _connection: pairing_config()
    device.le_enabled = True
    try:
        await device.power_on()
    except Exception as exc:
        raise LinkError(f"cannot power on the Bumble stack {name!r}: {exc}") from exc
