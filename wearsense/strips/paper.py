"""A strip on ECG paper at the clinical scale: 25 mm/s and 10 mm/mV, a 1 mm grid with a
5 mm grid over it, beat marks from the device's own QRS detector, and a 1 mV calibration
pulse at the start of each row. ``strip show --out`` and the PDF report draw with
``draw_page``; the terminal UI draws its own cells with ``paper_cells``.

The figures are sized in millimetres so that the printed page (PDF at 100 %, or an SVG)
has the real scale; the PNG is the same page at ``dpi``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import numpy.typing as npt

from wearsense.firmware.ecg import run_chain

MM_PER_S = 25.0
MM_PER_MV = 10.0
ROW_S = 10.0  # seconds per row on a page (250 mm)
ROW_MV = (-1.5, 2.5)  # the millivolts a row spans (40 mm)
MM_PER_INCH = 25.4
PAPER_MINOR = "#f6c8c8"
PAPER_MAJOR = "#e88a8a"


@dataclasses.dataclass(frozen=True)
class StripTrace:
    """What a drawing needs: the samples in mV, their rate, the beat times (s from the
    first sample) and a title line."""

    mv: npt.NDArray[np.float64]
    fs_hz: float
    beats_s: npt.NDArray[np.float64]
    title: str = ""

    @property
    def duration_s(self) -> float:
        return len(self.mv) / self.fs_hz

    def heart_rate_bpm(self) -> float | None:
        """The mean heart rate from the beats (None with fewer than two)."""
        if len(self.beats_s) < 2:
            return None
        return float(60.0 / np.mean(np.diff(self.beats_s)))


def beat_times(
    samples: npt.NDArray[np.int16], fs_hz: int, adc_gain: float, adc_zero: int
) -> npt.NDArray[np.float64]:
    """R peaks (s from the first sample) found by the firmware's QRS detector run over
    the strip's input samples, as the device runs it (``wearsense.firmware.ecg``)."""
    if len(samples) < fs_hz:  # the detector needs a second to start
        return np.zeros(0)
    out = run_chain(samples, fs_hz, adc_gain, adc_zero)
    times = np.asarray(out.beat_times_s(), dtype=np.float64)
    return times[(times >= 0) & (times < len(samples) / fs_hz)]


def _grid(ax: Any, width_s: float) -> None:
    lo, hi = ROW_MV
    for mm in np.arange(0, width_s * MM_PER_S + 0.01, 1.0):
        major = round(mm) % 5 == 0
        ax.axvline(mm / MM_PER_S, color=PAPER_MAJOR if major else PAPER_MINOR,
                   lw=0.6 if major else 0.25, zorder=0)  # fmt: skip
    for mm in np.arange(lo * MM_PER_MV, hi * MM_PER_MV + 0.01, 1.0):
        major = round(mm) % 5 == 0
        ax.axhline(mm / MM_PER_MV, color=PAPER_MAJOR if major else PAPER_MINOR,
                   lw=0.6 if major else 0.25, zorder=0)  # fmt: skip


def draw_rows(fig: Any, trace: StripTrace, top_mm: float, left_mm: float = 15.0) -> float:
    """Draws ``trace`` on ``fig`` in rows of ``ROW_S`` from ``top_mm`` below the top edge
    of the figure, at 25 mm/s and 10 mm/mV; returns the millimetres used."""
    width_in, height_in = fig.get_size_inches()
    fig_w, fig_h = width_in * MM_PER_INCH, height_in * MM_PER_INCH
    row_h = (ROW_MV[1] - ROW_MV[0]) * MM_PER_MV
    rows = max(1, int(np.ceil(trace.duration_s / ROW_S - 1e-9)))
    t = np.arange(len(trace.mv)) / trace.fs_hz
    gap = 4.0
    for r in range(rows):
        t0 = r * ROW_S
        y_mm = top_mm + r * (row_h + gap)
        ax = fig.add_axes(
            (left_mm / fig_w, 1 - (y_mm + row_h) / fig_h, ROW_S * MM_PER_S / fig_w, row_h / fig_h)
        )
        _grid(ax, ROW_S)
        keep = (t >= t0) & (t < t0 + ROW_S)
        ax.plot(t[keep] - t0, trace.mv[keep], color="black", lw=0.6)
        # 1 mV calibration pulse, 0.2 s wide, at the row's start
        ax.plot([0, 0.04, 0.04, 0.24, 0.24, 0.28], [0, 0, 1, 1, 0, 0], color="black", lw=0.8)
        for b in trace.beats_s[(trace.beats_s >= t0) & (trace.beats_s < t0 + ROW_S)]:
            ax.plot([b - t0], [ROW_MV[1] - 0.25], marker="v", color="#1f4e9e", ms=3)
        ax.set_xlim(0, ROW_S)
        ax.set_ylim(*ROW_MV)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.text(0.005, ROW_MV[0] + 0.1, f"{t0:.0f} s", fontsize=6, color="#555555",
                transform=ax.transData)  # fmt: skip
        for spine in ax.spines.values():
            spine.set_visible(False)
    return rows * (row_h + gap)


