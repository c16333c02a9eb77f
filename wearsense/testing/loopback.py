"""One process, two Bumble stacks on a ``LocalLink``: an emulated wearable and the
companion's central, wired to a :class:`~wearsense.link.session.Session` through the
Bumble-backed bleak backend. Used by the tests and ``benchmarks/bench_link.py``; the
two-process setup (``wearsense emulate`` / ``wearsense companion``) does the same over
``bumble.apps.controllers``."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from wearsense.emulator.wearable import EmulatedWearable, ResettableCore
from wearsense.link.bumble_backend import BumbleCentral, BumbleClientBackend, BumbleScannerBackend
from wearsense.link.session import EventSink, Session, SessionConfig
from wearsense.link.stack import LocalLink, Stack, open_stack

CENTRAL_ADDRESS = "C0:57:53:00:00:01"


@dataclasses.dataclass
class Loopback:
    link: LocalLink
    wearable: EmulatedWearable
    central_stack: Stack
    central: BumbleCentral
    workdir: Path

    @classmethod
    async def open(cls, core: ResettableCore, workdir: Path) -> Loopback:
        link = LocalLink()
        wearable = await EmulatedWearable.open(
            core, link=link, keystore=workdir / "device-keys.json"
        )
        stack = await open_stack(
            "companion", CENTRAL_ADDRESS, link=link, keystore=workdir / "companion-keys.json"
        )
        return cls(link, wearable, stack, BumbleCentral(stack.device), workdir)

    def session(self, sink: EventSink, config: SessionConfig | None = None, **kw: Any) -> Session:
        return Session(
            sink,
            config
            or SessionConfig(scan_timeout_s=5.0, backoff_initial_s=0.01, ack_interval_s=0.02),
            scanner_backend=BumbleScannerBackend,
            client_backend=BumbleClientBackend,
            backend_kwargs={"bumble": self.central},
            **kw,
        )

    def backend_kwargs(self) -> dict[str, Any]:
        return {
            "backend": BumbleClientBackend,
            "bumble": self.central,
        }

    async def close(self) -> None:
        await self.central_stack.close()
        await self.wearable.close()
