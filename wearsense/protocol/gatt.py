"""GATT identifiers of docs/protocol.md ("GATT table")."""

from __future__ import annotations

BASE = "5753{:04x}-5b4f-4e8a-9c7d-3e2f1a0b6c5d"

SERVICE = BASE.format(0x0001)
EVENTS = BASE.format(0x0002)  # notify; encrypted
ACK = BASE.format(0x0003)  # write with response; encrypted
COMMAND = BASE.format(0x0004)  # write with response, indicate; encrypted
TRANSFER = BASE.format(0x0005)  # write without response, notify; encrypted
STATUS = BASE.format(0x0006)  # read, notify; encrypted
STRIP = BASE.format(0x0007)  # notify; encrypted (Strip transfer)

DEVICE_INFORMATION = "0000180a-0000-1000-8000-00805f9b34fb"
SERIAL_NUMBER = "00002a25-0000-1000-8000-00805f9b34fb"
FIRMWARE_REVISION = "00002a26-0000-1000-8000-00805f9b34fb"
MANUFACTURER_NAME = "00002a29-0000-1000-8000-00805f9b34fb"
MODEL_NUMBER = "00002a24-0000-1000-8000-00805f9b34fb"
BATTERY_SERVICE = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL = "00002a19-0000-1000-8000-00805f9b34fb"

ENCRYPTED = frozenset({EVENTS, ACK, COMMAND, TRANSFER, STATUS, STRIP})
