"""The fall alert: a dialog over the current screen for a fall nobody has acknowledged
yet. It shows who fell, when and how hard, and notes it if the wearer has since cancelled
the fall with the device's button (it still has to be acknowledged). ``a`` (or the
button) acknowledges; ``escape`` puts it off and the number keys switch screens: the fall
then waits in the alert banner of every screen (``a`` acknowledges it there), and this
dialog does not open again for it. ``q`` quits the app: the fall stays unacknowledged in
the store and its alert opens again at the next start."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tui.services import EventView, Key


class FallAlertScreen(ModalScreen[Key | None]):
    BINDINGS = [
        ("a", "acknowledge", "Acknowledge"),
        ("escape", "later", "Later: the fall waits in the banner"),
        ("1", "app.show('devices')", "Devices (the fall waits in the banner)"),
        ("2", "app.show('events')", "Events"),
        ("3", "app.show('charts')", "Charts"),
        ("4", "app.show('updates')", "Updates"),
        ("5", "app.show('export')", "Export"),
        ("q", "app.quit", "Quit; the alert opens again at the next start"),
    ]

    cancelled: reactive[bool] = reactive(False)

    def __init__(self, fall: EventView, waiting: int = 0) -> None:
        super().__init__(classes="fall-alert")
        self.fall = fall
        self.waiting = waiting

    def compose(self) -> ComposeResult:
        f = self.fall
        with Vertical(id="alert-dialog"):
            yield Static("FALL DETECTED", id="alert-title")
            yield Static(
                f"patient  {f.patient or 'unassigned'}\n"
                f"device   {f.serial}\n"
                f"time     {f.when}\n"
                f"{f.text}",
                id="alert-body",
            )
            yield Static("", id="alert-cancelled")
            if self.waiting:
                yield Static(f"{self.waiting} more alert(s) waiting", classes="hint")
            yield Button("Acknowledge (a)", id="acknowledge", variant="error")
            yield Static("escape: later (the fall stays in the banner)", classes="hint")

    def watch_cancelled(self, cancelled: bool) -> None:
        if self.is_mounted:
            self.query_one("#alert-cancelled", Static).update(
                "The wearer has since cancelled this fall with the button." if cancelled else ""
            )

    def on_mount(self) -> None:
        self.watch_cancelled(self.cancelled)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "acknowledge":
            self.action_acknowledge()

    def action_acknowledge(self) -> None:
        self.dismiss(self.fall.key)

    def action_later(self) -> None:
        self.dismiss(None)
