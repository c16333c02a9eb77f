"""The terminal UI's Strips screen: lists the strips, draws the selected one on ECG paper
with beat marks, shows its time and verdicts, records a review with a / n / u, and fits
80x24 and 160x48."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tui.app import WearSenseApp
from tui.example import NOW, add_strips, example_link, fill
from tui.screens.strips import EcgPaper
from wearsense.store import Store
from wearsense.store import strips as st
from wearsense.strips.paper import StripTrace, paper_cells


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "ws.db"
    store = fill(path)
    add_strips(store)
    store.close()
    return path


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_strip_screen_draws_paper_and_records_reviews(db: Path, size: tuple[int, int]) -> None:
    asyncio.run(_strip_screen(db, size))
    with Store(db) as store:
        review = st.get_strip(store, ("SN-0001", 1, 1)).review
        assert review is not None and review.verdict == st.Verdict.NOT_AF


async def _strip_screen(db: Path, size: tuple[int, int]) -> None:
    app = WearSenseApp(db, example_link(), clock=lambda: float(NOW), poll_s=0, refresh_s=0)
    async with app.run_test(size=size) as pilot:
        await pilot.press("6")
        await pilot.pause()
        paper = app.screen.query_one(EcgPaper)
        assert paper.trace is not None and paper.size.height >= 5
        assert paper.region.bottom <= size[1] and paper.region.right <= size[0]
        text = paper.render().plain
        rows = text.split("\n")
        assert "▼" in rows[0]  # beat marks on the top line
        assert sum(ch != " " for ch in "".join(rows[1:])) > size[0] // 2  # the trace
        info = str(app.screen.query_one("#strip-info").render())
        assert "AF onset" in info and "not reviewed" in info and "2024-03-01" in info
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("right")
        await pilot.pause()
        assert paper.start_s > 0


def test_paper_cells_scale_and_grid() -> None:
    import numpy as np

    fs = 250.0
    mv = np.zeros(int(10 * fs))
    mv[int(1.0 * fs)] = 1.0  # a 1 mV spike at 1.0 s
    cells, cols, rows = paper_cells(StripTrace(mv, fs, np.zeros(0)), 0.0, 50, 10)
    assert cols == [0, 5, 10, 15, 20, 25, 30, 35, 40, 45]  # 5 mm = 5 cells of 1 mm
    spike_cols = [c for c in range(50) if len({row[c] for row in cells} - {0}) > 0 and
                  sum(bin(row[c]).count("1") for row in cells) > 4]  # fmt: skip
    assert spike_cols == [25]  # 1.0 s at 25 mm/s
    lit = [r for r in range(10) if cells[r][25]]
    assert len(lit) == 6  # 10 mm/mV: 1 mV is 5 cells of 2 mm above the baseline (+1)
    assert rows  # the 5 mm (0.5 mV) lines
