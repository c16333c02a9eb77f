"""Help: every key binding (read from the app and its screens, so it cannot drift from
what the keys do) and the intended-use statement."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

INTENDED_USE = (
    "Intended use: WearSense is research software for studying wearable sensing. It is "
    "NOT a medical device: it is not cleared or approved for diagnosis, monitoring or "
    "treatment, and its alerts must not be relied on for anyone's safety. In an "
    "emergency, call your local emergency number."
)


KEY_NAMES = {"question_mark": "?", "escape": "esc"}


def binding_rows(owner: str, bindings: list[BindingType]) -> list[tuple[str, str, str]]:
    rows = []
    for b in bindings:
        if isinstance(b, Binding):
            key, description = b.key, b.description
        else:
            key, description = b[0], b[2] if len(b) > 2 else b[1]
        keys = " / ".join(KEY_NAMES.get(k.strip(), k.strip()) for k in key.split(","))
        rows.append((owner, keys, description))
    return rows


class HelpScreen(ModalScreen[None]):
    BINDINGS = [("escape,q,question_mark", "dismiss", "Close help")]

    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-dialog"):
            yield Static("WearSense terminal UI: keys", classes="section-title")
            yield DataTable(id="help-keys", cursor_type="none", zebra_stripes=True)
            yield Static(INTENDED_USE, id="intended-use")
            yield Static("Press escape to close.", classes="hint")

    def on_mount(self) -> None:
        table = self.query_one("#help-keys", DataTable)
        table.add_columns("where", "key", "what it does")
        for row in self.rows:
            table.add_row(*row)

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
