"""Writes an SVG screenshot of every screen of the terminal UI to docs/screenshots/.

The screens show the synthetic example store (tui.example: two patients, three
devices, one day with an AF episode, a cancelled and a real fall, a data gap and a
silent device) with the example link and a fixed clock, so the images come out the same
each time. Run: .venv/bin/python tools/tui_screenshots.py [--out DIR]

`updates_push.svg` is the one real exception: the Updates screen of the demo's wiring after
an actual push (the shipped AFib model re-packaged as version 2, DEV-signed) to the whole
emulated wearable over a Bumble LocalLink; its times change from run to run.

`demo_80x24.svg` (the Events screen) and `demo_160x48.svg` (the Devices screen) are the
demo itself (`wearsense demo --check`, fresh folder, 10x) at those terminal sizes, taken
once every detector's event is on screen and the fall alert was put off (the fall waits in
the banner); they too change from run to run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
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


async def shoot_push(out: Path, work: Path) -> Path:
    """The Updates screen after a real push over the companion's session (see above)."""
    import json

    from textual.widgets import Input, Static

    from tui.companion import CompanionActions
    from tui.link import SessionLink
    from wearsense.companion import Companion
    from wearsense.emulator.updatable_device import UpdatableWearable
    from wearsense.store import Store
    from wearsense.testing.loopback import Loopback
    from wearsense.updates import package as pkg
    from wearsense.updates.keys import dev_signing_key
    from wearsense.updates.registry import Registry
    from wearsense.updates.rollout import ModelStatusWatcher

    afib = ROOT / "models" / "afib"
    raw = bytearray((afib / "afib.wspkg").read_bytes())
    newer = pkg.parse(bytes(raw)).header.model_version + 1  # an update of the factory model
    raw[8:10] = newer.to_bytes(2, "little")
    v2 = work / f"afib-v{newer}.wspkg"
    v2.write_bytes(pkg.sign(bytes(raw), dev_signing_key()))
    shipped = json.loads((afib / "metrics.json").read_text())
    (work / "metrics.json").write_text(json.dumps({**shipped, "macro_f1": shipped["macro_f1"]}))
    with Registry(work / "updates.db") as registry:
        registry.add((afib / "afib.wspkg").read_bytes(), metrics=shipped)
    core = UpdatableWearable("WS-DEMO0001")
    core.provision((afib / "afib.wspkg").read_bytes())
    loop = await Loopback.open(core, work)
    store = Store(work / "push.db")
    link = SessionLink(serial_hint="WS-DEMO0001")
    watcher = ModelStatusWatcher()

    def on_stored(*args: object) -> None:
        link.on_stored(*args)  # type: ignore[arg-type]
        watcher.on_stored(*args)  # type: ignore[arg-type]

    session = loop.session(store, on_state=link.on_state, on_stored=on_stored)
    link.follow(session)
    pusher = CompanionActions(Companion(store, session, watcher, registry_path=work / "updates.db"))
    app = WearSenseApp(work / "push.db", link, poll_s=0, refresh_s=0, pusher=pusher)
    task = asyncio.create_task(session.run())
    cwd = Path.cwd()
    os.chdir(work)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await session.wait_streaming(20)
            await pilot.press("4")
            # The field names the package relative to the working folder (no machine path
            # in the image).
            app.screen.query_one("#push-path", Input).value = v2.name
            await pilot.pause()
            await pilot.click("#push-button")
            outcome = app.screen.query_one("#push-outcome", Static)
            for _ in range(600):
                if outcome.has_class("ok") or outcome.has_class("failed"):
                    break
                await asyncio.sleep(0.05)
            await pilot.pause(0.3)
            return Path(app.save_screenshot("updates_push.svg", str(out)))
    finally:
        os.chdir(cwd)
        await session.stop()
        await task
        store.close()
        await loop.close()


STRIP_SHOTS = {"strip_160x48.svg": (160, 48), "strip_80x24.svg": (80, 24)}


async def shoot_strip(name: str, out: Path, work: Path) -> Path:
    """The Strips screen (key 6) on the example store with its AF-onset strip."""
    from tui.example import add_strips

    db = work / f"{name}.db"
    store = fill(db)
    add_strips(store)
    store.close()
    app = WearSenseApp(db, example_link(), clock=lambda: float(NOW), poll_s=0, refresh_s=0)
    async with app.run_test(size=STRIP_SHOTS[name]) as pilot:
        await pilot.pause()
        await pilot.press("6")
        await pilot.pause()
        return Path(app.save_screenshot(name, str(out)))


DEMO_SHOTS = {"demo_80x24.svg": ((80, 24), "2"), "demo_160x48.svg": ((160, 48), "1")}


def shoot_demo(name: str, out: Path, work: Path) -> Path:
    """The running demo at one terminal size (see above)."""
    from wearsense.cli import main as cli

    (cols, rows), keys = DEMO_SHOTS[name]
    path = out / name
    folder = work / name
    code = cli(
        [
            "demo",
            "--folder",
            str(folder),
            "--check",
            "60",
            "--size",
            f"{cols}x{rows}",
            "--screenshot",
            str(path),
            "--screenshot-keys",
            keys,
        ]
    )
    if code != 0:
        raise SystemExit(f"the demo's check failed ({code}): no {name}")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument(
        "--no-push", action="store_true", help="skip updates_push.svg (a real push over BLE)"
    )
    parser.add_argument(
        "--no-demo", action="store_true", help="skip demo_*.svg (the demo, about 10 s each)"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        for name, keys, fall in SCREENS:
            path = asyncio.run(shoot(name, keys, fall, args.out, Path(work)))
            print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        for name in STRIP_SHOTS:
            path = asyncio.run(shoot_strip(name, args.out, Path(work)))
            print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        if not args.no_push:
            push_work = Path(work) / "push"
            push_work.mkdir()
            path = asyncio.run(shoot_push(args.out.resolve(), push_work))
            print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        if not args.no_demo:
            for name in DEMO_SHOTS:
                path = shoot_demo(name, args.out.resolve(), Path(work))
                print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
