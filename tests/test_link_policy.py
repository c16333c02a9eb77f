"""The wearable's security policy and the companion's identity binding (issue 29, item 2;
docs/link.md "Security"): LE Secure Connections only, bonding required, 16-byte keys; a
new bond only inside the pairing window the wearer opens with a long press; one owner,
whose acknowledgements alone free events; a companion that refuses a device whose
identity changed under the same bond.

Everything runs over the in-process virtual link (two Bumble stacks on a ``LocalLink``,
as in tests/test_link.py); the attacker is a raw Bumble central
(``wearsense.testing.intruder``) on the same link.
"""

from __future__ import annotations

import asyncio
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest
from link_helpers import hr, run, until

from wearsense.emulator.security import LONG_PRESS_S
from wearsense.emulator.wearable import EmulatedWearable, address_for
from wearsense.firmware import device as device_mod
from wearsense.link.bonds import BondIdentities, IdentityChanged
from wearsense.link.errors import LinkError
from wearsense.link.session import LinkState, SessionConfig
from wearsense.link.stack import open_stack
from wearsense.protocol import Opcode
from wearsense.protocol.frames import FACTORY_RESET_MAGIC
from wearsense.store import Store
from wearsense.testing.intruder import LEGACY, PROPER, SHORT_KEY, UNBONDED, Intruder, Pairing
from wearsense.testing.loopback import Loopback

DeviceCore = device_mod.DeviceCore
SERIAL = "WS-00A1B2C3"
FORGED = "WS-0F0F0F0F"
ADDRESS = address_for(SERIAL)

# SMP reasons (Vol 3 Part H 3.5.5) and ATT errors the policy answers with.
AUTHENTICATION_REQUIREMENTS = "AUTHENTICATION_REQUIREMENTS"
ENCRYPTION_KEY_SIZE = "ENCRYPTION_KEY_SIZE"
PAIRING_NOT_SUPPORTED = "PAIRING_NOT_SUPPORTED"
NO_ACCESS = {0x05, 0x0F}  # Insufficient Authentication / Insufficient Encryption


def all_stored(loop: Loopback, store: Store) -> bool:
    info = loop.wearable.core.info()
    return store.contiguous_seq(SERIAL, info.epoch) == info.last_seq == info.acked_seq


async def owner_syncs(loop: Loopback, store: Store, **kw: Any) -> None:
    """The owner's companion connects (pairing the first time), stores and acknowledges
    everything the device holds, and stops."""
    session = loop.session(store, **kw)
    task = asyncio.create_task(session.run())
    try:
        await until(lambda: all_stored(loop, store))
    finally:
        await session.stop()
        await task


def assert_no_access(attempt: Any) -> None:
    assert attempt.accepted == [], attempt
    assert attempt.tried == 4 and set(attempt.refused.values()) <= NO_ACCESS, attempt


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        (LEGACY, AUTHENTICATION_REQUIREMENTS),
        (UNBONDED, AUTHENTICATION_REQUIREMENTS),
        (SHORT_KEY, ENCRYPTION_KEY_SIZE),
    ],
    ids=["legacy-just-works", "sc-without-bonding", "7-byte-key"],
)
def test_only_a_secure_connections_bond_with_16_byte_keys_is_accepted(
    tmp_path: Path, how: Pairing, reason: str
) -> None:
    """Even with the pairing window open (a device out of the box), legacy pairing,
    Secure Connections without bonding and a short key are refused, and the intruder gets
    no WearSense attribute: its acknowledgement frees nothing."""

    async def body() -> None:
        core = DeviceCore(SERIAL)
        loop = await Loopback.open(core, tmp_path)
        intruder = await Intruder.open(loop.link)
        try:
            for i in range(5):
                loop.wearable.inject(hr(i))
            last = core.info().last_seq
            attempt = await intruder.attempt(ADDRESS, how, ack_seq=last)
            assert not attempt.paired, attempt
            assert reason in attempt.pairing_error
            assert_no_access(attempt)
            info = core.info()
            assert info.acked_seq == 0 and info.pending == last
            policy = loop.wearable.peripheral.security
            assert policy.owner is None and policy.window_open  # still free for the owner
            assert [r for _p, r in policy.refused] == [reason]
            # The device keeps working: the real companion pairs and gets everything.
            with Store(tmp_path / "companion.db") as store:
                await owner_syncs(loop, store)
                assert store.contiguous_seq(SERIAL, 1) >= last
        finally:
            await intruder.close()
            await loop.close()

    run(body)


