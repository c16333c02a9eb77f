"""The exceptions of wearsense.updates: one for a bad package, one for a bad key file."""

from __future__ import annotations

from wearsense.protocol.errors import PackageError

__all__ = ["KeyFileError", "PackageError"]


class KeyFileError(ValueError):
    """A signing or public key file is missing, unreadable or not an Ed25519 key."""
