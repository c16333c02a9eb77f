"""ECG strips on the device core through the Python binding (docs/strips.md): a power cut
at every operation of the strip partition, torn as the host flash tears them, while a
strip is made and another released; the STRIP event; STRIP_GET / STRIP_RELEASE answers."""

from __future__ import annotations

import contextlib
import zlib

import numpy as np
import pytest

from wearsense import protocol
from wearsense.firmware.device import DeviceCore, DeviceError
from wearsense.protocol import Opcode, Status

FS = 100


def trace(seconds: int, k: int) -> np.ndarray:
    t = np.arange(seconds * FS)
    return (np.sin(t * (k + 1) / 17) * 700 + (t % 13) * k).astype(np.int16)


def small() -> DeviceCore:
    return DeviceCore("WS-CUT", page_size=512, strip_pages=40)


def test_a_strip_is_announced_and_served() -> None:
    core = small()
    strip_id = core.make_strip(trace(5, 1), FS, adc_gain=200.0, adc_zero=3)
    (event,) = [e for e in core.pending() if isinstance(e, protocol.Strip)]
    assert event.strip_id == strip_id and event.duration_s == 5
    assert event.reason == protocol.StripReason.AF_ONSET
    image = core.strip_image(strip_id)
    get = core.command(protocol.Command(Opcode.STRIP_GET, 1, {"strip_id": strip_id, "offset": 0}))
    assert get is not None and get.status == Status.OK
    assert get.data == len(image).to_bytes(4, "little") + zlib.crc32(image).to_bytes(4, "little")
    got = b""
    while (frame := core.next_strip_frame(247 - 3)) is not None:
        decoded = protocol.StripFrame.decode(frame)
        assert decoded.offset == len(got) and len(frame) <= 244
        got += decoded.data
    assert got == image
    missing = core.command(protocol.Command(Opcode.STRIP_GET, 2, {"strip_id": 99, "offset": 0}))
    assert missing is not None and missing.status == Status.NOT_FOUND
    beyond = {"strip_id": strip_id, "offset": len(image) + 1}
    far = core.command(protocol.Command(Opcode.STRIP_GET, 3, beyond))
    assert far is not None and far.status == Status.RANGE


def test_a_power_cut_at_every_strip_flash_operation_loses_no_complete_strip() -> None:
    base = small()
    kept = base.make_strip(trace(5, 1), FS)
    released = base.make_strip(trace(5, 2), FS)
    crc = base.strips()[1].image_crc32
    image_kept = base.strip_image(kept)
    images = (base.flash_image(), base.settings_image(), base.strips_image())
    op, cuts, torn_seen = 0, 0, 0
    while True:
        core = DeviceCore(
            "WS-CUT", images[0], settings=images[1], strips=images[2], page_size=512,
            strip_pages=40,
        )  # fmt: skip
        core.arm_strip_power_cut(op, tear_pos=op * 37, tear_bits=0xA5)
        core.write_command(
            protocol.Command(
                Opcode.STRIP_RELEASE, 1, {"strip_id": released, "image_crc32": crc}
            ).encode()
        )
        made = None
        with contextlib.suppress(DeviceError):  # the cut failed the write
            made = core.make_strip(trace(5, 3), FS)
        cut = core.strip_power_was_cut
        back = core.reset(announce=False)
        held = {e.strip_id: e for e in back.strips()}
        assert back.strip_image(kept) == image_kept  # never lost, never changed
        assert back.strip_nor_violations == 0
        if made is not None and not cut:
            assert made in held
        for entry in held.values():  # every strip found is whole
            assert zlib.crc32(back.strip_image(entry.strip_id)) == entry.image_crc32
        torn_seen += back.strip_stats()["discarded"]
        if not cut:
            break
        cuts += 1
        op += 1
    assert cuts > 5  # the sequence took that many flash operations, each one cut once
    assert torn_seen > 0  # some cuts left a torn strip that mount discarded


@pytest.mark.parametrize("opcode", [Opcode.STRIP_GET, Opcode.STRIP_RELEASE])
def test_strip_commands_before_any_strip_answer_not_found(opcode: Opcode) -> None:
    core = small()
    arg = "offset" if opcode == Opcode.STRIP_GET else "image_crc32"
    rsp = core.command(protocol.Command(opcode, 4, {"strip_id": 1, arg: 0}))
    assert rsp is not None and rsp.status == Status.NOT_FOUND
