"""One process, two Bumble stacks on a ``LocalLink``: an emulated wearable and the
companion's central, which ``wearsense.companion`` opens and builds the sessions of. Used
by the tests and ``benchmarks/bench_link.py``; the two-process setup (``wearsense
emulate`` / ``wearsense companion``) does the same over ``wearsense.link.virtual_radio``."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from wearsense.companion import (
    IN_PROCESS_ADDRESS,
    Radio,
    in_process_config,
    make_session,
    open_central,
)
from wearsense.emulator.wearable import EmulatedWearable, ResettableCore
from wearsense.link.bonds import BondIdentities
from wearsense.link.bumble_backend import BumbleCentral, BumbleClientBackend
from wearsense.link.session import EventSink, Session, SessionConfig
from wearsense.link.stack import LocalLink, Stack


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
        central = await open_central(
            Radio(link=link), address=IN_PROCESS_ADDRESS, keystore=workdir / "companion-keys.json"
        )
        bumble = central.bumble
        assert central.stack is not None and bumble is not None
        return cls(link, wearable, central.stack, bumble, workdir)

    def session(self, sink: EventSink, config: SessionConfig | None = None, **kw: Any) -> Session:
        kw.setdefault("identities", BondIdentities.beside(self.workdir / "companion-keys.json"))
        return make_session(sink, config or in_process_config(), central=self.central, **kw)

    def backend_kwargs(self) -> dict[str, Any]:
        return {
            "backend": BumbleClientBackend,
            "bumble": self.central,
        }

    async def close(self) -> None:
        await self.central_stack.close()
        await self.wearable.close()
