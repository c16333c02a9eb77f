"""What the emulator needs from the device core: its BLE face.

The device core (``firmware/include/ws_device.h``) takes plain bytes and status codes
and knows nothing of the radio; ``wearsense.firmware.device.DeviceCore`` wraps it for
Python. The emulator's GATT server calls it for every write and pulls notifications
from it. This protocol names the part of ``DeviceCore`` the GATT server uses.
"""

from __future__ import annotations

from typing import Protocol


class CoreInfo(Protocol):
    @property
    def epoch(self) -> int: ...
    @property
    def last_seq(self) -> int: ...
    @property
    def acked_seq(self) -> int: ...
    @property
    def queue_free(self) -> int: ...
    @property
    def time_s(self) -> int: ...
    @property
    def time_synced(self) -> bool: ...


class DeviceFace(Protocol):
    @property
    def serial(self) -> str:
        """The device's identity (Serial Number String), e.g. ``WS-00A1B2C3``."""
        ...

    @property
    def battery_pct(self) -> int: ...

    def write_ack(self, data: bytes) -> int:
        """An acknowledgement frame was written; the result is a status code (0 = OK)."""
        ...

    def write_command(self, data: bytes) -> tuple[int, bytes | None]:
        """A command was written: (write status, response frame to indicate or None)."""
        ...

    def next_notification(self) -> bytes | None:
        """The next event packet to notify, or None when everything was handed out."""
        ...

    def connect(self) -> None:
        """A new link: the next notification is the oldest unacknowledged event."""
        ...

    def info(self) -> CoreInfo: ...

    # Optional: a core with ECG strips (every DeviceCore) has
    # ``next_strip_frame(max_frame) -> bytes | None`` for the Strip transfer characteristic;
    # without it STRIP_GET starts nothing the peripheral sends.
    # Optional: a core with the model-update service also has
    # ``write_transfer(data) -> (status, notification or None)`` for the Model transfer
    # characteristic (wearsense.firmware.updatable.UpdatableDevice); without it the
    # peripheral drops chunks.
