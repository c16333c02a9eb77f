"""`wearsense protocol`: decode and encode wire frames by hand (for people writing a
second companion or firmware, and for reading captured bytes)."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from wearsense.protocol import Ack, Chunk, Command, ProtocolError, Response, decode

_DECODERS = {
    "event": lambda raw: _event_dict(decode(raw)),
    "ack": lambda raw: dataclasses.asdict(Ack.decode(raw)),
    "command": lambda raw: _plain(dataclasses.asdict(Command.decode(raw))),
    "response": lambda raw: _plain(dataclasses.asdict(Response.decode(raw))),
    "chunk": lambda raw: _plain(dataclasses.asdict(Chunk.decode(raw))),
}


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return int(value) if hasattr(value, "__index__") else value


def _event_dict(event: Any) -> dict[str, Any]:
    return {"type": event.NAME, **_plain(dataclasses.asdict(event))}


def _decode(args: argparse.Namespace) -> int:
    try:
        raw = bytes.fromhex(args.hex.replace(" ", "").replace(":", ""))
    except ValueError:
        print(f"error: {args.hex!r} is not hexadecimal")
        return 2
    try:
        print(json.dumps(_DECODERS[args.kind](raw), indent=2))
    except ProtocolError as exc:
        print(f"error: {exc}")
        return 1
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "protocol",
        help="decode wire frames (docs/protocol.md)",
        description="Decode WearSense wire frames given as hexadecimal.",
    )
    sub = parser.add_subparsers(dest="protocol_command", metavar="ACTION", required=True)
    dec = sub.add_parser(
        "decode",
        help="decode one frame and print its fields as JSON",
        description=(
            "Decode one frame. Exit status 0: decoded; 1: malformed (the error names the "
            "reason: length, crc, version, type or range); 2: the argument is not hex."
        ),
    )
    dec.add_argument("hex", help="the frame's bytes in hexadecimal, e.g. 21010000100e...")
    dec.add_argument(
        "--kind",
        choices=sorted(_DECODERS),
        default="event",
        help="which characteristic the bytes came from (default: event)",
    )
    dec.set_defaults(handler=_decode)
