"""Writes the seed corpora of the device-face fuzz targets (fuzz_command, fuzz_ack,
fuzz_transfer, fuzz_strip_transfer) from the protocol vectors
(tests/vectors/protocol.json): each seed is a sequence of operations in the harness's
input format (firmware/fuzz/device_ops.h), the
vectors' frames as the target's own writes, with events appended, notifications drained,
reboots and power cuts around them so the fuzzer starts from states worth mutating.

Usage: python tools/make_device_corpus.py OUT_DIR   (writes OUT_DIR/corpus_<target>/)
"""

from __future__ import annotations

import hashlib
import json
import struct
import sys
from pathlib import Path

from wearsense.protocol.crc import crc16

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "tests" / "vectors" / "protocol.json"

# operation codes (device_ops.h): below 6 the target's own write, then these
PRIMARY = 0
COMMAND, ACK, TRANSFER, EVENTS, DRAIN, CONNECT, CLOCK, STATUS, REBOOT, CUT = range(6, 16)
FIX_CRC = 0x10
EXPAND = 0x20  # a transfer write: u16 length, then a pattern repeated to that length
# Every seed fits the device targets' -max_len (mk/fuzz.mk, benchmarks/bench_fuzz.py).
MAX_LEN = 200


def op(code: int, payload: bytes = b"") -> bytes:
    if len(payload) >= 0xFF:
        return bytes([code, 0xFF]) + struct.pack("<H", len(payload)) + payload
    return bytes([code, len(payload)]) + payload


def events(count: int, kind: int = 3) -> bytes:
    return op(EVENTS, bytes([count - 1, kind]))


def ack(kind: int, epoch: int, seq: int) -> bytes:
    return struct.pack("<BH", kind, epoch) + seq.to_bytes(3, "little")


def chunk(offset: int, data: bytes) -> bytes:
    body = struct.pack("<I", offset) + data
    return body + struct.pack("<H", crc16(body))


def update_begin(task: int, version: int, package: bytes, token: int = 1) -> bytes:
    return (
        bytes([0x10, token, task])
        + struct.pack("<HI", version, len(package))
        + hashlib.sha256(package).digest()
    )


def frames(vectors: dict, kind: str) -> list[bytes]:
    groups = vectors[kind]
    return [bytes.fromhex(v["hex"]) for group in ("valid", "malformed") for v in groups[group]]


def command_seeds(vectors: dict) -> list[bytes]:
    cmds = frames(vectors, "commands")
    seeds = [op(PRIMARY, c) for c in cmds]
    seeds += [events(20) + op(DRAIN) + op(PRIMARY, c) + op(DRAIN) for c in cmds]
    every = [op(PRIMARY, c) for c in cmds]
    while every:  # every command in a row, in as few seeds as fit
        seed = b""
        while every and len(seed) + len(every[0]) <= MAX_LEN:
            seed += every.pop(0)
        seeds.append(seed or every.pop(0))
    # a factory reset with events pending, then the new epoch's status pages drained
    reset = bytes.fromhex("040252534554")
    seeds.append(events(30) + op(PRIMARY, reset) + op(DRAIN) + op(REBOOT) + op(DRAIN))
    # a settings write torn by a power cut, then the reboot that reads them back
    setcfg = bytes.fromhex("0301013c00")
    seeds.append(op(CUT, bytes([1, 0, 3, 0, 0xF0])) + op(PRIMARY, setcfg) + op(REBOOT))
    return seeds


