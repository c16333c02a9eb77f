"""A central that does not follow the rules, on a raw Bumble stack (no bleak, no session):
it pairs the way it is told to (legacy, Secure Connections without bonding, short keys)
or not at all, then tries the WearSense characteristics. The link policy tests and
``benchmarks/bench_link.py`` measure the emulated wearable's security policy with it
(docs/link.md, "Security")."""

from __future__ import annotations

import dataclasses
from typing import Any

from bumble import pairing
from bumble.core import UUID, ProtocolError
from bumble.device import Connection, Peer
from bumble.hci import Address

from wearsense.link.stack import LocalLink, Stack, open_stack
from wearsense.protocol import Ack, AckKind, Command, Opcode
from wearsense.protocol import gatt as uuids

INTRUDER_ADDRESS = "C0:BA:D0:00:00:01"


@dataclasses.dataclass(frozen=True)
class Pairing:
    """How the intruder pairs: ``None`` from :func:`pairing_kinds` means it does not."""

    sc: bool = True
    bonding: bool = True
    key_size: int = 16

    def config(self) -> pairing.PairingConfig:
        delegate = pairing.PairingDelegate(
            io_capability=pairing.PairingDelegate.IoCapability.NO_OUTPUT_NO_INPUT,
            maximum_encryption_key_size=self.key_size,
        )
        return pairing.PairingConfig(
            sc=self.sc, mitm=False, bonding=self.bonding, delegate=delegate
        )


LEGACY = Pairing(sc=False, bonding=True)
UNBONDED = Pairing(sc=True, bonding=False)
SHORT_KEY = Pairing(sc=True, bonding=True, key_size=7)
PROPER = Pairing()  # what the companion does: accepted only inside the pairing window


@dataclasses.dataclass
class Attempt:
    """What one intruding connection achieved."""

    paired: bool = False
    pairing_error: str = ""  # the SMP reason of a refused pairing
    accepted: list[str] = dataclasses.field(default_factory=list)  # operations the device took
    refused: dict[str, int] = dataclasses.field(default_factory=dict)  # operation -> ATT error
    strip_frames: list[bytes] = dataclasses.field(default_factory=list)  # strip frames received

    @property
    def tried(self) -> int:
        return len(self.accepted) + len(self.refused)


class Intruder:
    """A Bumble central on ``link`` at its own static address (``INTRUDER_ADDRESS``),
    with a memory keystore: it never holds the owner's keys."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    @classmethod
    async def open(cls, link: LocalLink, address: str = INTRUDER_ADDRESS) -> Intruder:
        return cls(await open_stack("intruder", address, link=link))

    async def close(self) -> None:
        await self.stack.close()

    async def attempt(
        self,
        peer: str,
        how: Pairing | None,
        *,
        epoch: int = 1,
        ack_seq: int = 1,
        strip_id: int | None = None,
    ) -> Attempt:
        """Connects to the wearable at ``peer``, pairs as ``how`` says (not at all when
        None), then tries: reading Status, acknowledging ``ack_seq`` of ``epoch`` (which
        would free the owner's events), a TIME_SYNC command and subscribing to Events;
        with ``strip_id`` also subscribing to Strip transfer and asking for that strip
        (STRIP_GET, whose frames would follow). Disconnects before it returns."""
        device = self.stack.device
        device.pairing_config_factory = lambda _c: (how or PROPER).config()
        result = Attempt()
        connection: Connection = await device.connect(
            Address(peer, Address.RANDOM_DEVICE_ADDRESS), timeout=10.0
        )
        try:
            if how is not None:
                try:
                    await connection.pair()
                    result.paired = True
                except ProtocolError as exc:  # the SMP reason, e.g. PAIRING_NOT_SUPPORTED
                    result.pairing_error = exc.error_name or str(exc)
            await self._try_all(connection, result, epoch, ack_seq, strip_id)
        finally:
            if connection.handle in device.connections:
                await connection.disconnect()
        return result

    async def _try_all(
        self,
        connection: Connection,
        result: Attempt,
        epoch: int,
        ack_seq: int,
        strip_id: int | None = None,
    ) -> None:
        peer = Peer(connection)
        await peer.discover_services()
        await peer.discover_characteristics()

        def char(uuid: str) -> Any:
            return peer.get_characteristics_by_uuid(UUID(uuid))[0]

        ack = Ack(AckKind.STORED, epoch, ack_seq).encode()
        command = Command(Opcode.TIME_SYNC, 0x5A, {"utc_s": 1_800_000_000}).encode()
        operations = {
            "read status": lambda: peer.read_value(char(uuids.STATUS)),
            "write ack": lambda: peer.write_value(char(uuids.ACK), ack, with_response=True),
            "write command": lambda: peer.write_value(
                char(uuids.COMMAND), command, with_response=True
            ),
            "subscribe events": lambda: peer.subscribe(char(uuids.EVENTS), lambda _v: None),
        }
        if strip_id is not None:
            get = Command(Opcode.STRIP_GET, 0x5B, {"strip_id": strip_id, "offset": 0}).encode()
            operations["subscribe strips"] = lambda: peer.subscribe(
                char(uuids.STRIP), lambda v: result.strip_frames.append(bytes(v))
            )
            operations["write strip get"] = lambda: peer.write_value(
                char(uuids.COMMAND), get, with_response=True
            )
        for name, operation in operations.items():
            try:
                await operation()
            except ProtocolError as exc:
                result.refused[name] = int(exc.error_code or 0)
            else:
                result.accepted.append(name)


ATTACKS: dict[str, Pairing | None] = {
    "none": None,
    "legacy": LEGACY,
    "sc-unbonded": UNBONDED,
    "short-key": SHORT_KEY,
    "sc-bonded": PROPER,
}


@dataclasses.dataclass
class Probe:
    """What an intruder got from a wearable, counted over every attempt."""

    attempts: int = 0
    legacy_pairings: int = 0  # legacy pairing attempts
    legacy_accepted: int = 0  # ... that the wearable accepted
    pairings_accepted: int = 0  # pairings of any kind the wearable accepted
    operations: int = 0  # WearSense operations tried without the owner's bond
    operations_accepted: int = 0  # ... that the wearable served
    refusals: dict[str, int] = dataclasses.field(default_factory=dict)  # pairing errors

    def add(self, kind: str, attempt: Attempt) -> None:
        self.attempts += 1
        if kind == "legacy":
            self.legacy_pairings += 1
            self.legacy_accepted += int(attempt.paired)
        self.pairings_accepted += int(attempt.paired)
        self.operations += attempt.tried
        self.operations_accepted += len(attempt.accepted)
        if attempt.pairing_error:
            reason = attempt.pairing_error
            self.refusals[reason] = self.refusals.get(reason, 0) + 1


async def probe(
    intruder: Intruder,
    peer: str,
    tries: int,
    *,
    window_open: bool,
    epoch: int = 1,
    ack_seq: int = 1,
) -> Probe:
    """Runs every attack of :data:`ATTACKS` ``tries`` times against the wearable at
    ``peer``. With ``window_open`` (a wearable out of the box, or the wearer holding the
    button) the proper Secure Connections bond is left out: the wearable is right to
    accept it."""
    result = Probe()
    for _ in range(tries):
        for kind, how in ATTACKS.items():
            if window_open and how is PROPER:
                continue
            result.add(kind, await intruder.attempt(peer, how, epoch=epoch, ack_seq=ack_seq))
    return result
