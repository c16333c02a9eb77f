"""What the terminal UI needs from the companion's BLE link, as a ``typing.Protocol``.

The UI never imports the link layer: it is handed any object that meets ``DeviceLink``.
The real companion session (``wearsense.link``) plugs in through a small adapter; the
tests, the screenshots and the store-only viewer use ``MemoryLink``, an in-memory link
driven by plain method calls (the ``httpx.MockTransport`` idea).

Contract: the link stores every event before it reports it (``Store.ingest`` first, then
``on_events``), so the UI may read the store for anything it was told about. Callbacks
may come from any thread; the app turns them into Textual messages, which is safe from
any thread.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Sequence
from typing import Protocol

from wearsense.protocol import Event, StatusDevice, StatusFirmware, StatusModels


class ConnectionState(enum.StrEnum):
    """Where the companion's session with one device stands."""

    DISCONNECTED = "disconnected"
    SCANNING = "scanning"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    SYNCING = "syncing"


@dataclasses.dataclass(frozen=True)
class LinkStatus:
    """What the link knows about one device right now. ``models`` maps a task
    (afib, fall, activity) to the model version running on the device."""

    serial: str
    state: ConnectionState = ConnectionState.DISCONNECTED
    battery_pct: int | None = None
    firmware: str | None = None
    models: dict[str, int] = dataclasses.field(default_factory=dict)
    last_sync_utc: float | None = None


@dataclasses.dataclass(frozen=True)
class PushResult:
    """How a model push ended: ``ok`` when the device reports the new version; ``message``
    is one line for the user (the outcome, or why it was refused or failed)."""

    ok: bool
    message: str


ProgressCallback = Callable[[int, int], None]


class ModelPusher(Protocol):
    """Pushes a signed model package to the connected wearable (the companion's rollout:
    guard, transfer with resume, confirmation). The Updates screen calls it; it never
    raises for a refused or failed push, it says so in the result."""

    async def push(self, path: str, *, force: bool, on_progress: ProgressCallback) -> PushResult:
        """``on_progress(bytes acknowledged, package size)`` after each acknowledged offset."""
        ...


class PostureCalibrator(Protocol):
    """Asks the connected wearable for a posture calibration (SET_CONFIG POSTURE: the
    wearer stands upright and still for about 6 s; docs/imu-front-end.md). Never raises:
    a refusal or a lost link is said in the result."""

    async def calibrate_posture(self) -> PushResult: ...


class Recorder(Protocol):
    """Asks the connected wearable for an on-demand ECG recording (START_RECORDING of
    ``seconds``, 10..60); its verdict arrives later as an ``ecg_recording`` event. Never
    raises: a refusal (one already under way) or a lost link is said in the result."""

    async def start_recording(self, seconds: int) -> PushResult: ...


StatusCallback = Callable[[LinkStatus], None]
EventsCallback = Callable[[str, int, Sequence[Event]], None]
Unsubscribe = Callable[[], None]


class DeviceLink(Protocol):
    """The link as the UI sees it."""

    def statuses(self) -> list[LinkStatus]:
        """The current status of every device the link knows."""
        ...

    def subscribe(self, on_status: StatusCallback, on_events: EventsCallback) -> Unsubscribe:
        """Calls ``on_status`` whenever a device's status changes (connection state,
        battery, versions, last sync) and ``on_events(serial, epoch, events)`` after new
        events of a device were stored. Returns a function that ends the subscription."""
        ...


