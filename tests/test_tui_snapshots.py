"""Snapshot tests of every screen (pytest-textual-snapshot): the example store, the
example link and a fixed clock give the same screen every time. After an intended change
of the UI, look at the new SVGs and accept them with `pytest --snapshot-update`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tui.app import WearSenseApp
from tui.example import NOW, SCREENS, deliver_fall, example_link, fill

SIZE = (120, 40)


@pytest.mark.parametrize(("name", "keys", "fall"), SCREENS, ids=[s[0] for s in SCREENS])
def test_screen_snapshot(
    name: str, keys: tuple[str, ...], fall: bool, tmp_path: Path, snap_compare: Callable[..., Any]
) -> None:
    db = tmp_path / "ws.db"
    fill(db).close()
    link = example_link()
    app = WearSenseApp(db, link, clock=lambda: float(NOW), poll_s=0, refresh_s=0)

    async def before(pilot: Pilot[None]) -> None:
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
        if fall:
            deliver_fall(db, link)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=before)