def test_a_new_bond_only_inside_the_window_the_wearer_opens(tmp_path: Path) -> None:
    """Once the device has an owner, a proper Secure Connections pairing is refused until
    the wearer holds the button (a short press is the fall cancel and opens nothing); the
    window closes after its time or at the first bond. The bond made in the window
    replaces the old owner's, whose companion then gets nothing."""

    async def body() -> None:
        core = DeviceCore(SERIAL)
        loop = await Loopback.open(core, tmp_path)
        intruder = await Intruder.open(loop.link)
        store = Store(tmp_path / "companion.db")
        try:
            loop.wearable.inject(hr(0))
            await owner_syncs(loop, store)
            acked = core.info().acked_seq
            last = loop.wearable.inject(hr(1))

            refused = await intruder.attempt(ADDRESS, PROPER, ack_seq=last)
            assert not refused.paired and PAIRING_NOT_SUPPORTED in refused.pairing_error
            assert_no_access(refused)
            policy = loop.wearable.peripheral.security
            assert policy.owner is not None and not policy.window_open
            loop.wearable.press_button(hold_s=0.2)  # short: no window
            assert not policy.window_open
            assert_no_access(await intruder.attempt(ADDRESS, PROPER, ack_seq=last))
            policy.open_window(0.05)  # the window's time passes
            await asyncio.sleep(0.1)
            assert_no_access(await intruder.attempt(ADDRESS, PROPER, ack_seq=last))
            assert core.info().acked_seq == acked

            loop.wearable.press_button(hold_s=LONG_PRESS_S)
            assert policy.window_open
            accepted = await intruder.attempt(ADDRESS, PROPER, ack_seq=acked)
            assert accepted.paired and accepted.refused == {}, accepted
            await policy.settled()
            assert policy.owner == "C0:BA:D0:00:00:01" and not policy.window_open
            keys = await loop.wearable.device.keystore.get_all()
            assert [name for name, _ in keys] == [policy.owner]  # one owner
            # The old owner's bond is gone and the window is closed: no access any more.
            states: list[tuple[LinkState, str]] = []
            session = loop.session(
                store,
                config=SessionConfig(scan_timeout_s=1.0, backoff_initial_s=0.05),
                on_state=lambda s, d: states.append((s, d)),
            )
            task = asyncio.create_task(session.run())
            await until(lambda: sum(s == LinkState.BACKOFF for s, _ in states) >= 2)
            await session.stop()
            await task
            assert session.stats.connections == 0 and session.stats.acks == 0
            assert core.info().acked_seq == acked
            assert any("pairing window" in d for s, d in states if s == LinkState.BACKOFF)
        finally:
            store.close()
            await intruder.close()
            await loop.close()

    run(body)


