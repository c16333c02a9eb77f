"""The C device core (firmware/src/app) driven from Python: the same C that runs on the
wearable, with its event queue on simulated NOR flash (firmware/port/host).

A :class:`DeviceCore` is created from a serial number and a flash image (``bytes``), so
an emulator or a test can keep the image, "reset" the device by booting a new core on
it, or cut the power in the middle of any flash operation. The BLE face is three
calls, one per kind of write plus the notification source:

* :meth:`DeviceCore.write_ack` — the acknowledgement characteristic;
* :meth:`DeviceCore.write_command` — the command characteristic (TIME_SYNC included);
* :meth:`DeviceCore.next_notification` — the next event packet to notify;

and :meth:`DeviceCore.read_status` reads the Status characteristic.

Status codes come back as :class:`wearsense.protocol.Status`; they are answers, not
errors. :class:`DeviceError` is raised only for misuse from Python (a bad serial, a flash
image of the wrong size, an injected event the core refuses).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from wearsense import protocol
from wearsense.firmware import core
from wearsense.protocol import Status

DEFAULT_PAGE_SIZE = 4096
DEFAULT_PAGE_COUNT = 32  # 128 KiB: the reference device's event-queue budget
RESPONSE_MAX_SIZE = 19
NOTIFICATION_MAX = 20
STATUS_RECORD_SIZE = 17
SETTINGS_PAGES = 2  # WS_SETTINGS_PAGES: the settings' own flash pages
STRIP_PAGES = 24  # the ECG strips' partition: 24 x 4 KiB (docs/strips.md)
STRIP_FRAME_OVERHEAD = 8  # WS_STRIP_FRAME_OVERHEAD


@dataclasses.dataclass(frozen=True)
class StripEntry:
    """One ECG strip the device holds (``ws_strip_entry_t``)."""

    strip_id: int
    epoch: int
    reason: int
    duration_s: int
    released: bool
    announced: bool
    subject_seq: int
    image_len: int
    image_crc32: int


class DeviceError(ValueError):
    """Misuse of the emulated core from Python; ``status`` is the C status when one exists."""

    def __init__(self, message: str, status: Status | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclasses.dataclass(frozen=True)
class DeviceInfo:
    """A snapshot of the core's state (``ws_device_info_t``)."""

    epoch: int
    last_seq: int
    acked_seq: int
    cursor_seq: int
    pending: int
    queue_free: int
    boot_count: int
    time_s: int
    utc_offset_s: int
    time_synced: bool
    model_versions: tuple[int, int, int]
    fall_cancel_s: int
    summary_min: int
    recording_s: int


@dataclasses.dataclass(frozen=True)
class Settings:
    """The wearer's settings as the device keeps them across resets (``ws_settings_t``)."""

    fall_cancel_s: int
    summary_min: int
    posture_calibrated: bool
    posture_ref: tuple[int, int, int]  # standing gravity, 1/128 g


def _status(code: int) -> Status:
    try:
        return Status(code)
    except ValueError:
        raise DeviceError(f"the core returned unknown status {code}") from None


