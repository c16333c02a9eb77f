"""Patients and devices: who wears which device, connection state, battery, firmware and
model versions, last sync, wear time and data gaps over the last 24 hours."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.widgets import DataTable, Footer, Header, Static

from tui.link import PushResult
from tui.screens.base import DataScreen
from tui.widgets import AlertBanner, DeviceCard

RECORDING_S = 30  # the on-demand recording the Devices screen asks for (START_RECORDING)


class DevicesScreen(DataScreen):
    BINDINGS = [
        Binding("r", "reload", "Refresh", show=False),  # the screen is live; r for help
        ("p", "calibrate_posture", "Posture"),
        ("e", "ecg_recording", "ECG"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield AlertBanner(id="alert-banner")
        with Vertical(id="devices-body"):
            yield Static("Patients", classes="section-title")
            yield DataTable(id="patients", cursor_type="row", zebra_stripes=True)
            yield Static("Devices", classes="section-title")
            yield Static("", id="no-devices")
            yield Grid(id="device-grid")
        yield Footer(compact=True)

    def setup(self) -> None:
        table = self.query_one("#patients", DataTable)
        table.add_columns("patient", "timezone", "wearing now", "events (last 24 h)")

    def action_reload(self) -> None:
        self.reload()

    def action_calibrate_posture(self) -> None:
        """Asks the connected wearable for a posture calibration (sitting against standing
        by the trunk's tilt, docs/imu-front-end.md); says so when no link is wired."""
        calibrator = self.wearsense.calibrator
        self._ask_wearable(
            None if calibrator is None else calibrator.calibrate_posture,
            "posture",
            "Posture: ask the wearer to stand upright and still.",
            "No wearable is connected here: run `wearsense companion --calibrate-posture`.",
        )

    def action_ecg_recording(self) -> None:
        """Asks the connected wearable for a 30 s on-demand ECG recording (one rhythm
        verdict, docs/detectors.md); says so when no link is wired."""
        recorder = self.wearsense.recorder
        self._ask_wearable(
            None if recorder is None else lambda: recorder.start_recording(RECORDING_S),
            "recording",
            f"ECG recording: the wearer keeps still for {RECORDING_S} s.",
            f"No wearable is connected here: run `wearsense companion --record {RECORDING_S}`.",
        )

    def _ask_wearable(
        self,
        request: Callable[[], Awaitable[PushResult]] | None,
        group: str,
        ahead: str,
        unwired: str,
    ) -> None:
        """Sends ``request`` in a worker (saying ``ahead`` first, then its result), or
        ``unwired`` when the app has no link for it."""
        if request is None:
            self.notify(unwired, severity="warning")
            return

        async def ask() -> None:
            self.notify(ahead)
            result = await request()
            self.notify(result.message, severity="information" if result.ok else "error")

        self.run_worker(ask(), exclusive=True, group=group)

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
            card.replay_speed = self.wearsense.replay_speed.get(row.serial)
            card.row = row
        self.query_one("#no-devices", Static).update("" if rows else "No device has been seen yet.")
