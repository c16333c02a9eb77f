"""Small widgets shared by the screens. Each shows what it is given through reactive
attributes (set by its screen) and holds no business logic; colours and layout are in
``app.tcss`` (severity and state become CSS classes)."""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static
from textual_plotext import PlotextPlot

from tui.services import DeviceRow, EpisodeTrace, EventView, Severity
from wearsense.protocol import EventKind

ACTIVITY_COLOURS = ("green", "red", "cyan", "magenta", "blue", "yellow", "white", "gray")


class EventList(ScrollView):
    """The live event list: one line per event, drawn with Textual's line API so that
    thousands of events cost one widget. Colours come from ``app.tcss`` through the
    component classes ``event-list--<severity>`` (and ``--fall``, ``--data-gap``, which
    stand out further). ``important_only`` hides the muted lines."""

    COMPONENT_CLASSES = {
        "event-list--muted",
        "event-list--info",
        "event-list--notice",
        "event-list--warning",
        "event-list--critical",
        "event-list--fall",
        "event-list--data-gap",
        "event-list--time",
    }

    important_only: reactive[bool] = reactive(False)

    def __init__(self, limit: int, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.limit = limit
        self.views: list[EventView] = []
        self.shown: list[EventView] = []

    def add(self, views: list[EventView]) -> None:
        """Appends lines (the oldest go beyond ``limit``) and follows the newest when the
        list was showing its end."""
        following = self.scroll_offset.y >= self.max_scroll_y
        self.views = (self.views + views)[-self.limit :]
        self._refilter()
        if following:  # after the layout, which knows the new height
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True)

    def watch_important_only(self, _value: bool) -> None:
        self._refilter()

    def _refilter(self) -> None:
        muted = Severity.MUTED
        self.shown = [v for v in self.views if not (self.important_only and v.severity is muted)]
        self.virtual_size = Size(0, len(self.shown))  # lines are cropped, never scrolled sideways
        self.refresh()

    def style_name(self, view: EventView) -> str:
        """The component class a line is drawn with."""
        if view.type == EventKind.FALL:
            return "event-list--fall"
        if view.type == "data_gap":
            return "event-list--data-gap"
        return f"event-list--{view.severity.name.lower()}"

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = y + scroll_y
        width = self.scrollable_content_region.width
        if index >= len(self.shown):
            return Strip.blank(width, self.rich_style)
        view = self.shown[index]
        style = self.rich_style + self.get_component_rich_style(self.style_name(view))
        line = Text(end="")
        # the time column is quieter, except on the lines that must stand out
        quiet = view.severity < Severity.WARNING
        time_colour = self.get_component_rich_style("event-list--time").color
        line.append(f" {view.when:<24} ", style=Style(color=time_colour) if quiet else None)
        line.append(f"{view.serial:<10} ")
        line.append(f"{(view.patient or '-'):<10} ")
        line.append(view.text)
        line.stylize_before(style)  # Text.render leaves a span-less base style out
        strip = Strip(list(line.render(self.app.console)), line.cell_len)
        return strip.crop_extend(scroll_x, scroll_x + width, style)


class AlertBanner(Static):
    """One line at the top of every data screen while falls wait for an acknowledgement:
    the oldest of them (``a`` acknowledges it) and how many more wait. Hidden when none."""

    falls: reactive[list[EventView]] = reactive(list, always_update=True)

    def watch_falls(self, falls: list[EventView]) -> None:
        self.set_class(bool(falls), "active")
        if not falls:
            self.update("")
            return
        f = falls[0]
        more = f" · {len(falls) - 1} more waiting" if len(falls) > 1 else ""
        self.update(
            f"FALL {f.when} · {f.serial} · {f.patient or 'unassigned'} · a: acknowledge{more}"
        )


