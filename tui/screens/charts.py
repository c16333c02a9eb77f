"""Charts of one patient: AF burden per day, heart rate around AF episodes, activity
minutes per hour. ``p`` moves to the next patient, ``e`` to the previous AF episode."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Footer, Header, Select, Static

from tui.screens.base import DataScreen
from tui.services import EpisodeTrace
from tui.widgets import ActivityChart, AlertBanner, BurdenChart, HeartRateChart


class ChartsScreen(DataScreen):
    BINDINGS = [
        ("p", "next_patient", "Patient"),
        ("e", "previous_episode", "Episode"),
    ]

    patient: reactive[str | None] = reactive(None)
    episode_back: reactive[int] = reactive(0)  # 0: the newest episode, 1: the one before...

    def __init__(self) -> None:
        super().__init__()
        self._traces: list[EpisodeTrace] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield AlertBanner(id="alert-banner")
        with Horizontal(id="charts-top"):
            yield Static("Patient", classes="field-label")
            yield Select[str]([], id="chart-patient", allow_blank=True, prompt="no patient")
        yield Static("", id="charts-empty")
        with Vertical(id="charts"):
            with Horizontal(id="charts-row"):
                yield BurdenChart(id="burden-chart")
                yield HeartRateChart(id="hr-chart")
            yield ActivityChart(id="activity-chart")
        yield Footer(compact=True)

    def reload(self) -> None:
        view = self.wearsense.view
        patients = view.patients()
        select = self.query_one("#chart-patient", Select)
        current = self.patient if self.patient in patients else None
        if current is None and patients:
            current = patients[0]
        with select.prevent(Select.Changed):
            select.set_options([(p, p) for p in patients])
            if current is not None:
                select.value = current
        self.query_one("#charts-empty", Static).update(
            "" if patients else "No patients in this store yet."
        )
        if current != self.patient:
            self.patient = current  # the watcher draws
        else:
            self._draw()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "chart-patient" and isinstance(event.value, str):
            self.patient = event.value

    def watch_patient(self, _patient: str | None) -> None:
        self.episode_back = 0
        self._draw()

    def watch_episode_back(self, _back: int) -> None:
        self._show_episode()

    def action_next_patient(self) -> None:
        view = self.wearsense.view
        patients = view.patients()
        if not patients:
            return
        index = patients.index(self.patient) + 1 if self.patient in patients else 0
        self.query_one("#chart-patient", Select).value = patients[index % len(patients)]

    def action_previous_episode(self) -> None:
        if self._traces:
            self.episode_back = (self.episode_back + 1) % len(self._traces)

    def _draw(self) -> None:
        view = self.wearsense.view
        if not self.is_mounted:
            return
        burden = self.query_one(BurdenChart)
        activity = self.query_one(ActivityChart)
        if self.patient is None:
            self._traces = []
            burden.days = []
            activity.hours = []
        else:
            burden.days = view.af_burden(self.patient)
            activity.hours = view.activity_per_hour(self.patient)
            self._traces = view.hr_around_episodes(self.patient)
        self._show_episode()

    def _show_episode(self) -> None:
        chart = self.query_one(HeartRateChart)
        if not self._traces:
            chart.trace = None
            return
        back = min(self.episode_back, len(self._traces) - 1)
        chart.position = f"({len(self._traces) - back} of {len(self._traces)})"
        chart.trace = self._traces[-1 - back]
