"""ECG strips: the strips the devices announced and those stored (newest first), and the
selected one drawn on ECG paper (25 mm/s, 10 mm/mV: one cell is 1 mm by 2 mm, the 5 mm
lines shaded) with the device's beat marks, its time, the device's verdict and the
clinician's review. ``a`` / ``n`` / ``u`` review it (confirmed AF / not AF / unreadable,
as $USER); ``left`` / ``right`` move along the strip."""

from __future__ import annotations

import os
from typing import Any

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Header, Static

from tui.screens.base import DataScreen
from tui.widgets import AlertBanner
from wearsense.export.strip_summary import describe, local, strip_trace
from wearsense.store import StoreError
from wearsense.store import strips as st
from wearsense.strips.paper import MM_PER_S, StripTrace, paper_cells

PAPER = Style(color="rgb(20,20,20)", bgcolor="rgb(255,226,226)")
PAPER_MAJOR = Style(color="rgb(20,20,20)", bgcolor="rgb(246,186,186)")
BEAT = Style(color="rgb(31,78,158)", bgcolor="rgb(255,226,226)", bold=True)


class EcgPaper(Widget):
    """A strip on ECG paper in braille dots; the top line carries the beat marks."""

    DEFAULT_CSS = "EcgPaper { height: 1fr; }"
    trace: reactive[StripTrace | None] = reactive(None, always_update=True)
    start_s: reactive[float] = reactive(0.0)

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        trace = self.trace
        if trace is None or width < 4 or height < 3:
            return Text("no stored strip selected (`wearsense strip get ID` fetches one)")
        cells, major_cols, major_rows = paper_cells(trace, self.start_s, width, height - 1)
        majors_c, majors_r = set(major_cols), set(major_rows)
        out = Text(no_wrap=True, overflow="crop")
        marks = [" "] * width
        for b in trace.beats_s:
            col = int((b - self.start_s) * MM_PER_S)
            if 0 <= col < width:
                marks[col] = "▼"
        for c, ch in enumerate(marks):
            out.append(ch, BEAT if ch != " " else (PAPER_MAJOR if c in majors_c else PAPER))
        for r, row in enumerate(cells):
            out.append("\n")
            for c, bits in enumerate(row):
                style = PAPER_MAJOR if (c in majors_c or r in majors_r) else PAPER
                out.append(chr(0x2800 + bits) if bits else " ", style)
        return out


class StripsScreen(DataScreen):
    BINDINGS = [
        # not in the footer (full at 80 columns): the strip's info line names them
        Binding("a", "review('confirmed_af')", "Review: confirmed AF", show=False),
        Binding("n", "review('not_af')", "Review: not AF", show=False),
        Binding("u", "review('unreadable')", "Review: unreadable", show=False),
        Binding("left", "move(-1)", "Earlier", show=False),
        Binding("right", "move(1)", "Later", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._entries: list[st.StripEntry] = []
        self._shown: st.StripKey | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield AlertBanner(id="alert-banner")
        yield DataTable(id="strip-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="strip-info")
        yield EcgPaper(id="strip-paper")
        yield Footer(compact=True)

    def setup(self) -> None:
        table = self.query_one("#strip-table", DataTable)
        table.add_columns("time", "patient", "device", "#", "reason", "state", "review")

    def reload(self) -> None:
        store = self.wearsense.view.store
        self._entries = list(reversed(st.list_strips(store)))
        table = self.query_one("#strip-table", DataTable)
        row = table.cursor_row
        table.clear()
        for e in self._entries:
            tz = store.patient(e.patient).timezone if e.patient else "UTC"
            table.add_row(
                local(e.utc, tz),
                e.patient or "-",
                e.serial,
                str(e.strip_id),
                e.reason_text,
                e.state,
                e.review.verdict.value if e.review else "-",
                key="/".join(map(str, e.key)),
            )
        if self._entries:
            table.move_cursor(row=min(max(row, 0), len(self._entries) - 1))
        self._draw()

    def on_data_table_row_highlighted(self, _event: Any) -> None:
        self._draw()

    def _selected(self) -> st.StripEntry | None:
        row = self.query_one("#strip-table", DataTable).cursor_row
        return self._entries[row] if 0 <= row < len(self._entries) else None

    def _draw(self) -> None:
        info = self.query_one("#strip-info", Static)
        paper = self.query_one("#strip-paper", EcgPaper)
        entry = self._selected()
        if entry is None:
            info.update("No strips yet: a device announces one with each AF onset and recording.")
            paper.trace = None
            return
        if not entry.stored:
            info.update(
                f"#{entry.strip_id} {entry.reason_text} on {entry.serial}: still on the device "
                f"(`wearsense strip get {entry.strip_id} --serial {entry.serial}`)"
            )
            paper.trace = None
            return
        store = self.wearsense.view.store
        strip = st.get_strip(store, entry.key)
        trace = strip_trace(strip)
        lines = describe(store, strip, trace)
        review = lines[-1 - max(0, len(strip.reviews) - 1)].split(None, 1)[1]
        info.update(
            f"{lines[0]} · {lines[1].split(None, 1)[1]} · {lines[2].split(None, 1)[1]}\n"
            f"{lines[3].split(None, 1)[1]} · {lines[4].split(None, 1)[1]} · "
            f"{strip.duration_s:.0f} s · review: {review}\n"
            "25 mm/s, 10 mm/mV (cell 1 x 2 mm) · ▼ beat · ←/→ move · a/n/u review"
        )
        if entry.key != self._shown:
            self._shown = entry.key
            paper.start_s = 0.0
        paper.trace = trace

    def action_move(self, step: int) -> None:
        paper = self.query_one("#strip-paper", EcgPaper)
        if paper.trace is None:
            return
        page = max(1.0, paper.size.width / MM_PER_S * 0.8)
        last = max(0.0, paper.trace.duration_s - paper.size.width / MM_PER_S)
        paper.start_s = min(max(0.0, paper.start_s + step * page), last)

    def action_review(self, verdict: str) -> None:
        entry = self._selected()
        if entry is None or not entry.stored:
            self.notify("Only a stored strip can be reviewed.", severity="warning")
            return
        reviewer = os.environ.get("USER") or "tui"
        try:
            st.review_strip(self.wearsense.view.store, entry.key, verdict, reviewer)
        except StoreError as exc:
            self.notify(str(exc), severity="error")
            return
        self.notify(f"Strip #{entry.strip_id}: {verdict} ({reviewer})", timeout=3)
        self.wearsense.data_changed()
