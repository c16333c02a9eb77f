"""A bleak backend over Bumble: ``BleakScanner(backend=BumbleScannerBackend)`` and
``BleakClient(device, backend=BumbleClientBackend)`` drive a Bumble host (its GATT
client and security manager) instead of the operating system's Bluetooth service.

The Bumble stack to use is a :class:`BumbleCentral`, passed as ``bumble=`` (bleak forwards
extra keyword arguments to its backend) or installed once with :func:`use_central`.
Everything above this module (``wearsense.link.session``) speaks bleak only, so the
same code drives real hardware with bleak's OS backend.

Security follows what an operating system does: ``connect(pair=True)`` encrypts the
link with the stored bond when the keystore has one for the peer, and pairs (LE Secure
Connections, bonding) when it has none. An ATT error from the peer becomes
:class:`BumbleATTError`, a ``BleakError`` carrying the ATT error code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from bleak.backends.characteristic import BleakGATTCharacteristic, CharacteristicPropertyName
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError
from bleak.uuids import normalize_uuid_str
from bumble import att, core, gatt, hci
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt_client import CharacteristicProxy

log = logging.getLogger(__name__)

DEFAULT_MTU = 247
DISCONNECT_TIMEOUT_S = 5.0

__all__ = [
    "BumbleATTError",
    "BumbleCentral",
    "BumbleClientBackend",
    "BumbleScannerBackend",
    "use_central",
]


class BumbleCentral:
    """The companion side's Bumble device, shared by the scanner and client backends."""

    def __init__(self, device: Device) -> None:
        self.device = device


_default_central: BumbleCentral | None = None


def use_central(central: BumbleCentral | None) -> None:
    """Installs the Bumble stack the backends use when no ``bumble=`` is given."""
    global _default_central
    _default_central = central


def _central(kwargs: dict[str, Any]) -> BumbleCentral:
    central = kwargs.get("bumble") or _default_central
    if not isinstance(central, BumbleCentral):
        raise BleakError("no Bumble stack: pass bumble=BumbleCentral(...) or call use_central()")
    return central


class BumbleATTError(BleakError):
    """The peer answered an ATT request with an error (``att_error`` is its code)."""

    def __init__(self, att_error: int, what: str) -> None:
        if att_error >= 0x80:
            name = f"application error, status {att_error - 0x80}"
        else:
            try:
                name = att.ErrorCode(att_error).name
            except ValueError:
                name = "unknown"
        self.att_error = att_error
        super().__init__(f"{what}: ATT error 0x{att_error:02X} {name}")


def _uuid_str(uuid: core.UUID) -> str:
    return normalize_uuid_str(uuid.to_hex_str("-"))


def _address_str(address: hci.Address) -> str:
    return address.to_string(with_type_qualifier=False)


# -- scanner ------------------------------------------------------------------------


