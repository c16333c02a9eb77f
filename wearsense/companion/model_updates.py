"""Pushing a model package from a file to the wearable at the other end of a session: read
and parse the package, register it with its evaluated metrics, then the rollout of
``wearsense.updates.rollout`` (the guard against the running model, the transfer with
resume across link drops, the confirmation from STATUS page 1), with a progress callback
fed by every offset the device acknowledges. ``wearsense update push`` and the terminal
UI's Updates screen both push through here.

The two phases are apart so that a command can refuse a bad package before it opens a
radio: :func:`read_package` and :func:`register_package` raise :class:`PushError` (the
package or its metrics do not read, the registry refuses it); :func:`push` never raises
for a refusal or a lost link: its :class:`PushReport` says how the rollout ended.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wearsense.link.errors import LinkError
from wearsense.updates import package as pkg
from wearsense.updates.errors import PackageError
from wearsense.updates.registry import (
    DEFAULT_METRIC,
    GuardRefusal,
    Registry,
    RegistryError,
    metrics_beside,
)
from wearsense.updates.rollout import ModelStatusWatcher, RolloutOutcome, push_package
from wearsense.updates.transfer import UpdateError

ProgressCallback = Callable[[int, int], None]  # (bytes acknowledged, package size)
DEFAULT_TIMEOUT_S = 30.0  # each wait of a rollout (streaming, STATUS page 1)


class PushFailure(enum.Enum):
    """Why a push did not install its package."""

    UNREADABLE = "unreadable"  # the package file cannot be read
    NOT_A_PACKAGE = "not a package"  # it does not parse as a model package
    NOT_REGISTERED = "not registered"  # its metrics do not parse, or the registry refuses it
    GUARD = "guard"  # the rollout guard refused it (metrics worse or unknown)
    DEVICE = "device"  # the device refused it (its status); the old model keeps running
    LINK = "link"  # no link, or it kept dropping; pushing again resumes


class PushError(Exception):
    """A push that cannot start; ``failure`` says why, the message is
    the cause's."""

    def __init__(self, failure: PushFailure, cause: Exception) -> None:
        super().__init__(str(cause))
        self.failure = failure
        self.cause = cause


@dataclasses.dataclass(frozen=True)
class PackageFile:
    """A model package read from a file and parsed."""

    path: Path
    data: bytes
    task: int
    version: int  # the header's model_version

    @property
    def size(self) -> int:
        return len(self.data)


@dataclasses.dataclass(frozen=True)
class PushReport:
    """How a push ended: ``outcome`` when the device reports the new version, else the
    ``failure`` and the ``error`` behind it."""

    package: PackageFile
    outcome: RolloutOutcome | None = None
    failure: PushFailure | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is not None


def read_package(path: Path) -> PackageFile:
    """The package at ``path``; ``PushError`` UNREADABLE or NOT_A_PACKAGE."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PushError(PushFailure.UNREADABLE, exc) from exc
    try:
        header = pkg.parse(data).header
    except PackageError as exc:
        raise PushError(PushFailure.NOT_A_PACKAGE, exc) from exc
    return PackageFile(path, data, header.task, header.model_version)


def read_metrics(metrics: Path | None, package: Path) -> dict[str, Any] | None:
    """The evaluated metrics of a package: the JSON object in ``metrics``, else
    ``metrics.json`` beside the package (the layout of models/<task>/), else None.
    ``RegistryError`` when the file holds no JSON object, ``JSONDecodeError`` when it
    holds no JSON."""
    source = metrics or metrics_beside(package)
    if source is None:
        return None
    data = json.loads(source.read_text())
    if not isinstance(data, dict):
        raise RegistryError(f"{source}: metrics must be a JSON object")
    return data


def register_package(registry: Registry, package: PackageFile, metrics: Path | None = None) -> None:
    """Registers the package with its metrics (:func:`read_metrics`), which the guard
    compares; ``PushError`` NOT_REGISTERED when they do not parse or the registry
    refuses the package."""
    try:
        registry.add(package.data, metrics=read_metrics(metrics, package.path), path=package.path)
    except (RegistryError, ValueError) as exc:  # ValueError: the metrics' JSON
        raise PushError(PushFailure.NOT_REGISTERED, exc) from exc


async def push(
    session: Any,
    watcher: ModelStatusWatcher,
    package: PackageFile,
    registry: Registry,
    *,
    force: bool = False,
    metric: str = DEFAULT_METRIC,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    history: Any | None = None,
    on_progress: ProgressCallback | None = None,
) -> PushReport:
    """Runs the rollout of a registered package over a running session (its ``watcher``
    fed by the session's ``on_stored``); ``history`` (the companion's store) records the
    version and every step. A refusal (guard, device) or a lost link is in the report;
    anything else is raised."""

    def progress(offset: int) -> None:
        if on_progress is not None:
            on_progress(offset, package.size)

    try:
        outcome = await push_package(
            session,
            watcher,
            package.data,
            registry,
            force=force,
            metric=metric,
            on_offset=progress,
            timeout_s=timeout_s,
            history=history,
        )
    except GuardRefusal as exc:
        return PushReport(package, failure=PushFailure.GUARD, error=exc)
    except UpdateError as exc:
        return PushReport(package, failure=PushFailure.DEVICE, error=exc)
    except (LinkError, TimeoutError) as exc:
        return PushReport(package, failure=PushFailure.LINK, error=exc)
    return PushReport(package, outcome=outcome)


async def push_file(
    session: Any,
    watcher: ModelStatusWatcher,
    path: Path,
    registry_path: Path,
    *,
    force: bool = False,
    metrics: Path | None = None,
    metric: str = DEFAULT_METRIC,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    history: Any | None = None,
    on_progress: ProgressCallback | None = None,
) -> PushReport:
    """:func:`read_package`, :func:`register_package` and :func:`push` in one call, with
    the registry at ``registry_path``: a package that cannot start is a report too
    (``error`` then a :class:`PushError`)."""
    try:
        package = read_package(path)
    except PushError as exc:
        return PushReport(PackageFile(path, b"", -1, -1), failure=exc.failure, error=exc)
    with Registry(registry_path) as registry:
        try:
            register_package(registry, package, metrics)
        except PushError as exc:
            return PushReport(package, failure=exc.failure, error=exc)
        return await push(
            session,
            watcher,
            package,
            registry,
            force=force,
            metric=metric,
            timeout_s=timeout_s,
            history=history,
            on_progress=on_progress,
        )
