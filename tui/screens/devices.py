"""Patients and devices: who wears which device, connection state, battery, firmware and
model versions, last sync, wear time and data gaps over the last 24 hours."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.widgets import DataTable, Footer, Header, Static

from tui.screens.base import DataScreen
from tui.widgets import DeviceCard

RECORDING_S = 30  # the on-demand recording the Devices screen asks for (START_RECORDING)


class DevicesScreen(DataScreen):
    BINDINGS = [
        ("r", "reload", "Refresh"),
        ("p", "calibrate_posture", "Calibrate posture"),
        ("e", "ecg_recording", "ECG recording"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="devices-body"):
            yield Static("Patients", classes="section-title")
            yield DataTable(id="patients", cursor_type="row", zebra_stripes=True)
            yield Static("Devices", classes="section-title")
            yield Static("", id="no-devices")
            yield Grid(id="device-grid")
        yield Footer()

    def setup(self) -> None:
        table = self.query_one("#patients", DataTable)
        table.add_columns("patient", "timezone", "wearing now", "events (last 24 h)")

    def action_reload(self) -> None:
        self.reload()

    def action_calibrate_posture(self) -> None:
        """Asks the connected wearable for a posture calibration (sitting against standing
        by the trunk's tilt, docs/imu-front-end.md); says so when no link is wired."""
        if self.wearsense.calibrator is None:
            self.notify(
                "No wearable is connected here: run `wearsense companion --calibrate-posture`.",
                severity="warning",
            )
            return
        self.run_worker(self._calibrate(), exclusive=True, group="posture")

    async def _calibrate(self) -> None:
        calibrator = self.wearsense.calibrator
        assert calibrator is not None
        self.notify("Posture: ask the wearer to stand upright and still.")
        result = await calibrator.calibrate_posture()
        self.notify(result.message, severity="information" if result.ok else "error")

    def action_ecg_recording(self) -> None:
        """Asks the connected wearable for a 30 s on-demand ECG recording (one rhythm
        verdict, docs/detectors.md); says so when no link is wired."""
        if self.wearsense.recorder is None:
            self.notify(
                "No wearable is connected here: run `wearsense companion --record 30`.",
                severity="warning",
            )
            return
        self.run_worker(self._record(), exclusive=True, group="recording")

    async def _record(self) -> None:
        recorder = self.wearsense.recorder
        assert recorder is not None
        self.notify(f"ECG recording: the wearer keeps still for {RECORDING_S} s.")
        result = await recorder.start_recording(RECORDING_S)
        self.notify(result.message, severity="information" if result.ok else "error")

    def reload(self) -> None:
        view = self.wearsense.view
        table = self.query_one("#patients", DataTable)
        table.clear()
        for p in view.patient_rows():
            table.add_row(p.pseudonym, p.timezone, p.devices, str(p.events_24h), key=p.pseudonym)
        rows = view.device_rows(self.wearsense.statuses)
        grid = self.query_one("#device-grid", Grid)
        cards = {card.id: card for card in grid.query(DeviceCard)}
        for row in rows:
            card_id = f"device-{row.serial}"
            card = cards.get(card_id)
            if card is None:
                card = DeviceCard(id=card_id, classes="device-card")
                grid.mount(card)
            card.row = row
        self.query_one("#no-devices", Static).update("" if rows else "No device has been seen yet.")
