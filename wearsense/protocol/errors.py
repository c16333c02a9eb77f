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


class ProtocolError(ValueError):
    """Raised for every malformed frame or out-of-range field.

    ``status`` is the firmware's status code for the same input, so the host and the
    device report one malformed input the same way; ``reason`` is a human sentence.
    """

    def __init__(self, status: Status, reason: str) -> None:
        super().__init__(f"{status.name.lower()}: {reason}")
        self.status = status
        self.reason = reason
