"""The exceptions of wearsense.updates: one for a bad package, one for a bad key file."""

from __future__ import annotations

from wearsense.protocol.errors import Status


class PackageError(ValueError):
    """A model package is malformed, not authentic, or not acceptable for the device.

    ``status`` is the firmware's status code (0x20-0x2A) for the same package, so the
    host and the device name one problem the same way; ``reason`` is a human sentence.
    """

    def __init__(self, status: Status, reason: str) -> None:
        super().__init__(f"{status.name.lower()}: {reason}")
        self.status = status
        self.reason = reason


class KeyFileError(ValueError):
    """A signing or public key file is missing, unreadable or not an Ed25519 key."""
