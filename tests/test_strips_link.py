"""ECG strips over the link (issue 31; docs/protocol.md "Strip transfer"): the owner's
companion fetches a strip the emulated wearable holds, end to end over the in-process
virtual link, resumes after the link drops, releases it; a central that is not the owner
gets nothing; the emulated wearable fed with the shipped real recording makes strips."""

from __future__ import annotations

import asyncio
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from link_helpers import run

from wearsense import protocol
from wearsense.companion.strips import StripError, fetch_strip, release_strip
from wearsense.emulator.wearable import address_for
from wearsense.firmware.device import DeviceCore
from wearsense.protocol import Opcode, Status
from wearsense.store import Store
from wearsense.testing.intruder import LEGACY, PROPER, UNBONDED, Intruder
from wearsense.testing.loopback import Loopback

SERIAL = "WS-00C0FFEE"
FS = 360
NO_ACCESS = {0x05, 0x0F}  # Insufficient Authentication / Insufficient Encryption


def ecg(seconds: int, seed: int = 0) -> np.ndarray:
    """A plausible int16 ECG-like trace (beats plus noise) of ``seconds``."""
    rng = np.random.default_rng(seed)
    t = np.arange(seconds * FS) / FS
    beats = np.sin(2 * np.pi * 1.1 * t) ** 41 * 900
    return (beats + rng.normal(0, 12, t.size) + 1024).astype(np.int16)


async def streaming(loop: Loopback, store: Store, **kw: Any) -> tuple[Any, asyncio.Task[None]]:
    session = loop.session(store, **kw)
    task = asyncio.create_task(session.run())
    await session.wait_streaming(30.0)
    return session, task


def test_the_owner_fetches_a_strip_and_releases_it(tmp_path: Path) -> None:
    core = DeviceCore(SERIAL)
    strip_id = core.make_strip(ecg(20), FS, adc_gain=200.0, adc_zero=1024)
    expected = core.strip_image(strip_id)

    async def body() -> None:
        loop = await Loopback.open(core, tmp_path)
        store = Store(tmp_path / "companion.db")
        try:
            session, task = await streaming(loop, store)
            seen: list[tuple[int, int]] = []
            image = await fetch_strip(session, strip_id, progress=lambda a, b: seen.append((a, b)))
            assert image == expected
            assert image[:4] == b"WSTR" and image[5] == protocol.StripReason.AF_ONSET
            assert len(seen) > 1 and seen[-1] == (len(image), len(image))
            assert [a for a, _ in seen] == sorted({a for a, _ in seen})  # in order, once each
            with pytest.raises(StripError) as wrong:
                await release_strip(session, strip_id, zlib.crc32(image) ^ 1)
            assert wrong.value.status == Status.STATE
            assert not core.strips()[0].released
            await release_strip(session, strip_id, zlib.crc32(image))
            assert core.strips()[0].released
            with pytest.raises(StripError) as missing:
                await fetch_strip(session, strip_id + 7)
            assert missing.value.status == Status.NOT_FOUND
            await session.stop()
            await task
        finally:
            store.close()
            await loop.close()

    run(body)


