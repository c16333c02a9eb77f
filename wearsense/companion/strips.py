"""TEMPORARY: replaced by helper B's module at merge.

The companion's link functions for ECG strips (docs/protocol.md, STRIP_GET and
STRIP_RELEASE): this stand-in has their names and signatures only, so `wearsense strip
get` can be written before the device side lands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wearsense.link.errors import LinkError


async def fetch_strip(
    session: Any, strip_id: int, *, progress: Callable[[int, int], None] | None = None
) -> bytes:
    raise LinkError("strip transfer is not built into this companion yet")


async def release_strip(session: Any, strip_id: int, image_crc32: int) -> None:
    raise LinkError("strip transfer is not built into this companion yet")
