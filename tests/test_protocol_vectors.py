"""Both codecs, C and Python, against the shared vectors (tests/vectors/protocol.json),
which tools/make_protocol_vectors.py builds without either codec."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from wearsense import protocol
from wearsense.firmware.protocol import Codec
from wearsense.protocol import Ack, Chunk, Command, ProtocolError, Response, Status


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec()


def _py_event_dict(event: protocol.Event) -> dict[str, Any]:
    fields = dataclasses.asdict(event)
    if "minutes" in fields:
        fields["minutes"] = list(fields["minutes"])
    return {"type": event.NAME, **fields}


def _status(name: str) -> int:
    return int(Status[name.upper()])


def test_crc_check_values(protocol_vectors, codec):
    for vector in protocol_vectors["crc16"]:
        data = bytes.fromhex(vector["hex"])
        assert protocol.crc16(data) == vector["crc"], vector["name"]
        assert codec.crc16(data) == vector["crc"], vector["name"]


def test_valid_events_decode_in_python(protocol_vectors):
    for vector in protocol_vectors["events"]["valid"]:
        event = protocol.decode(bytes.fromhex(vector["hex"]))
        assert _py_event_dict(event) == vector["event"], vector["name"]
        assert protocol.encode(event).hex() == vector["hex"], vector["name"]


def test_valid_events_decode_in_c(protocol_vectors, codec):
    for vector in protocol_vectors["events"]["valid"]:
        status, event = codec.decode_event(bytes.fromhex(vector["hex"]))
        assert status == 0 and event == vector["event"], vector["name"]
        status, wire = codec.encode_event(vector["event"])
        assert status == 0 and wire.hex() == vector["hex"], vector["name"]


def test_every_event_type_has_a_vector_within_20_bytes(protocol_vectors):
    names = {v["event"]["type"] for v in protocol_vectors["events"]["valid"]}
    assert names == set(protocol.BY_NAME)
    for vector in protocol_vectors["events"]["valid"]:
        assert 12 <= len(bytes.fromhex(vector["hex"])) <= 20


def test_malformed_events_rejected_with_the_same_reason(protocol_vectors, codec):
    for vector in protocol_vectors["events"]["malformed"]:
        raw = bytes.fromhex(vector["hex"])
        with pytest.raises(ProtocolError) as caught:
            protocol.decode(raw)
        assert caught.value.status == _status(vector["error"]), vector["name"]
        assert codec.decode_event(raw)[0] == _status(vector["error"]), vector["name"]


def test_encoders_refuse_out_of_range_events(codec):
    bad = {"type": "hr_summary", "seq": 1, "time_s": 0, "model_version": 0,
           "interval_s": 60, "min_bpm": 90, "mean_bpm": 80, "max_bpm": 100}
    assert codec.encode_event(bad)[0] == Status.RANGE
    with pytest.raises(ProtocolError) as caught:
        protocol.HrSummary(1, 0, 0, interval_s=60, min_bpm=90, mean_bpm=80, max_bpm=100)
    assert caught.value.status == Status.RANGE


def test_acks(protocol_vectors, codec):
    for vector in protocol_vectors["acks"]["valid"]:
        raw = bytes.fromhex(vector["hex"])
        ack = Ack.decode(raw)
        assert {"kind": ack.kind, "epoch": ack.epoch, "seq": ack.seq} == vector["ack"]
        assert ack.encode() == raw
        assert codec.decode_ack(raw) == (0, vector["ack"])
        assert codec.encode_ack(**vector["ack"]) == (0, raw)
    for vector in protocol_vectors["acks"]["malformed"]:
        raw = bytes.fromhex(vector["hex"])
        with pytest.raises(ProtocolError) as caught:
            Ack.decode(raw)
        assert caught.value.status == _status(vector["error"]), vector["name"]
        assert codec.decode_ack(raw)[0] == _status(vector["error"]), vector["name"]


def test_commands(protocol_vectors, codec):
    for vector in protocol_vectors["commands"]["valid"]:
        raw = bytes.fromhex(vector["hex"])
        cmd = Command.decode(raw)
        args = {k: (v.hex() if isinstance(v, bytes) else v) for k, v in cmd.args.items()}
        expected = vector["command"]
        assert (cmd.opcode, cmd.token, args) == (expected["opcode"], expected["token"], expected["args"])
        assert cmd.encode() == raw
        assert codec.decode_command(raw) == (0, expected), vector["name"]
    for vector in protocol_vectors["commands"]["malformed"]:
        raw = bytes.fromhex(vector["hex"])
        with pytest.raises(ProtocolError) as caught:
            Command.decode(raw)
        assert caught.value.status == _status(vector["error"]), vector["name"]
        assert codec.decode_command(raw)[0] == _status(vector["error"]), vector["name"]


def test_responses(protocol_vectors, codec):
    for vector in protocol_vectors["responses"]["valid"]:
        raw = bytes.fromhex(vector["hex"])
        rsp = Response.decode(raw)
        exp = vector["response"]
        assert (rsp.opcode, rsp.token, rsp.status, rsp.data.hex()) == (
            exp["opcode"], exp["token"], exp["status"], exp["data"])
        assert rsp.encode() == raw
        assert codec.decode_response(raw) == (0, exp)
    for vector in protocol_vectors["responses"]["malformed"]:
        raw = bytes.fromhex(vector["hex"])
        with pytest.raises(ProtocolError) as caught:
            Response.decode(raw)
        assert caught.value.status == _status(vector["error"]), vector["name"]
        assert codec.decode_response(raw)[0] == _status(vector["error"]), vector["name"]


def test_chunks(protocol_vectors, codec):
    for vector in protocol_vectors["chunks"]["valid"]:
        raw = bytes.fromhex(vector["hex"])
        chunk = Chunk.decode(raw)
        assert {"offset": chunk.offset, "data": chunk.data.hex()} == vector["chunk"]
        assert chunk.encode() == raw
        assert codec.decode_chunk(raw) == (0, vector["chunk"])
    for vector in protocol_vectors["chunks"]["malformed"]:
        raw = bytes.fromhex(vector["hex"])
        with pytest.raises(ProtocolError) as caught:
            Chunk.decode(raw)
        assert caught.value.status == _status(vector["error"]), vector["name"]
        assert codec.decode_chunk(raw)[0] == _status(vector["error"]), vector["name"]