def test_a_fetch_resumes_after_the_link_drops(tmp_path: Path) -> None:
    core = DeviceCore(SERIAL)
    strip_id = core.make_strip(ecg(30, seed=1), FS, adc_gain=200.0, adc_zero=1024)
    expected = core.strip_image(strip_id)

    async def body() -> None:
        loop = await Loopback.open(core, tmp_path)
        store = Store(tmp_path / "companion.db")
        try:
            session, task = await streaming(loop, store)
            offsets: list[int] = []
            command = session.command

            async def spy(opcode: Opcode, **args: Any) -> protocol.Response:
                if opcode == Opcode.STRIP_GET:
                    offsets.append(int(args["offset"]))
                return await command(opcode, **args)

            session.command = spy  # type: ignore[method-assign]
            dropped: list[asyncio.Task[None]] = []
            frames = {"sent": 0}
            next_frame = core.next_strip_frame

            def radio_drops(max_frame: int) -> bytes | None:
                # the link drops after 20 frames: the rest of them are lost with it
                if dropped:
                    return next_frame(max_frame) if dropped[0].done() else None
                frames["sent"] += 1
                if frames["sent"] > 20:
                    dropped.append(asyncio.create_task(loop.wearable.peripheral.drop_link()))
                    return None
                return next_frame(max_frame)

            core.next_strip_frame = radio_drops  # type: ignore[method-assign]
            progress = None
            image = await fetch_strip(session, strip_id, progress=progress)
            assert dropped, "the link never dropped"
            assert image == expected
            assert offsets[0] == 0 and len(offsets) >= 2
            assert 0 < offsets[-1] < len(image)  # it went on from where it was
            assert session.stats.connections >= 2
            await session.stop()
            await task
        finally:
            store.close()
            await loop.close()

    run(body, timeout=120.0)


def test_a_central_that_is_not_the_owner_gets_no_strip(tmp_path: Path) -> None:
    core = DeviceCore(SERIAL)
    strip_id = core.make_strip(ecg(10, seed=2), FS)

    async def body() -> None:
        loop = await Loopback.open(core, tmp_path)
        store = Store(tmp_path / "companion.db")
        intruder = await Intruder.open(loop.link)
        try:
            session, task = await streaming(loop, store)  # the owner bonds first
            await session.stop()
            await task
            for how in (None, LEGACY, UNBONDED, PROPER):
                attempt = await intruder.attempt(address_for(SERIAL), how, strip_id=strip_id)
                assert attempt.accepted == [], attempt
                assert attempt.refused["subscribe strips"] in NO_ACCESS
                assert attempt.refused["write strip get"] in NO_ACCESS
                assert attempt.strip_frames == []
            assert not core.strips()[0].released
        finally:
            store.close()
            await intruder.close()
            await loop.close()

    run(body, timeout=120.0)


def test_the_emulated_wearable_makes_strips_from_the_shipped_recording() -> None:
    """MIT-BIH 219 (sinus, then AF) through the detectors: each AF_START and the on-demand
    recording get a strip naming them, whose header tells where its samples sit."""
    from wearsense.datasets import mitdb
    from wearsense.emulator.device import Wearable

    samples = Path(__file__).resolve().parents[1] / "samples" / "data"
    rec = mitdb.load_record("219", samples)
    lead = rec.signals[:, 0]
    dev = Wearable(SERIAL)
    dev.command(protocol.Command(Opcode.START_RECORDING, 1, {"duration_s": 30}))
    fs = int(rec.fs)
    minutes = min(len(lead), 8 * 60 * fs)
    dev.feed_ecg(lead[:minutes], fs, adc_gain=rec.adc_gain[0], adc_zero=rec.adc_zero[0])
    events = dev.detections()
    strips = [e for e in events if isinstance(e, protocol.Strip)]
    subjects = {e.seq: e for e in events}
    assert strips, "no strip made"
    kinds = {type(subjects[s.subject_seq]) for s in strips}
    assert protocol.EcgRecording in kinds
    for event in strips:
        image = dev.strip_image(event.strip_id)
        assert image[:4] == b"WSTR"
        assert int.from_bytes(image[16:18], "little") == fs
        subject = subjects[event.subject_seq]
        if isinstance(subject, protocol.AfStart):
            assert event.reason == protocol.StripReason.AF_ONSET
            start = int.from_bytes(image[10:14], "little")
            n = int.from_bytes(image[26:30], "little")
            # from 10 s before the onset, or as far back as the RAM ring reaches
            # (docs/strips.md): before the AF_START in any case
            assert max(0, subject.time_s - subject.onset_lag_s - 10) <= start < subject.time_s
            assert n >= 10 * fs
    assert all(e.announced for e in dev.strips())
