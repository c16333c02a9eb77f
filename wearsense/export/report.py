"""The clinical summary: one page (PNG) of AF burden per day, activity per day, wear time
and falls per day, a table of AF episodes and the totals; the PDF holds the same page
followed by the full episode and fall lists when they do not fit, and one page per ECG
strip at clinical scale. Drawn with matplotlib
(Agg backend, no display needed); every figure comes from ``wearsense.store.derived``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from wearsense.export.common import ExportData, atomic_path, paused_gc
from wearsense.store import derived
from wearsense.store.strips import REASONS
from wearsense.strips.paper import StripTrace, beat_times, draw_page

TABLE_ROWS = 12
ROWS_PER_PAGE = 40
DISCLAIMER = "WearSense - research software, not a medical device"


@dataclass(frozen=True)
class Summary:
    """The figures the report shows, per local day and in total."""

    days: list[date]
    burden: dict[date, derived.AfBurdenDay]
    activity: dict[date, dict[str, float]]
    wear_s: dict[date, float]
    episodes: list[derived.AfEpisode]
    falls: list[derived.FallRecord]
    gaps: list[derived.DataGap]

    @property
    def af_burden(self) -> float | None:
        af = sum(d.af_s for d in self.burden.values())
        analysable = sum(d.analysable_s for d in self.burden.values())
        return af / analysable if analysable else None


def summarize(data: ExportData) -> Summary:
    tz = data.tz
    events = data.events
    covered = derived.covered_intervals(events)
    streams = derived.device_streams(events)
    return Summary(
        days=data.days(),
        burden={d.day: d for d in derived.af_burden_per_day(events, tz)},
        activity=derived.activity_minutes_per_day(events, tz),
        wear_s=derived.wear_time_per_day(events, tz, covered),
        episodes=derived.af_episodes(events, end_utc=data.end_utc, streams=streams),
        falls=derived.falls(events, end_utc=data.end_utc, streams=streams),
        gaps=derived.data_gaps(
            events, start_utc=data.start_utc, end_utc=data.end_utc, covered=covered
        ),
    )


def _episode_rows(data: ExportData, episodes: list[derived.AfEpisode]) -> list[list[str]]:
    rows = []
    for ep in episodes:
        end = data.local(ep.end_utc).strftime("%Y-%m-%d %H:%M") if ep.end_utc else "open"
        if ep.inferred_end:
            end += " *"  # the store closed it (the key under the table says how)
        minutes = f"{ep.duration_s / 60:.1f}" if ep.duration_s is not None else "-"
        rows.append(
            [
                data.local(ep.start_utc).strftime("%Y-%m-%d %H:%M"),
                end,
                minutes,
                str(ep.onset_hr_bpm or "-"),
                str(ep.mean_hr_bpm or "-"),
                ep.serial,
                str(ep.model_version) if ep.model_version else "-",
                ep.status,
            ]
        )
    return rows


EPISODE_HEADER = ["start", "end", "min", "onset HR", "mean HR", "device", "model", "status"]
FALL_HEADER = ["time", "impact (g)", "confidence", "status", "model"]
INFERRED_NOTE = "* no AF end event: closed by the store (status says how)"


def table_text(header: list[str], rows: list[list[str]]) -> str:
    """A table as fixed-width lines: the header, a rule, one line per row, each column
    as wide as its widest cell."""
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def _table(ax: Any, header: list[str], rows: list[list[str]], title: str) -> None:
    """One monospaced text block, not matplotlib's cell table: a page of 40 rows drew
    330 cells, each a patch and a text laid out alone (1.4 s of a year's report)."""
    ax.axis("off")
    ax.set_title(title, loc="left", fontsize=10)
    if not rows:
        ax.text(0, 0.5, "none", fontsize=9)
        return
    ax.text(
        0,
        1,
        table_text(header, rows),
        family="monospace",
        fontsize=7,
        va="top",
        linespacing=1.5,
        transform=ax.transAxes,
    )


def _bars(
    ax: Any,
    x: list[int],
    heights: list[float],
    bottom: list[float] | None,
    color: str,
    label: str | None = None,
) -> None:
    """``ax.bar(x, heights, bottom=bottom, color=color, label=label)`` drawn the same way
    (rectangles 0.8 wide, centred, no edge, sticky at their base) as one path of one
    rectangle per bar: a year of days is 366 bars a series, and a backend draws a path
    collection of distinct rectangles one path at a time (the PDF's main page: 3 774
    paths, 0.3 s), where one compound path is one fill."""
    import numpy as np
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    n = len(x)
    base = np.zeros(n) if bottom is None else np.asarray(bottom, dtype=float)
    left = np.asarray(x, dtype=float) - 0.4
    top = base + np.asarray(heights, dtype=float)
    verts = np.empty((n, 5, 2))
    verts[:, 0] = np.column_stack([left, base])
    verts[:, 1] = np.column_stack([left + 0.8, base])
    verts[:, 2] = np.column_stack([left + 0.8, top])
    verts[:, 3] = np.column_stack([left, top])
    verts[:, 4] = verts[:, 0]
    codes = np.tile(
        [MplPath.MOVETO, MplPath.LINETO, MplPath.LINETO, MplPath.LINETO, MplPath.CLOSEPOLY], n
    )
    bars = PathPatch(
        MplPath(verts.reshape(-1, 2), codes),
        facecolor=color,
        edgecolor="none",
        linewidth=0,
        label=label,
        snap=True,  # to whole pixels, as a single bar is: thin bars stay solid in the PNG
    )
    bars.sticky_edges.y.extend(base.tolist())
    # add_patch would find the data limits segment by segment in Python (0.3 s a page):
    # the corners of all the rectangles give the same limits
    ax.add_artist(bars)
    if n:
        ax.update_datalim([(left.min(), min(base.min(), top.min())), (left.max() + 0.8, top.max())])
        ax.autoscale_view()


def summary_lines(s: Summary) -> list[str]:
    """The totals under the page's table, worded."""
    total_wear = sum(s.wear_s.values()) / 3600
    burden_total = s.af_burden
    confirmed = sum(1 for f in s.falls if not f.cancelled)
    gap_line = f"Data gaps of {derived.DEFAULT_GAP_HOURS:g} h or more: {len(s.gaps) or 'none'}"
    if s.gaps:
        longest = max(g.hours for g in s.gaps)
        gap_line += f" (longest: no data for {longest:.1f} hours)"
    return [
        f"Overall AF burden: {burden_total * 100:.1f} %"
        if burden_total is not None
        else "Overall AF burden: no analysable ECG",
        f"AF episodes: {len(s.episodes)}   Falls: {confirmed} confirmed, "
        f"{len(s.falls) - confirmed} cancelled by the wearer",
        f"Wear time: {total_wear:.1f} h over {len(s.days)} days   {gap_line}",
        *([INFERRED_NOTE] if any(ep.inferred_end for ep in s.episodes) else []),
        DISCLAIMER,
    ]


def _main_page(data: ExportData, s: Summary) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.27, 11.69))  # A4 portrait
    grid = fig.add_gridspec(
        5, 1, height_ratios=[1, 1, 1, 1.5, 0.6], hspace=0.55, top=0.93, bottom=0.04
    )
    first, last = s.days[0], s.days[-1]
    fig.suptitle(
        f"Patient {data.patient_label}: {first} to {last} ({data.timezone_name})"
        + (" - de-identified, dates shifted" if data.deidentified else ""),
        fontsize=11,
    )
    x = list(range(len(s.days)))
    labels = [d.isoformat()[5:] for d in s.days]
    step = max(1, len(s.days) // 12)

    def axis(ax: Any, ylabel: str) -> None:
        ax.set_ylabel(ylabel, fontsize=8)
        ax.set_xticks(x[::step])
        ax.set_xticklabels(labels[::step], fontsize=7, rotation=0)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_xlim(-0.6, len(s.days) - 0.4)

    ax = fig.add_subplot(grid[0])
    burden = [(s.burden[d].burden or 0) * 100 if d in s.burden else 0 for d in s.days]
    _bars(ax, x, burden, None, "#b03a2e")
    ax.set_title("AF burden per day (AF / analysable time)", loc="left", fontsize=10)
    axis(ax, "%")

    ax = fig.add_subplot(grid[1])
    bottom = [0.0] * len(s.days)
    colors = [
        "#1f77b4",
        "#ff7f0e",
        "#2ca02c",
        "#9467bd",
        "#8c564b",
        "#7f7f7f",
        "#bcbd22",
        "#17becf",
    ]
    for name, color in zip(derived.ACTIVITY_NAMES, colors, strict=True):
        values = [s.activity.get(d, {}).get(name, 0.0) for d in s.days]
        if any(values):
            _bars(ax, x, values, bottom, color, name)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_title("Activity minutes per day", loc="left", fontsize=10)
    if any(bottom):
        ax.set_ylim(0, max(bottom) * 1.3)
        ax.legend(fontsize=6, ncol=8, loc="upper left", frameon=False)
    axis(ax, "min")

    ax = fig.add_subplot(grid[2])
    wear = [s.wear_s.get(d, 0.0) / 3600 for d in s.days]
    _bars(ax, x, wear, None, "#5d6d7e", "wear time")
    falls_by_day: dict[date, list[int]] = {}
    for f in s.falls:
        falls_by_day.setdefault(data.local(f.utc).date(), [0, 0])[int(f.cancelled)] += 1
    for i, d in enumerate(s.days):
        confirmed, cancelled = falls_by_day.get(d, [0, 0])
        if confirmed:
            ax.plot([i], [wear[i] + 1], marker="v", color="#c0392b", markersize=7)
            ax.annotate(str(confirmed), (i, wear[i] + 2.2), fontsize=7, ha="center")
        elif cancelled:
            ax.plot([i], [wear[i] + 1], marker="v", color="#aab7b8", markersize=6)
    ax.set_ylim(0, 27)
    ax.set_title(
        "Wear time per day (h); falls: red = confirmed, grey = cancelled", loc="left", fontsize=10
    )
    axis(ax, "h")

    ax = fig.add_subplot(grid[3])
    rows = _episode_rows(data, s.episodes)
    more = f" (first {TABLE_ROWS} of {len(rows)}; all in the PDF)" if len(rows) > TABLE_ROWS else ""
    _table(ax, EPISODE_HEADER, rows[:TABLE_ROWS], f"AF episodes{more}")

    ax = fig.add_subplot(grid[4])
    ax.axis("off")
    lines = summary_lines(s)
    for i, line in enumerate(lines):
        ax.text(
            0,
            1 - i * 0.2,
            line,
            fontsize=8,
            va="top",
            style="italic" if line == DISCLAIMER else "normal",
        )
    return fig


def _fall_rows(data: ExportData, falls: list[derived.FallRecord]) -> list[list[str]]:
    """Time, impact in g (the event reports milli-g), confidence, status, model."""
    return [
        [
            data.local(f.utc).strftime("%Y-%m-%d %H:%M:%S"),
            f"{f.impact_g:.2f}",
            str(f.confidence),
            "cancelled" if f.cancelled else "confirmed",
            str(f.model_version) if f.model_version else "-",
        ]
        for f in falls
    ]


def _list_pages(data: ExportData, s: Summary) -> list[Any]:
    from matplotlib.figure import Figure

    pages = []
    episode_rows = _episode_rows(data, s.episodes)
    fall_rows = _fall_rows(data, s.falls)
    for title, header, rows in (
        ("AF episodes", EPISODE_HEADER, episode_rows if len(episode_rows) > TABLE_ROWS else []),
        ("Falls", FALL_HEADER, fall_rows),
    ):
        for start in range(0, len(rows), ROWS_PER_PAGE):
            fig = Figure(figsize=(8.27, 11.69))
            ax = fig.add_subplot(1, 1, 1)
            _table(
                ax,
                header,
                rows[start : start + ROWS_PER_PAGE],
                f"{title} ({start + 1}-{min(len(rows), start + ROWS_PER_PAGE)} of {len(rows)})",
            )
            pages.append(fig)
    return pages


A4_LANDSCAPE_MM = (297.0, 210.0)


def strip_pages(data: ExportData) -> list[Any]:
    """One A4 landscape page per stored strip at clinical scale (25 mm/s, 10 mm/mV; the
    PDF printed at 100 %): time, reason, the device's verdict, heart rate, reviews."""
    pages = []
    for strip in data.strips:
        img = strip.image
        assert strip.start_utc is not None
        trace = StripTrace(
            strip.millivolts(),
            float(img.fs_hz),
            beat_times(img.samples, img.fs_hz, img.adc_gain, img.adc_zero),
        )
        hr = trace.heart_rate_bpm()
        review = strip.review
        verdict = (
            f"{review.verdict.value} by {review.reviewer}, "
            f"{data.local(review.reviewed_utc).strftime('%Y-%m-%d %H:%M')}"
            if review
            else "not reviewed"
        )
        lines = [
            f"ECG strip {img.strip_id} - {data.patient_label} - {strip.serial}",
            f"{data.local(strip.start_utc).strftime('%Y-%m-%d %H:%M:%S %Z')}   "
            f"{REASONS.get(img.reason, img.reason)}   {strip.duration_s:.0f} s   "
            f"HR {f'{hr:.0f} bpm' if hr else '-'}   review: {verdict}",
            DISCLAIMER,
        ]
        pages.append(draw_page(trace, lines, A4_LANDSCAPE_MM))
    return pages


def write_report(data: ExportData, destination: str | Path) -> list[Path]:
    """Writes DEST.pdf and DEST.png (DEST without suffix, or with .pdf/.png; a directory
    gets LABEL-summary.pdf and .png)."""
    from matplotlib.backends.backend_pdf import PdfPages

    base = Path(destination)
    if base.is_dir():
        base = base / f"{data.patient_label}-summary"
    if base.suffix.lower() in (".pdf", ".png"):
        base = base.with_suffix("")
    png, pdf = base.with_name(base.name + ".png"), base.with_name(base.name + ".pdf")
    with paused_gc():
        summary = summarize(data)
        page = _main_page(data, summary)
        with atomic_path(png) as tmp:
            page.savefig(tmp, format="png", dpi=110)
        with _pdf_fonts(data), atomic_path(pdf) as tmp, PdfPages(tmp) as document:
            document.savefig(page)
            for extra in _list_pages(data, summary):
                document.savefig(extra)
            for strip_page in strip_pages(data):
                document.savefig(strip_page)
    return [pdf, png]


@contextmanager
def _pdf_fonts(data: ExportData) -> Iterator[None]:
    """The PDF in the reader's own Helvetica and Courier (the 14 standard PDF fonts): no
    font embedded, no glyph laid out one by one, a tenth of the time of the page lists.
    Those fonts cover Latin-1 only, so a report whose patient label (the only free text it
    prints) is not ASCII keeps the embedded fonts."""
    import matplotlib

    if not (data.patient_label.isascii() and data.timezone_name.isascii()):
        yield
        return
    fonts = logging.getLogger("matplotlib.font_manager")
    level = fonts.level
    fonts.setLevel(logging.ERROR)  # "Helvetica: no weight normal, using medium", harmless
    try:
        with matplotlib.rc_context({"pdf.use14corefonts": True}):
            yield
    finally:
        fonts.setLevel(level)
