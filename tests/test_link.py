"""The BLE link end to end over a real Bluetooth stack (Bumble, two virtual controllers
on a LocalLink in this process): the device core behind the emulated wearable's GATT
server, the companion's session on bleak through the Bumble backend, the SQLite store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from bleak import BleakClient
from link_helpers import hr, run, until

from wearsense.emulator.replay import load
from wearsense.firmware import device as device_mod
from wearsense.link.bumble_backend import BumbleATTError
from wearsense.link.session import LinkState, Session, SessionConfig
from wearsense.protocol import (
    Ack,
    AckKind,
    Event,
    Status,
    StatusRecord,
    crc16,
    decode,
)
from wearsense.protocol import gatt as uuids
from wearsense.store import Store
from wearsense.testing import faults
from wearsense.testing.kill9 import CLI, free_ports
from wearsense.testing.loopback import Loopback

DeviceCore = device_mod.DeviceCore
SERIAL = "WS-00A1B2C3"
SAMPLE_DATA = Path(__file__).resolve().parents[1] / "samples" / "data"


def stored_rows(db: Path) -> list[tuple[int, int, str, bytes, int]]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT epoch, seq, type, raw, decoded FROM events WHERE serial = ? "
            "ORDER BY epoch, seq",
            (SERIAL,),
        ).fetchall()


class Rig:
    """Wearable + central + store in one event loop."""

    def __init__(self, tmp: Path, core: Any | None = None) -> None:
        self.tmp = tmp
        self.core = core or DeviceCore(SERIAL)
        self.db = tmp / "companion.db"

    async def __aenter__(self) -> Rig:
        self.loop = await Loopback.open(self.core, self.tmp)
        self.store = Store(self.db)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.store.close()
        await self.loop.close()

    def session(self, **kw: Any) -> Session:
        return self.loop.session(self.store, **kw)

    @property
    def wearable_core(self) -> Any:
        return self.loop.wearable.core

    def all_stored(self) -> bool:
        info = self.wearable_core.info()
        return self.store.contiguous_seq(SERIAL, info.epoch) == info.last_seq and (
            info.acked_seq == info.last_seq
        )

    def pairings(self) -> list[int]:
        counter = [0]

        def on_connection(connection: Any) -> None:
            connection.on("pairing", lambda *_: counter.__setitem__(0, counter[0] + 1))

        self.loop.wearable.device.on("connection", on_connection)
        return counter


def check_exactly_once(rig: Rig, emitted: dict[int, Event]) -> None:
    """Every event the core assigned a sequence to is stored once, with the bytes the
    core holds for it; nothing else is stored."""
    info = rig.wearable_core.info()
    rows = stored_rows(rig.db)
    keys = [(e, s) for e, s, _, _, _ in rows]
    assert len(keys) == len(set(keys)), "duplicated rows"
    seqs = sorted(s for e, s in keys if e == info.epoch)
    assert seqs == list(range(1, info.last_seq + 1)), "lost or extra events"
    by_seq = {s: (t, raw, dec) for e, s, t, raw, dec in rows if e == info.epoch}
    for seq, event in emitted.items():
        kind, raw, decoded = by_seq[seq]
        assert decoded == 1
        got = decode(raw)
        assert got.seq == seq and got.NAME == event.NAME
        assert {k: v for k, v in vars(got).items() if k not in ("seq", "time_s")} == {
            k: v for k, v in vars(event).items() if k not in ("seq", "time_s")
        }


def test_unbonded_central_is_refused_everywhere(tmp_path: Path) -> None:
    async def body() -> None:
        async with Rig(tmp_path) as rig:
            client = BleakClient(SERIAL_ADDRESS(rig), pair=False, **rig.loop.backend_kwargs())
            await client.connect()
            try:
                # The open services answer.
                serial = await client.read_gatt_char(uuids.SERIAL_NUMBER)
                assert bytes(serial).decode() == SERIAL
                assert 0 <= (await client.read_gatt_char(uuids.BATTERY_LEVEL))[0] <= 100
                # Every WearSense characteristic refuses an unencrypted link.
                refusals = []
                attempts: list[Callable[[], Awaitable[Any]]] = [
                    lambda: client.read_gatt_char(uuids.STATUS),
                    lambda: client.write_gatt_char(uuids.ACK, bytes(6), response=True),
                    lambda: client.write_gatt_char(uuids.COMMAND, b"\x01\x01", response=True),
                ]
                for char in (uuids.EVENTS, uuids.COMMAND, uuids.TRANSFER, uuids.STATUS):
                    attempts.append(lambda c=char: client.start_notify(c, lambda *_: None))
                for attempt in attempts:
                    with pytest.raises(BumbleATTError) as err:
                        await attempt()
                    refusals.append(err.value.att_error)
                assert set(refusals) <= {0x0F, 0x05}, refusals
                assert len(refusals) == 7
                # Write-without-response has no error to return: it must change nothing.
                await client.write_gatt_char(uuids.TRANSFER, b"\xff" * 12, response=False)
                before = rig.wearable_core.info()
                assert before.acked_seq == 0 and before.pending == before.last_seq
            finally:
                await client.disconnect()
            # The device keeps working: a bonded session still gets everything.
            session = rig.session()
            task = asyncio.create_task(session.run())
            await until(rig.all_stored)
            await session.stop()
            await task

    run(body)


def SERIAL_ADDRESS(rig: Rig) -> str:
    from wearsense.emulator.wearable import address_for

    return address_for(SERIAL)


def test_events_arrive_stored_exactly_once(tmp_path: Path) -> None:
    async def body() -> None:
        async with Rig(tmp_path) as rig:
            emitted = {rig.loop.wearable.inject(hr(i)): hr(i) for i in range(20)}
            states: list[LinkState] = []
            session = rig.session(on_state=lambda s, _d: states.append(s))
            task = asyncio.create_task(session.run())
            await session.wait_streaming(10)
            for i in range(20, 60):
                emitted[rig.loop.wearable.inject(hr(i))] = hr(i)
                if i % 7 == 0:
                    await asyncio.sleep(0)
            await until(rig.all_stored)
            await session.stop()
            await task
            check_exactly_once(rig, emitted)
            assert session.serial == SERIAL
            assert session.stats.raw_stored == 0 and session.stats.resends == 0
            assert states[:4] == [
                LinkState.SCANNING,
                LinkState.CONNECTING,
                LinkState.SYNCING,
                LinkState.STREAMING,
            ]
            assert states[-1] == LinkState.STOPPED
            # Time sync happened: the core is synced and the store knows the offset.
            assert rig.wearable_core.info().time_synced
            assert rig.store.time_offset(SERIAL, rig.wearable_core.info().epoch) is not None

    run(body)


def test_acknowledgements_are_batched_and_a_clean_stop_acknowledges_the_rest(
    tmp_path: Path,
) -> None:
    async def body() -> None:
        async with Rig(tmp_path) as rig:
            config = SessionConfig(scan_timeout_s=5.0, ack_every=10, ack_interval_s=30.0)
            session = rig.session(config=config)
            task = asyncio.create_task(session.run())
            await session.wait_streaming(10)
            for i in range(25):
                rig.loop.wearable.inject(hr(i))
                await asyncio.sleep(0.001)
            info = rig.wearable_core.info()
            await until(lambda: rig.store.contiguous_seq(SERIAL, info.epoch) == info.last_seq)
            acked = rig.wearable_core.info().acked_seq
            assert acked < info.last_seq  # the tail waits for the next batch
            assert info.last_seq - acked < 10
            assert session.stats.acks <= 1 + info.last_seq // 10
            await session.stop()
            await task
            assert rig.wearable_core.info().acked_seq == info.last_seq

    run(body)


def test_reconnect_after_drop_needs_no_new_pairing(tmp_path: Path) -> None:
    async def body() -> None:
        async with Rig(tmp_path) as rig:
            pairings = rig.pairings()
            session = rig.session()
            task = asyncio.create_task(session.run())
            await session.wait_streaming(10)
            await until(rig.all_stored)
            assert pairings[0] == 1
            for round_ in range(3):
                await rig.loop.wearable.drop_link()
                rig.loop.wearable.inject(hr(round_))
                want = round_ + 2
                await until(lambda want=want: session.stats.connections == want)
                await until(rig.all_stored)
            await session.stop()
            await task
            assert pairings[0] == 1, "a reconnect paired again"
            assert session.stats.disconnects >= 3
        # A new companion process on the same keystore file: still no new pairing.
        core = rig.wearable_core
        async with Rig(tmp_path, core) as rig2:
            pairings = rig2.pairings()
            rig2.loop.wearable.inject(hr(99))
            session = rig2.session()
            task = asyncio.create_task(session.run())
            await until(rig2.all_stored)
            await session.stop()
            await task
            assert pairings[0] == 0

    run(body)


def test_a_device_that_lost_its_bond_is_paired_again_and_a_wrong_serial_is_refused(
    tmp_path: Path,
) -> None:
    async def body() -> None:
        core = DeviceCore(SERIAL)
        async with Rig(tmp_path, core) as rig:
            session = rig.session()
            task = asyncio.create_task(session.run())
            await until(rig.all_stored)
            await session.stop()
            await task
        (tmp_path / "device-keys.json").unlink()  # the wearable forgot every bond
        async with Rig(tmp_path, core) as rig:
            pairings = rig.pairings()
            rig.loop.wearable.inject(hr(1))
            wrong = rig.session(config=SessionConfig(serial="WS-OTHER", scan_timeout_s=0.3))
            wrong_task = asyncio.create_task(wrong.run())
            await until(lambda: wrong.stats.connections >= 1)
            await wrong.stop()
            await wrong_task
            assert wrong.serial is None and rig.wearable_core.info().acked_seq < (
                rig.wearable_core.info().last_seq
            )
            session = rig.session()
            task = asyncio.create_task(session.run())
            await until(rig.all_stored)
            await session.stop()
            await task
            assert pairings[0] == 1

    run(body)


def test_garbage_writes_get_errors_and_the_device_keeps_working(tmp_path: Path) -> None:
    async def body() -> None:
        async with Rig(tmp_path) as rig:
            client = BleakClient(SERIAL_ADDRESS(rig), pair=True, **rig.loop.backend_kwargs())
            await client.connect()
            epoch = rig.wearable_core.info().epoch
            cases = [
                (b"\x01", Status.LENGTH),
                (b"\x09" + bytes(5), Status.TYPE),
                (Ack(AckKind.STORED, epoch + 1, 0).encode(), Status.EPOCH),
                (Ack(AckKind.STORED, epoch, 5000).encode(), Status.STATE),
                (bytes([2]) + epoch.to_bytes(2, "little") + bytes(3), Status.RANGE),
            ]
            for frame, status in cases:
                with pytest.raises(BumbleATTError) as err:
                    await client.write_gatt_char(uuids.ACK, frame, response=True)
                assert err.value.att_error == 0x80 + status, (frame.hex(), err.value)
            # A command too short to name its token fails the write itself.
            with pytest.raises(BumbleATTError) as err:
                await client.write_gatt_char(uuids.COMMAND, b"\x01", response=True)
            assert err.value.att_error == 0x80 + Status.LENGTH
            for junk in (b"\x63\x01", b"\x01\x07\x00", bytes(range(40))):
                try:
                    await client.write_gatt_char(uuids.COMMAND, junk, response=True)
                except BumbleATTError as exc:
                    assert exc.att_error >= 0x80
            await client.write_gatt_char(uuids.TRANSFER, bytes(300), response=False)
            # A valid acknowledgement of nothing changes nothing and notifies the status.
            records: list[bytes] = []
            await client.start_notify(uuids.STATUS, lambda _c, data: records.append(bytes(data)))
            await client.write_gatt_char(uuids.ACK, Ack(AckKind.STORED, epoch, 0).encode(), True)
            await until(lambda: bool(records))
            status = StatusRecord.decode(records[-1])
            assert status.epoch == epoch and status.acked_seq == 0
            assert status.last_seq == rig.wearable_core.info().last_seq
            await client.disconnect()
            assert rig.wearable_core.info().acked_seq == 0
            emitted = {rig.loop.wearable.inject(hr(i)): hr(i) for i in range(5)}
            session = rig.session()
            task = asyncio.create_task(session.run())
            await until(rig.all_stored)
            await session.stop()
            await task
            check_exactly_once(rig, emitted)

    run(body)


class CorruptingRadio:
    """The real core, with chosen notifications corrupted on their way out (a bad radio,
    a broken bridge): ``corrupt[seq]`` is how many times that packet is damaged. Every
    STORED acknowledgement is checked against the store at the moment it is written."""

    def __init__(self, core: Any, corrupt: dict[int, int], store_path: Path) -> None:
        self.core = core
        self.corrupt = dict(corrupt)
        self.store_path = store_path
        self.acks: list[tuple[int, int]] = []
        self.early_acks: list[tuple[int, int]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.core, name)

    def next_notification(self) -> bytes | None:
        packet = self.core.next_notification()
        if packet is None:
            return None
        seq = int.from_bytes(packet[1:4], "little")
        if self.corrupt.get(seq, 0) > 0:
            self.corrupt[seq] -= 1
            damaged = bytearray(packet)
            damaged[10] ^= 0x5A  # payload bit flips: the CRC no longer matches
            return bytes(damaged)
        return packet

    def write_ack(self, data: bytes) -> Any:
        if len(data) == 6 and data[0] == AckKind.STORED:
            epoch, seq = int.from_bytes(data[1:3], "little"), int.from_bytes(data[3:6], "little")
            self.acks.append((epoch, seq))
            with Store(self.store_path) as store:
                if store.contiguous_seq(SERIAL, epoch) < seq:
                    self.early_acks.append((epoch, seq))
        return self.core.write_ack(data)

    def reset(self) -> Any:
        return self.core.reset()


def test_malformed_notifications_are_resent_or_stored_raw_never_acked_early(
    tmp_path: Path,
) -> None:
    async def body() -> None:
        core = DeviceCore(SERIAL)
        base = core.info().last_seq  # the boot STATUS pages
        radio = CorruptingRadio(core, {base + 3: 1, base + 6: 10}, tmp_path / "companion.db")
        async with Rig(tmp_path, radio) as rig:
            emitted = {rig.loop.wearable.inject(hr(i)): hr(i) for i in range(10)}
            session = rig.session()
            task = asyncio.create_task(session.run())
            await until(rig.all_stored)
            await session.stop()
            await task
            rows = {s: (t, raw, d) for _, s, t, raw, d in stored_rows(rig.db)}
            # Corrupted once: the resend brought it, decoded.
            assert rows[base + 3][2] == 1
            # Always corrupted: stored raw, flagged, after three failed receptions.
            kind, raw, decoded = rows[base + 6]
            assert decoded == 0 and kind == "undecodable"
            assert crc16(raw[:-2]) != int.from_bytes(raw[-2:], "little")
            assert radio.corrupt[base + 6] == 10 - 3
            assert session.stats.raw_stored == 1 and session.stats.resends >= 2
            assert radio.acks and not radio.early_acks
            del emitted[base + 6]
            for seq, event in emitted.items():
                assert decode(rows[seq][1]).NAME == event.NAME

    run(body)


def test_fault_soak_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    """Links dropped at random points, device resets and companions killed between
    receiving and storing, while the shipped samples replay through the detectors:
    every event the core emitted is stored exactly once, with the core's bytes."""

    async def body() -> tuple[dict[str, int], faults.Audit]:
        async with Rig(tmp_path, faults.sensing_core(SERIAL)) as rig:
            return await faults.soak(
                rig.loop, tmp_path / "soak.db", 30, seed=10, recordings=load(SAMPLE_DATA)
            )

    counts, audit = run(body, timeout=90)
    assert sum(counts.values()) >= 30 and all(v > 0 for v in counts.values()), counts
    assert audit.detections > 30, audit  # the detectors' events, not only STATUS pages
    assert audit.compared > audit.detections
    assert (audit.lost, audit.duplicated, audit.mismatched) == (0, 0, 0), audit
    assert audit.stored_rows == audit.emitted


