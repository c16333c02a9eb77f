"""Export: choose the format, the patient and the range (ISO dates in the patient's
timezone, empty for everything), then write the files with ``wearsense.export``. The
export runs in a worker thread with its own connection to the store."""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.containers import Grid, VerticalScroll
from textual.widgets import Button, Checkbox, Footer, Header, Input, Select, Static

from tui.screens.base import DataScreen
from tui.services import EXPORT_FORMATS
from tui.widgets import AlertBanner

DEFAULT_DIRECTORY = "exports"


class ExportScreen(DataScreen):
    BINDINGS = [("ctrl+e", "export", "Export")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield AlertBanner(id="alert-banner")
        with VerticalScroll(id="export-body"):  # scrolls when the terminal is short
            yield Static("Export a patient's events", classes="section-title")
            with Grid(id="export-form"):
                yield Static("Format", classes="field-label")
                yield Select[str](
                    [(label, key) for key, label in EXPORT_FORMATS.items()],
                    id="export-format",
                    value="csv",
                    allow_blank=False,
                )
                yield Static("Patient", classes="field-label")
                yield Select[str]([], id="export-patient", prompt="choose a patient")
                yield Static("From (YYYY-MM-DD)", classes="field-label")
                yield Input(placeholder="first event", id="export-from")
                yield Static("To (YYYY-MM-DD)", classes="field-label")
                yield Input(placeholder="last event", id="export-to")
                yield Static("Folder", classes="field-label")
                yield Input(value=DEFAULT_DIRECTORY, id="export-dir")
                yield Static("", classes="field-label")
                yield Checkbox("de-identify (shift dates, replace names)", id="export-deid")
            yield Button("Export (ctrl+e)", id="export-button", variant="primary")
            yield Static("", id="export-result")
        yield Footer(compact=True)

    def reload(self) -> None:
        view = self.wearsense.view
        select = self.query_one("#export-patient", Select)
        patients = view.patients()
        chosen = select.value if select.value in patients else None
        with select.prevent(Select.Changed):
            select.set_options([(p, p) for p in patients])
            if chosen is not None:
                select.value = chosen
            elif patients:
                select.value = patients[0]

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "export-button":
            self.action_export()

    def action_export(self) -> None:
        patient = self.query_one("#export-patient", Select).value
        result = self.query_one("#export-result", Static)
        if not isinstance(patient, str):
            result.update("Choose a patient first.")
            result.set_class(True, "error")
            return
        fmt = self.query_one("#export-format", Select).value
        result.update(f"Writing {EXPORT_FORMATS[str(fmt)]} for {patient}...")
        result.set_class(False, "error")
        self._run_export(
            str(fmt),
            patient,
            self.query_one("#export-from", Input).value,
            self.query_one("#export-to", Input).value,
            self.query_one("#export-dir", Input).value or DEFAULT_DIRECTORY,
            self.query_one("#export-deid", Checkbox).value,
        )

    @work(thread=True, exclusive=True, group="export")
    def _run_export(
        self, fmt: str, patient: str, start: str, end: str, folder: str, deidentify: bool
    ) -> None:
        try:
            files = self.wearsense.export_in_thread(fmt, patient, start, end, folder, deidentify)
        except Exception as exc:  # ExportError, StoreError, OSError: shown, never a crash
            self.app.call_from_thread(self._show_result, f"Export failed: {exc}", True)
            return
        names = "\n".join(f"  {Path(f)}" for f in files)
        self.app.call_from_thread(self._show_result, f"Wrote {len(files)} file(s):\n{names}", False)

    def _show_result(self, text: str, error: bool) -> None:
        result = self.query_one("#export-result", Static)
        result.update(text)
        result.set_class(error, "error")