class DeviceCard(Static):
    """One device: assignment, connection, battery, versions, sync, wear and gaps, and the
    holes in its sequence numbers when there are any."""

    row: reactive[DeviceRow | None] = reactive(None)
    replay_speed: float | None = None  # a device that replays recordings: its speed

    def watch_row(self, row: DeviceRow | None) -> None:
        if row is None:
            return
        for state in ("disconnected", "scanning", "connecting", "connected", "syncing"):
            self.set_class(row.state == state, f"state-{state}")
        self.set_class(row.long_gap, "long-gap")
        self.border_title = f"{row.serial} · {row.state}"
        self.border_subtitle = (
            "" if self.replay_speed is None else f"device time, replayed x{self.replay_speed:g}"
        )

    def render(self) -> Text:
        row = self.row
        if row is None:
            return Text("")
        lines = [
            ("patient", row.patient),
            ("connection", row.state),
            ("battery", row.battery),
            ("posture", row.posture),
            ("firmware", row.firmware),
            ("models", row.models),
            ("last sync", row.last_sync),
            ("wear 24 h", row.wear_24h),
            ("gaps 24 h", row.gaps_24h),
        ]
        if row.holes:  # a line only when events are missing, so most cards keep their size
            lines.append(("holes", row.holes))
        text = Text()
        for label, value in lines:
            text.append(f"{label:<11}", style="dim")
            text.append(f"{value}\n")
        if row.long_gap and row.silent_hours is not None:
            text.append(f"DATA GAP: no data for {row.silent_hours:.1f} hours", style="bold")
        return text


class Chart(PlotextPlot):
    """A plotext chart whose title is kept (``shown_title``) for tests and the screens."""

    shown_title = ""

    def _title(self, plt: Any, title: str) -> None:
        self.shown_title = title
        plt.title(title)


class BurdenChart(Chart):
    """AF burden (% of analysable time) per local day."""

    days: reactive[list[tuple[str, float]]] = reactive(list, always_update=True)

    def watch_days(self, days: list[tuple[str, float]]) -> None:
        plt = self.plt
        plt.clear_figure()
        self._title(plt, "AF burden per day (%)")
        if days:
            labels = [d for d, _ in days]
            plt.bar(labels, [b for _, b in days], color="red")
            step = max(1, len(labels) // 7)
            plt.xticks(list(range(1, len(labels) + 1, step)), labels[::step])
            plt.ylim(0, max(10.0, max(b for _, b in days) * 1.1))
        else:
            self._title(plt, "AF burden per day: no data yet (no rhythm summary)")
        self.refresh()


class HeartRateChart(Chart):
    """Mean heart rate around one AF episode; onset at minute 0."""

    trace: reactive[EpisodeTrace | None] = reactive(None, always_update=True)
    position: reactive[str] = reactive("")

    def watch_trace(self, trace: EpisodeTrace | None) -> None:
        plt = self.plt
        plt.clear_figure()
        if trace is None or not trace.minutes:
            self._title(plt, "Heart rate around AF episodes: no data yet (no AF episode)")
        else:
            self._title(plt, f"HR around AF onset {trace.label} {self.position}")
            plt.plot(trace.minutes, trace.mean_bpm, marker="braille", color="cyan")
            first, last = min(trace.minutes), max(trace.minutes)
            ticks = [float(m) for m in range(int(first // 30) * 30, int(last) + 1, 30)]
            plt.xticks(ticks, [f"{m:.0f}" for m in ticks])
            plt.vertical_line(0, color="red")
            if trace.end_minute is not None:
                plt.vertical_line(trace.end_minute, color="red")
            plt.xlabel("minutes from onset")
        self.refresh()


class ActivityChart(Chart):
    """Minutes per activity class for each hour (stacked)."""

    hours: reactive[list[tuple[str, dict[str, float]]]] = reactive(list, always_update=True)

    def watch_hours(self, hours: list[tuple[str, dict[str, float]]]) -> None:
        plt = self.plt
        plt.clear_figure()
        if not hours:
            self._title(plt, "Activity minutes per hour: no data yet (no activity reported)")
            self.refresh()
            return
        self._title(plt, "Activity minutes per hour (now: the hour so far)")
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
        # Full hours are drawn on 0-60; the hour so far alone (a fresh wearer) on its own
        # scale, so its first minutes show.
        alone = len(hours) == 1
        top = max(1.0, max(sum(m.values()) for _, m in hours)) if alone else 60.0
        plt.ylim(0, top * (1 + 0.2 * len(names)))  # headroom: the legend sits above the bars
        ticks = [top * i / 4 for i in range(5)]
        plt.yticks(ticks, [f"{t:.0f}" if top >= 4 else f"{t:.1f}" for t in ticks])
        # explicit ticks: plotext's own choice depends on the size at the first render
        step = max(1, len(labels) // 8)
        plt.xticks(list(range(1, len(labels) + 1, step)), labels[::step])
        self.refresh()