def page_size_mm(trace: StripTrace, header_mm: float = 30.0) -> tuple[float, float]:
    rows = max(1, int(np.ceil(trace.duration_s / ROW_S - 1e-9)))
    row_h = (ROW_MV[1] - ROW_MV[0]) * MM_PER_MV + 4.0
    return (ROW_S * MM_PER_S + 30.0, header_mm + rows * row_h + 10.0)


def draw_page(
    trace: StripTrace, lines: list[str], size_mm: tuple[float, float] | None = None
) -> Any:
    """A matplotlib Figure: ``lines`` of text on top, then the strip at clinical scale.
    ``size_mm``: the page (default: just large enough; the report passes A4 landscape)."""
    from matplotlib.figure import Figure

    w, h = size_mm or page_size_mm(trace, 12.0 + 5.0 * len(lines))
    fig = Figure(figsize=(w / MM_PER_INCH, h / MM_PER_INCH))
    for i, line in enumerate(lines):
        fig.text(15.0 / w, 1 - (10.0 + 5.0 * i) / h, line, fontsize=8 if i else 10,
                 weight="bold" if i == 0 else "normal", va="top")  # fmt: skip
    top = 14.0 + 5.0 * len(lines)
    draw_rows(fig, trace, top)
    fig.text(15.0 / w, 4.0 / h, "25 mm/s, 10 mm/mV; v: beat (device QRS detector)",
             fontsize=6, color="#555555")  # fmt: skip
    return fig


def paper_cells(
    trace: StripTrace, start_s: float, cols: int, rows: int
) -> tuple[list[list[int]], list[int], list[int]]:
    """The strip from ``start_s`` in a terminal of ``cols`` x ``rows`` cells as braille
    dots: one cell is 1 mm wide (40 ms, 2 dots) and 2 mm high (0.2 mV, 4 dots), so a
    5 mm square is 5 x 2.5 cells. Returns (per row, per column: the braille dot bits),
    the columns where a 5 mm (0.2 s) line runs, the rows a 5 mm (0.5 mV) line crosses.
    The trace is centred on the strip's median; dots of one column are joined so that a
    steep QRS stays a line."""
    dots_x, dots_y = cols * 2, rows * 4
    s_per_dot = 1.0 / MM_PER_S / 2  # 20 ms
    mv_per_dot = 2.0 / MM_PER_MV / 4  # 0.05 mV
    cells = [[0] * cols for _ in range(rows)]
    centre = float(np.median(trace.mv)) if len(trace.mv) else 0.0
    mid = dots_y / 2
    prev: int | None = None
    bits = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
    for dx in range(dots_x):
        a = int((start_s + dx * s_per_dot) * trace.fs_hz)
        b = int((start_s + (dx + 1) * s_per_dot) * trace.fs_hz)
        if a >= len(trace.mv) or b <= 0:
            prev = None
            continue
        seg = trace.mv[max(a, 0) : max(b, a + 1)]
        ys = [int(round(mid - (v - centre) / mv_per_dot)) for v in (seg.min(), seg.max())]
        lo, hi = min(ys), max(ys)
        if prev is not None:
            lo, hi = min(lo, prev), max(hi, prev)
        prev = ys[0] if seg.argmax() < seg.argmin() else ys[1]
        for dy in range(max(lo, 0), min(hi, dots_y - 1) + 1):
            cells[dy // 4][dx // 2] |= bits[dy % 4][dx % 2]
    first_mm = start_s * MM_PER_S
    major_cols = [c for c in range(cols) if round(first_mm + c) % 5 == 0]
    major_rows = sorted({int((mid - k * 10) // 4) for k in range(-rows, rows + 1)
                         if 0 <= mid - k * 10 < dots_y})  # fmt: skip
    return cells, major_cols, major_rows