def test_a_second_central_cannot_acknowledge_or_break_the_owners_sync(tmp_path: Path) -> None:
    """The fault of issue 29: another central acknowledged events the owner's companion
    had not stored; the companion never acknowledged again and its store kept a hole.
    Now a central that is not the owner gets an ATT error for its acknowledgement (and
    every other WearSense access), paired or not, and the owner's store gets every event
    with no hole; the device's queue is freed."""

    async def body() -> None:
        core = DeviceCore(SERIAL)
        loop = await Loopback.open(core, tmp_path)
        intruder = await Intruder.open(loop.link)
        store = Store(tmp_path / "companion.db")
        try:
            for i in range(5):
                loop.wearable.inject(hr(i))
            await owner_syncs(loop, store)
            acked = core.info().acked_seq
            for i in range(5, 30):
                loop.wearable.inject(hr(i))
            last = core.info().last_seq
            for how in (None, PROPER, LEGACY, UNBONDED):
                attempt = await intruder.attempt(ADDRESS, how, ack_seq=last)
                assert_no_access(attempt)
                assert attempt.refused["write ack"] in NO_ACCESS
            assert core.info().acked_seq == acked
            await owner_syncs(loop, store)
            with sqlite3.connect(tmp_path / "companion.db") as db:
                seqs = [s for (s,) in db.execute("SELECT seq FROM events ORDER BY seq")]
            info = core.info()
            assert info.last_seq > last  # the owner's time sync added STATUS pages
            assert seqs == list(range(1, info.last_seq + 1))  # every event once, no hole
            assert info.acked_seq == info.last_seq and info.pending == 0  # the queue is freed
        finally:
            store.close()
            await intruder.close()
            await loop.close()

    run(body)


def stored(workdir: Path) -> list[tuple[str, int, int, bytes]]:
    with sqlite3.connect(workdir / "companion.db") as db:
        return db.execute("SELECT serial, epoch, seq, raw FROM events ORDER BY 1, 2, 3").fetchall()


async def _forged_wearable(
    loop: Loopback, core: Any, workdir: Path, *, pairing_window: bool = False
) -> EmulatedWearable:
    """A wearable at the genuine device's address with its bond keys (what a device whose
    identity strings were rewritten looks like to the companion), serving ``core``."""
    stack = await open_stack(
        "WearSense", ADDRESS, link=loop.link, keystore=workdir / "device-keys.json"
    )
    wearable = EmulatedWearable(core, stack)
    await wearable.peripheral.start(pairing_window=pairing_window)
    return wearable


@pytest.mark.parametrize("change", ["serial", "epoch"])
def test_a_device_whose_identity_changed_under_its_bond_is_refused(
    tmp_path: Path, change: str
) -> None:
    """The companion binds the serial and epoch to the bond: the same bond later bringing
    another serial, or an older epoch, is refused with a clear error and nothing of it is
    stored or acknowledged; the genuine device still syncs afterwards."""

    async def body() -> None:
        genuine = DeviceCore(SERIAL)
        loop = await Loopback.open(genuine, tmp_path)
        store = Store(tmp_path / "companion.db")
        try:
            loop.wearable.inject(hr(0))
            session = loop.session(store)
            task = asyncio.create_task(session.run())
            await until(lambda: all_stored(loop, store))
            if change == "epoch":  # the genuine device moves on to epoch 2
                await session.command(Opcode.FACTORY_RESET, magic=FACTORY_RESET_MAGIC)
                await until(lambda: genuine.info().epoch == 2 and all_stored(loop, store))
            await session.stop()
            await task
            await loop.wearable.close()
            before = stored(tmp_path)

            other = DeviceCore(FORGED if change == "serial" else SERIAL)  # epoch 1
            for i in range(3):
                other.inject(hr(i))
            loop.wearable = await _forged_wearable(loop, other, tmp_path)
            states: list[tuple[LinkState, str]] = []
            session = loop.session(
                store,
                config=SessionConfig(scan_timeout_s=1.0, backoff_initial_s=0.05),
                on_state=lambda s, d: states.append((s, d)),
            )
            task = asyncio.create_task(session.run())
            await until(lambda: session.stats.connections >= 2 or session.stats.stored > 0)
            await session.stop()
            await task
            errors = [d for s, d in states if s == LinkState.BACKOFF and "refused" in d]
            assert errors and "identity changed under the same bond" in errors[0]
            assert session.serial is None and session.stats.stored == 0
            assert other.info().acked_seq == 0
            assert stored(tmp_path) == before
            bound = BondIdentities.beside(tmp_path / "companion-keys.json").bound(ADDRESS)
            assert bound == (SERIAL, 2 if change == "epoch" else 1)
            with pytest.raises(IdentityChanged):
                session.identities.check(ADDRESS, other.serial, other.info().epoch)
        finally:
            store.close()
            await loop.close()

    run(body)


