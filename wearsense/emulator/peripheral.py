"""The emulated wearable's GATT server on Bumble (docs/protocol.md, "GATT table").

The WearSense service (events, acknowledgements, commands, model transfer, status),
Device Information (with the serial number) and Battery. Every WearSense attribute,
including the notification switches (CCCDs), needs an encrypted link (else *Insufficient
Encryption*), and one encrypted with the owner's Secure Connections bond: the pairing and
access rules are ``wearsense.emulator.security.SecurityPolicy``. Writes go to the device
core's BLE face; a frame the core refuses is answered with the ATT error ``0x80 + status``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Callable

from bumble import att, core, gatt
from bumble.device import Connection, Device
from bumble.profiles.battery_service import BatteryService
from bumble.profiles.device_information_service import DeviceInformationService

from wearsense.emulator import att_guard
from wearsense.emulator.face import DeviceFace
from wearsense.emulator.flow import FlowControl
from wearsense.emulator.security import SecurityPolicy
from wearsense.protocol import Opcode
from wearsense.protocol import gatt as uuids

log = logging.getLogger(__name__)

FIRMWARE_REVISION = "0.1.0"
MODEL_NUMBER = "WearSense patch"
MANUFACTURER = "WearSense (emulated)"
ADVERTISED_NAME = "WearSense"
ADVERTISING_INTERVAL_MS = 20.0
STRIP_DRAIN_EVERY = 8  # strip frames queued before the pump waits for the link to drain

_P = gatt.Characteristic.Properties
_A = att.Attribute.Permissions
_SECURE_READ = _A.READABLE | _A.READ_REQUIRES_ENCRYPTION
_SECURE_WRITE = _A.WRITEABLE | _A.WRITE_REQUIRES_ENCRYPTION


def advertising_data() -> bytes:
    """Flags and the WearSense service UUID (the name goes in the scan response)."""
    ad = core.AdvertisingData(
        [
            (core.AdvertisingData.Type.FLAGS, bytes([0x06])),
            (
                core.AdvertisingData.Type.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                core.UUID(uuids.SERVICE).to_bytes(),
            ),
        ]
    )
    return bytes(ad)


def scan_response_data(name: str = ADVERTISED_NAME) -> bytes:
    return bytes(
        core.AdvertisingData([(core.AdvertisingData.Type.COMPLETE_LOCAL_NAME, name.encode())])
    )


def status_record(face: DeviceFace) -> bytes:
    """The 17-byte status record of docs/protocol.md section 8, from the core's state."""
    info = face.info()
    flags = 0x01 if info.time_synced else 0
    battery = max(0, min(100, face.battery_pct))
    return (
        struct.pack("<BBH", 1, battery, info.epoch)
        + info.last_seq.to_bytes(3, "little")
        + info.acked_seq.to_bytes(3, "little")
        + struct.pack("<HIB", min(info.queue_free, 0xFFFF), info.time_s & 0xFFFFFFFF, flags)
    )


