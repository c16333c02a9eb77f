"""Small widgets shared by the screens. Each shows what it is given through reactive
attributes (set by its screen) and holds no business logic; colours and layout are in
``app.tcss`` (severity and state become CSS classes)."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static
from textual_plotext import PlotextPlot

from tui.services import DeviceRow, EpisodeTrace, EventView

ACTIVITY_COLOURS = ("green", "red", "cyan", "magenta", "blue", "yellow", "white", "gray")


class EventLine(Static):
    """One event: time, device, patient and description, coloured by severity."""

    def __init__(self, view: EventView) -> None:
        super().__init__(classes=f"event-line {view.severity.css} type-{view.type}")
        self.view = view

    def render(self) -> Text:
        v = self.view
        line = Text()
        line.append(f"{v.when:<24} ", style="dim")
        line.append(f"{v.serial:<10} ", style="bold")
        line.append(f"{(v.patient or '-'):<10} ")
        line.append(v.text)
        return line


class DeviceCard(Static):
    """One device: assignment, connection, battery, versions, sync, wear and gaps."""

    row: reactive[DeviceRow | None] = reactive(None)

    def watch_row(self, row: DeviceRow | None) -> None:
        if row is None:
            return
        for state in ("disconnected", "scanning", "connecting", "connected", "syncing"):
            self.set_class(row.state == state, f"state-{state}")
        self.set_class(row.long_gap, "long-gap")
        self.border_title = f"{row.serial} · {row.state}"

    def render(self) -> Text:
        row = self.row
        if row is None:
            return Text("")
        lines = [
            ("patient", row.patient),
            ("connection", row.state),
            ("battery", row.battery),
            ("firmware", row.firmware),
            ("models", row.models),
            ("last sync", row.last_sync),
            ("wear 24 h", row.wear_24h),
            ("gaps 24 h", row.gaps_24h),
        ]
        text = Text()
        for label, value in lines:
            text.append(f"{label:<11}", style="dim")
            text.append(f"{value}\n")
        if row.long_gap and row.silent_hours is not None:
            text.append(f"DATA GAP: no data for {row.silent_hours:.1f} hours", style="bold")
        return text


class BurdenChart(PlotextPlot):
    """AF burden (% of analysable time) per local day."""

    days: reactive[list[tuple[str, float]]] = reactive(list, always_update=True)

    def watch_days(self, days: list[tuple[str, float]]) -> None:
        plt = self.plt
        plt.clear_figure()
        plt.title("AF burden per day (%)")
        if days:
            labels = [d for d, _ in days]
            plt.bar(labels, [b for _, b in days], color="red")
            step = max(1, len(labels) // 7)
            plt.xticks(list(range(1, len(labels) + 1, step)), labels[::step])
            plt.ylim(0, max(10.0, max(b for _, b in days) * 1.1))
        else:
            plt.title("AF burden per day: no rhythm summaries")
        self.refresh()


class HeartRateChart(PlotextPlot):
    """Mean heart rate around one AF episode; onset at minute 0."""

    trace: reactive[EpisodeTrace | None] = reactive(None, always_update=True)
    position: reactive[str] = reactive("")

    def watch_trace(self, trace: EpisodeTrace | None) -> None:
        plt = self.plt
        plt.clear_figure()
        if trace is None or not trace.minutes:
            plt.title("Heart rate around AF episodes: none yet")
        else:
            plt.title(f"HR around AF onset {trace.label} {self.position}")
            plt.plot(trace.minutes, trace.mean_bpm, marker="braille", color="cyan")
            first, last = min(trace.minutes), max(trace.minutes)
            ticks = [float(m) for m in range(int(first // 30) * 30, int(last) + 1, 30)]
            plt.xticks(ticks, [f"{m:.0f}" for m in ticks])
            plt.vertical_line(0, color="red")
            if trace.end_minute is not None:
                plt.vertical_line(trace.end_minute, color="red")
            plt.xlabel("minutes from onset")
        self.refresh()


class ActivityChart(PlotextPlot):
    """Minutes per activity class for each hour (stacked)."""

    hours: reactive[list[tuple[str, dict[str, int]]]] = reactive(list, always_update=True)

    def watch_hours(self, hours: list[tuple[str, dict[str, int]]]) -> None:
        plt = self.plt
        plt.clear_figure()
        if not hours:
            plt.title("Activity minutes per hour: no activity summaries")
            self.refresh()
            return
        plt.title("Activity minutes per hour")
        names = [n for n in hours[0][1] if any(h[n] for _, h in hours)] or list(hours[0][1])
        series = [[h[n] for _, h in hours] for n in names]
        colours = [ACTIVITY_COLOURS[list(hours[0][1]).index(n) % 8] for n in names]
        labels = [label for label, _ in hours]
        plt.stacked_bar(
            labels,
            series,
            labels=names,  # type: ignore[call-arg]
            color=colours,  # type: ignore[arg-type]
        )
        plt.ylim(0, 60 + 12 * len(names))  # headroom: the legend sits above the bars
        plt.yticks([0, 15, 30, 45, 60])
        # explicit ticks: plotext's own choice depends on the size at the first render
        step = max(1, len(labels) // 8)
        plt.xticks(list(range(1, len(labels) + 1, step)), labels[::step])
        self.refresh()