def test_the_intruder_probe_of_the_benchmark_gets_nothing(tmp_path: Path) -> None:
    """benchmarks/bench_link.py's ``link.security`` pairing figures, one try of each attack:
    no pairing of any kind accepted (the window closed), no operation served, no event
    freed."""
    from wearsense.testing.intruder import probe

    async def body() -> None:
        core = DeviceCore(SERIAL)
        loop = await Loopback.open(core, tmp_path)
        attacker = await Intruder.open(loop.link)
        try:
            with Store(tmp_path / "companion.db") as store:
                await owner_syncs(loop, store)
            acked = core.info().acked_seq
            last = loop.wearable.inject(hr(0))
            got = await probe(attacker, ADDRESS, 1, window_open=False, ack_seq=last)
            assert got.attempts == 5 and got.legacy_pairings == 1
            assert got.legacy_accepted == got.pairings_accepted == got.operations_accepted == 0
            assert got.operations == 20
            assert got.refusals == {
                AUTHENTICATION_REQUIREMENTS: 2,
                ENCRYPTION_KEY_SIZE: 1,
                PAIRING_NOT_SUPPORTED: 1,
            }
            assert core.info().acked_seq == acked
        finally:
            await attacker.close()
            await loop.close()

    run(body)


def test_the_owner_survives_a_restart_and_keys_the_policy_never_makes_are_erased(
    tmp_path: Path,
) -> None:
    """The owner's bond is read back at power-on (window closed; held button at power-on
    opens it: ``wearsense emulate --pair``). A keystore holding a legacy bond, or two
    bonds (an older emulator's), is cleaned: the wearable is out of the box again."""
    from bumble.keys import PairingKeys

    async def body() -> None:
        core = DeviceCore(SERIAL)
        loop = await Loopback.open(core, tmp_path)
        try:
            with Store(tmp_path / "companion.db") as store:
                await owner_syncs(loop, store)
            owner = loop.wearable.peripheral.security.owner
            assert owner is not None
            await loop.wearable.close()
            for press in (False, True):
                wearable = await _forged_wearable(loop, core, tmp_path, pairing_window=press)
                policy = wearable.peripheral.security
                assert policy.owner == owner and policy.window_open == press
                await wearable.close()
            legacy = PairingKeys(ltk_peripheral=PairingKeys.Key(bytes(16)))
            for case, extra in (("a legacy bond", legacy), ("two bonds", None)):
                stack = await open_stack(
                    "WearSense", ADDRESS, link=loop.link, keystore=tmp_path / "device-keys.json"
                )
                keystore = stack.device.keystore
                if extra is not None:
                    await keystore.delete_all()
                    await keystore.update("C0:00:00:00:00:0A", extra)
                else:
                    sc = PairingKeys(ltk=PairingKeys.Key(bytes(range(16))))
                    await keystore.update("C0:00:00:00:00:0B", sc)
                    await keystore.update("C0:00:00:00:00:0C", sc)
                wearable = EmulatedWearable(core, stack)
                await wearable.peripheral.start()
                policy = wearable.peripheral.security
                assert policy.owner is None and policy.window_open, case
                assert await keystore.get_all() == [], case
                await wearable.close()
            loop.wearable = await _forged_wearable(loop, core, tmp_path)
        finally:
            await loop.close()

    run(body)


def test_a_bond_record_others_may_read_is_refused(tmp_path):
    record = BondIdentities.beside(tmp_path / "keys.json")
    record.bind("AA:BB:CC:DD:EE:FF", "WS-0001", 1)
    assert record.path is not None and stat.S_IMODE(record.path.stat().st_mode) == 0o600
    assert record.bound("AA:BB:CC:DD:EE:FF") == ("WS-0001", 1)
    record.path.chmod(0o644)
    with pytest.raises(LinkError, match="chmod 600"):
        record.bound("AA:BB:CC:DD:EE:FF")
