"""Pushing a model package to one device over a companion session: learn what it runs
(STATUS page 1, sent after every time sync), ask the rollout guard, transfer with resume
across link drops, commit, and confirm from the device's next STATUS page 1.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from bleak.exc import BleakError

from wearsense.link.errors import LinkError
from wearsense.protocol import Event, StatusModels
from wearsense.updates import package as pkg
from wearsense.updates.registry import Registry, guard
from wearsense.updates.transfer import SessionTransport, TransferStats, UpdateError, upload

VERSION_FIELDS = ("afib_version", "fall_version", "activity_version")


class ModelStatusWatcher:
    """Collects the STATUS page 1 events a session stores (pass :meth:`on_stored` to the
    session) and waits for one that satisfies a condition."""

    def __init__(self) -> None:
        self.latest: dict[str, StatusModels] = {}
        self._changed = asyncio.Event()

    def on_stored(self, serial: str, _epoch: int, events: Sequence[Event], _utc: float) -> None:
        for event in events:
            if isinstance(event, StatusModels):
                self.latest[serial] = event
                self._changed.set()

    async def wait(
        self, serial: str, condition: Callable[[StatusModels], bool], timeout: float
    ) -> StatusModels:
        async def loop() -> StatusModels:
            while True:
                current = self.latest.get(serial)
                if current is not None and condition(current):
                    return current
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(loop(), timeout)


@dataclasses.dataclass
class RolloutOutcome:
    serial: str
    task: int
    from_version: int
    to_version: int
    guard: str
    stats: TransferStats
    attempts: int
    seconds: float


async def push_package(
    session: Any,
    watcher: ModelStatusWatcher,
    package: bytes,
    registry: Registry,
    *,
    force: bool = False,
    metric: str = "macro_f1",
    on_offset: Callable[[int], None] | None = None,
    attempts: int = 5,
    timeout_s: float = 30.0,
    history: Any | None = None,
) -> RolloutOutcome:
    """Runs one rollout on a running :class:`wearsense.link.session.Session`; raises
    :class:`~wearsense.updates.registry.GuardRefusal`, :class:`UpdateError` (the device's
    status) or :class:`LinkError` (no link after ``attempts`` tries). ``history`` (the
    companion's :class:`wearsense.store.Store`) receives every step (``record_update``) and,
    once the device's STATUS page 1 reports the new version, the package's version and hash
    (``record_model_version``), which the terminal UI's Updates screen shows. A package not
    signed by a registry's trusted key raises
    :class:`~wearsense.updates.registry.UntrustedPackage` before anything is sent."""
    parsed = pkg.parse(package)
    task, version = parsed.header.task, parsed.header.model_version
    task_name = pkg.Task(task).name.lower()

    def step(status: str, detail: str = "") -> None:
        if history is not None:
            history.record_update(serial, task_name, version, status, detail)

    field = VERSION_FIELDS[task]
    loop = asyncio.get_running_loop()
    started = loop.time()
    await session.wait_streaming(timeout_s)
    serial = session.serial
    await watcher.wait(serial, lambda _s: True, timeout_s)
    await asyncio.sleep(0.3)  # older STATUS pages still queued on the device arrive first
    status = watcher.latest[serial]
    running = int(getattr(status, field))
    registry.record_install(serial, task, running)
    candidate = registry.add(package)  # UntrustedPackage: not signed by a trusted key
    installed = registry.find(task, running) if running else None
    try:
        reason = guard(candidate, installed, metric=metric, force=force)
    except Exception as exc:
        registry.record_rollout(serial, task, running, version, "refused by guard", str(exc))
        step("refused by guard", str(exc))
        raise
    step("started", f"from v{running}; {reason}")
    stats = TransferStats()
    tries = 0
    while True:
        tries += 1
        try:
            await session.wait_streaming(timeout_s)
            transport = SessionTransport(session)
            async for offset in upload(transport, package, task=task, version=version, stats=stats):
                if on_offset is not None:
                    on_offset(offset)
            break
        except UpdateError as exc:
            registry.record_rollout(serial, task, running, version, "refused by device", str(exc))
            step(f"failed: {exc.status.name}", str(exc))
            raise
        except (LinkError, BleakError, TimeoutError) as exc:
            if tries >= attempts:
                registry.record_rollout(serial, task, running, version, "link lost", str(exc))
                step("interrupted", str(exc))
                raise LinkError(f"transfer interrupted {tries} times: {exc}") from exc
            await asyncio.sleep(0.2)  # the session reconnects; BEGIN + QUERY resume
    confirmed = await watcher.wait(serial, lambda s: getattr(s, field) == version, timeout_s)
    registry.record_install(serial, task, int(getattr(confirmed, field)))
    if history is not None:
        # only now, from what the device reports: a refused package is never recorded
        value = candidate.metric(metric)
        notes = f"{metric} {value:.4f}" if value is not None else f"no {metric}"
        history.record_model_version(task_name, version, candidate.sha256, notes=notes)
    registry.record_rollout(serial, task, running, version, "installed", reason)
    step("committed", f"device reports v{version}")
    return RolloutOutcome(
        serial=serial,
        task=task,
        from_version=running,
        to_version=version,
        guard=reason,
        stats=stats,
        attempts=tries,
        seconds=loop.time() - started,
    )
