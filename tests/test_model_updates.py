"""Model updates: the A/B model store and the update service in the C core (through the
host build), the transfer's resume, refusals that leave the old model running, rollback at
boot, power cuts (bounded here; every chunk boundary in `make bench`), the registry and the
rollout guard, and the end-to-end push over the Bumble link."""

from __future__ import annotations

import asyncio
import hashlib
import json
import struct
from pathlib import Path

import pytest
from link_helpers import run
from update_helpers import SHIPPED_AFIB as SHIPPED
from update_helpers import versioned

from wearsense.firmware import core
from wearsense.firmware.updatable import STORE_PAGE_SIZE, UpdatableDevice
from wearsense.protocol import Chunk, Command, Opcode, Response, Status, StatusModels, decode
from wearsense.testing.kill9 import CLI, free_ports
from wearsense.testing.update_powercut import UpdatePowerCuts
from wearsense.updates import package as pkg
from wearsense.updates.keys import dev_signing_key
from wearsense.updates.registry import GuardRefusal, Registry, UntrustedPackage, guard
from wearsense.updates.transfer import (
    DeviceTransport,
    chunk_size,
    push,
    upload,
)

ROOT = Path(__file__).resolve().parents[1]
AFIB = 0


FACTORY = pkg.parse(SHIPPED.read_bytes()).header.model_version  # what the emulator boots


@pytest.fixture(scope="module")
def old() -> bytes:
    """The shipped package as version 1 (these tests count versions from 1)."""
    return versioned(1)


@pytest.fixture(scope="module")
def new() -> bytes:
    return versioned(2)


def installed(package: bytes) -> UpdatableDevice:
    dev = UpdatableDevice("WS-UPD")
    assert dev.provision(package) == Status.OK
    return dev


def command(dev: UpdatableDevice, opcode: Opcode, **args: object) -> Response:
    _, frame = dev.write_command(Command(opcode, 9, args).encode())
    assert frame is not None
    return Response.decode(frame)


def begin(dev: UpdatableDevice, package: bytes, **over: object) -> Response:
    args: dict[str, object] = {
        "task": package[5],
        "version": int.from_bytes(package[8:10], "little"),
        "size": len(package),
        "sha256": hashlib.sha256(package).digest(),
    }
    args.update(over)
    return command(dev, Opcode.UPDATE_BEGIN, **args)


def send_all(dev: UpdatableDevice, package: bytes, start: int = 0) -> None:
    step = chunk_size(247)
    for offset in range(start, len(package), step):
        status, _ = dev.write_transfer(Chunk(offset, package[offset : offset + step]).encode())
        assert status == Status.OK


# ---- the partition ----


