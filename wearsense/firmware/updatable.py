"""A device core with the model-update service: the C core of :mod:`wearsense.firmware.device`
plus the A/B model store on a flash partition of its own (``firmware/include/ws_model_store.h``)
and the UPDATE_* / model-transfer face (``firmware/include/ws_update.h``).

The model store lives on a second simulated NOR flash (``ws_host_flash``), so a test can cut
the power in the middle of any of its operations, exactly like the event queue's. At every
boot the service re-verifies each running model (all seven package steps, self-test
included) and rolls back one that fails, before the core queues its STATUS pages.

``UpdatableDevice.provision`` installs a factory model through the same checks as an
over-the-air update (the update service's own commands, without the radio).
"""

from __future__ import annotations

import dataclasses
import hashlib
import struct
from typing import Any

from wearsense import protocol
from wearsense.firmware import core
from wearsense.firmware.device import DeviceCore, DeviceError, _status
from wearsense.protocol import Status

STORE_PAGE_SIZE = 4096
TRANSFER_NOTIFY_SIZE = 5
DEFAULT_ARENA_BYTES = 64 * 1024
PLACEMENT_CHEST = 0
ALIGN = 16


@dataclasses.dataclass(frozen=True)
class ActiveModel:
    """The running model of a task: the verified package where it lies in the store."""

    task: int
    version: int
    slot: int
    generation: int
    package: bytes
    model: bytes


@dataclasses.dataclass(frozen=True)
class SlotInfo:
    begun: bool
    committed: bool
    bad: bool
    version: int
    size: int
    received: int
    persisted: int
    generation: int
    log_used: int


