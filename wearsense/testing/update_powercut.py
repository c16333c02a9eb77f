"""Power cuts during a model update: the device must always boot with a valid model.

Starting from a device that runs ``old`` (installed the factory way), the campaign pushes
``new`` (UPDATE_BEGIN, every chunk, UPDATE_COMMIT) and cuts the power of the model store's
flash at chosen operations: the first operation of every chunk (a cut *at a chunk
boundary*: the previous chunk is complete, nothing of the next is written), a random
operation inside every chunk with a random tear position (*mid-chunk*), every operation
of UPDATE_BEGIN (the idle slot's erases, its BEGIN record) and of UPDATE_COMMIT (*the
switch*: the COMMIT entry's body and commit word) at several tear positions.

After each cut a new core boots on the same flash (the update service re-verifies the
running model, self-test included). A trial counts as *no valid model* unless the device
runs exactly ``old`` or exactly ``new`` (version and every package byte) and reports that
version. The transfer is then resumed with :func:`wearsense.updates.transfer.upload`
(BEGIN keeps the partial package, QUERY says where to go on); a trial is *stuck* unless
the device ends up running ``new``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import random
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from wearsense.firmware.updatable import UpdatableDevice
from wearsense.protocol import Chunk, Command, Opcode, Status
from wearsense.updates.transfer import DeviceTransport, UpdateError, chunk_size, push

SERIAL = "WS-POWERCUT"
ENTRY_TEARS = (0, 1, 4, 8, 11, 12)  # bytes of a 12-byte log-entry body that complete


@dataclasses.dataclass
class PowerCutResult:
    trials: int = 0
    boundary_trials: int = 0
    mid_chunk_trials: int = 0
    switch_trials: int = 0
    begin_trials: int = 0
    no_valid_model: int = 0
    stuck: int = 0
    nor_violations: int = 0
    booted_old: int = 0
    booted_new: int = 0
    resumed_mid_transfer: int = 0  # reboots whose transfer went on from an offset > 0
    failures: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class _Step:
    kind: str  # begin, chunk, commit
    frame: bytes
    index: int


def _steps(package: bytes, task: int, version: int, mtu: int) -> list[_Step]:
    digest = hashlib.sha256(package).digest()
    begin = Command(
        Opcode.UPDATE_BEGIN,
        1,
        {"task": task, "version": version, "size": len(package), "sha256": digest},
    )
    steps = [_Step("begin", begin.encode(), 0)]
    size = chunk_size(mtu)
    for i, offset in enumerate(range(0, len(package), size)):
        steps.append(_Step("chunk", Chunk(offset, package[offset : offset + size]).encode(), i))
    steps.append(_Step("commit", Command(Opcode.UPDATE_COMMIT, 2, {"task": task}).encode(), 0))
    return steps


def _run(dev: UpdatableDevice, step: _Step) -> None:
    if step.kind == "chunk":
        dev.write_transfer(step.frame)
    else:
        dev.write_command(step.frame)


class UpdatePowerCuts:
    """One campaign: ``old`` runs, ``new`` is pushed; ``task`` is the packages' task."""

    def __init__(
        self,
        old: bytes,
        new: bytes,
        *,
        task: int,
        mtu: int = 247,
        sanitized: bool | None = None,
    ) -> None:
        self.old, self.new, self.task, self.mtu = old, new, task, mtu
        self.new_version = int.from_bytes(new[8:10], "little")
        self.sanitized = sanitized
        base = UpdatableDevice(SERIAL, sanitized=sanitized)
        status = base.provision(old)
        if status != Status.OK:
            raise ValueError(f"the old package does not install: {status.name}")
        self.flash, self.store = base.flash_image(), base.store_image()
        self.steps = _steps(new, task, self.new_version, mtu)
        # Operations of each step on a clean run (the boot writes nothing on a clean store).
        dev = self._device()
        self.ops: list[tuple[int, int]] = []
        for step in self.steps:
            before = dev.store_flash_ops
            _run(dev, step)
            self.ops.append((before, dev.store_flash_ops))
        if dev.model_version(task) != self.new_version:
            raise ValueError("the new package does not install on a clean run")

    def _device(self) -> UpdatableDevice:
        return UpdatableDevice(SERIAL, self.flash, store=self.store, sanitized=self.sanitized)

    def cut_points(
        self, rng: random.Random, *, chunks: Iterable[int] | None = None
    ) -> Iterator[tuple[str, int, int, int]]:
        """(kind, absolute operation, tear position, tear bits) of every planned cut."""
        chunk_steps = [i for i, s in enumerate(self.steps) if s.kind == "chunk"]
        chosen = set(range(len(chunk_steps))) if chunks is None else set(chunks)
        for n, i in enumerate(chunk_steps):
            if n not in chosen:
                continue
            start, end = self.ops[i]
            yield "boundary", start, 0, 0
            yield "mid_chunk", rng.randrange(start, end), rng.randrange(0, 300), rng.randrange(256)
        commit_start, commit_end = self.ops[-1]
        yield "boundary", commit_start, 0, 0  # every chunk in, COMMIT not yet written
        for op in range(commit_start, commit_end):
            for tear in ENTRY_TEARS:
                yield "switch", op, tear, rng.randrange(256)
        begin_start, begin_end = self.ops[0]
        for op in range(begin_start, begin_end):
            yield "begin", op, rng.randrange(0, 5000), rng.randrange(256)

    def trial(self, op: int, tear_pos: int, tear_bits: int) -> tuple[str, str | None]:
        """One cut; returns (what booted: old/new/none, failure or None)."""
        dev = self._device()
        dev.arm_store_power_cut(op, tear_pos, tear_bits)
        for step in self.steps:
            _run(dev, step)
            if dev.store_power_was_cut:
                break
        violations = dev.store_nor_violations
        booted = dev.reset()
        running = booted.active_model(self.task)
        if running is None:
            return "none", f"op {op}: no model after the cut"
        if running.package == self.old and running.version == int.from_bytes(
            self.old[8:10], "little"
        ):
            state = "old"
        elif running.package == self.new and running.version == self.new_version:
            state = "new"
        else:
            return "none", f"op {op}: running version {running.version} matches neither package"
        if booted.info().model_versions[self.task] != running.version:
            return "none", f"op {op}: the device reports another version than it runs"
        if violations:
            return state, f"op {op}: {violations} NOR violations"
        if state == "new":
            return state, None
        info_before = self._transfer_offset(booted)
        try:
            asyncio.run(
                push(
                    DeviceTransport(booted, self.mtu),
                    self.new,
                    task=self.task,
                    version=self.new_version,
                )
            )
        except UpdateError as exc:
            return state, f"op {op}: resume failed: {exc}"
        if booted.model_version(self.task) != self.new_version:
            return state, f"op {op}: the resumed transfer did not switch in"
        return ("old+resumed" if info_before > 0 else state), None

    def _transfer_offset(self, dev: UpdatableDevice) -> int:
        for slot in (0, 1):
            info = dev.slot_info(self.task, slot)
            if info.begun and not info.committed and not info.bad:
                return info.persisted
        return 0

    def run(
        self,
        *,
        seed: int = 20261125,
        chunks: Iterable[int] | None = None,
        progress: Callable[[Any], Any] | None = None,
    ) -> PowerCutResult:
        rng = random.Random(seed)
        points = list(self.cut_points(rng, chunks=chunks))
        result = PowerCutResult()
        for kind, op, tear, bits in progress(points) if progress else points:
            state, failure = self.trial(op, tear, bits)
            result.trials += 1
            setattr(result, f"{kind}_trials", getattr(result, f"{kind}_trials") + 1)
            if state == "none":
                result.no_valid_model += 1
            elif state == "new":
                result.booted_new += 1
            else:
                result.booted_old += 1
                if state == "old+resumed":
                    result.resumed_mid_transfer += 1
            if failure is not None:
                if "NOR" in failure:
                    result.nor_violations += 1
                elif state != "none":
                    result.stuck += 1
                result.failures.append(f"{kind}: {failure}")
        return result
