"""``kill -9`` of a real companion process against a real emulator process (loopback
only): the link supervision check of docs/link.md, for the tests and
``benchmarks/bench_link.py``.

One ``wearsense emulate`` process (it starts the virtual controllers on two free
loopback ports) replays the shipped samples; each trial starts ``wearsense companion``
(the same store and bond keys each time), waits until it stores an event, kills it with
SIGKILL and times how long the next companion takes to be streaming again (the device
must notice the vanished central within the supervision timeout and advertise again).
At the end a last companion stops cleanly, the emulator stops, and the store is audited
against the device's saved flash: every sequence the device counts as acknowledged (and
so freed) must be stored, each exactly once.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from wearsense.emulator.updatable_device import open_saved

SERIAL = "WS-00A1B2C3"  # `wearsense emulate`'s default serial
CLI = [sys.executable, "-m", "wearsense.cli"]


def free_ports(n: int = 2) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


class Process:
    """A child process whose output lines are read as they come (with their time)."""

    def __init__(self, args: list[str], cwd: Path | None = None) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.popen = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
        self.lines: list[tuple[float, str]] = []
        self._new: queue.Queue[tuple[float, str] | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            item = (time.monotonic(), line.rstrip("\n"))
            self.lines.append(item)
            self._new.put(item)
        self._new.put(None)

    def wait_for(self, text: str, timeout: float) -> float:
        """The time of the first line (from now on) containing ``text``; TimeoutError."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no line with {text!r} in {timeout:g} s")
            try:
                item = self._new.get(timeout=left)
            except queue.Empty:
                continue
            if item is None:
                raise TimeoutError(f"the process ended before a line with {text!r}")
            if text in item[1]:
                return item[0]

    def output(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def kill9(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, timeout: float = 20.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._reader.join(timeout=5)
        return int(self.popen.returncode)


@dataclasses.dataclass
class Kill9Report:
    trials: int = 0
    recovered: int = 0  # trials after which the next companion was streaming in time
    lost: int = 0  # sequences the device freed (acknowledged) that the store lacks
    duplicated: int = 0  # sequences stored more than once
    stored: int = 0  # sequences in the store at the end
    acked_seq: int = 0  # the device's acknowledged sequence at the end
    recover_s: list[float] = dataclasses.field(default_factory=list)  # kill -> streaming
    wall_s: float = 0.0


def _audit(db: Path, state: Path, report: Kill9Report) -> None:
    core, _ = open_saved(SERIAL, state / SERIAL, [])
    info = core.info()
    report.acked_seq = int(info.acked_seq)
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT seq, COUNT(*) FROM events WHERE serial = ? AND epoch = ? GROUP BY seq",
            (SERIAL, int(info.epoch)),
        ).fetchall()
    counts = {int(seq): int(n) for seq, n in rows}
    report.stored = len(counts)
    report.duplicated = sum(n - 1 for n in counts.values() if n > 1)
    report.lost = sum(1 for seq in range(1, report.acked_seq + 1) if seq not in counts)


def run(
    workdir: Path,
    trials: int,
    *,
    data_dir: Path | None = None,
    speed: float = 50.0,
    recover_timeout_s: float = 30.0,
    on_trial: Callable[[], None] | None = None,
) -> Kill9Report:
    """``trials`` kills of a streaming companion; see the module's docstring."""
    started = time.monotonic()
    report = Kill9Report()
    ports = ",".join(str(p) for p in free_ports())
    state, db, keys = workdir / "emu", workdir / "companion.db", workdir / "keys.json"
    emulate = [*CLI, "emulate", "--state-dir", str(state), "--controllers", ports]
    emulate += ["--speed", f"{speed:g}"]
    if data_dir is not None:
        emulate += ["--data-dir", str(data_dir)]
    companion = [*CLI, "companion", "--db", str(db), "--keystore", str(keys)]
    companion += ["--controllers", ports]
    emulator = Process(emulate)
    current: Process | None = None
    try:
        emulator.wait_for("emulating ", 60)
        current = Process(companion)
        current.wait_for("[streaming]", recover_timeout_s)
        for _ in range(trials):
            current.wait_for("stored ", 60)
            killed_at = time.monotonic()
            current.kill9()
            report.trials += 1
            current = Process(companion)
            try:
                at = current.wait_for("[streaming]", recover_timeout_s)
            except TimeoutError:
                break
            report.recovered += 1
            report.recover_s.append(at - killed_at)
            if on_trial is not None:
                on_trial()
        if report.recovered == report.trials:
            current.wait_for("stored ", 60)  # a last one, stopped cleanly (it acknowledges)
    finally:
        if current is not None:
            current.stop()
        emulator.stop()
    _audit(db, state, report)
    report.wall_s = time.monotonic() - started
    return report
