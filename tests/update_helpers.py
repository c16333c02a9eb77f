"""Helpers shared by the model-update tests: the shipped AFib package under another version
(the header's model_version, u16 little-endian at offset 8; docs/model-package.md), signed
again with the development key. These tests count versions from 1, whatever version ships."""

from __future__ import annotations

from pathlib import Path

from wearsense.updates import package as pkg
from wearsense.updates.keys import dev_signing_key

SHIPPED_AFIB = Path(__file__).resolve().parents[1] / "models" / "afib" / "afib.wspkg"


def versioned(version: int, base: bytes | None = None) -> bytes:
    """``base`` (default: the shipped AFib package) as ``version``, signed with the DEV key."""
    raw = bytearray(base or SHIPPED_AFIB.read_bytes())
    raw[8:10] = version.to_bytes(2, "little")
    return pkg.sign(bytes(raw), dev_signing_key())
