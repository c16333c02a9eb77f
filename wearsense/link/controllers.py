"""Bumble's virtual controllers on loopback, for the two-process setup.

``python -m wearsense.link.virtual_radio 127.0.0.1:A 127.0.0.1:B`` puts two virtual LE
controllers on one virtual radio link, with link supervision (a host that vanishes loses
its links after the supervision timeout; ``wearsense.link.virtual_radio``); the
emulator's host connects to port A and the companion's host to port B (``tcp-client:``
transports). Whichever command starts first launches the controllers; the other finds
them listening.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

from wearsense.link.errors import LinkError

HOST = "127.0.0.1"
DEFAULT_PORTS = (6402, 6403)  # (emulator side, companion side)


def parse_ports(text: str) -> tuple[int, int]:
    """``"6402,6403"`` -> (6402, 6403)."""
    try:
        a, b = (int(p) for p in text.split(","))
    except ValueError:
        raise LinkError(f"--controllers wants two ports 'A,B', got {text!r}") from None
    if not (1 <= a <= 65535 and 1 <= b <= 65535) or a == b:
        raise LinkError(f"--controllers wants two different ports 1..65535, got {text!r}")
    return a, b


def listening(port: int) -> bool:
    """Whether something holds ``port`` on loopback, found by trying to bind it. (Not by
    connecting: the virtual radio hands a port to the newest client, so a probe
    connection would cut off the host already attached.)"""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return True
        return False


def ensure_controllers(
    ports: tuple[int, int], wait_s: float = 10.0
) -> subprocess.Popen[bytes] | None:
    """Starts the virtual controllers unless something already listens on both ports.
    Returns the process this call started (the caller stops it on exit), else None."""
    if listening(ports[0]) and listening(ports[1]):
        return None
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wearsense.link.virtual_radio",
            f"{HOST}:{ports[0]}",
            f"{HOST}:{ports[1]}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            if listening(ports[0]) and listening(ports[1]):
                return None  # another command won the race and started them
            raise LinkError(f"the virtual controllers did not start: {err.strip()[-400:]}")
        if listening(ports[0]) and listening(ports[1]):
            return process
        time.sleep(0.05)
    process.terminate()
    raise LinkError(f"the virtual controllers did not listen on {ports} within {wait_s:g} s")


def stop_controllers(process: subprocess.Popen[bytes] | None) -> None:
    if process is None:
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def stop_on_signals(stop: asyncio.Event) -> None:
    """SIGINT and SIGTERM set ``stop`` (where the running loop supports signal handlers)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)


def run_process(
    main: Callable[[argparse.Namespace], Coroutine[Any, Any, int]], args: argparse.Namespace
) -> int:
    """Runs one of the link's processes (`wearsense emulate`, `wearsense companion`):
    logging per ``--verbose``; a LinkError is one line on stderr and exit status 1."""
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(message)s",
    )
    try:
        return asyncio.run(main(args))
    except LinkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
