"""Signs a raw Cortex-M4 firmware binary into an MCUboot-format image with MCUboot's
imgtool (wearsense.updates.firmware_image.sign_image), then checks it with the device's
verifier and prints what the device reads from it. `make firmware-image` runs it
(mk/boot.mk, docs/firmware-update.md).

Usage: .venv/bin/python tools/sign_firmware_image.py BIN OUT --key KEY.ed25519.pem
           --version 1.2.3+4 --security-counter N [--slot-size 0x100000] [--production]"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from wearsense.updates.errors import KeyFileError  # noqa: E402
from wearsense.updates.firmware_image import (  # noqa: E402
    DEFAULT_SLOT_SIZE,
    HEADER_SIZE,
    ImageError,
    sign_image,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--key", type=Path, required=True)
    parser.add_argument("--version", required=True, help="major.minor.revision+build")
    parser.add_argument("--security-counter", type=int, required=True)
    parser.add_argument("--slot-size", type=lambda s: int(s, 0), default=DEFAULT_SLOT_SIZE)
    parser.add_argument("--header-size", type=lambda s: int(s, 0), default=HEADER_SIZE)
    parser.add_argument("--production", action="store_true", help="refuse development keys")
    args = parser.parse_args(argv)
    try:
        info = sign_image(
            args.binary,
            args.out,
            args.key,
            args.version,
            args.security_counter,
            slot_size=args.slot_size,
            header_size=args.header_size,
            production=args.production,
        )
    except (ImageError, KeyFileError) as exc:
        print(f"sign_firmware_image: {exc}", file=sys.stderr)
        return 1
    print(
        f"wrote {args.out}: version {info.version_text}, security counter "
        f"{info.security_counter}, body {info.image_size} bytes, image {info.total_size} "
        f"bytes of a {args.slot_size}-byte slot, sha256 {info.hash.hex()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
