"""Untrusted writes through the sanitizer build of the device core: random streams of raw
and near-valid acknowledgements, resend requests, commands (time sync to absurd values
included), events, resets and power cuts. Every write gets a documented status, every
response and notification decodes, the core's numbering stays consistent, and
AddressSanitizer/UBSan see nothing."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wearsense import protocol
from wearsense.firmware.device import DeviceCore, DeviceError
from wearsense.protocol import Opcode, Status
from wearsense.testing.powercut import run_campaign

pytestmark = pytest.mark.sanitized

GEOMETRY = {"page_size": 256, "page_count": 4}

seqs = st.one_of(st.integers(0, 40), st.integers(0, 0xFFFFFF))
epochs = st.one_of(st.sampled_from([0, 1, 2, 3]), st.integers(0, 0xFFFF))
ack_frames = st.tuples(st.sampled_from([0, 1, 2, 3, 255]), epochs, seqs).map(
    lambda t: bytes([t[0]]) + struct.pack("<H", t[1]) + t[2].to_bytes(3, "little")
)
opcodes = st.sampled_from([int(o) for o in Opcode] + [0, 5, 15, 20, 127, 255])
utc_values = st.one_of(
    st.integers(0, 0xFFFFFFFF),
    st.sampled_from([0, 1_577_836_799, 1_577_836_800, 4_102_444_800, 4_102_444_801, 0xFFFFFFFF]),
)
command_frames = st.one_of(
    st.tuples(opcodes, st.integers(0, 255), st.binary(max_size=44)).map(
        lambda t: bytes([t[0], t[1]]) + t[2]
    ),
    st.tuples(st.integers(0, 255), utc_values).map(
        lambda t: bytes([Opcode.TIME_SYNC, t[0]]) + struct.pack("<I", t[1])
    ),
    st.tuples(
        st.integers(0, 255), st.sampled_from([protocol.frames.FACTORY_RESET_MAGIC, 0, 1])
    ).map(lambda t: bytes([Opcode.FACTORY_RESET, t[0]]) + struct.pack("<I", t[1])),
)
writes = st.lists(
    st.one_of(
        st.tuples(st.just("ack_raw"), st.binary(max_size=12)),
        st.tuples(st.just("ack"), ack_frames),
        st.tuples(st.just("command"), command_frames),
        st.tuples(st.just("event"), st.integers(0, 2**32 - 1)),
        st.tuples(st.just("pull"), st.integers(0, 8)),
        st.tuples(st.just("connect"), st.just(0)),
        st.tuples(st.just("reset"), st.just(0)),
        st.tuples(st.just("cut"), st.tuples(st.integers(0, 6), st.integers(0, 300))),
        st.tuples(st.just("time"), st.integers(0, 100_000)),
    ),
    max_size=60,
)


def _event(seed: int) -> protocol.Event:
    head = {"seq": 0, "time_s": seed & 0xFFFF, "model_version": seed & 3}
    if seed % 3 == 0:
        return protocol.AfStart(**head, hr_bpm=100, confidence=90, onset_lag_s=5)
    if seed % 3 == 1:
        return protocol.HrSummary(**head, interval_s=60, min_bpm=50, mean_bpm=60, max_bpm=70)
    return protocol.ActivityChange(**head, from_class=0, to_class=5, confidence=50)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(writes)
def test_random_write_streams_get_documented_statuses(asan_core, stream):
    dev = DeviceCore("WS-FUZZ", **GEOMETRY, sanitized=True)
    for kind, arg in stream:
        before = dev.info()
        if kind in ("ack_raw", "ack"):
            status = dev.write_ack(arg)
            _check_ack(arg, status, before)
        elif kind == "command":
            status, frame = dev.write_command(arg)
            if frame is None:
                assert status == Status.LENGTH and len(arg) < 2
            elif status == Status.TYPE:
                assert frame == bytes([arg[0] | 0x80, arg[1], Status.TYPE])
            else:
                response = protocol.Response.decode(frame)
                assert response.opcode == arg[0] and response.token == arg[1]
                assert response.status == status
            if len(arg) == 6 and arg[0] == Opcode.TIME_SYNC and status == Status.OK:
                utc = struct.unpack("<I", arg[2:])[0]
                assert 1_577_836_800 <= utc <= 4_102_444_800
                assert dev.info().utc_offset_s == utc - before.time_s
        elif kind == "event":
            dev.inject(_event(arg))
        elif kind == "pull":
            for packet in dev.notifications(limit=arg):
                event = protocol.decode(packet)
                assert before.acked_seq < event.seq <= dev.info().last_seq
        elif kind == "connect":
            dev.connect()
        elif kind == "reset":
            dev = dev.reset()
        elif kind == "cut":
            op, pos = arg
            dev.arm_power_cut(op, pos, 0xA5)
            with contextlib.suppress(DeviceError):
                dev.inject(_event(op))
            dev = DeviceCore("WS-FUZZ", dev.flash_image(), **GEOMETRY, sanitized=True)
            assert dev.info().epoch == before.epoch
            assert dev.info().last_seq >= before.last_seq
        else:
            dev.advance(arg)
        assert dev.nor_violations == 0
    # still working afterwards
    seq = dev.inject(_event(0))
    assert [e.seq for e in dev.pending()][-1] == seq


def _check_ack(frame: bytes, status: Status, before) -> None:
    if len(frame) != 6:
        assert status == Status.LENGTH
        return
    if frame[0] not in (1, 2):
        assert status == Status.TYPE
        return
    epoch = struct.unpack("<H", frame[1:3])[0]
    seq = int.from_bytes(frame[3:6], "little")
    if frame[0] == 2 and seq == 0:
        assert status == Status.RANGE
    elif epoch != before.epoch:
        assert status == Status.EPOCH
    elif frame[0] == 1:
        assert status == (Status.STATE if seq > before.last_seq else Status.OK)
    else:
        ok = before.acked_seq < seq <= before.last_seq + 1
        assert status == (Status.OK if ok else Status.STATE)


def test_power_cut_recovery_under_the_sanitizers(asan_core):
    result = run_campaign(300, seed=8, sanitized=True)
    assert result.failures == []
    assert (result.lost, result.corrupt_accepted, result.seq_repeated) == (0, 0, 0)