class UpdatableDevice(DeviceCore):
    """One emulated wearable whose models can be updated over the model-transfer face.

    ``store`` is a previous :meth:`store_image` (``None``: a blank partition);
    ``placement`` is where the device is worn (packages for another placement are refused).
    """

    def __init__(
        self,
        serial: str,
        flash: bytes | None = None,
        *,
        store: bytes | None = None,
        placement: int = PLACEMENT_CHEST,
        arena_bytes: int = DEFAULT_ARENA_BYTES,
        sanitized: bool | None = None,
        **kwargs: Any,
    ) -> None:
        module = core(sanitized)
        ffi, lib = module.ffi, module.lib
        self.store_pages = int(lib.ws_model_store_pages(STORE_PAGE_SIZE))
        size = STORE_PAGE_SIZE * self.store_pages
        if store is None:
            store = b"\xff" * size
        if len(store) != size:
            raise DeviceError(f"model store image of {len(store)} bytes, expected {size}")
        self.placement = placement
        self._upd_keep: list[Any] = []
        self._store_mem = self._aligned_new(ffi, size)
        ffi.memmove(self._store_mem, store, size)
        self._store_flash = self._aligned_new(
            ffi, int(lib.ws_host_flash_size()), "ws_host_flash_t *"
        )
        lib.ws_host_flash_init(
            self._store_flash, self._store_mem, STORE_PAGE_SIZE, self.store_pages
        )
        self._update = self._aligned_new(ffi, int(lib.ws_update_size()), "ws_update_t *")
        self._nn_model = self._aligned_new(ffi, int(lib.ws_nn_model_struct_size()), "void *")
        self._arena = self._aligned_new(ffi, arena_bytes)
        self._arena_bytes = arena_bytes
        self._key = ffi.new("uint8_t[32]", bytes(ffi.buffer(lib.ws_pkg_trusted_key(), 32)))
        self.update_status = Status.OK
        super().__init__(serial, flash, sanitized=sanitized, **kwargs)

    def _aligned_new(self, ffi: Any, size: int, ctype: str = "uint8_t *") -> Any:
        owner = ffi.new("uint8_t[]", size + ALIGN)
        self._upd_keep.append(owner)
        address = int(ffi.cast("uintptr_t", owner))
        return ffi.cast(ctype, ffi.cast("uint8_t *", owner) + (-address % ALIGN))

    def reboot(self, *, announce: bool = True) -> Status:
        """Resets the core and the update service: the store is mounted again and every
        running model verified (a failing one is rolled back) before the core boots."""
        self.update_status = _status(
            self.lib.ws_update_init(
                self._update,
                self.lib.ws_host_flash_iface(self._store_flash),
                self._store_mem,
                self.placement,
                self._key,
                self._nn_model,
                self._arena,
                self._arena_bytes,
            )
        )
        if self.update_status == Status.OK:
            self.lib.ws_host_update_bind(self._update, self._platform)
        status = super().reboot(announce=announce)
        if self.update_status == Status.OK:
            self.lib.ws_update_attach(self._update, self._dev)
        return status

    # ---- the model-transfer face ----

    def write_transfer(self, data: bytes) -> tuple[Status, bytes | None]:
        """A write to the model-transfer characteristic: (chunk status, the resume-offset
        notification ``u32 offset, u8 status`` when one is due, else None)."""
        out = self.ffi.new(f"uint8_t[{TRANSFER_NOTIFY_SIZE}]")
        size = self.ffi.new("size_t *")
        status = self.lib.ws_update_on_transfer_write(
            self._update, data, len(data), out, TRANSFER_NOTIFY_SIZE, size
        )
        frame = bytes(self.ffi.buffer(out, size[0])) if size[0] else None
        return _status(status), frame

    # ---- the model store ----

    def active_model(self, task: int) -> ActiveModel | None:
        raw = self.ffi.new("ws_model_t *")
        if self.lib.ws_update_active(self._update, task, raw) != 0:
            return None
        package = bytes(self.ffi.buffer(raw.package, raw.package_len))
        return ActiveModel(
            task=task,
            version=raw.version,
            slot=raw.slot,
            generation=raw.generation,
            package=package,
            model=bytes(self.ffi.buffer(raw.model, raw.model_len)),
        )

    def model_version(self, task: int) -> int:
        return int(self.lib.ws_update_model_version(self._update, task))

    def rolled_back(self, task: int) -> int:
        """Models of ``task`` rolled back at the last boot (they failed verification)."""
        return int(self.lib.ws_update_rolled_back(self._update, task))

    def slot_info(self, task: int, slot: int) -> SlotInfo:
        raw = self.ffi.new("ws_model_slot_info_t *")
        status = _status(
            self.lib.ws_model_store_slot_info(
                self.lib.ws_update_store(self._update), task, slot, raw
            )
        )
        if status != Status.OK:
            raise DeviceError(f"slot {task}/{slot}: {status.name}", status)
        return SlotInfo(
            begun=bool(raw.begun),
            committed=bool(raw.committed),
            bad=bool(raw.bad),
            version=raw.version,
            size=raw.size,
            received=raw.received,
            persisted=raw.persisted,
            generation=raw.generation,
            log_used=raw.log_used,
        )

    def provision(self, package: bytes, chunk: int = 238) -> Status:
        """Installs a package as the factory does: UPDATE_BEGIN, chunks, UPDATE_COMMIT,
        through the update service (all checks apply). Returns the commit's status."""
        parsed_task, version = package[5], int.from_bytes(package[8:10], "little")
        begin = protocol.Command(
            protocol.Opcode.UPDATE_BEGIN,
            1,
            {
                "task": parsed_task,
                "version": version,
                "size": len(package),
                "sha256": hashlib.sha256(package).digest(),
            },
        )
        response = self.command(begin)
        if response is None or response.status != Status.OK:
            return Status(response.status) if response else Status.STATE
        for offset in range(0, len(package), chunk):
            frame = protocol.Chunk(offset, package[offset : offset + chunk]).encode()
            status, _ = self.write_transfer(frame)
            if status != Status.OK:
                return status
        done = self.command(
            protocol.Command(protocol.Opcode.UPDATE_COMMIT, 2, {"task": parsed_task})
        )
        return Status(done.status) if done else Status.STATE

    # ---- flash of the store, resets and power cuts ----

    def store_image(self) -> bytes:
        return bytes(self.ffi.buffer(self._store_mem, STORE_PAGE_SIZE * self.store_pages))

    def arm_store_power_cut(self, op: int, tear_pos: int, tear_bits: int = 0xFF) -> None:
        """Cuts the power during the model store's flash operation ``op`` (0 = the next)."""
        self.lib.ws_host_flash_arm_cut(self._store_flash, op, tear_pos, tear_bits)

    @property
    def store_power_was_cut(self) -> bool:
        return bool(self.lib.ws_host_flash_was_cut(self._store_flash))

    @property
    def store_flash_ops(self) -> int:
        return int(self.lib.ws_host_flash_ops(self._store_flash))

    @property
    def store_nor_violations(self) -> int:
        return int(self.lib.ws_host_flash_violations(self._store_flash))

    def _reboot_kwargs(self) -> dict[str, Any]:
        """What a device booted on this one's flash keeps: the model store, the placement
        and the port's settings (subclasses add their own)."""
        return {
            "store": self.store_image(),
            "settings": self.settings_image(),
            "strips": self.strips_image(),
            "strip_pages": self.strip_pages,
            "placement": self.placement,
            "arena_bytes": self._arena_bytes,
            "page_size": self.page_size,
            "page_count": self.page_count,
            "now_s": self.now_s,
            "battery_pct": self.battery_pct,
            "sanitized": self._sanitized,
        }

    def reset(self, *, announce: bool = True) -> UpdatableDevice:
        """A new core booted on this one's flash and model store (RAM state is lost)."""
        return UpdatableDevice(
            self.serial, self.flash_image(), announce=announce, **self._reboot_kwargs()
        )

    def clone(self) -> DeviceCore:
        raise NotImplementedError("UpdatableDevice: use reset() on saved images instead")


def notification(frame: bytes) -> tuple[int, Status]:
    """Decodes a resume-offset notification: (offset, status)."""
    if len(frame) != TRANSFER_NOTIFY_SIZE:
        raise DeviceError(f"transfer notification of {len(frame)} bytes")
    offset, code = struct.unpack("<IB", frame)
    return offset, _status(code)
