"""Writes an SVG screenshot of every screen of the terminal UI to docs/screenshots/.

The screens show the synthetic example store (tui.example: two patients, three
devices, one day with an AF episode, a cancelled and a real fall, a data gap and a
silent device) with the example link and a fixed clock, so the images come out the same
each time. Run: .venv/bin/python tools/tui_screenshots.py [--out DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tui.app import WearSenseApp  # noqa: E402
from tui.example import NOW, SCREENS, deliver_fall, example_link, fill  # noqa: E402

SIZE = (120, 40)


async def shoot(name: str, keys: tuple[str, ...], fall: bool, out: Path, work: Path) -> Path:
    db = work / f"{name}.db"
    fill(db).close()
    link = example_link()
    app = WearSenseApp(db, link, clock=lambda: float(NOW), poll_s=0, refresh_s=0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
        if fall:
            deliver_fall(db, link)
        await pilot.pause()
        return Path(app.save_screenshot(f"{name}.svg", str(out)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        for name, keys, fall in SCREENS:
            path = asyncio.run(shoot(name, keys, fall, args.out, Path(work)))
            print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
