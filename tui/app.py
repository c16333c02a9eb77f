"""The WearSense terminal app: one screen per job (devices, live events, charts, model
updates, export) plus help and the fall alert.

The app owns the state every screen shares: the open store (read-only use), the link's
latest device statuses, the feed of recent events and the fall alerts that wait for an
acknowledgement. When any of that changes it increments ``revision``; the current screen
watches it and reloads (attributes go down). The link's callbacks become messages
(messages go up), so a link running in another thread is safe.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from textual.app import App
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input

from tui.link import (
    DeviceLink,
    LinkStatus,
    ModelPusher,
    PostureCalibrator,
    Recorder,
    Unsubscribe,
)
from tui.screens.alert import FallAlertScreen
from tui.screens.charts import ChartsScreen
from tui.screens.devices import DevicesScreen
from tui.screens.events import EventsScreen
from tui.screens.export import ExportScreen
from tui.screens.help import HelpScreen, binding_rows
from tui.screens.strips import StripsScreen
from tui.screens.updates import UpdatesScreen
from tui.services import Clock, EventFeed, EventView, Key, StoreView
from wearsense.protocol import Event, EventKind
from wearsense.store import Store

POLL_S = 2.0  # how often the store is checked for events written by another process
SILENCE_CHECK_S = 30.0  # how often screens refresh ages and ongoing data gaps
REFRESH_S = 0.1  # changes within this time are shown together (a burst is one reload)
SUB_TITLE = "research software, not a medical device"


class LinkStatusChanged(Message):
    """A device's connection state, battery, versions or last sync changed."""

    def __init__(self, status: LinkStatus) -> None:
        super().__init__()
        self.status = status


class EventsStored(Message):
    """The link stored new events of a device."""

    def __init__(self, serial: str, epoch: int, events: Sequence[Event]) -> None:
        super().__init__()
        self.serial = serial
        self.epoch = epoch
        self.events = list(events)


class WearSenseApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "WearSense"
    SUB_TITLE = SUB_TITLE
    MODES = {
        "devices": DevicesScreen,
        "events": EventsScreen,
        "charts": ChartsScreen,
        "updates": UpdatesScreen,
        "export": ExportScreen,
        "strips": StripsScreen,
    }
    DEFAULT_MODE = "devices"
    BINDINGS = [
        Binding("1", "show('devices')", "Devices"),
        Binding("2", "show('events')", "Events"),
        Binding("3", "show('charts')", "Charts"),
        Binding("4", "show('updates')", "Updates"),
        Binding("5", "show('export')", "Export"),
        Binding("6", "show('strips')", "Strips", show=False),  # the footer is full at 80
        # F2-F7 switch screens from anywhere, a text field included (it keeps the digits)
        Binding("f2", "show('devices')", "Devices", show=False, priority=True),
        Binding("f3", "show('events')", "Events", show=False, priority=True),
        Binding("f4", "show('charts')", "Charts", show=False, priority=True),
        Binding("f5", "show('updates')", "Updates", show=False, priority=True),
        Binding("f6", "show('export')", "Export", show=False, priority=True),
        Binding("f7", "show('strips')", "Strips", show=False, priority=True),
        Binding("a", "acknowledge", "Acknowledge fall", show=False),
        Binding("question_mark,f1", "help", "Help"),
        Binding("q", "quit", "Quit"),
        # A text field keeps the digit keys (dates, file names); escape always leaves it.
        Binding("escape", "leave_field", "Leave the text field", show=False),
    ]

    revision: reactive[int] = reactive(0, init=False)

    def __init__(
        self,
        db_path: str | os.PathLike[str],
        link: DeviceLink | None = None,
        *,
        clock: Clock = time.time,
        poll_s: float = POLL_S,
        gap_hours: float | None = None,
        refresh_s: float = REFRESH_S,
        pusher: ModelPusher | None = None,
        calibrator: PostureCalibrator | None = None,
        recorder: Recorder | None = None,
        replay_speed: dict[str, float] | None = None,
    ) -> None:
        """Opens the store at ``db_path`` (StoreError when it is missing or unusable).
        ``clock`` gives "now" (tests fix it); ``poll_s`` 0 turns off polling the store;
        ``refresh_s`` 0 redraws on every change instead of once per burst; ``pusher`` (a
        ``tui.link.ModelPusher``) lets the Updates screen push model packages;
        ``calibrator`` (a ``tui.link.PostureCalibrator``) lets the Devices screen ask the
        wearable for a posture calibration, ``recorder`` (a ``tui.link.Recorder``) for an
        on-demand ECG recording. ``replay_speed`` maps the serial of a device that replays
        recordings (the demo's emulated wearable) to its speed: its clock runs that many
        times faster than the wall clock, and every screen that shows its times says so."""
        super().__init__()
        self.db_path = Path(db_path)
        self.link = link
        self.pusher = pusher  # pushes model packages from the Updates screen; None: not wired
        self.calibrator = calibrator  # the Devices screen's posture calibration; None: not wired
        self.recorder = recorder  # the Devices screen's ECG recording; None: not wired
        self.clock = clock
        self.poll_s = poll_s
        self.store = Store(self.db_path, create=False)
        self.view = StoreView(self.store, clock, gap_hours)
        self.statuses: dict[str, LinkStatus] = {}
        self.feed = EventFeed(self.view.gap_hours)
        self.replay_speed = dict(replay_speed or {})
        self.pending_falls: list[EventView] = []  # unacknowledged, oldest first (the banner)
        self.alerted: set[Key] = set()  # falls whose modal alert has been shown once
        self.acknowledged: list[Key] = []
        self._alert: FallAlertScreen | None = None
        self._unsubscribe: Unsubscribe | None = None
        self._event_count = -1
        self.refresh_s = refresh_s
        self._refresh_due = False

    # -- life cycle ----------------------------------------------------------------------

    def on_mount(self) -> None:
        if self.replay_speed:
            self.sub_title = f"{SUB_TITLE} · {self.replay_note()}"
        self._event_count = self.store.count_events()
        self.feed.add(self.view.recent_events())
        self.pending_falls = self.view.open_fall_alerts()
        if self.link is not None:
            self.statuses = {s.serial: s for s in self.link.statuses()}
            self._unsubscribe = self.link.subscribe(self._link_status, self._link_events)
        self._bump()  # the first screen may have been drawn before this state was read
        self._show_next_alert()
        if self.poll_s > 0:
            self.set_interval(self.poll_s, self.poll_store)
            self.set_interval(SILENCE_CHECK_S, self._bump)

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.store.close()

    # -- link callbacks (any thread) -> messages -----------------------------------------

    def _link_status(self, status: LinkStatus) -> None:
        self.post_message(LinkStatusChanged(status))

    def _link_events(self, serial: str, epoch: int, events: Sequence[Event]) -> None:
        self.post_message(EventsStored(serial, epoch, events))

    def on_link_status_changed(self, message: LinkStatusChanged) -> None:
        self.statuses[message.status.serial] = message.status
        self._bump()

    def on_events_stored(self, message: EventsStored) -> None:
        self._event_count = self.store.count_events()
        self._add(self.view.views_from_link(message.serial, message.epoch, message.events))

    def poll_store(self) -> None:
        """Picks up events that another process (a companion without this UI) stored."""
        count = self.store.count_events()
        if count != self._event_count:
            self._event_count = count
            self._add(self.view.recent_events())

    # -- shared state --------------------------------------------------------------------

    def data_changed(self) -> None:
        """Something the screens show changed outside the link (e.g. a push's history)."""
        self._bump()

    def _bump(self) -> None:
        """Tells the screens that the data changed, at most once per ``refresh_s``."""
        if self.refresh_s <= 0:
            self.revision += 1
        elif not self._refresh_due:
            self._refresh_due = True
            self.set_timer(self.refresh_s, self._refresh_now)

    def _refresh_now(self) -> None:
        self._refresh_due = False
        self.revision += 1

    def replay_note(self) -> str:
        """One line saying which devices replay recordings, and how fast ("" if none)."""
        return ", ".join(
            f"{serial}: device time, replayed x{speed:g}"
            for serial, speed in sorted(self.replay_speed.items())
        )

    def _add(self, views: list[EventView]) -> None:
        added = self.feed.add(views)
        waiting = {f.key for f in self.pending_falls}
        for view in added:
            if (
                view.is_fall
                and view.key not in waiting
                and not self.view.fall_is_cancelled(view.key)
                and not self.store.fall_acknowledged(view.key)
            ):
                self.pending_falls.append(view)
                self.bell()
        if any(v.type == EventKind.FALL_CANCELLED for v in added) and self._alert is not None:
            self._alert.cancelled = self.view.fall_is_cancelled(self._alert.fall.key)
        self._show_next_alert()
        self._bump()

    def _show_next_alert(self) -> None:
        """Opens the modal alert for the oldest waiting fall that has not had one, when no
        alert is open and no fall shown before is still waiting: the banner carries the
        rest, so a device that falls again and again (the demo's replay loops) does not
        take the screen each time, and a fall's modal never opens twice."""
        if self._alert is not None or not self.pending_falls:
            return
        if any(f.key in self.alerted for f in self.pending_falls):
            return
        fall = self.pending_falls[0]
        self.alerted.add(fall.key)
        self._alert = FallAlertScreen(fall, waiting=len(self.pending_falls) - 1)
        self._alert.cancelled = self.view.fall_is_cancelled(fall.key)
        self.push_screen(self._alert, callback=self._alert_closed)

    def _alert_closed(self, key: Key | None) -> None:
        """The modal closed: acknowledged (``key``) or put off (None: the fall waits in the
        banner, where ``a`` acknowledges it)."""
        self._alert = None
        if key is not None:
            self.acknowledge(key)
        self._bump()

    def acknowledge(self, key: Key) -> None:
        """Records the acknowledgement of a waiting fall and takes it off the banner."""
        self.pending_falls = [f for f in self.pending_falls if f.key != key]
        self.view.acknowledge_fall(key)
        self.acknowledged.append(key)
        self.notify(f"Fall alert {key[0]} #{key[2]} acknowledged.", timeout=3)
        self._show_next_alert()
        self._bump()

    def export_in_thread(
        self, fmt: str, patient: str, start: str, end: str, folder: str, deidentify: bool
    ) -> list[Path]:
        """Runs an export with its own store connection (for a worker thread)."""
        with Store(self.db_path, create=False) as store:
            return StoreView(store, self.clock, self.view.gap_hours).export(
                fmt, patient, start, end, folder, deidentify
            )

    # -- actions -------------------------------------------------------------------------

    async def action_show(self, mode: str) -> None:
        """Switches screens, from anywhere: an open fall alert is put off (the fall stays
        in the banner) and help closes."""
        while isinstance(self.screen, FallAlertScreen | HelpScreen):
            await self.screen.dismiss(None)
        await self.switch_mode(mode)

    def action_acknowledge(self) -> None:
        """``a``: acknowledges the oldest waiting fall (the one the banner shows)."""
        if self.pending_falls:
            self.acknowledge(self.pending_falls[0].key)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "leave_field":  # otherwise escape goes on (help, a list, an alert)
            return isinstance(self.focused, Input)
        return True

    def action_leave_field(self) -> None:
        """Escape in a text field: focus leaves it, so the screen's keys work again."""
        self.screen.set_focus(None)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen | FallAlertScreen):
            return
        rows = binding_rows("everywhere", list(self.BINDINGS))
        for name, screen in self.MODES.items():
            rows += binding_rows(name, list(vars(screen).get("BINDINGS", [])))
        rows += binding_rows("fall alert", list(FallAlertScreen.BINDINGS))
        rows += binding_rows("help", list(HelpScreen.BINDINGS))
        self.push_screen(HelpScreen(rows))
