"""What the emulator needs from the device core: its BLE face.

The device core (``firmware/include/ws_device.h``, wrapped by ``wearsense.firmware``)
takes plain bytes and status codes and knows nothing of the radio; the emulator's GATT
server calls it for every write and pulls notifications from it. Any object with these
methods can sit behind the GATT server; the real one is the C core.
"""

from __future__ import annotations

from typing import Protocol


class DeviceFace(Protocol):
    @property
    def serial(self) -> str:
        """The device's identity (Serial Number String), e.g. ``WS-00A1B2C3``."""
        ...

    def on_ack_write(self, frame: bytes) -> int:
        """An acknowledgement frame was written; the result is a status code (0 = OK)."""
        ...

    def on_command_write(self, frame: bytes) -> tuple[int, bytes]:
        """A command was written: (write status, response frame to indicate or b"")."""
        ...

    def next_notification(self) -> bytes | None:
        """The next event packet to notify, or None when everything was handed out."""
        ...

    def on_connect(self) -> None:
        """A new link: the next notification is the oldest unacknowledged event."""
        ...

    def status_record(self) -> bytes:
        """The 17-byte status record of docs/protocol.md section 8."""
        ...

    def battery_pct(self) -> int: ...
