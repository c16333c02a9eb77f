"""The firmware's protocol codec (firmware/src/protocol) called from Python.

Events cross this boundary as the plain dicts of tests/vectors/protocol.json
(``{"type": name, "seq": ..., "time_s": ..., "model_version": ..., <fields>}``), so the
tests can hold the C codec and ``wearsense.protocol`` to the same vectors.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from wearsense.firmware import core
from wearsense.protocol.events import BY_NAME, EventKind

_TYPE_CODES = {name: int(cls.TYPE) for name, cls in BY_NAME.items()}
_STATUS_PAGES: dict[str, int] = {
    EventKind.STATUS_DEVICE: 0,
    EventKind.STATUS_MODELS: 1,
    EventKind.STATUS_FIRMWARE: 2,
}
_PAGE_NAMES = {v: k for k, v in _STATUS_PAGES.items()}
_UNION_NAMES = {code: name for name, code in _TYPE_CODES.items() if code != 11}
_HEADER = ("seq", "time_s", "model_version")


def _status_member(name: str) -> str:
    return name.removeprefix("status_")


def _struct_fields(ffi: Any, cdata: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field, _ in ffi.typeof(cdata).fields:
        value = getattr(cdata, field)
        out[field] = list(value) if field == "minutes" else value
    return out


class Codec:
    """The C codec of one firmware build (plain or sanitized)."""

    def __init__(self, module: ModuleType | None = None) -> None:
        self.module = module or core()
        self.ffi, self.lib = self.module.ffi, self.module.lib

    def crc16(self, data: bytes) -> int:
        return int(self.lib.ws_crc16(data, len(data)))

    def decode_event(self, data: bytes) -> tuple[int, dict[str, Any] | None]:
        """(status, event dict or None)."""
        ev = self.ffi.new("ws_event_t *")
        status = int(self.lib.ws_event_decode(data, len(data), ev))
        if status != 0:
            return status, None
        if ev.type == 11:
            name = _PAGE_NAMES[ev.u.status.page]
            fields = _struct_fields(self.ffi, getattr(ev.u.status.p, _status_member(name)))
        else:
            name = _UNION_NAMES[ev.type]
            fields = _struct_fields(self.ffi, getattr(ev.u, name))
        header = {k: int(getattr(ev, k)) for k in _HEADER}
        return status, {"type": name, **header, **fields}

    def encode_event(self, event: dict[str, Any]) -> tuple[int, bytes]:
        """(status, wire bytes); bytes are empty unless status is 0."""
        ev = self.ffi.new("ws_event_t *")
        name = event["type"]
        ev.type = _TYPE_CODES[name]
        for key in _HEADER:
            setattr(ev, key, event[key])
        fields = {k: v for k, v in event.items() if k not in _HEADER and k != "type"}
        if name in _STATUS_PAGES:
            ev.u.status.page = _STATUS_PAGES[name]
            target = getattr(ev.u.status.p, _status_member(name))
        else:
            target = getattr(ev.u, name)
        for key, value in fields.items():
            setattr(target, key, value)
        out = self.ffi.new("uint8_t[32]")
        size = self.ffi.new("size_t *")
        status = int(self.lib.ws_event_encode(ev, out, 32, size))
        return status, bytes(self.ffi.buffer(out, size[0])) if status == 0 else b""

    def decode_ack(self, data: bytes) -> tuple[int, dict[str, int] | None]:
        ack = self.ffi.new("ws_ack_t *")
        status = int(self.lib.ws_ack_decode(data, len(data), ack))
        if status != 0:
            return status, None
        return status, {"kind": ack.kind, "epoch": ack.epoch, "seq": ack.seq}

    def encode_ack(self, kind: int, epoch: int, seq: int) -> tuple[int, bytes]:
        ack = self.ffi.new("ws_ack_t *", {"kind": kind, "epoch": epoch, "seq": seq})
        out = self.ffi.new("uint8_t[8]")
        size = self.ffi.new("size_t *")
        status = int(self.lib.ws_ack_encode(ack, out, 8, size))
        return status, bytes(self.ffi.buffer(out, size[0])) if status == 0 else b""

    def decode_command(self, data: bytes) -> tuple[int, dict[str, Any] | None]:
        cmd = self.ffi.new("ws_command_t *")
        status = int(self.lib.ws_command_decode(data, len(data), cmd))
        if status != 0:
            return status, None
        member = {
            1: "time_sync",
            2: "start_recording",
            3: "set_config",
            4: "factory_reset",
            5: "strip_req",
            6: "strip_req",
            16: "update_begin",
        }.get(cmd.opcode, "update_task")
        args = _struct_fields(self.ffi, getattr(cmd.a, member))
        if member == "strip_req":  # one C member for both: value is the offset or the CRC-32
            args[{5: "offset", 6: "image_crc32"}[cmd.opcode]] = args.pop("value")
        if "sha256" in args:
            args["sha256"] = bytes(self.ffi.buffer(cmd.a.update_begin.sha256, 32)).hex()
        return status, {"opcode": cmd.opcode, "token": cmd.token, "args": args}

    def decode_response(self, data: bytes) -> tuple[int, dict[str, Any] | None]:
        rsp = self.ffi.new("ws_response_t *")
        status = int(self.lib.ws_response_decode(data, len(data), rsp))
        if status != 0:
            return status, None
        payload = bytes(self.ffi.buffer(rsp.data, rsp.data_len)).hex()
        return status, {
            "opcode": rsp.opcode,
            "token": rsp.token,
            "status": rsp.status,
            "data": payload,
        }

    def decode_chunk(self, data: bytes) -> tuple[int, dict[str, Any] | None]:
        chunk = self.ffi.new("ws_chunk_t *")
        buf = self.ffi.from_buffer(data) if data else self.ffi.new("uint8_t[1]")
        status = int(self.lib.ws_chunk_decode(buf, len(data), chunk))
        if status != 0:
            return status, None
        payload = bytes(self.ffi.buffer(chunk.data, chunk.data_len)).hex()
        return status, {"offset": chunk.offset, "data": payload}

    def decode_status_record(self, data: bytes) -> tuple[int, dict[str, Any] | None]:
        rec = self.ffi.new("ws_status_record_t *")
        status = int(self.lib.ws_status_record_decode(data, len(data), rec))
        if status != 0:
            return status, None
        return status, _struct_fields(self.ffi, rec[0])
