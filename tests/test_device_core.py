"""The device core (firmware/src/app) through its BLE face: identity, numbering across
resets and epochs, acknowledgements, resend, commands, and the queue when full."""

from __future__ import annotations

import dataclasses
import random
import struct

import pytest

from wearsense import protocol
from wearsense.firmware.device import DeviceCore, DeviceError
from wearsense.protocol import Ack, AckKind, Command, Opcode, Status
from wearsense.testing.powercut import random_event

SMALL = {"page_size": 512, "page_count": 4}
UTC_2025 = 1_735_689_600


def hr(time_s: int = 0) -> protocol.HrSummary:
    return protocol.HrSummary(0, time_s, 0, interval_s=900, min_bpm=55, mean_bpm=62, max_bpm=80)


def af(time_s: int = 0) -> protocol.AfStart:
    return protocol.AfStart(0, time_s, 3, hr_bpm=130, confidence=90, onset_lag_s=30)


def drain(dev: DeviceCore) -> list[protocol.Event]:
    return [protocol.decode(p) for p in dev.notifications()]


def test_blank_flash_boots_epoch_1_and_announces_itself():
    dev = DeviceCore("WS-0001", **SMALL, battery_pct=87)
    events = drain(dev)
    assert [type(e) for e in events] == [
        protocol.StatusDevice,
        protocol.StatusModels,
        protocol.StatusFirmware,
    ]
    assert [e.seq for e in events] == [1, 2, 3]
    page0 = events[0]
    assert isinstance(page0, protocol.StatusDevice)
    assert page0.epoch == 1 and page0.battery_pct == 87 and page0.boot_count == 1
    assert page0.flags & protocol.StatusFlag.NEW_EPOCH
    assert not page0.flags & protocol.StatusFlag.TIME_SYNCED
    assert page0.queue_free == dev.info().queue_free + 3  # counted before the 3 pages went in


def test_sequence_numbers_survive_resets_even_when_everything_was_freed():
    dev = DeviceCore("WS-0001", **SMALL)
    for i in range(60):  # several pages, so the old ones get erased on ack
        dev.inject(hr(i))
    last = dev.info().last_seq
    assert dev.ack(last) == Status.OK
    assert dev.info().pending == 0
    again = dev.reset()
    assert again.info().boot_count == 2
    status = drain(again)
    assert [e.seq for e in status] == [last + 1, last + 2, last + 3]
    assert again.inject(hr()) == last + 4
    assert again.nor_violations == 0


def test_ack_frees_and_bad_acks_get_their_status():
    dev = DeviceCore("WS-0001", **SMALL)
    seqs = [dev.inject(hr(i)) for i in range(5)]
    epoch = dev.info().epoch
    assert dev.ack(seqs[-1] + 1) == Status.STATE  # beyond the last assigned seq
    assert dev.ack(seqs[1], epoch=epoch + 1) == Status.EPOCH
    assert dev.write_ack(b"\x01\x01\x00") == Status.LENGTH
    assert dev.write_ack(b"\x09" + bytes(5)) == Status.TYPE
    assert dev.ack(seqs[1]) == Status.OK
    assert dev.info().acked_seq == seqs[1]
    assert dev.ack(seqs[0]) == Status.OK  # stale: nothing changes
    assert dev.info().acked_seq == seqs[1]
    assert [e.seq for e in dev.pending()] == seqs[2:]
    assert dev.reset(announce=False).info().acked_seq == seqs[1]


def test_resend_from_rewinds_and_refuses_freed_events():
    dev = DeviceCore("WS-0001", **SMALL)
    seqs = [dev.inject(hr(i)) for i in range(4)]
    first = [e.seq for e in drain(dev)]
    assert first == [1, 2, 3, *seqs]
    epoch = dev.info().epoch
    resend = Ack(AckKind.RESEND_FROM, epoch, seqs[1]).encode()
    assert dev.write_ack(resend) == Status.OK
    assert [e.seq for e in drain(dev)] == seqs[1:]
    assert dev.ack(seqs[0]) == Status.OK
    assert dev.write_ack(Ack(AckKind.RESEND_FROM, epoch, seqs[0]).encode()) == Status.STATE
    past_end = Ack(AckKind.RESEND_FROM, epoch, seqs[-1] + 2).encode()
    assert dev.write_ack(past_end) == Status.STATE
    assert dev.write_ack(Ack(AckKind.RESEND_FROM, epoch + 1, seqs[2]).encode()) == Status.EPOCH
    dev.connect()  # a new link starts after the acknowledged seq
    assert [e.seq for e in drain(dev)] == seqs[1:]


