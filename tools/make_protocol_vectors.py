"""Writes tests/vectors/protocol.json: the shared protocol test vectors.

Independent of both codecs on purpose: packets are assembled here field by field with
``struct`` and their CRCs computed with the standard library's ``binascii.crc_hqx``
(CRC-CCITT; with initial value 0xFFFF it is CRC-16/CCITT-FALSE), which itself is
anchored by the published check value 0x29B1 of b"123456789". Nothing from
``wearsense`` or ``firmware`` is imported. The worked example in docs/protocol.md is
the first valid vector.
"""

from __future__ import annotations

import binascii
import json
import struct
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "tests" / "vectors" / "protocol.json"
TYPES = {
    "af_start": 1,
    "af_end": 2,
    "rhythm_summary": 3,
    "hr_summary": 4,
    "fall": 5,
    "fall_cancelled": 6,
    "activity_change": 7,
    "activity_summary": 8,
    "signal_quality": 9,
    "gap": 10,
    "status_device": 11,
    "status_models": 11,
    "status_firmware": 11,
    "ecg_recording": 12,
    "strip": 13,
}


def crc(data: bytes) -> int:
    return binascii.crc_hqx(data, 0xFFFF)


def u24(v: int) -> bytes:
    return v.to_bytes(3, "little")


def packet(type_code: int, seq: int, time_s: int, model: int, payload: bytes, version: int = 1):
    body = bytes([(version << 5) | type_code]) + u24(seq) + struct.pack("<IH", time_s, model)
    body += payload
    return body + struct.pack("<H", crc(body))


def valid(name: str, kind: str, seq: int, time_s: int, model: int, payload: bytes, **fields):
    return {
        "name": name,
        "hex": packet(TYPES[kind], seq, time_s, model, payload).hex(),
        "event": {"type": kind, "seq": seq, "time_s": time_s, "model_version": model, **fields},
    }


def activity_bits(minutes: list[int]) -> bytes:
    bits = 0
    for i, m in enumerate(minutes):
        bits |= m << (6 * i)
    return bits.to_bytes(6, "little")


