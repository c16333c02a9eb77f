"""Property-based tests: random bytes into both decoders never crash; each input either
decodes to a packet that re-encodes to the same bytes, or yields the documented error.
The C side runs through the sanitizer build (second pytest pass of `make test`)."""

from __future__ import annotations

import dataclasses
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wearsense import protocol
from wearsense.firmware.protocol import Codec
from wearsense.protocol import Ack, Chunk, Command, ProtocolError, Response, StatusRecord

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def sealed(body: bytes) -> bytes:
    """Appends a valid CRC so random content gets past the CRC check."""
    return body + struct.pack("<H", protocol.crc16(body))


def v1_body() -> st.SearchStrategy[bytes]:
    """Random packets with version 1 and a known type, so field checks are exercised."""
    return st.builds(
        lambda t, rest: bytes([0x20 | t]) + rest,
        st.integers(0, 31),
        st.binary(min_size=9, max_size=17),
    )


packets = st.one_of(
    st.binary(max_size=24),
    st.binary(min_size=10, max_size=18).map(sealed),
    v1_body().map(sealed),
)


def python_outcome(raw: bytes) -> tuple[int, dict | None]:
    try:
        event = protocol.decode(raw)
    except ProtocolError as exc:
        return int(exc.status), None
    fields = dataclasses.asdict(event)
    if "minutes" in fields:
        fields["minutes"] = list(fields["minutes"])
    return 0, {"type": event.NAME, **fields}


@SETTINGS
@given(packets)
def test_python_decoder_total(raw):
    status, event = python_outcome(raw)
    if status == 0:
        assert protocol.encode(protocol.decode(raw)) == raw
    else:
        assert status in (1, 2, 3, 4, 5)


@SETTINGS
@given(st.binary(max_size=12))
def test_python_frame_decoders_total(raw):
    for decoder in (Ack.decode, Command.decode, Response.decode, Chunk.decode, StatusRecord.decode):
        try:
            frame = decoder(raw)
        except ProtocolError:
            continue
        assert frame.encode() == raw


@pytest.mark.sanitized
@SETTINGS
@given(packets)
def test_c_decoder_total_and_agrees_with_python(asan_core, raw):
    codec = Codec(asan_core)
    c_status, c_event = codec.decode_event(raw)
    assert (c_status, c_event) == python_outcome(raw)
    if c_status == 0:
        assert codec.encode_event(c_event) == (0, raw)


@pytest.mark.sanitized
@SETTINGS
@given(st.binary(max_size=48))
def test_c_frame_decoders_total(asan_core, raw):
    codec = Codec(asan_core)
    for c_decode, py_decode in (
        (codec.decode_ack, Ack.decode),
        (codec.decode_command, Command.decode),
        (codec.decode_response, Response.decode),
        (codec.decode_chunk, Chunk.decode),
        (codec.decode_status_record, StatusRecord.decode),
    ):
        status, _ = c_decode(raw)
        try:
            py_decode(raw)
            py_status = 0
        except ProtocolError as exc:
            py_status = int(exc.status)
        assert status == py_status, (c_decode.__name__, raw.hex())