def test_time_sync_sets_offset_and_reports_device_time():
    dev = DeviceCore("WS-0001", **SMALL, now_s=5000)
    drain(dev)
    rsp = dev.command(Command(Opcode.TIME_SYNC, 9, {"utc_s": UTC_2025}))
    assert rsp is not None and rsp.status == Status.OK and rsp.token == 9
    assert struct.unpack("<I", rsp.data)[0] == 5000
    info = dev.info()
    assert info.time_synced and info.utc_offset_s == UTC_2025 - 5000
    pages = drain(dev)
    assert isinstance(pages[0], protocol.StatusDevice)
    assert pages[0].flags & protocol.StatusFlag.TIME_SYNCED
    assert isinstance(pages[2], protocol.StatusFirmware)
    assert pages[2].utc_offset_s == UTC_2025 - 5000


def test_time_sync_to_absurd_values_is_refused():
    dev = DeviceCore("WS-0001", **SMALL)
    year_2101 = 4_133_980_800
    status, frame = dev.write_command(bytes([Opcode.TIME_SYNC, 1]) + struct.pack("<I", year_2101))
    assert status == Status.RANGE and frame is not None
    assert protocol.Response.decode(frame).status == Status.RANGE
    status, _ = dev.write_command(bytes([Opcode.TIME_SYNC, 1]) + struct.pack("<I", 1000))
    assert status == Status.RANGE
    assert not dev.info().time_synced


def test_factory_reset_starts_a_new_epoch_with_an_empty_queue():
    dev = DeviceCore("WS-0001", **SMALL)
    for i in range(20):
        dev.inject(af(i))
    old_epoch = dev.info().epoch
    status, wrong = dev.write_command(bytes([Opcode.FACTORY_RESET, 1]) + bytes(4))
    assert status == Status.RANGE and wrong is not None
    assert protocol.Response.decode(wrong).status == Status.RANGE
    assert dev.info().epoch == old_epoch
    magic = protocol.frames.FACTORY_RESET_MAGIC
    rsp = dev.command(Command(Opcode.FACTORY_RESET, 2, {"magic": magic}))
    assert rsp is not None and rsp.status == Status.OK and rsp.data == b""
    events = drain(dev)
    assert [e.seq for e in events] == [1, 2, 3]
    assert isinstance(events[0], protocol.StatusDevice) and events[0].epoch == old_epoch + 1
    assert events[0].flags & protocol.StatusFlag.NEW_EPOCH
    assert dev.ack(3, epoch=old_epoch) == Status.EPOCH
    rebooted = dev.reset(announce=False)
    assert rebooted.info().epoch == old_epoch + 1
    assert [e.seq for e in rebooted.pending()] == [1, 2, 3]


def test_commands_with_bad_frames_get_documented_statuses():
    dev = DeviceCore("WS-0001", **SMALL)
    assert dev.write_command(b"") == (Status.LENGTH, None)
    assert dev.write_command(b"\x63\x01") == (Status.TYPE, b"\xe3\x01\x04")
    status, frame = dev.write_command(bytes([Opcode.TIME_SYNC, 4, 0]))
    assert status == Status.LENGTH
    assert frame is not None and protocol.Response.decode(frame).token == 4
    rsp = dev.command(Command(Opcode.UPDATE_QUERY, 5, {"task": 0}))
    assert rsp is not None and rsp.status == Status.STATE
    first = dev.command(Command(Opcode.START_RECORDING, 6, {"duration_s": 30}))
    busy = dev.command(Command(Opcode.START_RECORDING, 7, {"duration_s": 30}))
    assert first is not None and first.status == Status.OK
    assert busy is not None and busy.status == Status.BUSY
    assert dev.info().recording_s == 30
    cfg = dev.command(Command(Opcode.SET_CONFIG, 8, {"key": 2, "value": 60}))
    assert cfg is not None and cfg.status == Status.OK and dev.info().summary_min == 60


