"""Building a companion: its store, the Bumble stack (or this computer's adapter) its
central runs on, Bumble's virtual controllers when it needs them, and the BLE
``Session`` that follows one wearable, with the model-status watcher every device
operation reads. Every face (``wearsense companion``, ``wearsense update push``,
``wearsense demo`` and the terminal UI over it) builds its companion here.

Where the central attaches is a :class:`Radio`: an in-process ``LocalLink`` (the demo
and the tests), a Bumble HCI transport, Bumble's virtual controllers on loopback (the
two-process setup with ``wearsense emulate``), or none of them: this computer's
Bluetooth adapter through bleak's own backend, the code path real hardware uses.
"""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wearsense.companion import model_updates, requests
from wearsense.companion.model_updates import ProgressCallback, PushReport
from wearsense.link.bonds import BondIdentities
from wearsense.link.bumble_backend import BumbleCentral, BumbleClientBackend, BumbleScannerBackend
from wearsense.link.controllers import ensure_controllers, parse_ports, stop_controllers
from wearsense.link.session import (
    EventSink,
    Session,
    SessionConfig,
    StateCallback,
    StoredCallback,
)
from wearsense.link.stack import LocalLink, Stack, open_stack
from wearsense.protocol import Event, Response
from wearsense.store import Store
from wearsense.updates.registry import DEFAULT_METRIC
from wearsense.updates.rollout import ModelStatusWatcher

# Static random addresses of the companion's central. A wearable has one owner (one bond,
# docs/link.md "Security"), so `wearsense companion` and `wearsense update push` are one
# central: the same address with the same keystore (build/companion/keys.json by default);
# they take turns on the virtual controllers, never run together.
IN_PROCESS_ADDRESS = "C0:57:53:00:00:01"  # on a LocalLink (the demo, the tests)
COMPANION_ADDRESS = "C0:57:53:00:00:02"  # `wearsense companion`
PUSH_ADDRESS = COMPANION_ADDRESS  # `wearsense update push`: the same owner
STACK_NAME = "companion"  # the Bumble device's name


def in_process_config() -> SessionConfig:
    """The session settings on an in-process link, where nothing is slow: a short scan,
    reconnection at once, acknowledgements every 20 ms."""
    return SessionConfig(scan_timeout_s=5.0, backoff_initial_s=0.01, ack_interval_s=0.02)


@dataclasses.dataclass(frozen=True)
class Radio:
    """Where the companion's central attaches; at most one of the three, none for this
    computer's Bluetooth adapter (bleak's OS backend)."""

    link: LocalLink | None = None  # a Bumble link in this process
    transport: str | None = None  # a Bumble HCI transport, e.g. tcp-client:127.0.0.1:6403
    controllers: tuple[int, int] | None = None  # virtual controllers on loopback; we take B

    def __post_init__(self) -> None:
        chosen = [self.link, self.transport, self.controllers]
        if sum(c is not None for c in chosen) > 1:
            raise ValueError("a Radio is a link, a transport or the controllers, not several")

    @classmethod
    def bumble(cls, transport: str | None, controllers: str) -> Radio:
        """The command-line choice: ``--transport`` when given, else the ``--controllers``
        ports 'A,B' (LinkError when they do not parse)."""
        return cls(transport=transport) if transport else cls(controllers=parse_ports(controllers))

    @property
    def is_adapter(self) -> bool:
        return self.link is None and self.transport is None and self.controllers is None


def open_store(db: Path) -> Store:
    """The companion's store at ``db``, its folder made when missing."""
    db.parent.mkdir(parents=True, exist_ok=True)
    return Store(db)


def make_session(
    sink: EventSink,
    config: SessionConfig | None = None,
    *,
    central: BumbleCentral | None = None,
    on_state: StateCallback | None = None,
    on_stored: StoredCallback | None = None,
    identities: BondIdentities | None = None,
) -> Session:
    """A session storing into ``sink``, its bleak backend Bumble's on ``central``, or the
    operating system's (this computer's adapter) when ``central`` is None. ``identities``:
    what each bond was made with (``wearsense.link.bonds``; in memory when None)."""
    backends: dict[str, Any] = {}
    if central is not None:
        backends = {
            "scanner_backend": BumbleScannerBackend,
            "client_backend": BumbleClientBackend,
            "backend_kwargs": {"bumble": central},
        }
    return Session(
        sink, config, on_state=on_state, on_stored=on_stored, identities=identities, **backends
    )


@dataclasses.dataclass
class Central:
    """What the companion's central runs on: its Bumble stack (None on this computer's
    adapter) and the virtual controllers it started (None when it found them running)."""

    stack: Stack | None = None
    controllers: subprocess.Popen[bytes] | None = None

    @property
    def bumble(self) -> BumbleCentral | None:
        """The stack as the Bumble backend of bleak takes it; None: bleak's OS backend."""
        return None if self.stack is None else BumbleCentral(self.stack.device)

    async def close(self) -> None:
        if self.stack is not None:
            await self.stack.close()
        stop_controllers(self.controllers)


