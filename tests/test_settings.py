"""The wearer's settings survive a reset (``ws_settings_*``, docs/device-core.md,
"Settings"): SET_CONFIG values and the posture calibration are kept in two flash pages of
their own, used in turn, so a power cut at any byte leaves the old settings or the new
ones; FACTORY_RESET goes back to the defaults; a damaged page is ignored."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from wearsense import protocol
from wearsense.emulator.device import Wearable, shipped_models
from wearsense.firmware.device import SETTINGS_PAGES, DeviceCore, DeviceError
from wearsense.protocol import Status

SIT, STAND = 5, 6
RECORD = 24  # WS_SETTINGS_RECORD_SIZE
needs_activity = pytest.mark.skipif(2 not in shipped_models(), reason="no activity model")


def _config(dev: DeviceCore, key: int, value: int, token: int = 1) -> Status:
    cmd = protocol.Command(protocol.Opcode.SET_CONFIG, token, {"key": key, "value": value})
    return dev.command(cmd).status


def _still(gravity: np.ndarray, seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * 50)
    acc = np.tile(gravity, (n, 1)) + rng.normal(0, 0.01, (n, 3))
    return np.concatenate([acc, rng.normal(0, 1.0, (n, 3))], axis=1)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def test_config_survives_a_reset_and_a_factory_reset_restores_the_defaults():
    dev = DeviceCore("WS-SET1")
    assert dev.settings().fall_cancel_s == 30 and dev.settings().summary_min == 15
    assert dev.settings_image() == b"\xff" * (dev.page_size * SETTINGS_PAGES)
    assert _config(dev, 1, 45) == Status.OK
    assert _config(dev, 2, 60, token=2) == Status.OK
    again = dev.reset()
    assert (again.info().fall_cancel_s, again.info().summary_min) == (45, 60)
    assert again.settings().fall_cancel_s == 45
    reset = protocol.Command(protocol.Opcode.FACTORY_RESET, 3, {"magic": 0x54455352})
    assert again.command(reset).status == Status.OK
    assert (again.info().fall_cancel_s, again.info().summary_min) == (30, 15)
    third = again.reset()
    assert (third.info().fall_cancel_s, third.info().summary_min) == (30, 15)


def test_pages_are_used_in_turn_and_an_unchanged_value_writes_nothing():
    dev = DeviceCore("WS-SET2")
    page = dev.page_size
    assert _config(dev, 1, 40) == Status.OK
    image = dev.settings_image()
    assert image[:4] == b"WSS1" and image[page : page + 4] == b"\xff" * 4
    assert _config(dev, 1, 40, token=2) == Status.OK
    assert dev.settings_image() == image  # nothing written
    assert _config(dev, 1, 50, token=3) == Status.OK
    image = dev.settings_image()
    assert image[page : page + 4] == b"WSS1" and image[:4] == b"WSS1"  # the older one stays
    assert dev.reset().info().fall_cancel_s == 50  # the higher sequence number wins


def test_damaged_or_foreign_pages_are_ignored():
    dev = DeviceCore("WS-SET3")
    assert _config(dev, 1, 40) == Status.OK
    assert _config(dev, 1, 50, token=2) == Status.OK  # page 1 holds 50, page 0 holds 40
    image = bytearray(dev.settings_image())
    page = dev.page_size
    image[page + 9] ^= 0x01  # a bit of the newer record's fall_cancel_s flips: CRC fails
    back = DeviceCore("WS-SET3", dev.flash_image(), settings=bytes(image))
    assert back.info().fall_cancel_s == 40  # the older valid record
    junk = bytes(np.random.default_rng(1).integers(0, 256, 2 * page, dtype=np.uint8))
    assert DeviceCore("WS-SET3", settings=junk).info().fall_cancel_s == 30
    with pytest.raises(DeviceError, match="settings image"):
        DeviceCore("WS-SET3", settings=b"\xff" * 100)


def test_a_power_cut_at_any_settings_write_leaves_the_old_or_the_new_settings():
    base = DeviceCore("WS-SET4")
    assert _config(base, 1, 40) == Status.OK
    image = base.settings_image()
    seen = set()
    for tear in range(0, RECORD + 2):
        # ops of one save: erase, program the body, program the magic
        for op in range(3):
            dev = DeviceCore("WS-SET4", base.flash_image(), settings=image)
            cut = dev._settings_flash
            dev.lib.ws_host_flash_arm_cut(cut, op, tear, 0x5A)
            _config(dev, 1, 90)
            back = DeviceCore("WS-SET4", base.flash_image(), settings=dev.settings_image())
            value = back.info().fall_cancel_s
            assert value in (40, 90), (op, tear, value)
            seen.add(value)
    assert seen == {40, 90}


def _calibrated_flags(dev: DeviceCore) -> list[bool]:
    """POSTURE_CALIBRATED of every STATUS page 0 held, in order."""
    return [
        bool(e.flags & protocol.StatusFlag.POSTURE_CALIBRATED)
        for e in dev.pending()
        if isinstance(e, protocol.StatusDevice)
    ]


@needs_activity
def test_the_posture_calibration_survives_a_reset_until_forgotten():
    upright = _unit(np.array([1.0, -0.15, 0.0]))
    t = np.radians(20)
    tilted = _unit(np.array([np.cos(t), -0.15, np.sin(t)]))
    dev = Wearable("WS-SET5")
    assert _config(dev, 3, 1) == Status.OK
    dev.feed_imu(_still(tilted, 12, 3), 50)  # this wearer's unit stands at 20 degrees
    assert dev.stats().posture == 2
    assert dev.settings().posture_calibrated
    ref = np.array(dev.settings().posture_ref) / 128.0
    assert np.allclose(ref, tilted, atol=0.03)

    assert _calibrated_flags(dev) == [False, True]  # boot, then the calibration
    # the 17-byte status record a companion reads to connect keeps bits 0-2 only, so one
    # that predates the posture bit still connects (docs/protocol.md section 8)
    record = protocol.StatusRecord.decode(dev.read_status())
    assert record.flags & 0x08 == 0
    after = dev.reset()  # a reset (battery, watchdog): the calibration is read back
    assert after.stats().posture == 2
    assert _calibrated_flags(after)[-1] is True  # page 0 sent again after the boot's
    after.feed_imu(_still(tilted, 30, 4), 50)
    assert after.stats().activity == STAND
    after.feed_imu(_still(upright, 30, 5), 50)
    assert after.stats().activity == SIT

    assert _config(after, 3, 0, token=2) == Status.OK
    after.feed_imu(_still(tilted, 4, 6), 50)
    assert after.stats().posture == 0
    assert _calibrated_flags(after)[-1] is False
    assert after.reset().stats().posture == 0  # forgotten for good


@needs_activity
def test_a_stored_calibration_out_of_range_is_not_used():
    dev = Wearable("WS-SET6")
    # a valid record whose gravity is 2 g: what no calibration makes
    rec = bytearray(b"\xff" * (dev.page_size * SETTINGS_PAGES))
    body = bytearray(RECORD)
    body[0:4] = b"WSS1"
    body[4:8] = (1).to_bytes(4, "little")
    body[8:10] = (30).to_bytes(2, "little")
    body[10:12] = (15).to_bytes(2, "little")
    body[12] = 1
    body[14:16] = (256).to_bytes(2, "little", signed=True)
    body[22:24] = protocol.crc16(bytes(body[:22])).to_bytes(2, "little")
    rec[:RECORD] = body
    back = Wearable("WS-SET6", settings=bytes(rec))
    assert back.stats().posture == 0  # not used ...
    assert not back.settings().posture_calibrated  # ... and forgotten
    body[14:16] = (128).to_bytes(2, "little", signed=True)
    body[22:24] = protocol.crc16(bytes(body[:22])).to_bytes(2, "little")
    rec[:RECORD] = body
    assert Wearable("WS-SET6", settings=bytes(rec)).stats().posture == 2


def _record(fields: bytes, seq: int) -> bytes:
    """A whole settings record around 14 body bytes (valid CRC, so only the range checks and
    the posture restore stand between it and the device)."""
    head = b"WSS1" + seq.to_bytes(4, "little") + fields
    return head + protocol.crc16(head).to_bytes(2, "little")


axis = st.one_of(st.integers(-32768, 32767), st.integers(-160, 160))
bodies = st.tuples(
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFF),
    st.sampled_from([0, 1, 1, 2]),  # calibrated: 0, 1, or out of range
    st.sampled_from([0, 0, 7]),  # a reserved byte
    st.tuples(axis, axis, axis),
    st.sampled_from([0, 0, 1]),  # the trailing reserved u16
).map(lambda b: struct.pack("<HHBB3hH", b[0], b[1], b[2], b[3], *b[4], b[5]))


@pytest.mark.sanitized
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.binary(min_size=2 * 256, max_size=2 * 256),
    st.lists(st.tuples(st.integers(0, 1), bodies, st.integers(0, 2**32 - 1)), max_size=2),
)
def test_any_settings_image_boots_and_is_read_as_documented(asan_core, image, records):
    """A settings file is untrusted: random pages, and whole records with any body, boot a
    wearable under the sanitizers; what it takes is either the defaults or a record that
    passed every check, and a calibration it keeps reads 0.8-1.2 g."""
    pages = bytearray(image)
    for page, body, seq in records:
        pages[page * 256 : page * 256 + RECORD] = _record(body, seq)
    dev = Wearable("WS-SETF", models=None, settings=bytes(pages), page_size=256, sanitized=True)
    got = dev.settings()
    info = dev.info()
    assert (info.fall_cancel_s, info.summary_min) == (got.fall_cancel_s, got.summary_min)
    event(
        f"posture {dev.stats().posture}, config {'stored' if got.summary_min != 15 else 'default'}"
    )
    if dev.stats().posture == 2:
        norm = float(np.linalg.norm(got.posture_ref)) / 128.0
        assert got.posture_calibrated and 0.79 <= norm <= 1.21
    else:
        assert not got.posture_calibrated  # one out of range was forgotten
    assert _config(dev, 2, 30) == Status.OK  # and it still saves
    assert dev.reset().info().summary_min == 30


def test_the_last_sequence_number_and_values_set_config_refuses():
    """Found by the hypothesis test in a fresh clone: a record numbered 0xFFFFFFFF made
    every later save fail, and a record with a summary interval of 0 was taken."""
    pages = bytearray(b"\xff" * (256 * SETTINGS_PAGES))
    body = struct.pack("<HHBB3hH", 45, 60, 0, 0, 0, 0, 0, 0)
    pages[:RECORD] = _record(body, 0xFFFFFFFF)
    dev = Wearable("WS-SETL", models=None, settings=bytes(pages), page_size=256)
    assert dev.info().fall_cancel_s == 45  # taken
    assert _config(dev, 2, 30) == Status.OK
    image = dev.settings_image()
    assert image[:4] == b"\xff" * 4  # the old page erased once the new record was whole
    assert image[256 + 4 : 256 + 8] == (1).to_bytes(4, "little")  # numbering restarted
    back = dev.reset()
    assert (back.info().fall_cancel_s, back.info().summary_min) == (45, 30)
    pages[:RECORD] = _record(struct.pack("<HHBB3hH", 45, 0, 0, 0, 0, 0, 0, 0), 7)
    assert (
        Wearable("WS-SETL", models=None, settings=bytes(pages), page_size=256).info().summary_min
        == 15
    )


def test_the_companion_says_when_the_calibration_is_in_force():
    from wearsense.cli.companion import posture_line

    head = {"seq": 1, "time_s": 0, "model_version": 0}
    page = {"battery_pct": 90, "epoch": 1, "queue_free": 100, "boot_count": 1}
    done = protocol.StatusDevice(**head, **page, flags=9)
    assert posture_line(done) == "posture: calibrated (the device reports it in force)"
    assert posture_line(protocol.StatusDevice(**head, **page, flags=1)) == (
        "posture: not calibrated yet"
    )
    assert (
        posture_line(protocol.HrSummary(**head, interval_s=60, min_bpm=50, mean_bpm=60, max_bpm=70))
        is None
    )
