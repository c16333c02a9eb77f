"""The link's one exception type."""

from __future__ import annotations


class LinkError(Exception):
    """A BLE link problem the caller can act on: no device found, a transport that
    cannot be opened, a refused pairing, a peer that answered with an error."""
