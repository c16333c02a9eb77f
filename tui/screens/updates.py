"""Model updates: the model versions the store knows, each device's running versions and
the update history. Pushing an update is not offered until the model-update service
exists: this screen says so plainly and never pretends to push."""

from __future__ import annotations

from datetime import UTC, datetime

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Header, Static

from tui.screens.base import DataScreen

NOT_AVAILABLE = (
    "Pushing a model update is not available yet: this version of WearSense cannot send a "
    "model package to a device (no update transfer). This screen shows what is recorded; "
    "nothing here changes a device."
)
NOT_WIRED = (
    "The model-update transfer is installed, but pushing from the terminal UI is not wired "
    "up yet: use its command line. This screen shows what is recorded."
)


def _when(utc: float | None) -> str:
    return "-" if utc is None else datetime.fromtimestamp(utc, UTC).strftime("%Y-%m-%d %H:%M")


class UpdatesScreen(DataScreen):
    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="updates-body"):
            yield Static("", id="push-notice")
            yield Static("Model registry", classes="section-title")
            yield DataTable(id="registry", zebra_stripes=True)
            yield Static("Running on the devices", classes="section-title")
            yield DataTable(id="running", zebra_stripes=True)
            yield Static("Update history", classes="section-title")
            yield DataTable(id="history", zebra_stripes=True)
        yield Footer()

    def setup(self) -> None:
        self.query_one("#registry", DataTable).add_columns(
            "task", "version", "sha256", "recorded (UTC)", "notes"
        )
        self.query_one("#running", DataTable).add_columns("device", "firmware", "models")
        self.query_one("#history", DataTable).add_columns(
            "time (UTC)", "device", "task", "version", "status", "detail"
        )

    def reload(self) -> None:
        view = self.wearsense.view
        registry = view.registry()
        self.query_one("#push-notice", Static).update(
            NOT_WIRED if registry.push_available else NOT_AVAILABLE
        )
        table = self.query_one("#registry", DataTable)
        table.clear()
        for v in registry.versions:
            table.add_row(
                v["task"],
                str(v["version"]),
                (v["sha256"] or "-")[:16],
                _when(v["created_utc"]),
                v["notes"] or "",
            )
        if not registry.versions:
            table.add_row("(none recorded)", "", "", "", "")
        running = self.query_one("#running", DataTable)
        running.clear()
        for row in view.device_rows(self.wearsense.statuses):
            running.add_row(row.serial, row.firmware, row.models)
        history = self.query_one("#history", DataTable)
        history.clear()
        for u in registry.updates:
            history.add_row(
                _when(u["utc"]),
                u["serial"],
                u["task"],
                str(u["version"]),
                u["status"],
                u["detail"] or "",
            )
        if not registry.updates:
            history.add_row("(no updates yet)", "", "", "", "", "")