def test_partition_holds_two_copies_of_the_largest_package_per_task() -> None:
    lib = core().lib
    assert lib.ws_model_store_pages(STORE_PAGE_SIZE) == lib.WS_MODEL_STORE_PAGES == 44
    sizes = [lib.ws_model_store_max_package(t) for t in range(3)]
    assert sizes == [128 + 32768 + 96, 128 + 16384 + 96, 128 + 16384 + 96]
    # Each slot: a meta page and enough data pages for the largest package of its task.
    pages = sum(2 * (1 + -(-size // STORE_PAGE_SIZE)) for size in sizes)
    assert pages == 44


# ---- a clean update ----


def test_push_switches_in_reports_the_version_and_survives_a_reset(old: bytes, new: bytes) -> None:
    dev = installed(old)
    list(dev.notifications())  # what the boot and the factory install queued
    stats = run(lambda: push(DeviceTransport(dev), new, task=AFIB, version=2))
    assert dev.model_version(AFIB) == 2 and dev.info().model_versions == (2, 0, 0)
    pages = [decode(p) for p in dev.notifications()]
    assert [p.afib_version for p in pages if isinstance(p, StatusModels)] == [2]
    running = dev.active_model(AFIB)
    assert running is not None and running.package == new and running.generation == 2
    assert running.model == pkg.parse(new).model
    assert stats.chunks == -(-len(new) // chunk_size(247))
    rebooted = dev.reset()
    assert rebooted.model_version(AFIB) == 2 and rebooted.rolled_back(AFIB) == 0
    assert rebooted.slot_info(AFIB, 1 - running.slot).version == 1  # the old one, kept


def test_payload_efficiency_at_mtu_247_is_above_90_percent(old: bytes, new: bytes) -> None:
    dev = installed(old)
    stats = run(lambda: push(DeviceTransport(dev), new, task=AFIB, version=2))
    model_bytes = pkg.parse(new).header.model_size
    assert model_bytes / stats.att_bytes >= 0.90
    assert chunk_size(247) == 238


# ---- refusals: the old model keeps running ----


def tampered_model(package: bytes) -> bytes:
    raw = bytearray(package)
    raw[500] ^= 0x01
    return bytes(raw)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("model byte flipped", Status.PKG_HASH),
        ("signature by another key", Status.PKG_KEY),
        ("signature byte flipped", Status.PKG_SIGNATURE),
        ("announced hash differs", Status.PKG_HASH),
    ],
)
def test_a_bad_package_is_refused_at_commit_and_the_old_model_runs(
    old: bytes, new: bytes, case: str, expected: Status
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from wearsense.updates.keys import SigningKey

    data = new
    announced = hashlib.sha256(new).digest()
    if case == "model byte flipped":
        data = tampered_model(new)
        announced = hashlib.sha256(data).digest()
    elif case == "signature by another key":
        data = pkg.sign(new, SigningKey(Ed25519PrivateKey.generate(), "other"))
        announced = hashlib.sha256(data).digest()
    elif case == "signature byte flipped":
        raw = bytearray(new)
        raw[-1] ^= 0x40
        data = bytes(raw)
        announced = hashlib.sha256(data).digest()
    else:  # the bytes sent are the package, but BEGIN named other bytes
        announced = hashlib.sha256(b"another package").digest()
    dev = installed(old)
    assert begin(dev, data, sha256=announced).status == Status.OK
    send_all(dev, data)
    response = command(dev, Opcode.UPDATE_COMMIT, task=AFIB)
    assert response.status == expected
    assert dev.model_version(AFIB) == 1 and dev.active_model(AFIB).package == old  # type: ignore[union-attr]
    # The refused package is discarded: nothing in progress, COMMIT again is STATE.
    assert command(dev, Opcode.UPDATE_QUERY, task=AFIB).data == bytes(6)
    assert command(dev, Opcode.UPDATE_COMMIT, task=AFIB).status == Status.STATE
    assert dev.reset().model_version(AFIB) == 1


def test_placement_task_version_and_size_are_refused(old: bytes, new: bytes) -> None:
    waist = UpdatableDevice("WS-WAIST", placement=1)
    assert waist.provision(old) == Status.PKG_PLACEMENT
    assert waist.model_version(AFIB) == 0
    dev = installed(new)
    # Not newer: refused at BEGIN, before a byte is sent; and at COMMIT (anti-rollback).
    assert begin(dev, old).status == Status.PKG_ROLLBACK
    assert begin(dev, versioned(2)).status == Status.PKG_ROLLBACK
    too_big = 128 + 32768 + 96 + 1
    assert begin(dev, versioned(3), size=too_big).status == Status.NOSPACE
    # The afib package announced for the fall slot: larger than the fall slot allows.
    assert begin(dev, versioned(3), task=1).status == Status.NOSPACE
    assert dev.model_version(AFIB) == 2


def test_commit_before_the_last_byte_and_abort(old: bytes, new: bytes) -> None:
    dev = installed(old)
    assert command(dev, Opcode.UPDATE_COMMIT, task=AFIB).status == Status.STATE
    assert begin(dev, new).status == Status.OK
    step = chunk_size(247)
    for offset in range(0, 10 * step, step):
        dev.write_transfer(Chunk(offset, new[offset : offset + step]).encode())
    assert command(dev, Opcode.UPDATE_COMMIT, task=AFIB).status == Status.STATE
    query = command(dev, Opcode.UPDATE_QUERY, task=AFIB)
    assert struct.unpack("<IH", query.data) == (10 * step, 2)
    assert command(dev, Opcode.UPDATE_ABORT, task=AFIB).status == Status.OK
    assert command(dev, Opcode.UPDATE_QUERY, task=AFIB).data == bytes(6)
    assert dev.model_version(AFIB) == 1
    # After an abort the same package starts again from 0.
    assert begin(dev, new).status == Status.OK
    assert struct.unpack("<IH", command(dev, Opcode.UPDATE_QUERY, task=AFIB).data) == (0, 2)


def test_bad_chunks_are_dropped_and_the_resume_offset_is_notified(old: bytes, new: bytes) -> None:
    dev = installed(old)
    first = Chunk(0, new[:238]).encode()
    status, note = dev.write_transfer(first)
    assert status == Status.STATE and note == struct.pack("<IB", 0, Status.STATE)  # no BEGIN
    assert begin(dev, new).status == Status.OK
    bad_crc = bytearray(first)
    bad_crc[-1] ^= 1
    assert dev.write_transfer(bytes(bad_crc)) == (Status.CRC, struct.pack("<IB", 0, Status.CRC))
    assert dev.write_transfer(b"\x00" * 6)[0] == Status.LENGTH
    assert dev.write_transfer(b"\x00" * 513)[0] == Status.LENGTH
    skipped = Chunk(238, new[238:476]).encode()
    assert dev.write_transfer(skipped) == (Status.STATE, struct.pack("<IB", 0, Status.STATE))
    assert dev.write_transfer(first) == (Status.OK, None)  # within a window: no notification
    for _ in range(7):
        dev.write_transfer(Chunk(238, new[238:476]).encode())  # duplicates: dropped
    assert dev.slot_info(AFIB, 1).received == 476
    assert dev.write_transfer(Chunk(476, new[476:714]).encode()) == (Status.OK, None)
    # Up to the last byte; a chunk reaching past the announced size is refused.
    send_all_from = 714
    step = 238
    for offset in range(send_all_from, len(new) - 100, step):
        dev.write_transfer(Chunk(offset, new[offset : offset + step]).encode())
    at = dev.slot_info(AFIB, 1).received
    assert dev.write_transfer(Chunk(at, b"\x00" * (len(new) - at + 1)).encode())[0] == (
        Status.RANGE
    )
    assert dev.slot_info(AFIB, 1).received == at
    assert dev.model_version(AFIB) == 1


# ---- resume ----


def test_transfer_resumes_after_a_disconnect_and_after_a_reset(old: bytes, new: bytes) -> None:
    dev = installed(old)

    async def stop_at_third(offset: int) -> bool:
        return offset >= 3 * 8 * 238

    async def partial() -> list[int]:
        return [
            o
            async for o in upload(
                DeviceTransport(dev), new, task=AFIB, version=2, stop_after=stop_at_third
            )
        ]

    seen = run(partial)
    assert seen[0] == 0 and seen[-1] == 3 * 8 * 238
    # A disconnect: the next upload starts where the device says.
    seen = run(partial)
    assert seen[0] == 3 * 8 * 238
    # A reset: progress was recorded in flash at every chunk (MTU 247).
    rebooted = dev.reset()
    resumed = run(lambda: _offsets(upload(DeviceTransport(rebooted), new, task=AFIB, version=2)))
    assert resumed[0] == 4 * 8 * 238 and resumed[-1] == len(new)
    assert rebooted.model_version(AFIB) == 2


async def _offsets(gen: object) -> list[int]:
    return [o async for o in gen]  # type: ignore[attr-defined]


def test_small_chunks_resume_from_the_recorded_progress(old: bytes, new: bytes) -> None:
    """At MTU 23 (14-byte chunks) progress is recorded every few chunks so the log never
    fills; a reset resumes from the last record, never beyond what is in flash."""
    dev = installed(old)
    transport = DeviceTransport(dev, mtu=23)

    async def stop(offset: int) -> bool:
        return offset >= 5000

    run(lambda: _offsets(upload(transport, new, task=AFIB, version=2, stop_after=stop)))
    info = dev.slot_info(AFIB, 1)
    assert info.received >= 5000 and info.persisted <= info.received
    assert info.received - info.persisted < 160
    rebooted = dev.reset()
    assert rebooted.slot_info(AFIB, 1).received == info.persisted
    run(lambda: push(DeviceTransport(rebooted, mtu=23), new, task=AFIB, version=2))
    assert rebooted.model_version(AFIB) == 2
    assert rebooted.slot_info(AFIB, 1).log_used < 252


# ---- rollback at boot ----


def test_a_model_that_fails_at_boot_is_rolled_back(old: bytes, new: bytes) -> None:
    dev = installed(old)
    run(lambda: push(DeviceTransport(dev), new, task=AFIB, version=2))
    running = dev.active_model(AFIB)
    assert running is not None and running.version == 2
    # Flash corrupted after the switch (one bit of the model): the boot self-check fails.
    image = bytearray(dev.store_image())
    data_start = (1 + 10) * STORE_PAGE_SIZE if running.slot == 1 else STORE_PAGE_SIZE
    image[data_start + 128 + 4000] ^= 0x10
    rebooted = UpdatableDevice("WS-UPD", dev.flash_image(), store=bytes(image))
    assert rebooted.rolled_back(AFIB) == 1
    assert rebooted.model_version(AFIB) == 1 and rebooted.info().model_versions[0] == 1
    assert rebooted.active_model(AFIB).package == old  # type: ignore[union-attr]
    assert rebooted.slot_info(AFIB, running.slot).bad
    # The BAD entry holds: the next boot runs v1 without verifying v2 again.
    again = rebooted.reset()
    assert again.model_version(AFIB) == 1 and again.rolled_back(AFIB) == 0
    # And v2 can be pushed again into the rejected slot.
    run(lambda: push(DeviceTransport(again), new, task=AFIB, version=2))
    assert again.model_version(AFIB) == 2


def test_a_power_cut_while_rolling_back_still_boots_the_old_model(old: bytes, new: bytes) -> None:
    dev = installed(old)
    run(lambda: push(DeviceTransport(dev), new, task=AFIB, version=2))
    flipped = (1 + 10) * STORE_PAGE_SIZE + 128 + 4000  # slot B of afib: v2's model
    for tear in (0, 3, 8, 11, 12, 13, 15):
        probe = dev.reset()
        assert probe.model_version(AFIB) == 2
        # The model's bytes go bad in flash while it runs; the power is cut during the
        # BAD entry the next boot writes.
        cell = probe._store_mem + flipped
        cell[0] = cell[0] ^ 0x10
        probe.arm_store_power_cut(0, tear)
        probe.reboot()
        assert probe.store_power_was_cut and probe.model_version(AFIB) == 1
        after = UpdatableDevice("WS-UPD", probe.flash_image(), store=probe.store_image())
        assert after.model_version(AFIB) == 1
        assert after.active_model(AFIB).package == old  # type: ignore[union-attr]


# ---- power cuts ----


def test_power_cuts_at_chunk_boundaries_mid_chunk_and_during_the_switch(
    old: bytes, new: bytes
) -> None:
    campaign = UpdatePowerCuts(old, new, task=AFIB)
    result = campaign.run(chunks=range(0, 200, 9))
    assert result.failures == []
    assert result.no_valid_model == 0 and result.stuck == 0 and result.nor_violations == 0
    assert result.boundary_trials >= 13 and result.mid_chunk_trials >= 12
    assert result.switch_trials >= 12 and result.begin_trials >= 10
    # Both outcomes happen: cuts before the COMMIT entry keep v1, after it run v2.
    assert result.booted_old > 0 and result.booted_new > 0
    assert result.resumed_mid_transfer > 0


# ---- registry and rollout guard ----


def other_bytes(package: bytes) -> bytes:
    """The same task and version with other (trusted, DEV-signed) bytes: one self-test
    output changed and signed again."""
    raw = bytearray(package)
    raw[pkg.parse(package).header.selftest_offset + 8] ^= 0x01
    return pkg.sign(bytes(raw), dev_signing_key())


def metrics(value: float, model_sha: str | None = None) -> dict[str, object]:
    return {"macro_f1": value, **({"model_sha256": model_sha} if model_sha else {})}


def test_registry_records_packages_metrics_and_installs(tmp_path: Path, old: bytes) -> None:
    with Registry(tmp_path / "updates.db") as registry:
        shipped = json.loads((SHIPPED.parent / "metrics.json").read_text())
        record = registry.add(old, metrics=shipped)
        assert record.version == 1 and record.metric("macro_f1") == shipped["macro_f1"]
        with pytest.raises(ValueError, match="another model"):
            registry.add(versioned(3), metrics=metrics(0.9, "00" * 32))
        # a tampered package is refused by its signature (issue 29: it was "already
        # registered"), a second genuine package of the same version by the registry
        with pytest.raises(UntrustedPackage, match="does not verify"):
            registry.add(tampered_model(versioned(1)))
        with pytest.raises(ValueError, match="already registered"):
            registry.add(other_bytes(versioned(1)))
        registry.record_install("WS-1", AFIB, 1)
        assert registry.installed("WS-1", AFIB) == 1
    with Registry(tmp_path / "updates.db") as again:  # persisted
        assert [p.version for p in again.packages()] == [1]


def test_guard_refuses_a_worse_or_unevaluated_model_unless_forced(tmp_path: Path) -> None:
    with Registry(tmp_path / "updates.db") as registry:
        v1 = registry.add(versioned(1), metrics=metrics(0.70))
        worse = registry.add(versioned(2), metrics=metrics(0.65))
        better = registry.add(versioned(3), metrics=metrics(0.75))
        unknown = registry.add(versioned(4))
    with pytest.raises(GuardRefusal, match="worse"):
        guard(worse, v1)
    assert guard(worse, v1, force=True).startswith("forced")
    assert "0.7500 >= installed 0.7000" in guard(better, v1)
    with pytest.raises(GuardRefusal, match="no evaluated"):
        guard(unknown, v1)
    assert guard(unknown, v1, force=True).startswith("forced")


# ---- end to end over the Bumble link ----


def test_push_over_ble_reports_the_new_version_and_the_guard_holds(
    tmp_path: Path, old: bytes
) -> None:
    from wearsense.store import Store
    from wearsense.testing.loopback import Loopback
    from wearsense.updates.rollout import ModelStatusWatcher, push_package

    worse = versioned(3)
    better = versioned(2)

    async def scenario() -> None:
        dev = installed(old)
        loop = await Loopback.open(dev, tmp_path)
        store = Store(tmp_path / "companion.db")
        watcher = ModelStatusWatcher()
        session = loop.session(store, on_stored=watcher.on_stored)
        runner = asyncio.create_task(session.run())
        registry = Registry(tmp_path / "updates.db")
        shipped = json.loads((SHIPPED.parent / "metrics.json").read_text())
        registry.add(old, metrics=shipped)
        registry.add(better, metrics={**shipped, "macro_f1": shipped["macro_f1"] + 0.01})
        registry.add(worse, metrics={**shipped, "macro_f1": shipped["macro_f1"] - 0.05})
        try:
            with pytest.raises(GuardRefusal):
                await push_package(session, watcher, worse, registry, history=store)
            offsets: list[int] = []
            outcome = await push_package(
                session, watcher, better, registry, on_offset=offsets.append, history=store
            )
            assert session.mtu == 247
            assert (outcome.from_version, outcome.to_version) == (1, 2)
            assert offsets[0] == 0 and offsets[-1] == len(better)
            assert offsets == sorted(offsets)
            assert dev.model_version(AFIB) == 2
            assert registry.installed(dev.serial, AFIB) == 2
            # The device's STATUS page 1, stored by the companion, carries the new version.
            assert watcher.latest[dev.serial].afib_version == 2
            # Forced, the worse (but newer) package goes in.
            forced = await push_package(
                session, watcher, worse, registry, force=True, history=store
            )
            assert forced.guard.startswith("forced") and dev.model_version(AFIB) == 3
            outcomes = [r[4] for r in registry.rollouts(dev.serial)]
            assert outcomes == ["refused by guard", "installed", "installed"]
            # The terminal UI's Updates screen reads the store's history.
            steps = [(u["version"], u["status"]) for u in store.updates(dev.serial)]
            assert steps == [
                (3, "refused by guard"), (2, "started"), (2, "committed"),
                (3, "started"), (3, "committed"),
            ]  # fmt: skip
            assert {(v["task"], v["version"]) for v in store.model_versions()} == {
                ("afib", 2),
                ("afib", 3),
            }
        finally:
            await session.stop()
            await runner
            registry.close()
            store.close()
            await loop.close()

    run(scenario, timeout=120)


def test_update_push_cli_against_wearsense_emulate(tmp_path: Path, old: bytes) -> None:
    """`wearsense emulate` (factory model: the shipped afib) and `wearsense update push`
    as separate processes over Bumble's virtual controllers: the guard refuses a worse
    model (exit 2), --force installs it, and the registry records what the device runs."""
    import subprocess

    nxt = FACTORY + 1
    worse = tmp_path / f"afib-v{nxt}.wspkg"
    worse.write_bytes(versioned(nxt))
    shipped = json.loads((SHIPPED.parent / "metrics.json").read_text())
    metrics_file = tmp_path / "v2-metrics.json"
    metrics_file.write_text(json.dumps({**shipped, "macro_f1": shipped["macro_f1"] - 0.1}))
    ports = ",".join(map(str, free_ports()))
    cli = CLI
    registry = tmp_path / "updates.db"
    emulator = subprocess.Popen(
        [*cli, "emulate", "--state-dir", str(tmp_path / "emu"), "--controllers", ports]
        + ["--duration", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert emulator.stdout is not None
        assert f"afib v{FACTORY}" in emulator.stdout.readline()
        added = subprocess.run(
            [*cli, "update", "--registry", str(registry), "add", str(SHIPPED)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert added.returncode == 0 and f"afib v{FACTORY}" in added.stdout
        push_cmd = [*cli, "update", "--registry", str(registry), "push", str(worse)]
        push_cmd += ["--metrics", str(metrics_file), "--db", str(tmp_path / "c.db")]
        push_cmd += ["--controllers", ports, "--keystore", str(tmp_path / "keys.json")]
        refused = subprocess.run(push_cmd, capture_output=True, text=True, timeout=60)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert f"worse than the installed version {FACTORY}" in refused.stderr
        forced = subprocess.run([*push_cmd, "--force"], capture_output=True, text=True, timeout=60)
        assert forced.returncode == 0, forced.stdout + forced.stderr
        assert f"runs afib v{nxt} (was v{FACTORY})" in forced.stdout
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    with Registry(registry) as reg:
        assert reg.installed("WS-00A1B2C3", AFIB) == nxt
        assert [r[4] for r in reg.rollouts()] == ["refused by guard", "installed"]
    # The emulator kept its model store: booted again, it runs the pushed version.
    store = (tmp_path / "emu" / "WS-00A1B2C3.models").read_bytes()
    assert UpdatableDevice("WS-00A1B2C3", store=store).model_version(AFIB) == nxt


def test_push_over_ble_resumes_after_the_link_drops(tmp_path: Path, old: bytes) -> None:
    from wearsense.store import Store
    from wearsense.testing.loopback import Loopback
    from wearsense.updates.rollout import ModelStatusWatcher, push_package

    new = versioned(2)

    async def scenario() -> None:
        dev = installed(old)
        loop = await Loopback.open(dev, tmp_path)
        store = Store(tmp_path / "companion.db")
        watcher = ModelStatusWatcher()
        session = loop.session(store, on_stored=watcher.on_stored)
        runner = asyncio.create_task(session.run())
        registry = Registry(tmp_path / "updates.db")
        offsets: list[int] = []
        dropped: list[asyncio.Task[None]] = []

        def on_offset(offset: int) -> None:
            offsets.append(offset)
            if offset >= 8000 and not dropped:
                dropped.append(asyncio.get_running_loop().create_task(loop.wearable.drop_link()))

        try:
            outcome = await push_package(
                session, watcher, new, registry, force=True, on_offset=on_offset
            )
            assert dropped and outcome.attempts >= 2
            assert dev.model_version(AFIB) == 2
            # The second attempt started where the device stood, not at 0.
            assert offsets.count(0) == 1 and offsets == sorted(offsets)
            assert offsets[-1] == len(new)
        finally:
            await session.stop()
            await runner
            registry.close()
            store.close()
            await loop.close()

    run(scenario, timeout=120)


def test_bytes_that_cannot_be_programmed_over_restart_the_transfer(old: bytes, new: bytes) -> None:
    """Past the recorded progress the flash may hold bytes of an earlier, torn program. The
    same bytes are programmed over themselves; anything else (here: bits cleared that the
    package needs set) makes the device erase the slot and start again from 0 (FLASH)."""
    dev = installed(old)

    async def stop(offset: int) -> bool:
        return offset >= 8 * 238

    run(lambda: _offsets(upload(DeviceTransport(dev), new, task=AFIB, version=2, stop_after=stop)))
    received = dev.slot_info(AFIB, 1).received
    # A byte of the next chunk that the package needs non-zero, cleared in flash.
    at = next(i for i in range(received, received + 238) if new[i] != 0)
    cell = dev._store_mem + (1 + 10) * STORE_PAGE_SIZE + at
    cell[0] = 0x00
    status, note = dev.write_transfer(Chunk(received, new[received : received + 238]).encode())
    assert status == Status.FLASH and note == struct.pack("<IB", 0, Status.FLASH)
    assert dev.slot_info(AFIB, 1).received == 0 and dev.model_version(AFIB) == 1
    offsets = run(lambda: _offsets(upload(DeviceTransport(dev), new, task=AFIB, version=2)))
    assert offsets[0] == 0 and dev.model_version(AFIB) == 2
