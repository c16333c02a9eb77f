"""Requests to the connected wearable, each one command of the protocol (docs/protocol.md):
the posture calibration (SET_CONFIG POSTURE: the wearer stands upright and still for
about 6 s; docs/imu-front-end.md) and the on-demand ECG recording (START_RECORDING of
10 to 60 s, whose rhythm verdict comes later as an ``ecg_recording`` event;
docs/detectors.md). The command line and the terminal UI send them from here and word the
answer themselves.

A device keeps a pending recording in RAM only, so a reset loses it:
:func:`follow_recording` asks again when the session reconnects before the verdict came.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
from collections.abc import AsyncIterator
from typing import Any, Protocol

from wearsense.link.errors import LinkError
from wearsense.protocol import ConfigKey, Opcode, Response, Status

RECORDING_S = (10, 60)  # the shortest and the longest recording the protocol allows
RECORD_TRIES = 3  # requests of one recording, counting those a reconnection lost
STREAMING_WAIT_S = 60.0  # how long a request waits for the session to stream


class DeviceSession(Protocol):
    """What a request needs of the companion's session (``wearsense.link.Session``)."""

    stats: Any  # .connections counts the connections so far

    async def wait_streaming(self, timeout: float) -> None: ...

    async def command(self, opcode: Opcode, **args: Any) -> Response: ...


def recording_length_ok(seconds: int) -> bool:
    return RECORDING_S[0] <= seconds <= RECORDING_S[1]


async def calibrate_posture(session: DeviceSession) -> Response:
    """Sends the posture calibration; the device's answer (``LinkError`` without a link)."""
    return await session.command(Opcode.SET_CONFIG, key=int(ConfigKey.POSTURE), value=1)


async def start_recording(session: DeviceSession, seconds: int) -> Response:
    """Asks for a recording of ``seconds``; the device's answer: OK, or BUSY while one is
    under way (``LinkError`` without a link)."""
    return await session.command(Opcode.START_RECORDING, duration_s=seconds)


class RecordingStep(enum.Enum):
    """What :func:`follow_recording` reports."""

    REQUESTED = "requested"  # the device took the request (``again``: after a reconnection)
    UNDER_WAY = "under way"  # asked again, the device still had it (BUSY)
    REFUSED = "refused"  # the device refused it (``status``): final
    NOT_SENT = "not sent"  # no link to send it on (``error``): final
    GAVE_UP = "gave up"  # every try was lost to a reconnection before the verdict: final


@dataclasses.dataclass(frozen=True)
class RecordingNews:
    step: RecordingStep
    again: bool = False
    status: int | None = None  # a Status
    error: Exception | None = None


async def follow_recording(
    session: DeviceSession, seconds: int, answered: asyncio.Event, tries: int = RECORD_TRIES
) -> AsyncIterator[RecordingNews]:
    """Asks for a recording once the session streams and follows it until ``answered``
    is set (its verdict stored): when the session reconnects first, asks again, at most
    ``tries`` times in all. A device that still has the request answers BUSY: the
    recording is under way and the verdict will come."""
    for attempt in range(tries):
        try:
            await session.wait_streaming(STREAMING_WAIT_S)
            connection = session.stats.connections
            response = await start_recording(session, seconds)
        except (TimeoutError, LinkError) as exc:
            yield RecordingNews(RecordingStep.NOT_SENT, error=exc)
            return
        if response.status == Status.OK:
            yield RecordingNews(RecordingStep.REQUESTED, again=attempt > 0)
        elif response.status == Status.BUSY and attempt:
            yield RecordingNews(RecordingStep.UNDER_WAY)
        else:
            yield RecordingNews(RecordingStep.REFUSED, status=response.status)
            return
        while not answered.is_set() and session.stats.connections == connection:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(answered.wait(), 0.5)
        if answered.is_set():
            return
    yield RecordingNews(RecordingStep.GAVE_UP)