class DeviceCore:
    """One emulated wearable: the C core, its flash and its clock.

    ``flash`` is a previous :meth:`flash_image` (or ``None`` for a blank part);
    ``announce=False`` only mounts the queue (no boot record, no STATUS events), which is
    how a test inspects a flash image without changing what it holds.
    """

    def __init__(
        self,
        serial: str,
        flash: bytes | None = None,
        *,
        settings: bytes | None = None,
        strips: bytes | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        page_count: int = DEFAULT_PAGE_COUNT,
        strip_pages: int = STRIP_PAGES,
        now_s: int = 0,
        battery_pct: int = 100,
        charging: bool = False,
        model_versions: tuple[int, int, int] = (0, 0, 0),
        sanitized: bool | None = None,
        announce: bool = True,
    ) -> None:
        self._module = core(sanitized)
        self._sanitized = sanitized
        self.ffi, self.lib = self._module.ffi, self._module.lib
        size = page_size * page_count
        if flash is None:
            flash = b"\xff" * size
        if len(flash) != size:
            raise DeviceError(
                f"flash image of {len(flash)} bytes, expected {page_size} x {page_count} = {size}"
            )
        if not serial.isascii() or not 1 <= len(serial) <= 16:
            raise DeviceError(f"serial {serial!r}: need 1..16 printable ASCII characters")
        self.serial = serial
        self.page_size, self.page_count = page_size, page_count
        self._serial_c = self.ffi.new("char[]", serial.encode("ascii"))
        self._mem = self.ffi.new("uint8_t[]", size)
        self.ffi.memmove(self._mem, flash, size)
        self._flash = self._alloc("ws_host_flash_t *", self.lib.ws_host_flash_size())
        self.lib.ws_host_flash_init(self._flash, self._mem, page_size, page_count)
        self._settings_mem, self._settings_flash = self._settings_part(settings)
        self.strip_pages = strip_pages
        self._strip_mem, self._strip_flash = self._strip_part(strips)
        self._strips = self._alloc("ws_strips_t *", self.lib.ws_strips_size())
        self._clock = self.ffi.new("ws_host_clock_t *")
        self._clock.now_s = now_s
        self._clock.battery_pct = battery_pct
        self._clock.charging = int(charging)
        for task, version in enumerate(model_versions):
            self._clock.model_version[task] = version
        self._platform = self._alloc("ws_host_platform_t *", self.lib.ws_host_platform_size())
        self.lib.ws_host_platform_init(self._platform, self._clock)
        self._dev = self._alloc("ws_device_t *", self.lib.ws_device_size())
        self.boot_status = self.reboot(announce=announce)
        if self.boot_status in (Status.ARG, Status.RANGE):
            raise DeviceError(f"the core refused to boot: {self.boot_status.name}")

    def _settings_part(self, image: bytes | None) -> tuple[Any, Any]:
        """The settings pages (ws_settings.h) in simulated flash of their own."""
        size = self.page_size * SETTINGS_PAGES
        if image is None:
            image = b"\xff" * size
        if len(image) != size:
            raise DeviceError(
                f"settings image of {len(image)} bytes, expected "
                f"{self.page_size} x {SETTINGS_PAGES} = {size}"
            )
        mem = self.ffi.new("uint8_t[]", size)
        self.ffi.memmove(mem, image, size)
        flash = self._alloc("ws_host_flash_t *", self.lib.ws_host_flash_size())
        self.lib.ws_host_flash_init(flash, mem, self.page_size, SETTINGS_PAGES)
        return mem, flash

    def _strip_part(self, image: bytes | None) -> tuple[Any, Any]:
        """The ECG strips' partition (ws_strips.h) in simulated flash of its own."""
        size = self.page_size * self.strip_pages
        if image is None:
            image = b"\xff" * size
        if len(image) != size:
            raise DeviceError(
                f"strip partition image of {len(image)} bytes, expected "
                f"{self.page_size} x {self.strip_pages} = {size}"
            )
        mem = self.ffi.new("uint8_t[]", size)
        self.ffi.memmove(mem, image, size)
        flash = self._alloc("ws_host_flash_t *", self.lib.ws_host_flash_size())
        self.lib.ws_host_flash_init(flash, mem, self.page_size, self.strip_pages)
        return mem, flash

    def _mount_strips(self) -> None:
        status = _status(
            self.lib.ws_strips_mount(
                self._strips, self.lib.ws_host_flash_iface(self._strip_flash), self._dev
            )
        )
        if status != Status.OK:
            raise DeviceError(f"the strip partition did not mount: {status.name}", status)
        self.lib.ws_device_attach_strips(self._dev, self._strips)

    def reboot(self, *, announce: bool = True) -> Status:
        """Resets the core in place: RAM state is lost, the flash (and an armed cut) stay;
        the wearer's settings are read back from their own pages."""
        boot = self.lib.ws_device_boot if announce else self.lib.ws_device_mount
        status = _status(
            boot(
                self._dev,
                self._serial_c,
                self.lib.ws_host_flash_iface(self._flash),
                self.lib.ws_host_platform_iface(self._platform),
            )
        )
        if status not in (Status.ARG, Status.RANGE):
            self.lib.ws_device_attach_settings(
                self._dev, self.lib.ws_host_flash_iface(self._settings_flash)
            )
            self.lib.ws_host_flash_disarm(self._strip_flash)  # the power is back
            self._mount_strips()
        return status

    def _alloc(self, ctype: str, size: int) -> Any:
        raw = self.ffi.new("uint8_t[]", size)
        ptr = self.ffi.cast(ctype, raw)
        self._keep = getattr(self, "_keep", []) + [raw]
        return ptr

    # ---- the BLE face ----

    def write_ack(self, data: bytes) -> Status:
        """A write to the acknowledgement characteristic; the write's status."""
        return _status(self.lib.ws_device_on_ack_write(self._dev, data, len(data)))

    def write_command(self, data: bytes) -> tuple[Status, bytes | None]:
        """A write to the command characteristic: (write status, response frame or None)."""
        out = self.ffi.new(f"uint8_t[{RESPONSE_MAX_SIZE}]")
        size = self.ffi.new("size_t *")
        status = self.lib.ws_device_on_command_write(
            self._dev, data, len(data), out, RESPONSE_MAX_SIZE, size
        )
        frame = bytes(self.ffi.buffer(out, size[0])) if size[0] else None
        return _status(status), frame

    def next_notification(self) -> bytes | None:
        """The next event packet to notify, or None when everything was handed out."""
        out = self.ffi.new(f"uint8_t[{NOTIFICATION_MAX}]")
        size = self.ffi.new("size_t *")
        status = _status(
            self.lib.ws_device_next_notification(self._dev, out, NOTIFICATION_MAX, size)
        )
        if status != Status.OK:
            raise DeviceError(f"notification failed: {status.name}", status)
        return bytes(self.ffi.buffer(out, size[0])) if size[0] else None

    def notifications(self, limit: int | None = None) -> Iterator[bytes]:
        """Yields notifications until none is left (or ``limit`` were yielded)."""
        count = 0
        while limit is None or count < limit:
            packet = self.next_notification()
            if packet is None:
                return
            count += 1
            yield packet

    def connect(self) -> None:
        """A new link: notifications restart at the oldest unacknowledged event (and a
        running strip transfer stops)."""
        self.lib.ws_device_on_connect(self._dev)

    def next_strip_frame(self, max_frame: int) -> bytes | None:
        """The next Strip transfer frame of at most ``max_frame`` bytes (the link's ATT MTU
        - 3), or None when no strip transfer is running."""
        cap = max(STRIP_FRAME_OVERHEAD + 1, min(int(max_frame), 512))
        out = self.ffi.new(f"uint8_t[{cap}]")
        size = self.ffi.new("size_t *")
        status = _status(self.lib.ws_device_next_strip_frame(self._dev, out, cap, size))
        if status != Status.OK:
            return None
        return bytes(self.ffi.buffer(out, size[0])) if size[0] else None

    # ---- ECG strips (host view) ----

    def strips(self) -> list[StripEntry]:
        """The strips the partition holds, oldest first."""
        cap = int(self.lib.WS_STRIP_MAX_ENTRIES)
        out = self.ffi.new(f"ws_strip_entry_t[{cap}]")
        n = self.ffi.new("size_t *")
        self.lib.ws_strips_list(self._strips, out, cap, n)
        return [
            StripEntry(
                strip_id=int(e.strip_id),
                epoch=int(e.epoch),
                reason=int(e.reason),
                duration_s=int(e.duration_s),
                released=bool(e.released),
                announced=bool(e.announced),
                subject_seq=int(e.subject_seq),
                image_len=int(e.image_len),
                image_crc32=int(e.image_crc32),
            )
            for e in (out[i] for i in range(n[0]))
        ]

    def strip_image(self, strip_id: int) -> bytes:
        """The whole image of a strip of the current epoch (DeviceError when not held)."""
        for entry in self.strips():
            if entry.strip_id == strip_id and entry.epoch == self.info().epoch:
                out = self.ffi.new(f"uint8_t[{max(entry.image_len, 1)}]")
                status = _status(
                    self.lib.ws_strips_read(self._strips, strip_id, 0, out, entry.image_len)
                )
                if status != Status.OK:
                    raise DeviceError(f"strip {strip_id} unreadable: {status.name}", status)
                return bytes(self.ffi.buffer(out, entry.image_len))
        raise DeviceError(f"no strip {strip_id}", Status.NOT_FOUND)

    def strip_stats(self) -> dict[str, int]:
        raw = self.ffi.new("ws_strips_stats_t *")
        self.lib.ws_strips_get_stats(self._strips, raw)
        names = [
            "made",
            "requested",
            "dropped",
            "overwritten",
            "reused",
            "discarded",
            "flash_errors",
            "announce_errors",
            "ring_samples",
            "ring_bytes_used",
            "held",
            "unreleased",
        ]
        return {name: int(getattr(raw, name)) for name in names}

    def make_strip(
        self,
        samples: Any,
        fs: int,
        *,
        adc_gain: float = 200.0,
        adc_zero: int = 0,
        reason: int = 1,
        subject_seq: int | None = None,
    ) -> int:
        """Host-only test interface: records ``samples`` (int16 ADC counts, one lead) as a
        new ECG stream and makes one strip of all of them, documenting ``subject_seq``
        (default: an AF_START injected first); returns its strip id. DeviceError when no
        strip was made."""
        data = np.ascontiguousarray(samples, dtype="<i2").tobytes()
        n = len(data) // 2
        if subject_seq is None:
            subject_seq = self.inject(
                protocol.AfStart(
                    seq=0, time_s=0, model_version=0, hr_bpm=120, confidence=90, onset_lag_s=31
                )
            )
        before = {e.strip_id for e in self.strips()}
        _status(self.lib.ws_strips_config(self._strips, fs, adc_gain, adc_zero, self.now_s))
        self.lib.ws_strips_feed(self._strips, self.ffi.from_buffer("int16_t[]", data), n)
        status = _status(self.lib.ws_strips_request(self._strips, reason, subject_seq, 0, n))
        made = [e.strip_id for e in self.strips() if e.strip_id not in before]
        if status != Status.OK or not made:
            raise DeviceError(f"no strip made: {status.name}", status)
        return made[-1]

    def strips_image(self) -> bytes:
        """The strip partition's flash."""
        return bytes(self.ffi.buffer(self._strip_mem, self.page_size * self.strip_pages))

    def arm_strip_power_cut(self, op: int, tear_pos: int, tear_bits: int = 0xFF) -> None:
        """Cuts the power during strip-partition operation ``op`` (0 = the next one)."""
        self.lib.ws_host_flash_arm_cut(self._strip_flash, op, tear_pos, tear_bits)

    @property
    def strip_power_was_cut(self) -> bool:
        return bool(self.lib.ws_host_flash_was_cut(self._strip_flash))

    @property
    def strip_flash_ops(self) -> int:
        return int(self.lib.ws_host_flash_ops(self._strip_flash))

    @property
    def strip_nor_violations(self) -> int:
        return int(self.lib.ws_host_flash_violations(self._strip_flash))

    # ---- convenience over the face ----

    def ack(self, seq: int, epoch: int | None = None) -> Status:
        epoch = self.info().epoch if epoch is None else epoch
        return self.write_ack(protocol.Ack(protocol.AckKind.STORED, epoch, seq).encode())

    def command(self, command: protocol.Command) -> protocol.Response | None:
        _, frame = self.write_command(command.encode())
        return protocol.Response.decode(frame) if frame else None

    # ---- host-only test interface ----

    def inject(self, event: protocol.Event) -> int:
        """Stores an event as a detector would; returns the sequence number it got."""
        packet = protocol.encode(dataclasses.replace(event, seq=0))
        seq = self.ffi.new("uint32_t *")
        status = _status(self.lib.ws_host_inject_event(self._dev, packet, len(packet), seq))
        if status != Status.OK:
            raise DeviceError(f"the core refused {event.NAME}: {status.name}", status)
        return int(seq[0])

    def pending_packets(self) -> list[bytes]:
        """Every unacknowledged event packet held, in seq order (cursor untouched)."""
        out = self.ffi.new(f"uint8_t[{NOTIFICATION_MAX}]")
        size = self.ffi.new("size_t *")
        packets: list[bytes] = []
        after = 0
        while True:
            status = _status(
                self.lib.ws_host_event_after(self._dev, after, out, NOTIFICATION_MAX, size)
            )
            if status != Status.OK:
                raise DeviceError(f"reading the queue failed: {status.name}", status)
            if size[0] == 0:
                return packets
            packet = bytes(self.ffi.buffer(out, size[0]))
            seq = int.from_bytes(packet[1:4], "little")
            if seq <= after:
                raise DeviceError(f"the queue returned seq {seq} after {after}")
            packets.append(packet)
            after = seq

    def pending(self) -> list[protocol.Event]:
        return [protocol.decode(p) for p in self.pending_packets()]

    def info(self) -> DeviceInfo:
        raw = self.ffi.new("ws_device_info_t *")
        self.lib.ws_device_get_info(self._dev, raw)
        return DeviceInfo(
            epoch=raw.epoch,
            last_seq=raw.last_seq,
            acked_seq=raw.acked_seq,
            cursor_seq=raw.cursor_seq,
            pending=raw.pending,
            queue_free=raw.queue_free,
            boot_count=raw.boot_count,
            time_s=raw.time_s,
            utc_offset_s=raw.utc_offset_s,
            time_synced=bool(raw.time_synced),
            model_versions=(raw.model_version[0], raw.model_version[1], raw.model_version[2]),
            fall_cancel_s=raw.fall_cancel_s,
            summary_min=raw.summary_min,
            recording_s=raw.recording_s,
        )

    def set_model_version(self, task: int, version: int) -> Status:
        """A model switched in for ``task``: the core queues STATUS pages 0, 1, 2."""
        if task not in (0, 1, 2) or not 0 <= version <= 0xFFFF:
            raise DeviceError(f"model version {version} for task {task}: task 0..2, version u16")
        self._clock.model_version[task] = version
        return _status(self.lib.ws_device_models_changed(self._dev))

    def read_status(self) -> bytes:
        """The Status characteristic's 17-byte record (docs/protocol.md, "Status record")."""
        out = self.ffi.new(f"uint8_t[{STATUS_RECORD_SIZE}]")
        size = self.ffi.new("size_t *")
        self.lib.ws_device_read_status(self._dev, out, STATUS_RECORD_SIZE, size)
        return bytes(self.ffi.buffer(out, size[0]))

    @property
    def now_s(self) -> int:
        return int(self._clock.now_s)

    @now_s.setter
    def now_s(self, value: int) -> None:
        self._clock.now_s = value

    def advance(self, seconds: int) -> None:
        self._clock.now_s = self._clock.now_s + seconds

    @property
    def battery_pct(self) -> int:
        return int(self._clock.battery_pct)

    @battery_pct.setter
    def battery_pct(self, value: int) -> None:
        self._clock.battery_pct = value

    # ---- flash, resets and power cuts ----

    def flash_image(self) -> bytes:
        return bytes(self.ffi.buffer(self._mem, self.page_size * self.page_count))

    def settings_image(self) -> bytes:
        """The settings pages (fall cancel window, summary interval, posture calibration)."""
        return bytes(self.ffi.buffer(self._settings_mem, self.page_size * SETTINGS_PAGES))

    def settings(self) -> Settings:
        """The settings as stored (the defaults when none are)."""
        raw = self.lib.ws_device_settings(self._dev)
        return Settings(
            fall_cancel_s=int(raw.fall_cancel_s),
            summary_min=int(raw.summary_min),
            posture_calibrated=bool(raw.posture_calibrated),
            posture_ref=(int(raw.posture_ref[0]), int(raw.posture_ref[1]), int(raw.posture_ref[2])),
        )

    def save_flash(self, path: str | os.PathLike[str]) -> None:
        """Writes the flash image to a file (atomically: a crash leaves the old file)."""
        target = Path(path)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(self.flash_image())
        tmp.replace(target)

    @classmethod
    def from_file(
        cls,
        serial: str,
        path: str | os.PathLike[str],
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        page_count: int = DEFAULT_PAGE_COUNT,
        **kwargs: Any,
    ) -> DeviceCore:
        """Boots on the flash image in ``path``; a missing file is a blank flash."""
        file = Path(path)
        image: bytes | None = None
        if file.exists():
            image = file.read_bytes()
            if len(image) != page_size * page_count:
                raise DeviceError(
                    f"{file}: flash image of {len(image)} bytes, expected "
                    f"{page_size} x {page_count} = {page_size * page_count}"
                )
        return cls(serial, image, page_size=page_size, page_count=page_count, **kwargs)

    def reset(self, *, announce: bool = True) -> DeviceCore:
        """A new core booted on this one's flash (a reset; RAM state is lost)."""
        return DeviceCore(
            self.serial,
            self.flash_image(),
            settings=self.settings_image(),
            strips=self.strips_image(),
            page_size=self.page_size,
            page_count=self.page_count,
            strip_pages=self.strip_pages,
            now_s=self.now_s,
            battery_pct=self.battery_pct,
            model_versions=self.info().model_versions,
            sanitized=self._sanitized,
            announce=announce,
        )

    def clone(self) -> DeviceCore:
        """An identical, independent copy: flash, RAM state and clock."""
        other = DeviceCore.__new__(DeviceCore)
        other._module, other.ffi, other.lib = self._module, self.ffi, self.lib
        other._sanitized = self._sanitized
        other.serial, other.page_size, other.page_count = (
            self.serial,
            self.page_size,
            self.page_count,
        )
        other._serial_c = self.ffi.new("char[]", self.serial.encode("ascii"))
        size = self.page_size * self.page_count
        other._mem = self.ffi.new("uint8_t[]", size)
        self.ffi.memmove(other._mem, self._mem, size)
        other._flash = other._alloc("ws_host_flash_t *", self.lib.ws_host_flash_size())
        self.lib.ws_host_flash_init(other._flash, other._mem, self.page_size, self.page_count)
        other._settings_mem, other._settings_flash = other._settings_part(self.settings_image())
        other.strip_pages = self.strip_pages
        other._strip_mem, other._strip_flash = other._strip_part(self.strips_image())
        other._strips = other._alloc("ws_strips_t *", self.lib.ws_strips_size())
        other._clock = self.ffi.new("ws_host_clock_t *")
        self.ffi.memmove(other._clock, self._clock, self.ffi.sizeof("ws_host_clock_t"))
        other._platform = other._alloc("ws_host_platform_t *", self.lib.ws_host_platform_size())
        self.lib.ws_host_platform_init(other._platform, other._clock)
        other._dev = other._alloc("ws_device_t *", self.lib.ws_device_size())
        self.ffi.memmove(
            self.ffi.cast("uint8_t *", other._dev),
            self.ffi.cast("uint8_t *", self._dev),
            self.lib.ws_device_size(),
        )
        self.lib.ws_host_device_rebind(
            other._dev,
            self.lib.ws_host_flash_iface(other._flash),
            self.lib.ws_host_flash_iface(other._settings_flash),
            self.lib.ws_host_platform_iface(other._platform),
        )
        other._mount_strips()  # the strips' RAM (a transfer, a ring) is not copied
        other.boot_status = self.boot_status
        return other

    def arm_power_cut(self, op: int, tear_pos: int, tear_bits: int = 0xFF) -> None:
        """Cuts the power during flash operation ``op`` (0 = the next program or erase)."""
        self.lib.ws_host_flash_arm_cut(self._flash, op, tear_pos, tear_bits)

    @property
    def power_was_cut(self) -> bool:
        return bool(self.lib.ws_host_flash_was_cut(self._flash))

    @property
    def flash_ops(self) -> int:
        return int(self.lib.ws_host_flash_ops(self._flash))

    @property
    def flash_erases(self) -> int:
        return int(self.lib.ws_host_flash_erases(self._flash))

    @property
    def nor_violations(self) -> int:
        """Programs refused because they would have set a bit (must stay 0)."""
        return int(self.lib.ws_host_flash_violations(self._flash))