def test_soak_audit_catches_a_changed_byte_and_a_missing_row(tmp_path: Path) -> None:
    """The audit compares the store with the bytes the core held (here: as stored before
    the store was tampered with): a row whose bytes differ is mismatched, a missing one
    lost."""
    import sqlite3

    async def body() -> tuple[faults.Audit, dict[int, bytes], Any]:
        async with Rig(tmp_path, faults.sensing_core(SERIAL)) as rig:
            _, clean = await faults.soak(
                rig.loop, tmp_path / "soak.db", 3, seed=4, recordings=load(SAMPLE_DATA)
            )
            with sqlite3.connect(tmp_path / "soak.db") as conn:
                rows = conn.execute("SELECT seq, raw FROM events").fetchall()
                held = {int(seq): bytes(raw) for seq, raw in rows}
                last = max(held)
                altered = held[last][:9] + bytes([held[last][9] ^ 1]) + held[last][10:]
                conn.execute("UPDATE events SET raw = ? WHERE seq = ?", (altered, last))
                conn.execute("DELETE FROM events WHERE seq = 1")
            return clean, held, rig.wearable_core.info()

    clean, held, info = run(body)
    assert (clean.lost, clean.mismatched) == (0, 0) and clean.compared > 1
    broken = faults.audit(tmp_path / "soak.db", SERIAL, info.epoch, info.last_seq, held)
    assert (broken.lost, broken.mismatched) == (1, 1), broken  # seq 1 gone, last altered