def test_full_queue_drops_low_priority_first_and_reports_gaps():
    dev = DeviceCore("WS-0001", **SMALL)
    rng = random.Random(5)
    important: set[int] = set()
    for i in range(400):
        if rng.random() < 0.1:
            important.add(dev.inject(af(i)))
        else:
            dev.inject(hr(i))
    held = {e.seq: e for e in dev.pending()}
    assert set(important) <= set(held)  # no AF event dropped while summaries could go
    gaps = [e for e in held.values() if isinstance(e, protocol.Gap)]
    assert gaps
    missing = set(range(1, dev.info().last_seq + 1)) - set(held)
    covered: set[int] = set()
    for gap in gaps:
        span = set(range(gap.first_seq, gap.last_seq + 1))
        assert gap.dropped <= len(span & missing)
        covered |= span
    # a dropped GAP folds into the one that dropped it: each loss is reported exactly once
    assert missing <= covered
    assert sum(g.dropped for g in gaps) == len(missing)
    seqs = [e.seq for e in drain(dev)]
    assert seqs == sorted(seqs)
    assert dev.nor_violations == 0


def test_af_events_go_only_when_nothing_else_is_left():
    dev = DeviceCore("WS-0001", **SMALL)
    for i in range(300):
        dev.inject(af(i))
    held = dev.pending()
    assert all(isinstance(e, protocol.AfStart | protocol.Gap) for e in held[3:])
    assert any(isinstance(e, protocol.Gap) for e in held)
    afs = [e.seq for e in held if isinstance(e, protocol.AfStart)]
    assert afs == list(range(afs[0], afs[-1] + 1)) or len(afs) > 20  # newest are kept


def test_random_events_round_trip_through_the_queue():
    dev = DeviceCore("WS-0001", page_size=4096, page_count=4)
    rng = random.Random(11)
    sent = []
    for i in range(120):
        event = random_event(rng, i)
        seq = dev.inject(event)
        sent.append((seq, event))
    held = {e.seq: e for e in dev.pending()}
    for seq, event in sent:
        assert held[seq] == dataclasses.replace(event, seq=seq)


def test_bad_identity_and_flash_images_raise_device_error():
    with pytest.raises(DeviceError, match="serial"):
        DeviceCore("", **SMALL)
    with pytest.raises(DeviceError, match="serial"):
        DeviceCore("x" * 17, **SMALL)
    with pytest.raises(DeviceError, match="flash image"):
        DeviceCore("WS-1", b"\xff" * 100, **SMALL)
    with pytest.raises(DeviceError):
        DeviceCore("WS 1", **SMALL)  # a space is not printable-without-blank ASCII
    with pytest.raises(DeviceError):
        DeviceCore("WS-1", page_size=512, page_count=2)


def test_clone_is_independent():
    dev = DeviceCore("WS-0001", **SMALL)
    copy = dev.clone()
    copy.inject(hr())
    assert dev.info().last_seq == 3 and copy.info().last_seq == 4
    assert dev.flash_image() != copy.flash_image()


def test_torn_append_keeps_every_complete_record_at_every_tear_position():
    base = DeviceCore("WS-0001", **SMALL)
    for i in range(5):
        base.inject(hr(i))
    before = base.pending_packets()
    probe = base.clone()
    ops0 = probe.flash_ops
    probe.inject(af())
    ops = probe.flash_ops - ops0
    assert ops == 2  # body, then the commit word
    for op in range(ops):
        for pos in range(0, 24):
            cut = base.clone()
            cut.arm_power_cut(op, pos, 0x5A)
            with pytest.raises(DeviceError):
                cut.inject(af())
            recovered = DeviceCore("WS-0001", cut.flash_image(), **SMALL, announce=False)
            held = recovered.pending_packets()
            assert held[: len(before)] == before
            assert len(held) in (len(before), len(before) + 1)
            if len(held) > len(before):
                assert held[-1] == probe.pending_packets()[-1]
            assert recovered.info().last_seq >= base.info().last_seq
            after = recovered.reset()  # and it goes on working
            assert after.inject(hr()) > base.info().last_seq


