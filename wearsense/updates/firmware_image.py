"""Firmware images in MCUboot's format, signed by MCUboot's own ``imgtool`` (pinned in
pyproject.toml) with an Ed25519 key, and checked by the device's verifier through the
binding (docs/firmware-update.md).

``sign_image`` runs ``imgtool sign`` with the project's layout (a padded 0x200-byte header,
a security counter in the protected TLVs, the key's hash and the Ed25519 signature of the
image's SHA-256 in the unprotected ones) and then verifies what it wrote with the C
verifier, so a build never ships an image the device would refuse. Keys are the
project's (``wearsense keys generate``): a private key file must be 0600, and a production
image refuses the development keys.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from wearsense.firmware.image import FirmwareImages, ImageInfo
from wearsense.protocol.errors import Status
from wearsense.updates.errors import KeyFileError
from wearsense.updates.keys import load_signing_key

# The header is padded to 0x200 bytes so the body (the vector table of a Cortex-M image)
# starts on a 512-byte boundary, as MCUboot's Cortex-M ports lay it out.
HEADER_SIZE = 0x200
# Slot size: imgtool refuses an image (with its TLVs) that does not fit.
DEFAULT_SLOT_SIZE = 0x100000


class ImageError(ValueError):
    """imgtool failed, or the device's verifier refuses the image it wrote."""

    def __init__(self, reason: str, status: Status | None = None) -> None:
        super().__init__(reason)
        self.status = status


def imgtool_command() -> list[str]:
    """imgtool as installed in this environment (run as a module of this interpreter)."""
    return [sys.executable, "-m", "imgtool.main"]


def sign_image(
    binary: Path,
    out: Path,
    key_path: Path,
    version: str,
    security_counter: int,
    slot_size: int = DEFAULT_SLOT_SIZE,
    header_size: int = HEADER_SIZE,
    production: bool = False,
) -> ImageInfo:
    """Signs the raw ``binary`` into ``out`` with imgtool and returns what the device's
    verifier reads from it. ``version`` is MCUboot's ``major.minor.revision+build``."""
    key = load_signing_key(key_path)  # refuses a private key file others may read
    public = key.public
    if production and (public.is_dev or public.is_dev_image):
        raise KeyFileError(f"{key_path}: a development key cannot sign a production image")
    if not 0 <= security_counter <= 0xFFFFFFFF:
        raise ImageError("the security counter is a 32-bit unsigned number")
    cmd = [
        *imgtool_command(),
        "sign",
        "--key",
        str(key_path),
        "--version",
        version,
        "--security-counter",
        str(security_counter),
        "--header-size",
        hex(header_size),
        "--pad-header",
        "--slot-size",
        hex(slot_size),
        "--align",
        "4",
        str(binary),
        str(out),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise ImageError(f"imgtool sign failed: {(done.stderr or done.stdout).strip()}")
    status, info = FirmwareImages().verify(out.read_bytes(), public.raw, security_counter)
    if status != Status.OK or info is None:
        raise ImageError(f"the device's verifier refuses the image: {status.name}", status)
    return info


def verify_image(
    data: bytes, public_key: bytes, min_security_counter: int = 0
) -> tuple[Status, ImageInfo | None]:
    """The device's checks of one slot's bytes (``ws_image_verify``)."""
    return FirmwareImages().verify(data, public_key, min_security_counter)
