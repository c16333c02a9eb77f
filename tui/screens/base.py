"""What every data screen shares: it reloads what it shows when the app says the data
changed (the app's ``revision`` attribute goes down to the screens) and when it becomes
the current screen again."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, cast

from textual.screen import Screen

from tui.link import LinkStatus, ModelPusher, PostureCalibrator, Recorder
from tui.services import EventFeed, EventView, StoreView
from tui.widgets import AlertBanner


class ScreenServices(Protocol):
    """What the data screens use of the app (``tui.app.WearSenseApp`` provides it); a
    protocol, so the screens do not import the app that imports them."""

    view: StoreView
    feed: EventFeed
    pending_falls: list[EventView]
    statuses: dict[str, LinkStatus]
    pusher: ModelPusher | None
    calibrator: PostureCalibrator | None
    recorder: Recorder | None
    replay_speed: dict[str, float]

    def data_changed(self) -> None: ...

    def export_in_thread(
        self, fmt: str, patient: str, start: str, end: str, folder: str, deidentify: bool
    ) -> list[Path]: ...


class DataScreen(Screen[None]):
    @property
    def wearsense(self) -> ScreenServices:
        return cast(ScreenServices, self.app)

    def on_mount(self) -> None:
        # Textual calls on_mount of every class in the MRO: subclasses use setup().
        self.setup()
        self.watch(self.app, "revision", self._revision_changed, init=False)

    def setup(self) -> None:
        """Once, before the first reload (table columns and the like)."""

    def on_screen_resume(self) -> None:
        self._reload_all()

    def _revision_changed(self, _revision: int) -> None:
        if self.is_current:
            self._reload_all()

    def _reload_all(self) -> None:
        for banner in self.query(AlertBanner):
            banner.falls = list(self.wearsense.pending_falls)
        self.reload()

    def reload(self) -> None:
        """Reads what the screen shows from the app's services."""
