"""ECG strips from the connected wearable (docs/protocol.md, "Strip transfer"): fetch one
strip's image by id and, once the caller stored it, release it so the device may reuse its
space. Only the owner's companion gets anything: the device answers commands and notifies
strip frames on the owner's bonded link only.

:func:`fetch_strip` asks with STRIP_GET from the offset it reached, takes the frames in
order (each one's CRC-16 checked), asks again from there after a dropped link, a lost or
damaged frame or a stalled transfer, and checks the whole image's CRC-32 (the one the
device gave in its answer) at the end. It returns the image bytes; their format (header,
compressed blocks) is ``wearsense.strips`` (parsed by the companion, not here).
"""

from __future__ import annotations

import asyncio
import struct
import zlib
from collections.abc import Callable
from typing import Any, Protocol

from wearsense.link.errors import LinkError
from wearsense.protocol import Opcode, ProtocolError, Response, Status, StripFrame

FETCH_TRIES = 8  # STRIP_GET requests of one fetch (each resumes where the last stopped)
FRAME_TIMEOUT_S = 5.0  # no frame for this long: the transfer stalled, ask again
STREAMING_WAIT_S = 60.0
POLL_S = 0.25  # how often a waiting fetch looks whether the link was replaced
IMAGE_MAX = 1 << 20  # a strip image is far smaller (30 s of ECG): refuse anything larger

Progress = Callable[[int, int], None]
"""Called with (bytes received, image length) after each frame."""


class StripError(Exception):
    """A strip could not be fetched or released; ``status`` is the device's answer when
    it gave one (``Status.NOT_FOUND``: it no longer holds the strip)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class StripSession(Protocol):
    """What a fetch needs of the companion's session (``wearsense.link.Session``)."""

    stats: Any  # .connections counts the connections so far

    async def wait_streaming(self, timeout: float) -> None: ...

    async def command(self, opcode: Opcode, **args: Any) -> Response: ...

    async def subscribe_strips(self, callback: Callable[[bytes], None]) -> None: ...


def _answer(response: Response, what: str) -> None:
    if response.status != Status.OK:
        try:
            name = Status(response.status).name
        except ValueError:
            name = str(response.status)
        raise StripError(f"{what}: the device answered {name}", response.status)


async def _next_frame(
    session: StripSession, frames: asyncio.Queue[bytes], connection: int, timeout_s: float
) -> bytes | None:
    """The next frame; None when none came for ``timeout_s`` or the link was replaced (a
    new connection: the device stopped the transfer)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while True:
        try:
            return await asyncio.wait_for(frames.get(), min(POLL_S, max(end - loop.time(), 0)))
        except TimeoutError:
            if session.stats.connections != connection or loop.time() >= end:
                return None


async def fetch_strip(
    session: StripSession,
    strip_id: int,
    *,
    progress: Progress | None = None,
    tries: int = FETCH_TRIES,
    frame_timeout_s: float = FRAME_TIMEOUT_S,
) -> bytes:
    """The image of strip ``strip_id`` (checked end to end). Raises :class:`StripError`
    when the device does not hold it (``status`` NOT_FOUND), refuses the request, or
    ``tries`` requests did not bring it whole."""
    if not 1 <= strip_id <= 0xFFFF:
        raise StripError(f"strip id {strip_id}: 1..65535")
    image = bytearray()
    image_len: int | None = None
    image_crc: int | None = None
    subscribed_on = -1
    frames: asyncio.Queue[bytes] = asyncio.Queue()
    last_error = "no request made"
    for _ in range(tries):
        try:
            await session.wait_streaming(STREAMING_WAIT_S)
            connection = session.stats.connections
            if subscribed_on != connection:
                await session.subscribe_strips(frames.put_nowait)
                subscribed_on = connection
            while not frames.empty():  # frames of an earlier request
                frames.get_nowait()
            response = await session.command(Opcode.STRIP_GET, strip_id=strip_id, offset=len(image))
        except (TimeoutError, LinkError) as exc:
            last_error = f"no link: {exc}"
            continue
        _answer(response, f"strip {strip_id}")
        if len(response.data) != 8:
            raise StripError(f"STRIP_GET answer of {len(response.data)} data bytes, expected 8")
        length, crc = struct.unpack("<II", response.data)
        if length > IMAGE_MAX:
            raise StripError(f"strip {strip_id}: image of {length} bytes is implausible")
        if image_len is not None and (length, crc) != (image_len, image_crc):
            image.clear()  # the device holds another image under that id now: start over
            last_error = "the strip changed during the transfer"
            image_len, image_crc = length, crc
            continue
        image_len, image_crc = length, crc
        while len(image) < image_len:
            raw = await _next_frame(session, frames, connection, frame_timeout_s)
            if raw is None:
                last_error = f"stalled or dropped at {len(image)} of {image_len} bytes"
                break
            try:
                frame = StripFrame.decode(raw)
            except ProtocolError as exc:
                last_error = f"damaged frame: {exc}"
                break  # ask again from where we are
            if frame.strip_id != strip_id or frame.offset < len(image):
                continue  # another strip's, or one we already have
            if frame.offset > len(image) or frame.offset + len(frame.data) > image_len:
                last_error = f"frame at {frame.offset}, expected {len(image)}"
                break
            image += frame.data
            if progress is not None:
                progress(len(image), image_len)
        if len(image) == image_len:
            if zlib.crc32(bytes(image)) != image_crc:
                image.clear()
                last_error = "the image's CRC-32 does not match"
                continue
            return bytes(image)
    raise StripError(f"strip {strip_id} not fetched after {tries} requests: {last_error}")


async def release_strip(session: StripSession, strip_id: int, image_crc32: int) -> None:
    """Tells the device the companion stored strip ``strip_id`` (whose image has CRC-32
    ``image_crc32``): the device may reuse its space. Raises :class:`StripError` when the
    device refuses (``status`` NOT_FOUND: it no longer holds it; STATE: another image)
    and ``LinkError`` without a link."""
    response = await session.command(
        Opcode.STRIP_RELEASE, strip_id=strip_id, image_crc32=image_crc32
    )
    _answer(response, f"release of strip {strip_id}")


__all__ = ["StripError", "StripSession", "fetch_strip", "release_strip"]