class MemoryLink:
    """An in-memory ``DeviceLink``: ``set_status`` and ``deliver`` play the part of a
    device. ``deliver`` stores the events in ``store`` first, like the real link."""

    def __init__(self) -> None:
        self._statuses: dict[str, LinkStatus] = {}
        self._listeners: list[tuple[StatusCallback, EventsCallback]] = []

    def statuses(self) -> list[LinkStatus]:
        return [self._statuses[s] for s in sorted(self._statuses)]

    def subscribe(self, on_status: StatusCallback, on_events: EventsCallback) -> Unsubscribe:
        pair = (on_status, on_events)
        self._listeners.append(pair)

        def unsubscribe() -> None:
            if pair in self._listeners:
                self._listeners.remove(pair)

        return unsubscribe

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    def set_status(self, serial: str, **changes: object) -> LinkStatus:
        """Changes fields of a device's status and tells every listener."""
        current = self._statuses.get(serial, LinkStatus(serial))
        status = dataclasses.replace(current, **changes)  # type: ignore[arg-type]
        self._statuses[serial] = status
        for on_status, _ in list(self._listeners):
            on_status(status)
        return status

    def deliver(self, store: _Ingesting, serial: str, epoch: int, events: Sequence[Event]) -> int:
        """Stores ``events`` (as the link does before acknowledging), then reports them.
        Returns the sequence the store says may be acknowledged."""
        acked = store.ingest(serial, epoch, events)
        for _, on_events in list(self._listeners):
            on_events(serial, epoch, list(events))
        return acked


class _Ingesting(Protocol):
    def ingest(self, serial: str, epoch: int, events: Sequence[Event]) -> int: ...


# -- the companion session (wearsense.link.session.Session) as a DeviceLink --------------

# The session's LinkState values, as the UI shows them.
SESSION_STATES = {
    "idle": ConnectionState.DISCONNECTED,
    "scanning": ConnectionState.SCANNING,
    "connecting": ConnectionState.CONNECTING,
    "syncing": ConnectionState.SYNCING,
    "streaming": ConnectionState.CONNECTED,
    "backoff": ConnectionState.DISCONNECTED,
    "stopped": ConnectionState.DISCONNECTED,
}
MODEL_TASKS = ("afib", "fall", "activity")


class _Followed(Protocol):
    serial: str | None


class SessionLink(MemoryLink):
    """Adapts the companion's BLE session to ``DeviceLink`` without importing it: pass
    ``on_state`` and ``on_stored`` as the session's callbacks, and the session itself
    to ``follow`` once it exists (for the serial it has read from the device)::

        link = SessionLink(serial_hint="WS-0001")
        session = Session(store, on_state=link.on_state, on_stored=link.on_stored, ...)
        link.follow(session)
        WearSenseApp(db_path, link)

    Battery, firmware and model versions come from the STATUS events the session stores
    (pages 0, 2 and 1); the last sync is the time of the last stored batch. States
    reported before the device's serial is known are kept under ``serial_hint``, or not
    shown when there is none."""

    def __init__(self, serial_hint: str | None = None) -> None:
        super().__init__()
        self.serial_hint = serial_hint
        self.detail = ""
        self._session: _Followed | None = None

    def follow(self, session: _Followed) -> None:
        self._session = session

    def _serial(self) -> str | None:
        serial = self._session.serial if self._session is not None else None
        return serial or self.serial_hint

    def on_state(self, state: object, detail: str = "") -> None:
        """The session's ``on_state(LinkState, detail)``."""
        self.detail = detail
        serial = self._serial()
        value = getattr(state, "value", state)
        if serial is not None:
            self.set_status(
                serial, state=SESSION_STATES.get(str(value), ConnectionState.DISCONNECTED)
            )

    def on_stored(
        self, serial: str, epoch: int, events: Sequence[Event], stored_utc: float
    ) -> None:
        """The session's ``on_stored(serial, epoch, events, utc)``: the batch is stored."""
        current = self._statuses.get(serial, LinkStatus(serial))
        changes: dict[str, object] = {"last_sync_utc": stored_utc}
        if current.state is ConnectionState.DISCONNECTED:
            changes["state"] = ConnectionState.CONNECTED  # events only come over a link
        for event in events:
            if isinstance(event, StatusDevice):
                changes["battery_pct"] = event.battery_pct
            elif isinstance(event, StatusFirmware):
                changes["firmware"] = f"{event.fw_major}.{event.fw_minor}.{event.fw_patch}"
            elif isinstance(event, StatusModels):
                versions = (event.afib_version, event.fall_version, event.activity_version)
                changes["models"] = dict(zip(MODEL_TASKS, versions, strict=True))
        self.set_status(serial, **changes)
        for _, on_events in list(self._listeners):
            on_events(serial, epoch, list(events))
