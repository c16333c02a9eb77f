"""The firmware's verifier of MCUboot-format firmware images (firmware/src/boot/image.c)
called from Python, so the host checks an image exactly as the device will
(docs/firmware-update.md)."""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any

from wearsense.firmware import core
from wearsense.protocol.errors import Status


@dataclasses.dataclass(frozen=True)
class ImageInfo:
    """What ws_image_parse / ws_image_verify read from an image (ws_image_info_t)."""

    load_addr: int
    flags: int
    header_size: int
    image_size: int
    protected_tlv_size: int
    tlv_size: int
    total_size: int
    version: tuple[int, int, int, int]  # major, minor, revision, build
    security_counter: int
    hash: bytes

    @property
    def version_text(self) -> str:
        major, minor, revision, build = self.version
        return f"{major}.{minor}.{revision}+{build}"


class FirmwareImages:
    """The C image verifier of one firmware build (plain, or the sanitizer build)."""

    def __init__(self, module: ModuleType | None = None) -> None:
        self.module = module or core()
        self.ffi, self.lib = self.module.ffi, self.module.lib

    def _info(self, r: Any) -> ImageInfo:  # r: a ws_image_info_t *
        return ImageInfo(
            load_addr=r.load_addr,
            flags=r.flags,
            header_size=r.header_size,
            image_size=r.image_size,
            protected_tlv_size=r.protected_tlv_size,
            tlv_size=r.tlv_size,
            total_size=r.total_size,
            version=(
                r.version_major,
                r.version_minor,
                r.version_revision,
                r.version_build,
            ),
            security_counter=r.security_counter,
            hash=bytes(r.hash),
        )

    def _slot(self, slot: bytes) -> Any:
        # A fresh copy of exactly len(slot) bytes, so ASan sees the true end of the slot.
        buf = self.ffi.new("uint8_t[]", max(len(slot), 1))
        self.ffi.memmove(buf, slot, len(slot))
        return buf

    def parse(self, slot: bytes) -> tuple[Status, ImageInfo | None]:
        """The structure only (no cryptography): (status, info when OK)."""
        out = self.ffi.new("ws_image_info_t *")
        status = Status(self.lib.ws_image_parse(self._slot(slot), len(slot), out))
        return status, self._info(out) if status == Status.OK else None

    def verify(
        self, slot: bytes, public_key: bytes, min_security_counter: int = 0
    ) -> tuple[Status, ImageInfo | None]:
        """Every check the device makes: (status, info when OK or IMG_ROLLBACK)."""
        if len(public_key) != 32:
            raise ValueError("an Ed25519 public key is 32 bytes")
        out = self.ffi.new("ws_image_info_t *")
        status = Status(
            self.lib.ws_image_verify(
                self._slot(slot), len(slot), public_key, min_security_counter, out
            )
        )
        ok = status in (Status.OK, Status.IMG_ROLLBACK)
        return status, self._info(out) if ok else None