def ack_seeds(vectors: dict) -> list[bytes]:
    seeds = [op(PRIMARY, a) for a in frames(vectors, "acks")]
    for count in (5, 40, 120):
        seeds.append(
            events(min(count, 32))
            + events(max(count - 32, 1))
            + op(DRAIN, bytes([count]))
            + op(PRIMARY, ack(1, 1, count // 2))
            + op(PRIMARY, ack(2, 1, count // 2 + 1))
            + op(DRAIN)
            + op(PRIMARY, ack(1, 1, count + 3))
        )
    seeds.append(
        events(10)
        + op(DRAIN)
        + op(PRIMARY, ack(1, 1, 4))
        + op(CUT, bytes([0, 0, 5, 0, 0x0F]))
        + op(PRIMARY, ack(1, 1, 10))
        + op(REBOOT)
        + op(PRIMARY, ack(2, 1, 5))
        + op(DRAIN)
    )
    seeds.append(
        events(8)
        + op(COMMAND, bytes.fromhex("040252534554"))
        + op(PRIMARY, ack(1, 1, 3))
        + op(DRAIN)
        + op(PRIMARY, ack(1, 2, 3))
        + op(CONNECT)
        + op(DRAIN)
    )
    return seeds


def transfer_seeds(vectors: dict) -> list[bytes]:
    raw = frames(vectors, "chunks")
    begin = bytes.fromhex(vectors["commands"]["valid"][4]["hex"])  # update begin
    # the vectors' frames; one too long for an input becomes a frame of its length
    # expanded from its first 8 bytes (offset and data), with the CRC put in
    seeds = []
    for c in raw:
        seed = op(COMMAND, begin) + op(PRIMARY, c)
        if len(seed) > MAX_LEN:
            seed = op(COMMAND, begin) + op(
                PRIMARY | EXPAND | FIX_CRC, struct.pack("<H", len(c)) + c[:8]
            )
        seeds.append(seed)
    # a small package in 3 chunks, so a whole transfer fits an input (MAX_LEN)
    package = bytes(range(0, 256, 9)) + b"\x5a" * 12
    pieces = [package[i : i + 14] for i in range(0, len(package), 14)]
    chunks = [chunk(i * 14, p) for i, p in enumerate(pieces)]
    full = op(COMMAND, update_begin(1, 2, package)) + b"".join(op(PRIMARY, c) for c in chunks)
    query = op(COMMAND, bytes([0x11, 9, 1]))
    commit = op(COMMAND, bytes([0x12, 10, 1]))
    abort = op(COMMAND, bytes([0x13, 11, 1]))
    seeds.append(full + query + commit)
    seeds.append(full + abort + query)
    # a transfer resumed after a reboot, and one torn by a power cut in the store
    half = len(chunks) // 2
    seeds.append(
        op(COMMAND, update_begin(1, 2, package))
        + b"".join(op(PRIMARY, c) for c in chunks[:half])
        + op(REBOOT)
        + query
        + op(COMMAND, update_begin(1, 2, package))
        + b"".join(op(PRIMARY, c) for c in chunks[half:])
        + commit
    )
    seeds.append(
        op(COMMAND, update_begin(1, 2, package))
        + op(CUT, bytes([2, 1, 40, 0, 0x3C]))
        + b"".join(op(PRIMARY, c) for c in chunks)
        + op(REBOOT)
        + query
    )
    # chunks out of order, repeated, past the end; a bad CRC the harness fixes
    seeds.append(
        op(COMMAND, update_begin(1, 2, package))
        + op(PRIMARY, chunks[1])
        + op(PRIMARY, chunks[0])
        + op(PRIMARY, chunks[0])
        + op(PRIMARY, chunk(len(package), b"\x00" * 16))
        + op(PRIMARY | FIX_CRC, struct.pack("<I", 14) + pieces[1] + b"\0\0")
        + query
    )
    # the largest frame (512 bytes: offset 0, 506 data bytes, CRC), and one past it, each
    # expanded from a short pattern by the harness, which also puts the CRC in
    for size in (512, 513):
        seeds.append(
            op(COMMAND, update_begin(0, 3, b"\x11" * 4000))
            + op(PRIMARY | EXPAND | FIX_CRC, struct.pack("<H", size) + bytes(4) + b"\x11" * 4)
        )
    return seeds


def strip_get(strip_id: int, offset: int = 0, token: int = 1) -> bytes:
    return bytes([5, token]) + struct.pack("<HI", strip_id, offset)


def strip_seeds(vectors: dict) -> list[bytes]:
    """fuzz_strip_transfer: strips made (own write, first byte even), fetched with
    STRIP_GET and frames pulled (own write, first byte odd), released, cut, rebooted."""
    make = op(PRIMARY, bytes([200, 150]) + bytes(range(0, 250, 7)))
    pull = op(PRIMARY, bytes([1, 60]))
    seeds = [op(COMMAND, c) for c in frames(vectors, "commands")]
    seeds.append(make + op(COMMAND, strip_get(1)) + pull)
    seeds.append(make + make + op(COMMAND, strip_get(2, 100)) + pull + pull)
    seeds.append(
        make
        + op(COMMAND, strip_get(1))
        + op(PRIMARY, bytes([3, 0]))
        + op(CONNECT)
        + op(COMMAND, strip_get(1, 40))
        + pull
        + op(COMMAND, bytes([6, 2]) + struct.pack("<HI", 1, 0))
    )
    short = op(PRIMARY, bytes([200, 150]) + bytes(range(0, 250, 50)))
    seeds.append(b"".join([short] * 6) + op(COMMAND, strip_get(6)) + pull)
    for at in (0, 3, 9):  # a strip torn by a power cut of the strip partition
        seeds.append(
            make
            + op(CUT, bytes([0, at, 0, 0, 0xFF, 1]))
            + make
            + op(REBOOT)
            + make
            + op(COMMAND, strip_get(2))
            + pull
        )
    return seeds


def main(argv: list[str]) -> int:
    out = Path(argv[1])
    vectors = json.loads(VECTORS.read_text())
    for name, make in (
        ("command", command_seeds),
        ("ack", ack_seeds),
        ("transfer", transfer_seeds),
        ("strip_transfer", strip_seeds),
    ):
        folder = out / f"corpus_{name}"
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("seed*"):
            old.unlink()
        seeds = make(vectors)
        assert all(len(seed) <= MAX_LEN for seed in seeds), name
        for i, seed in enumerate(seeds):
            (folder / f"seed{i:03d}").write_bytes(seed)
        print(f"wrote {len(seeds)} seeds to {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