async def open_central(
    radio: Radio, *, address: str = COMPANION_ADDRESS, keystore: Path | None = None
) -> Central:
    """Starts the virtual controllers when ``radio`` names them and nothing listens yet,
    and powers on the central's Bumble stack at ``address`` (bonds in ``keystore``; in
    memory when None). ``LinkError`` when the radio cannot be reached (then nothing is
    left running)."""
    central = Central()
    transport = radio.transport
    if radio.controllers is not None:
        central.controllers = ensure_controllers(radio.controllers)
        transport = f"tcp-client:127.0.0.1:{radio.controllers[1]}"
    try:
        if radio.link is not None or transport is not None:
            central.stack = await open_stack(
                STACK_NAME, address, link=radio.link, transport=transport, keystore=keystore
            )
    except BaseException:
        await central.close()
        raise
    return central


class Companion:
    """One companion: a store, a session following one wearable, a watcher of the model
    versions the wearable reports, and the :class:`Central` that carries the session.
    Built by :meth:`open`; :meth:`close` releases what it opened (the store stays the
    caller's). The operations on the connected wearable live beside it
    (``wearsense.companion.model_updates``, ``wearsense.companion.requests``) and take a
    session; the methods below run them on this companion's. ``registry_path`` is the
    package registry its model pushes use."""

    def __init__(
        self,
        store: Store,
        session: Session,
        watcher: ModelStatusWatcher,
        *,
        registry_path: Path | None = None,
        central: Central | None = None,
    ) -> None:
        self.store = store
        self.session = session
        self.watcher = watcher
        self.registry_path = registry_path
        self.central = central or Central()
        self._runner: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls,
        store: Store,
        radio: Radio,
        *,
        address: str = COMPANION_ADDRESS,
        keystore: Path | None = None,
        config: SessionConfig | None = None,
        on_state: StateCallback | None = None,
        on_stored: StoredCallback | None = None,
        registry_path: Path | None = None,
    ) -> Companion:
        """Opens the central (:func:`open_central`) and builds the session storing into
        ``store``. ``on_stored`` is called before the watcher sees a batch."""
        central = await open_central(radio, address=address, keystore=keystore)
        watcher = ModelStatusWatcher()

        def stored(serial: str, epoch: int, events: Sequence[Event], utc: float) -> None:
            if on_stored is not None:
                on_stored(serial, epoch, events, utc)
            watcher.on_stored(serial, epoch, events, utc)

        session = make_session(
            store,
            config,
            central=central.bumble,
            on_state=on_state,
            on_stored=stored,
            identities=BondIdentities.beside(keystore),
        )
        return cls(store, session, watcher, registry_path=registry_path, central=central)

    def start(self) -> asyncio.Task[None]:
        """Runs the session in a task (connects, stores, reconnects) until :meth:`stop`."""
        if self._runner is None:
            self._runner = asyncio.create_task(self.session.run())
        return self._runner

    async def stop(self, *, quiet: bool = False) -> None:
        """Stops the session (it acknowledges what it stored) and waits for its task;
        what ended the task is raised unless ``quiet``."""
        await self.session.stop()
        if self._runner is None:
            return
        if quiet:
            await asyncio.gather(self._runner, return_exceptions=True)
        else:
            await self._runner

    async def close(self) -> None:
        """Powers off the central's stack and stops the controllers this companion
        started. The store is closed by whoever opened it."""
        await self.central.close()

    # -- operations on the connected wearable ---------------------------------------------

    async def push_model(
        self,
        path: Path,
        *,
        force: bool = False,
        metrics: Path | None = None,
        metric: str = DEFAULT_METRIC,
        timeout_s: float = model_updates.DEFAULT_TIMEOUT_S,
        on_progress: ProgressCallback | None = None,
    ) -> PushReport:
        """Pushes the package file at ``path`` (``model_updates.push_file``), registered in
        this companion's registry, its steps recorded in this companion's store."""
        if self.registry_path is None:
            raise ValueError("this companion has no package registry to push from")
        return await model_updates.push_file(
            self.session,
            self.watcher,
            path,
            self.registry_path,
            force=force,
            metrics=metrics,
            metric=metric,
            timeout_s=timeout_s,
            history=self.store,
            on_progress=on_progress,
        )

    async def calibrate_posture(self) -> Response:
        return await requests.calibrate_posture(self.session)

    async def start_recording(self, seconds: int) -> Response:
        return await requests.start_recording(self.session, seconds)