def test_load_measures_latency_and_throughput(tmp_path: Path) -> None:
    async def body() -> dict[str, float]:
        async with Rig(tmp_path) as rig:
            return await faults.load(rig.loop, tmp_path / "load.db", 200, rate_hz=200.0)

    result = run(body)
    assert result["latency_samples"] == 50
    assert 0 < result["latency_ms_median"] <= result["latency_ms_p99"]
    assert result["events_per_s"] > 0


def test_two_processes_meet_through_the_virtual_controllers(tmp_path: Path) -> None:
    """`wearsense emulate` and `wearsense companion` as separate processes, over Bumble's
    virtual controllers on loopback (started by the first command). The emulator's traffic
    is its detectors' on the shipped samples replayed at 50x, plus its STATUS pages."""
    import subprocess

    ports = ",".join(map(str, free_ports()))
    cli = CLI
    emulator = subprocess.Popen(
        [*cli, "emulate", "--state-dir", str(tmp_path / "emu"), "--controllers", ports]
        + ["--data-dir", str(SAMPLE_DATA), "--speed", "50", "--duration", "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert emulator.stdout is not None
        assert "emulating WS-00A1B2C3" in emulator.stdout.readline()
        db = tmp_path / "companion.db"
        for run_ in range(2):
            if run_ == 1:  # a packet an earlier companion kept as bytes: decoded at start
                from wearsense.protocol import HrSummary, encode

                kept = HrSummary(1, 60, 0, interval_s=600, min_bpm=60, mean_bpm=70, max_bpm=80)
                with Store(db) as store:
                    store.store_undecodable("WS-OLD01", 1, 1, encode(kept), reason="range")
            done = subprocess.run(
                [*cli, "companion", "--db", str(db), "--controllers", ports]
                + ["--keystore", str(tmp_path / "keys.json"), "--count", "4"]
                + ["--duration", "20"]
                + (["--calibrate-posture", "--record", "30"] if run_ == 1 else []),
                capture_output=True,
                text=True,
                timeout=40,
            )
            assert done.returncode == 0, done.stdout + done.stderr
            assert done.stdout.count("stored WS-00A1B2C3") >= 4, (run_, done.stdout)
            # the second run also asks for the posture calibration over the radio
            assert ("posture: calibration requested" in done.stdout) == (run_ == 1), done.stdout
            # and says what the device's STATUS page 0 reports of it
            said = "posture: not calibrated yet" in done.stdout or (
                "posture: calibrated (the device reports it in force)" in done.stdout
            )
            assert said == (run_ == 1), done.stdout
            assert ("recording: 30 s requested" in done.stdout) == (run_ == 1), done.stdout
            said = "decoded 1 kept packet(s) with this version's decoder" in done.stdout
            assert said == (run_ == 1), done.stdout
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    with Store(db) as store:
        assert store.contiguous_seq(SERIAL, 1) >= 8
        found = {e.type for e in store.events(include_unplaced=True)}
        assert store.count_undecodable() == 0
    # The AF episode of the MIT-BIH 219 sample, from the AFib detector (nothing injected).
    assert "af_start" in found


def test_companion_refuses_a_recording_length_the_protocol_does_not_allow(tmp_path: Path) -> None:
    import subprocess
    import sys

    for seconds in ("5", "61"):
        done = subprocess.run(
            [sys.executable, "-m", "wearsense.cli", "companion", "--record", seconds]
            + ["--db", str(tmp_path / "c.db")],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2
        assert f"--record {seconds}: a recording lasts 10 to 60 s" in done.stderr
        assert not (tmp_path / "c.db").exists()  # refused before anything was opened


class _FakeRecordingSession:
    """Streams at once and answers START_RECORDING from a script; after the commands in
    ``reconnect_after`` it reconnects (a device reset, or a link drop): a new connection."""

    def __init__(self, answers: list[Any], reconnect_after: set[int]) -> None:
        from types import SimpleNamespace

        self.stats = SimpleNamespace(connections=1)
        self.answers, self.reconnect_after, self.sent = answers, reconnect_after, 0

    async def wait_streaming(self, timeout: float) -> None:
        return None

    async def command(self, opcode: Any, **fields: int) -> Any:
        from types import SimpleNamespace

        from wearsense.protocol import Opcode

        assert opcode == Opcode.START_RECORDING and fields == {"duration_s": 30}
        self.sent += 1
        status = self.answers.pop(0)
        if self.sent in self.reconnect_after:
            asyncio.get_running_loop().call_later(0.05, self._reconnect)
        return SimpleNamespace(status=status)

    def _reconnect(self) -> None:
        self.stats.connections += 1


@pytest.mark.parametrize(
    ("answers", "reconnect_after", "sent", "said"),
    [
        # the device reset (the request is gone): asked again, OK, then the verdict
        (["OK", "OK"], {1}, 2, "requested again (a reconnection came before the verdict)"),
        # only the link dropped: the device still has it
        (["OK", "BUSY"], {1}, 2, "still under way on the device"),
        # resets every time: gives up after RECORD_TRIES requests
        (["OK", "OK", "OK"], {1, 2, 3}, 3, "no verdict after 3 requests"),
        # a refusal is final
        (["ARG"], set(), 1, "the device refused it (ARG)"),
    ],
)
def test_the_companion_asks_again_for_a_recording_lost_to_a_reconnection(
    answers: list[str],
    reconnect_after: set[int],
    sent: int,
    said: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from wearsense.cli.companion import RECORD_TRIES, _record
    from wearsense.protocol import Status

    async def scenario() -> int:
        session = _FakeRecordingSession([Status[a] for a in answers], reconnect_after)
        verdict = asyncio.Event()
        task = asyncio.create_task(_record(session, 30, verdict))
        if said != "no verdict after 3 requests" and "refused" not in said:
            while session.sent < sent:  # the verdict comes after the last request
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)
            verdict.set()
        await asyncio.wait_for(task, 5.0)
        return session.sent

    assert asyncio.run(scenario()) == sent <= RECORD_TRIES
    assert said in capsys.readouterr().out