def test_device_time_never_goes_back_across_resets():
    dev = DeviceCore("WS-0001", **SMALL, now_s=50_000)
    dev.inject(hr(50_000))
    restarted = DeviceCore("WS-0001", dev.flash_image(), **SMALL, now_s=0)  # clock restarted
    assert restarted.info().time_s >= 50_000
    restarted.advance(30)
    seq = restarted.inject(hr(restarted.info().time_s))
    assert restarted.pending()[-1].seq == seq
    assert restarted.pending()[-1].time_s >= 50_030
    kept = DeviceCore("WS-0001", dev.flash_image(), **SMALL, now_s=90_000)  # clock kept running
    assert kept.info().time_s == 90_000
    assert not kept.info().time_synced


def test_status_record_reports_numbering_and_time():
    dev = DeviceCore("WS-0001", **SMALL, now_s=1234, battery_pct=64, charging=True)
    dev.inject(hr())
    dev.ack(2)
    record = dev.read_status()
    assert len(record) == 17
    version, battery, epoch = struct.unpack("<BBH", record[:4])
    last_seq = int.from_bytes(record[4:7], "little")
    acked = int.from_bytes(record[7:10], "little")
    queue_free, time_s, flags = struct.unpack("<HIB", record[10:])
    assert (version, battery, epoch, last_seq, acked) == (1, 64, 1, 4, 2)
    assert queue_free == dev.info().queue_free and time_s == 1234
    assert flags & protocol.StatusFlag.CHARGING and not flags & protocol.StatusFlag.TIME_SYNCED


def test_a_model_switching_in_is_announced():
    dev = DeviceCore("WS-0001", **SMALL, model_versions=(3, 0, 0))
    boot = drain(dev)
    assert isinstance(boot[1], protocol.StatusModels) and boot[1].afib_version == 3
    assert dev.set_model_version(1, 7) == Status.OK
    pages = drain(dev)
    assert isinstance(pages[1], protocol.StatusModels)
    assert (pages[1].afib_version, pages[1].fall_version) == (3, 7)
    assert dev.info().model_versions == (3, 7, 0)


def test_flash_image_persists_in_a_file(tmp_path):
    path = tmp_path / "wearable.flash"
    dev = DeviceCore.from_file("WS-0001", path, **SMALL)  # no file yet: blank flash
    seq = dev.inject(af())
    dev.save_flash(path)
    again = DeviceCore.from_file("WS-0001", path, **SMALL)
    assert seq in [e.seq for e in again.pending()]
    assert again.info().boot_count == 2
    (tmp_path / "short.flash").write_bytes(b"\xff" * 10)
    with pytest.raises(DeviceError, match="short.flash"):
        DeviceCore.from_file("WS-0001", tmp_path / "short.flash", **SMALL)


def test_a_clean_reboot_recovers_exactly_what_the_running_core_holds():
    """After any clean sequence of appends, compactions and acknowledgements, recovery
    from flash alone rebuilds the same queue (no dropped event comes back, none is lost)."""
    rng = random.Random(21)
    dev = DeviceCore("WS-0001", page_size=256, page_count=4)
    for step in range(1500):
        if rng.random() < 0.04:
            info = dev.info()
            dev.ack(info.acked_seq + (info.last_seq - info.acked_seq) // 3)
        else:
            dev.inject(random_event(rng, step))
        if step % 7 == 0:
            recovered = DeviceCore(
                "WS-0001", dev.flash_image(), page_size=256, page_count=4, announce=False
            )
            assert recovered.pending_packets() == dev.pending_packets(), step
            assert recovered.info().last_seq == dev.info().last_seq
            assert recovered.info().acked_seq == dev.info().acked_seq