class BumbleScannerBackend(BaseBleakScanner):
    """Scans with the Bumble host and reports advertisements the way bleak expects."""

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._central = _central(kwargs)
        self._active = scanning_mode != "passive"
        self._listening = False

    async def start(self) -> None:
        self.seen_devices = {}
        device = self._central.device
        if not self._listening:
            device.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
            self._listening = True
        try:
            await device.start_scanning(active=self._active, filter_duplicates=False)
        except Exception as exc:
            raise BleakError(f"cannot start scanning: {exc}") from exc

    async def stop(self) -> None:
        device = self._central.device
        if self._listening:
            device.remove_listener(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
            self._listening = False
        with contextlib.suppress(Exception):
            await device.stop_scanning()

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        data = advertisement.data
        t = core.AdvertisingData.Type
        name_value = data.get(t.COMPLETE_LOCAL_NAME) or data.get(t.SHORTENED_LOCAL_NAME)
        name = name_value if isinstance(name_value, str) else None
        service_uuids: list[str] = []
        for kind in (
            t.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
            t.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
            t.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
            t.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
            t.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
            t.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
        ):
            for value in data.get_all(kind):
                items = value if isinstance(value, list) else [value]
                service_uuids.extend(_uuid_str(u) for u in items if isinstance(u, core.UUID))
        manufacturer: dict[int, bytes] = {}
        for raw in data.get_all(t.MANUFACTURER_SPECIFIC_DATA, raw=True):
            if len(raw) >= 2:
                manufacturer[int.from_bytes(raw[:2], "little")] = bytes(raw[2:])
        tx_power = data.get(t.TX_POWER_LEVEL)
        adv = AdvertisementData(
            local_name=name,
            manufacturer_data=manufacturer,
            service_data={},
            service_uuids=service_uuids,
            tx_power=tx_power if isinstance(tx_power, int) else None,
            rssi=int(advertisement.rssi),
            platform_data=(advertisement,),
        )
        if not self.is_allowed_uuid(service_uuids):
            return
        key = _address_str(advertisement.address)
        previous = self.seen_devices.get(key)
        if previous is not None and name is None:
            name = previous[0].name  # a scan response without the name keeps the one we had
        ble_device = self.create_or_update_device(key, key, name, advertisement.address, adv)
        self.call_detection_callbacks(ble_device, adv)


# -- client -------------------------------------------------------------------------

_PROPERTY_NAMES: tuple[tuple[int, CharacteristicPropertyName], ...] = (
    (gatt.Characteristic.Properties.BROADCAST, "broadcast"),
    (gatt.Characteristic.Properties.READ, "read"),
    (gatt.Characteristic.Properties.WRITE_WITHOUT_RESPONSE, "write-without-response"),
    (gatt.Characteristic.Properties.WRITE, "write"),
    (gatt.Characteristic.Properties.NOTIFY, "notify"),
    (gatt.Characteristic.Properties.INDICATE, "indicate"),
    (gatt.Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES, "authenticated-signed-writes"),
    (gatt.Characteristic.Properties.EXTENDED_PROPERTIES, "extended-properties"),
)


class BumbleClientBackend(BaseBleakClient):
    """A GATT client connection through the Bumble host. ``address_or_ble_device`` is a
    ``BLEDevice`` from :class:`BumbleScannerBackend` or an address string (taken as a
    random static address)."""

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Any = None,
        timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        self._central = _central(kwargs)
        details = (
            address_or_ble_device.details if isinstance(address_or_ble_device, BLEDevice) else None
        )
        if isinstance(details, hci.Address):
            self._peer_address = details
        else:
            self._peer_address = hci.Address(self.address, hci.Address.RANDOM_DEVICE_ADDRESS)
        self._name = (
            address_or_ble_device.name
            if isinstance(address_or_ble_device, BLEDevice) and address_or_ble_device.name
            else self.address
        )
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._closing = False
        self._subscribers: dict[int, Any] = {}
        self._lost = asyncio.Event()

    @property
    def name(self) -> str:
        return self._name

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection is not None else 23

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    # -- connectivity ------------------------------------------------------------------

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if self._connection is not None:
            return
        device = self._central.device
        self._closing = False
        try:
            connection = await device.connect(self._peer_address, timeout=self._timeout)
        except Exception as exc:
            raise BleakError(f"cannot connect to {self.address}: {exc}") from exc
        self._connection = connection
        self._lost = asyncio.Event()
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        try:
            paired = False
            if await self._bonded():
                try:
                    await self._att("encrypting with the stored bond", connection.encrypt())
                    paired = True
                except BleakError as exc:
                    if not pair or self._lost.is_set():
                        raise
                    # The peer lost its half of the bond (a reset radio): forget ours and
                    # pair afresh, as an operating system does on "key missing".
                    log.warning(
                        "%s rejected the stored bond (%s): pairing again", self.address, exc
                    )
                    await self._forget_bond(str(connection.peer_address))
            if pair and not paired:
                try:
                    await self._att("pairing", connection.pair())
                except BleakError as exc:
                    if "PAIRING_NOT_SUPPORTED" not in str(exc):
                        raise
                    raise BleakError(
                        f"{self.address} refused to pair: a wearable that has an owner bonds "
                        "a new companion only inside its pairing window (hold its button "
                        "for 3 s, docs/link.md)"
                    ) from exc
            peer = Peer(connection)
            self._peer = peer
            with contextlib.suppress(BleakError):
                await self._att("MTU exchange", peer.request_mtu(DEFAULT_MTU))
            self.services = await self._att("service discovery", self._discover(peer))
        except BaseException as exc:
            await self._teardown()
            if isinstance(exc, BleakError | asyncio.CancelledError):
                raise
            if isinstance(exc, Exception):
                raise BleakError(f"cannot set up the link to {self.address}: {exc}") from exc
            raise

    async def _bonded(self) -> bool:
        keystore = self._central.device.keystore
        if keystore is None or self._connection is None:
            return False
        keys = await keystore.get(str(self._connection.peer_address))
        return keys is not None and keys.ltk is not None

    async def _discover(self, peer: Peer) -> BleakGATTServiceCollection:
        await peer.discover_services()
        collection = BleakGATTServiceCollection()
        for service in peer.services:
            await service.discover_characteristics()
            bleak_service = BleakGATTService(service, service.handle, _uuid_str(service.uuid))
            collection.add_service(bleak_service)
            for characteristic in service.characteristics:
                await characteristic.discover_descriptors()
                props = [n for flag, n in _PROPERTY_NAMES if characteristic.properties & flag]
                bleak_char = BleakGATTCharacteristic(
                    characteristic,
                    characteristic.handle,
                    _uuid_str(characteristic.uuid),
                    props,
                    lambda: self.mtu_size - 3,
                    bleak_service,
                )
                collection.add_characteristic(bleak_char)
                for descriptor in characteristic.descriptors:
                    collection.add_descriptor(
                        BleakGATTDescriptor(
                            descriptor, descriptor.handle, _uuid_str(descriptor.type), bleak_char
                        )
                    )
        return collection

    def _on_disconnection(self, reason: int) -> None:
        unexpected = not self._closing
        self._lost.set()
        self._connection = None
        self._peer = None
        self._subscribers.clear()
        log.debug("disconnected from %s (reason 0x%02X)", self.address, reason)
        if unexpected and self._disconnected_callback is not None:
            self._disconnected_callback()

    async def _teardown(self) -> None:
        connection = self._connection
        self._closing = True
        self._lost.set()
        if connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.disconnect(), DISCONNECT_TIMEOUT_S)
        self._connection = None
        self._peer = None

    async def disconnect(self) -> None:
        await self._teardown()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        connection = self._require()[0]
        try:
            await connection.pair()
        except Exception as exc:
            raise BleakError(f"pairing with {self.address} failed: {exc}") from exc

    async def unpair(self) -> None:
        """Forgets the bond with the peer (this side's keystore) and disconnects."""
        connection = self._connection
        address = str(connection.peer_address) if connection else str(self._peer_address)
        await self._teardown()
        await self._forget_bond(address)

    async def _forget_bond(self, address: str) -> None:
        keystore = self._central.device.keystore
        if keystore is not None:
            with contextlib.suppress(KeyError):
                await keystore.delete(address)

    # -- I/O ---------------------------------------------------------------------------

    def _require(self) -> tuple[Connection, Peer]:
        if self._connection is None or self._peer is None:
            raise BleakError("Not connected")
        return self._connection, self._peer

    async def _att(self, what: str, coro: Any) -> Any:
        """Runs one GATT operation; fails it at once when the link drops meanwhile (Bumble
        would otherwise wait for its 30 s ATT timeout)."""
        lost = self._lost
        operation = asyncio.ensure_future(coro)
        watcher = asyncio.ensure_future(lost.wait())
        try:
            await asyncio.wait({operation, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watcher.cancel()
            if not operation.done():
                operation.cancel()
                with contextlib.suppress(BaseException):
                    await operation
        if not operation.done() or operation.cancelled():
            raise BleakError(f"{what}: disconnected")
        try:
            return operation.result()
        except core.ProtocolError as exc:
            code = exc.error_code
            if exc.error_namespace == "att" and isinstance(code, int):
                raise BumbleATTError(code, what) from exc
            raise BleakError(f"{what}: {exc}") from exc
        except (TimeoutError, core.TimeoutError) as exc:
            raise BleakError(f"{what}: timed out") from exc
        except BleakError:
            raise
        except Exception as exc:
            raise BleakError(f"{what}: {exc}") from exc

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        _, peer = self._require()
        value = await self._att(
            f"read {characteristic.uuid}", peer.read_value(characteristic.handle)
        )
        return bytearray(value)

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        _, peer = self._require()
        value = await self._att(
            f"read descriptor {descriptor.uuid}", peer.read_value(descriptor.handle)
        )
        return bytearray(value)

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        _, peer = self._require()
        await self._att(
            f"write {characteristic.uuid}",
            peer.write_value(characteristic.handle, bytes(data), with_response=response),
        )

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        _, peer = self._require()
        await self._att(
            f"write descriptor {descriptor.uuid}",
            peer.write_value(descriptor.handle, bytes(data), with_response=True),
        )

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        self._require()
        proxy = characteristic.obj
        if not isinstance(proxy, CharacteristicProxy):
            raise BleakError(f"{characteristic.uuid} was not discovered by this backend")

        def deliver(value: bytes) -> None:
            callback(bytearray(value))

        self._subscribers[characteristic.handle] = deliver
        await self._att(
            f"subscribe {characteristic.uuid}", proxy.subscribe(deliver, prefer_notify=True)
        )

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        self._require()
        proxy = characteristic.obj
        deliver = self._subscribers.pop(characteristic.handle, None)
        if isinstance(proxy, CharacteristicProxy):
            await self._att(f"unsubscribe {characteristic.uuid}", proxy.unsubscribe(deliver))
