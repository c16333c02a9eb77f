"""Model updates: the model versions the store knows, each device's running versions, the
update history, and (when the app has a ``ModelPusher``: the demo and a companion in this
process) a push: a package file, the guard's force switch, a progress bar fed by the
acknowledged offsets, the outcome. The push itself is the companion's
(``wearsense.companion``, through ``tui.companion.CompanionActions``); this screen only
collects the request and shows progress.
Without a pusher the screen says how to push from the command line and never pretends."""

from __future__ import annotations

from datetime import UTC, datetime

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import (
    Button,
    Checkbox,
    DataTable,
    Footer,
    Header,
    Input,
    ProgressBar,
    Static,
)

from tui.screens.base import DataScreen
from tui.widgets import AlertBanner

NOT_AVAILABLE = (
    "Pushing a model update is not available yet: this version of WearSense cannot send a "
    "model package to a device (no update transfer). This screen shows what is recorded; "
    "nothing here changes a device."
)
NOT_WIRED = (
    "This terminal UI has no link to a wearable to push to (it only reads the store): push "
    "with `wearsense update push PACKAGE`, whose steps then show here."
)
PUSH_HELP = (
    "Push a signed model package (.wspkg) to the connected wearable. The rollout guard "
    "compares its metrics (metrics.json beside it) with the running model's; force skips it."
)


def _when(utc: float | None) -> str:
    return "-" if utc is None else datetime.fromtimestamp(utc, UTC).strftime("%Y-%m-%d %H:%M")


class UpdatesScreen(DataScreen):
    # Nothing takes the focus on arrival: the number keys switch screens until the
    # package field is clicked or tabbed to (escape leaves it again).
    AUTO_FOCUS = ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield AlertBanner(id="alert-banner")
        with VerticalScroll(id="updates-body"):  # scrolls when the terminal is short
            yield Static("", id="push-notice")
            if self.wearsense.pusher is not None:
                with Horizontal(id="push-form"):
                    yield Input(placeholder="package file (.wspkg)", id="push-path")
                    yield Checkbox("force", id="push-force")
                    yield Button("Push", id="push-button", variant="primary")
                yield ProgressBar(id="push-progress", show_eta=False)
                yield Static("", id="push-outcome")
            yield Static("Model registry", classes="section-title")
            yield DataTable(id="registry", zebra_stripes=True)
            yield Static("Running on the devices", classes="section-title")
            yield DataTable(id="running", zebra_stripes=True)
            yield Static("Update history", classes="section-title")
            yield DataTable(id="history", zebra_stripes=True)
        yield Footer(compact=True)

    def setup(self) -> None:
        self.query_one("#registry", DataTable).add_columns(
            "task", "version", "sha256", "recorded (UTC)", "notes"
        )
        self.query_one("#running", DataTable).add_columns("device", "firmware", "models")
        self.query_one("#history", DataTable).add_columns(
            "time (UTC)", "device", "task", "version", "status", "detail"
        )

    # -- pushing -------------------------------------------------------------------------

    @on(Button.Pressed, "#push-button")
    @on(Input.Submitted, "#push-path")
    def start_push(self) -> None:
        path = self.query_one("#push-path", Input).value.strip()
        outcome = self.query_one("#push-outcome", Static)
        if not path:
            outcome.update("Name a package file first.")
            return
        if self.query_one("#push-button", Button).disabled:
            return  # one push at a time
        self.query_one("#push-button", Button).disabled = True
        outcome.update(f"Pushing {path} ...")
        outcome.set_classes("")
        self.query_one("#push-progress", ProgressBar).update(total=None, progress=0)
        force = self.query_one("#push-force", Checkbox).value
        self.run_worker(self._push(path, force), exclusive=True, group="push")

    async def _push(self, path: str, force: bool) -> None:
        pusher = self.wearsense.pusher
        assert pusher is not None  # the form exists only with a pusher
        bar = self.query_one("#push-progress", ProgressBar)

        def progress(done: int, total: int) -> None:
            bar.update(total=total, progress=done)

        result = await pusher.push(path, force=force, on_progress=progress)
        outcome = self.query_one("#push-outcome", Static)
        outcome.update(result.message)
        outcome.set_classes("ok" if result.ok else "failed")
        self.query_one("#push-button", Button).disabled = False
        self.wearsense.data_changed()

    # -- what is recorded ----------------------------------------------------------------

    def reload(self) -> None:
        view = self.wearsense.view
        registry = view.registry()
        self.query_one("#push-notice", Static).update(
            PUSH_HELP
            if self.wearsense.pusher is not None
            else (NOT_WIRED if registry.push_available else NOT_AVAILABLE)
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
