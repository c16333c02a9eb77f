"""`wearsense demo`: the main job (`make demo`).

The main job is the emulated wearable, the companion and the terminal UI running
together. Until those exist this command runs the part of the chain that does exist
and says plainly what is missing: it loads the firmware core built for the host and
passes one event of every type from the C encoder to the Python decoder and back,
printing the bytes a companion would receive.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from wearsense import protocol
from wearsense.firmware.protocol import Codec

MISSING = (
    "not built yet: the emulated wearable on Bumble, the companion session on bleak, "
    "the store and the terminal UI; `make demo` will run them once they exist"
)
VECTORS = Path(__file__).resolve().parents[1] / "tests" / "vectors" / "protocol.json"


def _sample_events() -> list[dict[str, Any]]:
    vectors = json.loads(VECTORS.read_text())
    seen: dict[str, dict[str, Any]] = {}
    for vector in vectors["events"]["valid"]:
        seen.setdefault(vector["event"]["type"], vector["event"])
    return list(seen.values())


def run(args: argparse.Namespace) -> int:
    print("WearSense demo: research software, not a medical device.")
    print(f"Part of the main job that exists: the firmware core and the wire protocol ({MISSING}).")
    codec = Codec()
    failures = 0
    for event in _sample_events():
        status, wire = codec.encode_event(event)
        decoded = protocol.decode(wire) if status == 0 else None
        back = codec.decode_event(protocol.encode(decoded))[1] if decoded else None
        agree = back == event
        failures += not agree
        print(f"  {event['type']:<17} {len(wire):2d} B  {wire.hex():<40}  C->Py->C {'ok' if agree else 'MISMATCH'}")
    print("all event types agree between the C firmware and the Python companion" if not failures
          else f"{failures} event types disagree")
    return 1 if failures else 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the main job (what exists of it so far; see --help)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=run)
