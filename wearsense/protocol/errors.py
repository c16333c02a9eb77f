"""The status codes shared with the firmware (firmware/include/ws_status.h) and the
one exception the protocol layer raises for malformed input."""

from __future__ import annotations

import enum


class Status(enum.IntEnum):
    """One byte on the wire; docs/protocol.md says when each is returned."""

    OK = 0
    LENGTH = 1
    CRC = 2
    VERSION = 3
    TYPE = 4
    RANGE = 5
    ARG = 6
    STATE = 7
    EPOCH = 8
    BUSY = 9
    NOSPACE = 10
    FLASH = 11
    NOT_FOUND = 12  # names something the device does not hold (a strip id)
    # 0x20-0x3F model transfer and packages (docs/model-package.md, "Verification")
    PKG_FORMAT = 0x20
    PKG_BOUNDS = 0x21
    PKG_HASH = 0x22
    PKG_KEY = 0x23
    PKG_SIGNATURE = 0x24
    PKG_TASK = 0x25
    PKG_PLACEMENT = 0x26
    PKG_CLASSES = 0x27
    PKG_ROLLBACK = 0x28
    PKG_MODEL = 0x29
    PKG_SELFTEST = 0x2A
    # 0x80-0x9F firmware images in MCUboot's format (docs/firmware-update.md, "Checks")
    IMG_MAGIC = 0x80
    IMG_HEADER = 0x81
    IMG_BOUNDS = 0x82
    IMG_TLV_INFO = 0x83
    IMG_TLV = 0x84
    IMG_TLV_DUP = 0x85
    IMG_TLV_MISSING = 0x86
    IMG_HASH = 0x87
    IMG_KEY = 0x88
    IMG_SIGNATURE = 0x89
    IMG_ROLLBACK = 0x8A


class ProtocolError(ValueError):
    """Raised for every malformed frame or out-of-range field.

    ``status`` is the firmware's status code for the same input, so the host and the
    device report one malformed input the same way; ``reason`` is a human sentence.
    """

    def __init__(self, status: Status, reason: str) -> None:
        super().__init__(f"{status.name.lower()}: {reason}")
        self.status = status
        self.reason = reason


class PackageError(ValueError):
    """A model package is malformed, not authentic, or not acceptable for the device.

    ``status`` is the firmware's status code (0x20-0x2A) for the same package, so the
    host and the device name one problem the same way; ``reason`` is a human sentence.
    """

    def __init__(self, status: Status, reason: str) -> None:
        super().__init__(f"{status.name.lower()}: {reason}")
        self.status = status
        self.reason = reason
