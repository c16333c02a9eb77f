"""`wearsense keys generate|show`: Ed25519 keys that sign model packages and firmware
images (docs/model-package.md, docs/firmware-update.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from wearsense.updates.errors import KeyFileError
from wearsense.updates.keys import (
    ENV_SIGNING_KEY,
    RESERVED_KEY_NAMES,
    generate_key,
    load_public_key,
    public_path_for,
)


def _fail(path: Path | str, exc: Exception) -> int:
    print(f"wearsense: {path}: {exc}", file=sys.stderr)
    return 1


def cmd_keys_generate(args: argparse.Namespace) -> int:
    if any(name in args.path.name for name in RESERVED_KEY_NAMES):
        return _fail(args.path, ValueError("that name is reserved for the development key"))
    try:
        key = generate_key(args.path, overwrite=args.force)
    except KeyFileError as exc:
        return _fail(args.path, exc)
    print(f"wrote {args.path} (private, mode 0600) and {public_path_for(args.path)}")
    print(f"key id {key.public.key_id.hex()}; keep the private key out of version control")
    return 0


def cmd_keys_show(args: argparse.Namespace) -> int:
    try:
        key = load_public_key(args.path)
    except KeyFileError as exc:
        return _fail(args.path, exc)
    if key.is_dev:
        kind = "DEVELOPMENT (emulator only)"
    elif key.is_dev_image:
        kind = "DEVELOPMENT firmware-image (emulator only)"
    else:
        kind = "production"
    print(f"{args.path}: Ed25519 {kind} key, id {key.key_id.hex()}, public {key.raw.hex()}")
    return 0


def register(subparsers: Any) -> None:
    keys = subparsers.add_parser(
        "keys",
        help="generate and inspect Ed25519 keys (model packages, firmware images)",
        description="Ed25519 keys that sign model packages and firmware images (one key "
        "for each job; a firmware image is signed with MCUboot's imgtool, "
        "docs/firmware-update.md). A production private key stays outside the repository "
        f"and is passed with --key or ${ENV_SIGNING_KEY}.",
    )
    ksub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    gen = ksub.add_parser("generate", help="write NAME.ed25519.pem and NAME.ed25519.pub.pem")
    gen.add_argument("path", type=Path, help="private key file, e.g. ~/keys/prod.ed25519.pem")
    gen.add_argument("--force", action="store_true", help="replace existing files")
    gen.set_defaults(handler=cmd_keys_generate)
    show = ksub.add_parser("show", help="print a key's id and whether it is the DEV key")
    show.add_argument("path", type=Path)
    show.set_defaults(handler=cmd_keys_show)