def build() -> dict:
    ok = [
        # docs/protocol.md works this one out byte by byte.
        valid(
            "af_start worked example",
            "af_start",
            1,
            3600,
            2,
            bytes([112, 87]) + struct.pack("<H", 45),
            hr_bpm=112,
            confidence=87,
            onset_lag_s=45,
        ),
        valid(
            "af_start extremes",
            "af_start",
            0xFFFFFF,
            0xFFFFFFFF,
            0xFFFF,
            bytes([250, 100, 0xFF, 0xFF]),
            hr_bpm=250,
            confidence=100,
            onset_lag_s=65535,
        ),
        valid(
            "af_start min",
            "af_start",
            0,
            0,
            0,
            bytes([20, 0, 0, 0]),
            hr_bpm=20,
            confidence=0,
            onset_lag_s=0,
        ),
        valid(
            "af_end",
            "af_end",
            2,
            7200,
            2,
            struct.pack("<IB", 86400 * 3, 131),
            duration_s=259200,
            mean_hr_bpm=131,
        ),
        valid(
            "rhythm_summary",
            "rhythm_summary",
            3,
            7200,
            2,
            struct.pack("<HHH", 3600, 3300, 1800),
            interval_s=3600,
            analysable_s=3300,
            af_s=1800,
        ),
        valid(
            "rhythm_summary nothing analysable",
            "rhythm_summary",
            4,
            10800,
            2,
            struct.pack("<HHH", 3600, 0, 0),
            interval_s=3600,
            analysable_s=0,
            af_s=0,
        ),
        valid(
            "hr_summary",
            "hr_summary",
            5,
            7200,
            0,
            struct.pack("<HBBB", 3600, 48, 72, 155),
            interval_s=3600,
            min_bpm=48,
            mean_bpm=72,
            max_bpm=155,
        ),
        valid(
            "fall",
            "fall",
            6,
            8000,
            4,
            struct.pack("<HBB", 3250, 97, 12),
            impact_mg=3250,
            confidence=97,
            stillness_s=12,
        ),
        valid(
            "fall_cancelled",
            "fall_cancelled",
            7,
            8010,
            4,
            u24(6) + bytes([10]),
            fall_seq=6,
            delay_s=10,
        ),
        valid(
            "activity_change from unknown",
            "activity_change",
            8,
            9000,
            3,
            bytes([255, 0, 88]),
            from_class=255,
            to_class=0,
            confidence=88,
        ),
        valid(
            "activity_change walk to run",
            "activity_change",
            9,
            9100,
            3,
            bytes([0, 1, 91]),
            from_class=0,
            to_class=1,
            confidence=91,
        ),
        valid(
            "activity_summary",
            "activity_summary",
            10,
            10800,
            3,
            activity_bits([12, 3, 0, 1, 1, 20, 8, 15]),
            minutes=[12, 3, 0, 1, 1, 20, 8, 15],
        ),
        valid(
            "activity_summary one class full hour",
            "activity_summary",
            11,
            14400,
            3,
            activity_bits([0, 0, 0, 0, 0, 0, 0, 60]),
            minutes=[0, 0, 0, 0, 0, 0, 0, 60],
        ),
        valid(
            "signal_quality ecg leads off",
            "signal_quality",
            12,
            15000,
            0,
            struct.pack("<BBH", 0, 1, 120),
            source=0,
            flags=1,
            duration_s=120,
        ),
        valid(
            "signal_quality imu saturated+noisy",
            "signal_quality",
            13,
            15001,
            0,
            struct.pack("<BBH", 1, 6, 3),
            source=1,
            flags=6,
            duration_s=3,
        ),
        valid(
            "signal_quality imu implausible",
            "signal_quality",
            14,
            15002,
            0,
            struct.pack("<BBH", 1, 16, 600),
            source=1,
            flags=16,
            duration_s=600,
        ),
        valid(
            "gap",
            "gap",
            40,
            16000,
            0,
            u24(14) + u24(39) + struct.pack("<H", 20),
            first_seq=14,
            last_seq=39,
            dropped=20,
        ),
        valid(
            "status_device",
            "status_device",
            41,
            16001,
            0,
            bytes([0, 83]) + struct.pack("<HHBB", 3, 4000, 5, 17),
            battery_pct=83,
            epoch=3,
            queue_free=4000,
            flags=5,
            boot_count=17,
        ),
        valid(
            "status_device posture calibrated",
            "status_device",
            43,
            16002,
            0,
            bytes([0, 80]) + struct.pack("<HHBB", 3, 3999, 9, 18),
            battery_pct=80,
            epoch=3,
            queue_free=3999,
            flags=9,
            boot_count=18,
        ),
        valid(
            "status_models",
            "status_models",
            42,
            16001,
            0,
            bytes([1]) + struct.pack("<HHH", 2, 4, 3) + b"\x00",
            afib_version=2,
            fall_version=4,
            activity_version=3,
        ),
        valid(
            "status_firmware negative offset",
            "status_firmware",
            43,
            16001,
            0,
            bytes([2, 0, 1, 9]) + struct.pack("<i", -5),
            fw_major=0,
            fw_minor=1,
            fw_patch=9,
            utc_offset_s=-5,
        ),
        valid(
            "status_firmware real offset",
            "status_firmware",
            44,
            16001,
            0,
            bytes([2, 1, 2, 3]) + struct.pack("<i", 1764000000),
            fw_major=1,
            fw_minor=2,
            fw_patch=3,
            utc_offset_s=1764000000,
        ),
        valid(
            "ecg_recording af",
            "ecg_recording",
            45,
            17000,
            2,
            bytes([1, 93, 118, 30, 0]),
            rhythm_class=1,
            confidence=93,
            hr_bpm=118,
            duration_s=30,
            quality=0,
        ),
        valid(
            "ecg_recording noisy no hr",
            "ecg_recording",
            46,
            17100,
            2,
            bytes([3, 60, 0, 30, 2]),
            rhythm_class=3,
            confidence=60,
            hr_bpm=0,
            duration_s=30,
            quality=2,
        ),
        valid(
            "strip of an af onset",
            "strip",
            47,
            17200,
            0,
            struct.pack("<HBB", 3, 1, 30) + u24(45) + b"\x00",
            strip_id=3,
            reason=1,
            duration_s=30,
            subject_seq=45,
        ),
        valid(
            "strip of a recording, largest ids",
            "strip",
            48,
            17300,
            0,
            struct.pack("<HBB", 65535, 2, 255) + u24(0xFFFFFF) + b"\x00",
            strip_id=65535,
            reason=2,
            duration_s=255,
            subject_seq=0xFFFFFF,
        ),
    ]
    first = bytes.fromhex(ok[0]["hex"])

    def resealed(data: bytes) -> str:
        return (data + struct.pack("<H", crc(data))).hex()

    def with_payload(kind: str, payload: bytes) -> str:
        return packet(TYPES[kind], 99, 1000, 1, payload).hex()

    bad = [
        {"name": "empty", "hex": "", "error": "length"},
        {"name": "one byte", "hex": "21", "error": "length"},
        {"name": "11 bytes", "hex": first[:11].hex(), "error": "length"},
        {"name": "21 bytes", "hex": resealed(first[:-2] + bytes(5)), "error": "length"},
        {"name": "truncated af_start (valid CRC)", "hex": resealed(first[:-3]), "error": "length"},
        {
            "name": "af_start with extra byte (valid CRC)",
            "hex": resealed(first[:-2] + b"\x00"),
            "error": "length",
        },
        {
            "name": "crc flipped bit",
            "hex": (first[:-1] + bytes([first[-1] ^ 1])).hex(),
            "error": "crc",
        },
        {
            "name": "payload flipped bit",
            "hex": (first[:11] + bytes([first[11] ^ 0x80]) + first[12:]).hex(),
            "error": "crc",
        },
        {
            "name": "crc stored big-endian",
            "hex": (first[:-2] + first[-2:][::-1]).hex(),
            "error": "crc",
        },
        {
            "name": "version 0",
            "hex": packet(1, 1, 3600, 2, first[10:-2], version=0).hex(),
            "error": "version",
        },
        {
            "name": "version 2",
            "hex": packet(1, 1, 3600, 2, first[10:-2], version=2).hex(),
            "error": "version",
        },
        {"name": "type 0", "hex": packet(0, 1, 1, 1, bytes(4)).hex(), "error": "type"},
        {"name": "type 14", "hex": packet(14, 1, 1, 1, bytes(4)).hex(), "error": "type"},
        {"name": "type 31", "hex": packet(31, 1, 1, 1, bytes(8)).hex(), "error": "type"},
        {
            "name": "af_start hr 19",
            "hex": with_payload("af_start", bytes([19, 50, 0, 0])),
            "error": "range",
        },
        {
            "name": "af_start hr 251",
            "hex": with_payload("af_start", bytes([251, 50, 0, 0])),
            "error": "range",
        },
        {
            "name": "af_start confidence 101",
            "hex": with_payload("af_start", bytes([80, 101, 0, 0])),
            "error": "range",
        },
        {
            "name": "rhythm af > analysable",
            "hex": with_payload("rhythm_summary", struct.pack("<HHH", 60, 30, 31)),
            "error": "range",
        },
        {
            "name": "rhythm interval 0",
            "hex": with_payload("rhythm_summary", struct.pack("<HHH", 0, 0, 0)),
            "error": "range",
        },
        {
            "name": "hr min > mean",
            "hex": with_payload("hr_summary", struct.pack("<HBBB", 60, 80, 70, 90)),
            "error": "range",
        },
        {
            "name": "activity minute 61",
            "hex": with_payload("activity_summary", activity_bits([61, 0, 0, 0, 0, 0, 0, 0])),
            "error": "range",
        },
        {
            "name": "activity sum 61",
            "hex": with_payload("activity_summary", activity_bits([30, 31, 0, 0, 0, 0, 0, 0])),
            "error": "range",
        },
        {
            "name": "activity change same class",
            "hex": with_payload("activity_change", bytes([5, 5, 50])),
            "error": "range",
        },
        {
            "name": "activity change to unknown",
            "hex": with_payload("activity_change", bytes([5, 255, 50])),
            "error": "range",
        },
        {
            "name": "activity class 8",
            "hex": with_payload("activity_change", bytes([8, 1, 50])),
            "error": "range",
        },
        {
            "name": "signal quality no flags",
            "hex": with_payload("signal_quality", struct.pack("<BBH", 0, 0, 5)),
            "error": "range",
        },
        {
            "name": "signal quality unknown bit",
            "hex": with_payload("signal_quality", struct.pack("<BBH", 0, 0x20, 5)),
            "error": "range",
        },
        {
            "name": "signal quality source 2",
            "hex": with_payload("signal_quality", struct.pack("<BBH", 2, 1, 5)),
            "error": "range",
        },
        {
            "name": "gap last < first",
            "hex": with_payload("gap", u24(10) + u24(9) + struct.pack("<H", 1)),
            "error": "range",
        },
        {
            "name": "gap dropped > span",
            "hex": with_payload("gap", u24(10) + u24(11) + struct.pack("<H", 3)),
            "error": "range",
        },
        {
            "name": "gap dropped 0",
            "hex": with_payload("gap", u24(10) + u24(11) + struct.pack("<H", 0)),
            "error": "range",
        },
        {
            "name": "fall_cancelled seq 0",
            "hex": with_payload("fall_cancelled", u24(0) + bytes([3])),
            "error": "range",
        },
        {
            "name": "status page 3",
            "hex": with_payload("status_device", bytes([3]) + bytes(7)),
            "error": "range",
        },
        {
            "name": "status battery 101",
            "hex": with_payload("status_device", bytes([0, 101]) + bytes(6)),
            "error": "range",
        },
        {
            "name": "status unknown flag",
            "hex": with_payload("status_device", bytes([0, 50, 0, 0, 0, 0, 16, 0])),
            "error": "range",
        },
        {
            "name": "status models reserved byte",
            "hex": with_payload("status_models", bytes([1, 0, 0, 0, 0, 0, 0, 1])),
            "error": "range",
        },
        {
            "name": "ecg recording class 4",
            "hex": with_payload("ecg_recording", bytes([4, 50, 70, 30, 0])),
            "error": "range",
        },
        {
            "name": "ecg recording duration 0",
            "hex": with_payload("ecg_recording", bytes([0, 50, 70, 0, 0])),
            "error": "range",
        },
        {
            "name": "ecg recording hr 10",
            "hex": with_payload("ecg_recording", bytes([0, 50, 10, 30, 0])),
            "error": "range",
        },
        {
            "name": "strip id 0",
            "hex": with_payload("strip", struct.pack("<HBB", 0, 1, 30) + u24(5) + b"\x00"),
            "error": "range",
        },
        {
            "name": "strip reason 4",
            "hex": with_payload("strip", struct.pack("<HBB", 1, 4, 30) + u24(5) + b"\x00"),
            "error": "range",
        },
        {
            "name": "strip subject 0",
            "hex": with_payload("strip", struct.pack("<HBB", 1, 1, 30) + u24(0) + b"\x00"),
            "error": "range",
        },
        {
            "name": "strip reserved byte",
            "hex": with_payload("strip", struct.pack("<HBB", 1, 1, 30) + u24(5) + b"\x01"),
            "error": "range",
        },
    ]

    acks_ok = [
        {
            "name": "stored 1",
            "hex": (bytes([1]) + struct.pack("<H", 3) + u24(1)).hex(),
            "ack": {"kind": 1, "epoch": 3, "seq": 1},
        },
        {
            "name": "stored nothing",
            "hex": (bytes([1]) + struct.pack("<H", 0) + u24(0)).hex(),
            "ack": {"kind": 1, "epoch": 0, "seq": 0},
        },
        {
            "name": "resend from max",
            "hex": (bytes([2]) + struct.pack("<H", 65535) + u24(0xFFFFFF)).hex(),
            "ack": {"kind": 2, "epoch": 65535, "seq": 16777215},
        },
    ]
    acks_bad = [
        {"name": "short", "hex": "0103000100", "error": "length"},
        {"name": "long", "hex": "01030001000000", "error": "length"},
        {"name": "kind 0", "hex": "000300010000", "error": "type"},
        {"name": "kind 3", "hex": "030300010000", "error": "type"},
        {"name": "resend from 0", "hex": "020300000000", "error": "range"},
    ]
    sha = bytes(range(32))
    cmds_ok = [
        {
            "name": "time sync",
            "hex": (bytes([1, 7]) + struct.pack("<I", 1764000000)).hex(),
            "command": {"opcode": 1, "token": 7, "args": {"utc_s": 1764000000}},
        },
        {
            "name": "start recording",
            "hex": "020a1e",
            "command": {"opcode": 2, "token": 10, "args": {"duration_s": 30}},
        },
        {
            "name": "set fall cancel window",
            "hex": (bytes([3, 1, 1]) + struct.pack("<H", 60)).hex(),
            "command": {"opcode": 3, "token": 1, "args": {"key": 1, "value": 60}},
        },
        {
            "name": "factory reset",
            "hex": (bytes([4, 2]) + struct.pack("<I", 0x54455352)).hex(),
            "command": {"opcode": 4, "token": 2, "args": {"magic": 0x54455352}},
        },
        {
            "name": "strip get",
            "hex": (bytes([5, 8]) + struct.pack("<HI", 3, 4720)).hex(),
            "command": {"opcode": 5, "token": 8, "args": {"strip_id": 3, "offset": 4720}},
        },
        {
            "name": "strip release",
            "hex": (bytes([6, 9]) + struct.pack("<HI", 3, 0xCBF43926)).hex(),
            "command": {
                "opcode": 6,
                "token": 9,
                "args": {"strip_id": 3, "image_crc32": 0xCBF43926},
            },
        },
        {
            "name": "update begin",
            "hex": (bytes([16, 3]) + struct.pack("<BHI", 1, 5, 12000) + sha).hex(),
            "command": {
                "opcode": 16,
                "token": 3,
                "args": {"task": 1, "version": 5, "size": 12000, "sha256": sha.hex()},
            },
        },
        {
            "name": "update query",
            "hex": "110402",
            "command": {"opcode": 17, "token": 4, "args": {"task": 2}},
        },
        {
            "name": "update commit",
            "hex": "120500",
            "command": {"opcode": 18, "token": 5, "args": {"task": 0}},
        },
        {
            "name": "update abort",
            "hex": "130601",
            "command": {"opcode": 19, "token": 6, "args": {"task": 1}},
        },
    ]
    cmds_bad = [
        {"name": "empty", "hex": "", "error": "length"},
        {"name": "opcode only", "hex": "01", "error": "length"},
        {"name": "unknown opcode", "hex": "0701", "error": "type"},
        {"name": "strip get id 0", "hex": (bytes([5, 1]) + bytes(6)).hex(), "error": "range"},
        {"name": "strip get short", "hex": "05010300", "error": "length"},
        {
            "name": "strip release id 0",
            "hex": (bytes([6, 1]) + struct.pack("<HI", 0, 5)).hex(),
            "error": "range",
        },
        {"name": "unknown opcode 0x80", "hex": "8001", "error": "type"},
        {"name": "time sync short", "hex": "0107000000", "error": "length"},
        {
            "name": "time sync 1970",
            "hex": (bytes([1, 7]) + struct.pack("<I", 5)).hex(),
            "error": "range",
        },
        {"name": "recording 5 s", "hex": "020a05", "error": "range"},
        {
            "name": "unknown config key",
            "hex": (bytes([3, 1, 9]) + struct.pack("<H", 60)).hex(),
            "error": "range",
        },
        {
            "name": "fall window 1 s",
            "hex": (bytes([3, 1, 1]) + struct.pack("<H", 1)).hex(),
            "error": "range",
        },
        {
            "name": "factory reset wrong magic",
            "hex": (bytes([4, 2]) + struct.pack("<I", 1)).hex(),
            "error": "range",
        },
        {
            "name": "update begin task 3",
            "hex": (bytes([16, 3]) + struct.pack("<BHI", 3, 5, 12000) + sha).hex(),
            "error": "range",
        },
        {
            "name": "update begin version 0",
            "hex": (bytes([16, 3]) + struct.pack("<BHI", 1, 0, 12000) + sha).hex(),
            "error": "range",
        },
        {
            "name": "update begin too big",
            "hex": (bytes([16, 3]) + struct.pack("<BHI", 1, 1, 262145) + sha).hex(),
            "error": "range",
        },
        {
            "name": "update begin short hash",
            "hex": (bytes([16, 3]) + struct.pack("<BHI", 1, 1, 10) + sha[:31]).hex(),
            "error": "length",
        },
    ]
    rsp_ok = [
        {
            "name": "time sync ok",
            "hex": (bytes([0x81, 7, 0]) + struct.pack("<I", 3600)).hex(),
            "response": {
                "opcode": 1,
                "token": 7,
                "status": 0,
                "data": struct.pack("<I", 3600).hex(),
            },
        },
        {
            "name": "strip get ok",
            "hex": (bytes([0x85, 8, 0]) + struct.pack("<II", 9116, 0x97738AF4)).hex(),
            "response": {
                "opcode": 5,
                "token": 8,
                "status": 0,
                "data": struct.pack("<II", 9116, 0x97738AF4).hex(),
            },
        },
        {
            "name": "strip get not found",
            "hex": "85080c",
            "response": {"opcode": 5, "token": 8, "status": 12, "data": ""},
        },
        {
            "name": "commit rejected",
            "hex": "925421",
            "response": {"opcode": 18, "token": 0x54, "status": 0x21, "data": ""},
        },
    ]
    rsp_bad = [
        {"name": "short", "hex": "8107", "error": "length"},
        {"name": "long", "hex": "810700" + "00" * 17, "error": "length"},
        {"name": "request bit", "hex": "010700", "error": "type"},
        {"name": "unknown opcode", "hex": "870700", "error": "type"},
    ]

    def chunk(offset: int, data: bytes) -> str:
        body = struct.pack("<I", offset) + data
        return (body + struct.pack("<H", crc(body))).hex()

    good_chunk = chunk(4096, bytes(range(200)))
    chunks_ok = [
        {"name": "one byte", "hex": chunk(0, b"\x5a"), "chunk": {"offset": 0, "data": "5a"}},
        {
            "name": "mtu 247 chunk",
            "hex": chunk(238 * 7, bytes(range(238))),
            "chunk": {"offset": 1666, "data": bytes(range(238)).hex()},
        },
        {
            "name": "200 bytes",
            "hex": good_chunk,
            "chunk": {"offset": 4096, "data": bytes(range(200)).hex()},
        },
    ]
    chunks_bad = [
        {"name": "no data", "hex": chunk(0, b"")[:12], "error": "length"},
        {
            "name": "bad crc",
            "hex": good_chunk[:-2] + ("00" if good_chunk[-2:] != "00" else "01"),
            "error": "crc",
        },
        {"name": "too long", "hex": chunk(0, bytes(507)), "error": "length"},
    ]

    def status_record(battery, epoch, last, acked, free, time_s, flags, version=1):
        return (
            struct.pack("<BBH", version, battery, epoch)
            + u24(last)
            + u24(acked)
            + struct.pack("<HIB", free, time_s, flags)
        ).hex()

    records_ok = [
        {
            "name": "fresh device",
            "hex": status_record(100, 0, 0, 0, 4096, 12, 0),
            "record": {
                "battery_pct": 100,
                "epoch": 0,
                "last_seq": 0,
                "acked_seq": 0,
                "queue_free": 4096,
                "device_time_s": 12,
                "flags": 0,
            },
        },
        {
            "name": "busy device",
            "hex": status_record(41, 7, 70000, 69990, 123, 86400, 5),
            "record": {
                "battery_pct": 41,
                "epoch": 7,
                "last_seq": 70000,
                "acked_seq": 69990,
                "queue_free": 123,
                "device_time_s": 86400,
                "flags": 5,
            },
        },
    ]
    records_bad = [
        {"name": "short", "hex": status_record(1, 0, 0, 0, 0, 0, 0)[:-2], "error": "length"},
        {
            "name": "version 2",
            "hex": status_record(1, 0, 0, 0, 0, 0, 0, version=2),
            "error": "version",
        },
        {"name": "acked beyond last", "hex": status_record(1, 0, 5, 6, 0, 0, 0), "error": "range"},
        {"name": "battery 200", "hex": status_record(200, 0, 5, 5, 0, 0, 0), "error": "range"},
    ]
    return {
        "description": "Shared protocol test vectors; see tools/make_protocol_vectors.py.",
        "crc16": [
            {"name": "published check value", "hex": b"123456789".hex(), "crc": 0x29B1},
            {"name": "empty", "hex": "", "crc": 0xFFFF},
            {"name": "single zero", "hex": "00", "crc": 0xE1F0},
        ],
        "events": {"valid": ok, "malformed": bad},
        "acks": {"valid": acks_ok, "malformed": acks_bad},
        "commands": {"valid": cmds_ok, "malformed": cmds_bad},
        "responses": {"valid": rsp_ok, "malformed": rsp_bad},
        "chunks": {"valid": chunks_ok, "malformed": chunks_bad},
        "status_records": {"valid": records_ok, "malformed": records_bad},
    }


def main() -> None:
    assert crc(b"123456789") == 0x29B1, "binascii.crc_hqx is not CRC-16/CCITT-FALSE"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(build(), indent=1) + "\n")
    print(f"wrote {OUT.relative_to(OUT.parents[2])}")


if __name__ == "__main__":
    main()
