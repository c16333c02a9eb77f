"""CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor).

Check value: crc16(b"123456789") == 0x29B1.
"""

from __future__ import annotations

import binascii


def _table() -> tuple[int, ...]:
    rows = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        rows.append(crc & 0xFFFF)
    return tuple(rows)


_TABLE = _table()


def crc16(data: bytes, crc: int = 0xFFFF) -> int:
    # binascii's CRC-CCITT (XMODEM) is this CRC with the initial value given: the same
    # polynomial, no reflection, no final xor; in C, so decoding and encoding a year of
    # events costs no more than a few milliseconds of CRC.
    return binascii.crc_hqx(data, crc)


def crc16_table(data: bytes, crc: int = 0xFFFF) -> int:
    """The same CRC from the byte table (the firmware's algorithm), for cross-checks."""
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE[(crc >> 8) ^ byte]
    return crc
