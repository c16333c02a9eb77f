"""What every data screen shares: it reloads what it shows when the app says the data
changed (the app's ``revision`` attribute goes down to the screens) and when it becomes
the current screen again."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.screen import Screen

if TYPE_CHECKING:
    from tui.app import WearSenseApp


class DataScreen(Screen[None]):
    @property
    def wearsense(self) -> WearSenseApp:
        return cast("WearSenseApp", self.app)

    def on_mount(self) -> None:
        # Textual calls on_mount of every class in the MRO: subclasses use setup().
        self.setup()
        self.watch(self.app, "revision", self._revision_changed, init=False)

    def setup(self) -> None:
        """Once, before the first reload (table columns and the like)."""

    def on_screen_resume(self) -> None:
        self.reload()

    def _revision_changed(self, _revision: int) -> None:
        if self.is_current:
            self.reload()

    def reload(self) -> None:
        """Reads what the screen shows from the app's services."""
