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

from wearsense.protocol import Event


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