class Peripheral:
    """Serves the device core ``face`` over the Bumble ``device``. Call :meth:`start` once
    the device is powered on and :meth:`kick` after anything that may have queued a
    notification (an injected event). ``face`` may be replaced (a device reset boots a
    new core on the same flash) with :meth:`replace_core`."""

    def __init__(self, device: Device, face: DeviceFace) -> None:
        self.device = device
        self.face = face
        self.security = SecurityPolicy(device)
        self._kick = asyncio.Event()
        self._pump_task: asyncio.Task[None] | None = None
        self.connection: Connection | None = None
        self.on_notified: Callable[[bytes], None] | None = None
        self.flow = FlowControl()  # write budgets, coalesced notifications (flow.py)
        self.events = self._characteristic(uuids.EVENTS, _P.NOTIFY, _SECURE_READ, self._no_read)
        self.ack = self._characteristic(
            uuids.ACK, _P.WRITE, _SECURE_WRITE, write=self._on_ack_write
        )
        self.command = self._characteristic(
            uuids.COMMAND,
            _P.WRITE | _P.INDICATE,
            _SECURE_WRITE | _SECURE_READ,
            self._no_read,
            self._on_command_write,
        )
        self.transfer = self._characteristic(
            uuids.TRANSFER,
            _P.WRITE_WITHOUT_RESPONSE | _P.NOTIFY,
            _SECURE_WRITE | _SECURE_READ,
            self._no_read,
            self._on_transfer_write,
        )
        self.status = self._characteristic(
            uuids.STATUS, _P.READ | _P.NOTIFY, _SECURE_READ, self._read_status
        )
        # Strip transfer (docs/protocol.md): notify only; frames follow a STRIP_GET
        self.strip = self._characteristic(uuids.STRIP, _P.NOTIFY, _SECURE_READ, self._no_read)
        self._strip_kick = asyncio.Event()
        self._strip_task: asyncio.Task[None] | None = None
        secure = [self.events, self.ack, self.command, self.transfer, self.status, self.strip]
        for characteristic in secure:
            if characteristic.properties & (_P.NOTIFY | _P.INDICATE):
                cccd = gatt.Descriptor(
                    gatt.GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR,
                    _SECURE_READ | _SECURE_WRITE,
                    device.gatt_server.make_descriptor_value(characteristic),
                )
                characteristic.descriptors = [*characteristic.descriptors, cccd]
        self.service = gatt.Service(uuids.SERVICE, secure)
        self.dis = DeviceInformationService(
            manufacturer_name=MANUFACTURER,
            model_number=MODEL_NUMBER,
            serial_number=face.serial,
            firmware_revision=FIRMWARE_REVISION,
        )
        self.battery = BatteryService(lambda _c: max(0, min(100, self.face.battery_pct)))
        device.add_services([self.service, self.dis, self.battery])
        # Bumble checks no write permission and leaves some requests unanswered: the guard
        # enforces every attribute's access rules and answers every request.
        att_guard.install(device.gatt_server, secure=self._secure)
        device.on("connection", self._on_connection)
        self.events.on("subscription", lambda *_args: self.kick())

    @staticmethod
    def _characteristic(
        uuid: str,
        properties: gatt.Characteristic.Properties,
        permissions: att.Attribute.Permissions,
        read: Callable[[Connection], bytes] | None = None,
        write: Callable[[Connection, bytes], None] | None = None,
    ) -> gatt.Characteristic[bytes]:
        return gatt.Characteristic(
            uuid, properties, permissions, gatt.CharacteristicValue(read=read, write=write)
        )

    # -- lifecycle -------------------------------------------------------------------

    async def start(self, *, pairing_window: bool = False) -> None:
        """Starts advertising; ``pairing_window``: open the pairing window at once (the
        wearer holds the button at power-on)."""
        await self.security.start(open_window=pairing_window)
        self.device.advertising_data = advertising_data()
        self.device.scan_response_data = scan_response_data()
        await self.device.start_advertising(
            advertising_data=advertising_data(),
            scan_response_data=scan_response_data(),
            auto_restart=True,
            # 20 ms, the shortest legal interval: a central finds the emulator at once.
            advertising_interval_min=ADVERTISING_INTERVAL_MS,
            advertising_interval_max=ADVERTISING_INTERVAL_MS,
        )
        self._pump_task = asyncio.create_task(self._pump(), name="wearsense-notify")
        self._strip_task = asyncio.create_task(self._strip_pump(), name="wearsense-strips")

    async def stop(self) -> None:
        for task in (self._pump_task, self._strip_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._pump_task = self._strip_task = None
        with contextlib.suppress(Exception):
            await self.device.stop_advertising()

    async def drop_link(self) -> None:
        """Disconnects the current central (a radio drop, from the device's side)."""
        connection = self.connection
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.disconnect()

    async def replace_core(self, face: DeviceFace) -> None:
        """A device reset: the link drops, a new core (booted on the same flash) serves
        the next connection."""
        await self.drop_link()
        self.face = face
        self.kick()

    def kick(self) -> None:
        """Wakes the notification pump (new events may be queued)."""
        self._kick.set()

    # -- connection ------------------------------------------------------------------

    def _on_connection(self, connection: Connection) -> None:
        self.connection = connection
        self.face.connect()

        def gone(*_args: object) -> None:
            if self.connection is connection:
                self.connection = None

        connection.on("disconnection", gone)
        connection.on("encryption_change", self.kick)

    def _secure(self, connection: Connection) -> bool:
        return connection is self.connection and self.security.allows(connection)

    # -- characteristic callbacks ----------------------------------------------------

    @staticmethod
    def _no_read(_connection: Connection) -> bytes:
        return b""

    def _read_status(self, connection: Connection) -> bytes:
        self.security.check(connection)
        return status_record(self.face)

    def _on_ack_write(self, connection: Connection, value: bytes) -> None:
        self.security.check(connection)  # only the owner's acknowledgements free events
        self.flow.of(connection).admit_ack()
        status = int(self.face.write_ack(bytes(value)))
        if status:
            raise att.ATT_Error(0x80 + status, message=f"acknowledgement refused ({status})")
        self._status_changed(connection)
        self.kick()

    def _status_changed(self, connection: Connection) -> None:
        """Notifies the status record to a central that subscribed to it."""
        cccd = self.device.gatt_server.read_cccd(connection, self.status)
        if self._secure(connection) and cccd and cccd[0] & 0x01:
            record = status_record(self.face)
            self.flow.of(connection).notify(
                self.status.handle, record, lambda v: self._notify_status(connection, v)
            )

    async def _notify_status(self, connection: Connection, record: bytes) -> None:
        with contextlib.suppress(Exception):
            await self.device.notify_subscriber(connection, self.status, record)

    def _on_command_write(self, connection: Connection, value: bytes) -> None:
        self.security.check(connection)
        flow = self.flow.of(connection)
        flow.admit_command()
        status, response = self.face.write_command(bytes(value))
        if response:
            indication = flow.indicate(self._indicate(connection, response))
            asyncio.get_running_loop().create_task(indication)
        elif status:
            raise att.ATT_Error(0x80 + status, message=f"command refused ({status})")
        self._status_changed(connection)
        self.kick()
        if value[:1] == bytes([int(Opcode.STRIP_GET)]):
            self._strip_kick.set()  # a strip transfer may have begun

    def _on_transfer_write(self, connection: Connection, value: bytes) -> None:
        # Write without response: the device's answer is the resume-offset notification
        # (docs/protocol.md section 7), due after each window of chunks and each dropped one.
        if not self.security.allows(connection):
            return  # no response to carry an error: the chunk is dropped
        write_transfer = getattr(self.face, "write_transfer", None)
        if write_transfer is None:
            log.info("model-transfer chunk of %d bytes dropped (no update service)", len(value))
            return
        _status, note = write_transfer(bytes(value))
        if note:
            self.flow.of(connection).notify(
                self.transfer.handle, note, lambda v: self._notify_transfer(connection, v)
            )

    async def _notify_transfer(self, connection: Connection, note: bytes) -> None:
        cccd = self.device.gatt_server.read_cccd(connection, self.transfer)
        if not (self._secure(connection) and cccd and cccd[0] & 0x01):
            return
        try:
            await self.device.notify_subscriber(connection, self.transfer, note)
        except Exception as exc:  # the link may have gone meanwhile
            log.debug("transfer notification not delivered: %s", exc)

    async def _indicate(self, connection: Connection, response: bytes) -> None:
        try:
            await self.device.indicate_subscriber(connection, self.command, response)
        except Exception as exc:  # the link may have gone meanwhile
            log.debug("indication not delivered: %s", exc)

    # -- notifications ---------------------------------------------------------------

    async def _strip_pump(self) -> None:
        """Notifies the frames of the strip transfer a STRIP_GET began, as fast as the
        link's transmit queue drains (every STRIP_DRAIN_EVERY frames it waits for it), to
        the owner's link only and only while it subscribed; a new link stops a transfer
        (the companion asks again from the offset it reached)."""
        while True:
            await self._strip_kick.wait()
            self._strip_kick.clear()
            connection = self.connection
            next_frame = getattr(self.face, "next_strip_frame", None)
            if connection is None or next_frame is None or not self._secure(connection):
                continue
            cccd = self.device.gatt_server.read_cccd(connection, self.strip)
            if not cccd or not cccd[0] & 0x01:
                continue
            flow = self.flow.of(connection)
            sent = 0
            while self.connection is connection and not self._strip_kick.is_set():
                frame = next_frame(int(getattr(connection, "att_mtu", 23)) - 3)
                if frame is None:
                    break
                try:
                    await self.device.notify_subscriber(connection, self.strip, frame)
                except Exception as exc:
                    log.debug("strip frame not sent: %s", exc)
                    break
                sent += 1
                if sent % STRIP_DRAIN_EVERY == 0:
                    await flow.drained()

    async def _pump(self) -> None:
        while True:
            await self._kick.wait()
            self._kick.clear()
            connection = self.connection
            if connection is None or not self._secure(connection):
                continue
            cccd = self.device.gatt_server.read_cccd(connection, self.events)
            if not cccd or not cccd[0] & 0x01:
                continue
            while self.connection is connection:
                packet = self.face.next_notification()
                if packet is None:
                    break
                try:
                    await self.device.notify_subscriber(connection, self.events, packet)
                except Exception as exc:
                    log.debug("notification not sent: %s", exc)
                    break
                if self.on_notified is not None:
                    self.on_notified(packet)
