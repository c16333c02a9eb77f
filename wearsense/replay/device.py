"""One recording's device: the C core with the shipped models, fed through the
firmware binding (``wearsense.firmware``). Filled in when the binding lands."""

from __future__ import annotations

from wearsense.replay.runner import ReplayError, SessionFactory


def open_session_factory(models: str | None = None) -> SessionFactory:
    raise ReplayError("the device core's detector binding is not in this build yet")
