"""The emulated wearable's security policy (docs/link.md, "Security"; docs/protocol.md §1).

- **LE Secure Connections only, bonding required, 16-byte keys.** A pairing request
  without the SC flag (legacy pairing) or without bonding is refused with the SMP reason
  *Authentication Requirements* (0x03); one offering a key shorter than 16 bytes with
  *Encryption Key Size* (0x06).
- **A new bond only inside the pairing window**, which the wearer opens by holding the
  button for :data:`LONG_PRESS_S` seconds (:meth:`SecurityPolicy.open_window`); it stays
  open :data:`PAIRING_WINDOW_S` seconds or until a bond is made. A device with no owner
  (first start, or its bonds erased) is in the out-of-box state: the window is open until
  the first bond. Outside the window a pairing request gets *Pairing Not Supported* (0x05).
- **One owner.** At most one bonded companion: the bond made in the window replaces every
  other (their keys are erased, so their links can no longer be encrypted).
- **Access.** A WearSense attribute (and its notification switch) is served only on a link
  encrypted with the owner's Secure Connections bond. An unencrypted link gets ATT
  *Insufficient Encryption* (0x0F) from the GATT server's own check; any other link
  (encrypted, but not with the owner's bond) gets *Insufficient Authentication* (0x05)
  from :meth:`SecurityPolicy.check`, and its writes change nothing: only the owner's
  acknowledgements free events.

The device only ever stores keys of pairings this policy accepted; keys that do not meet
it (a legacy bond, or several bonds left by an older emulator) are erased when the policy
starts, and a device left without an owner is back in the out-of-box state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable

from bumble import att, pairing, smp
from bumble.device import Connection, Device

log = logging.getLogger(__name__)

KEY_SIZE = 16  # bytes: the only encryption key size accepted
PAIRING_WINDOW_S = 60.0  # how long a long press keeps the pairing window open
LONG_PRESS_S = 3.0  # a press at least this long opens the window (shorter: fall cancel)

INSUFFICIENT_AUTHENTICATION = int(att.ErrorCode.INSUFFICIENT_AUTHENTICATION)


def device_pairing_config() -> pairing.PairingConfig:
    """What the wearable answers a pairing request with: LE Secure Connections, bonding,
    "just works" (the patch has neither display nor keyboard)."""
    delegate = pairing.PairingDelegate(
        io_capability=pairing.PairingDelegate.IoCapability.NO_OUTPUT_NO_INPUT,
    )
    return pairing.PairingConfig(sc=True, mitm=False, bonding=True, delegate=delegate)


class SecurityPolicy:
    """Pairing and access rules of one wearable's Bumble ``device``. Created by the GATT
    server (``wearsense.emulator.peripheral``); :meth:`start` reads the owner from the
    device's keystore. ``clock`` is monotonic seconds (tests may move it)."""

    def __init__(self, device: Device, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.device = device
        self.owner: str | None = None  # the identity address the owner's bond is stored under
        self.refused: list[tuple[str, str]] = []  # (peer address, reason) of refused pairings
        self._clock = clock
        self._window_until = 0.0
        self._accepted: set[Connection] = set()  # links whose pairing this policy accepted
        self._tasks: set[asyncio.Task[None]] = set()
        device.pairing_config_factory = lambda _connection: device_pairing_config()
        device.smp_session_proxy = _session_class(self)
        device.on("connection", self._on_connection)

    # -- the pairing window -----------------------------------------------------------

    async def start(self, *, open_window: bool = False) -> None:
        """Reads the owner's bond from the keystore (erasing keys this policy would not
        have made); with no owner the window opens until the first bond (out of the box).
        ``open_window``: the wearer holds the button at power-on."""
        keystore = self.device.keystore
        bonds = await keystore.get_all() if keystore is not None else []
        secure = [name for name, keys in bonds if keys.ltk is not None]
        keep = secure[0] if len(secure) == 1 else None
        for name, _keys in bonds:
            if name != keep and keystore is not None:
                log.warning("erasing the bond with %s (not a single Secure Connections bond)", name)
                await keystore.delete(name)
        self.owner = keep
        if self.owner is None:
            self._window_until = math.inf
        if open_window:
            self.open_window()

    def open_window(self, seconds: float = PAIRING_WINDOW_S) -> None:
        """The wearer held the button: a new bond is accepted for ``seconds`` (or until
        one is made)."""
        self._window_until = max(self._window_until, self._clock() + seconds)
        log.info("pairing window open for %g s", seconds)

    def close_window(self) -> None:
        self._window_until = 0.0

    @property
    def window_open(self) -> bool:
        return self._clock() < self._window_until

    def pairing_refusal(self, request: smp.SMP_Pairing_Request_Command) -> smp.ErrorCode | None:
        """Why a pairing request is refused (an SMP reason), or None to accept it."""
        auth = int(request.auth_req)
        if not auth & smp.AuthReq.SC or not auth & smp.AuthReq.BONDING:
            return smp.ErrorCode.AUTHENTICATION_REQUIREMENTS
        if request.maximum_encryption_key_size < KEY_SIZE:
            return smp.ErrorCode.ENCRYPTION_KEY_SIZE
        if not self.window_open:
            return smp.ErrorCode.PAIRING_NOT_SUPPORTED
        return None

    # -- access -----------------------------------------------------------------------

    def allows(self, connection: Connection) -> bool:
        """Whether ``connection`` is encrypted with the owner's Secure Connections bond
        (a bond made on it by a pairing this policy accepted, or the stored one)."""
        if not connection.is_encrypted:
            return False
        if connection in self._accepted:
            return True
        return self.owner is not None and str(connection.peer_address) == self.owner

    def check(self, connection: Connection) -> None:
        """Raises ATT *Insufficient Authentication* unless :meth:`allows` ``connection``."""
        if not self.allows(connection):
            raise att.ATT_Error(
                INSUFFICIENT_AUTHENTICATION, message="not the owner's Secure Connections bond"
            )

    async def settled(self) -> None:
        """Waits until the keys of replaced owners are erased."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- events -----------------------------------------------------------------------

    def _on_connection(self, connection: Connection) -> None:
        connection.on("disconnection", lambda *_: self._accepted.discard(connection))
        connection.on("pairing", lambda keys: self._on_pairing(connection, keys))
        connection.on("pairing_failure", lambda *_: self._accepted.discard(connection))

    def _on_pairing(self, connection: Connection, _keys: object) -> None:
        if connection not in self._accepted:
            return
        self._accepted = {connection}  # the new owner's: no other link keeps its access
        self.owner = str(connection.peer_address)
        self.close_window()
        log.info("new owner %s", self.owner)
        task = asyncio.get_running_loop().create_task(self._erase_others(self.owner))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _erase_others(self, owner: str) -> None:
        keystore = self.device.keystore
        if keystore is None:
            return
        for name, _keys in await keystore.get_all():
            if name != owner:
                log.info("bond with %s replaced by the new owner", name)
                with contextlib.suppress(KeyError):
                    await keystore.delete(name)


def _session_class(policy: SecurityPolicy) -> type[smp.Session]:
    """Bumble's SMP session with the policy's check in front of a pairing request."""

    class PolicySession(smp.Session):
        def on_smp_pairing_request_command(self, command: smp.SMP_Pairing_Request_Command) -> None:
            reason = policy.pairing_refusal(command)
            if reason is not None:
                peer = str(self.connection.peer_address)
                log.warning("pairing with %s refused: %s", peer, reason.name)
                policy.refused.append((peer, reason.name))
                self.send_pairing_failed(reason)
                return
            policy._accepted.add(self.connection)
            super().on_smp_pairing_request_command(command)

    return PolicySession
