"""`wearsense demo`: the main job (`make demo`).

Runs the emulated wearable (the firmware's C device core behind a Bumble GATT server), the
companion's BLE session on bleak (through the Bumble backend, over a virtual link in this
process) storing into SQLite, and the terminal UI following both. Press `q` to quit: the
session stops, acknowledges what it stored and the store is closed cleanly.

What the wearable sends today comes from its device core only (status pages at boot and
after each time sync). The detectors that turn replayed recordings into AF, fall and
activity events are not built yet, so none of those events appear; nothing is scripted.

`--check SECONDS` runs the same wiring headless for that long and prints what reached the
screen and when (for tests and for timing).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SERIAL = "WS-DEMO0001"
PATIENT = "demo-patient"
MISSING = (
    "not built yet: the detectors that turn replayed ECG and IMU recordings into AF, fall "
    "and activity events (issue 9), and model updates over BLE (issue 12); until then the "
    "wearable sends only what its device core produces (status pages)"
)


async def _run(folder: Path, check_s: float | None) -> int:
    from tui.app import WearSenseApp
    from tui.link import SessionLink
    from wearsense.firmware.device import DeviceCore
    from wearsense.link.loopback import Loopback
    from wearsense.store import Store, StoreError

    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "demo.db"
    flash = folder / "wearable.flash"
    core = DeviceCore.from_file(SERIAL, flash) if flash.exists() else DeviceCore(SERIAL)
    started = time.perf_counter()
    loop = await Loopback.open(core, folder)
    store = Store(db)
    try:
        if not any(p.pseudonym == PATIENT for p in store.patients()):
            store.add_patient(PATIENT, "UTC")
            store.assign(SERIAL, PATIENT, start_utc=time.time() - 60)
    except StoreError as exc:
        print(f"error: {exc}")
        return 1
    link = SessionLink(serial_hint=SERIAL)
    session = loop.session(store, on_state=link.on_state, on_stored=link.on_stored)
    link.follow(session)
    app = WearSenseApp(db, link, poll_s=0)
    task = asyncio.create_task(session.run())
    try:
        if check_s is None:
            await app.run_async()
            return 0
        async with app.run_test(size=(120, 40)):
            await session.wait_streaming(30)
            streaming = time.perf_counter() - started
            deadline = asyncio.get_running_loop().time() + check_s
            while asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.1)
        # printed after the app has let go of the terminal (Textual captures stdout)
        print(
            f"companion streaming {streaming:.2f} s after start; "
            f"events stored: {store.count_events()}"
        )
        return 0
    finally:
        await session.stop()
        await task
        core.save_flash(flash)
        store.close()
        await loop.close()


def run(args: argparse.Namespace) -> int:
    print("WearSense demo: research software, not a medical device.")
    print(f"Running: emulated wearable + companion over BLE (Bumble) + terminal UI. {MISSING}.")
    return asyncio.run(_run(Path(args.folder), args.check))


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the main job: emulated wearable, companion and terminal UI (see --help)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--folder",
        default=str(REPO / "build" / "demo"),
        help="where the demo keeps its store, the wearable's flash and the bonds "
        "(default: build/demo)",
    )
    parser.add_argument(
        "--check",
        type=float,
        metavar="SECONDS",
        help="run headless for SECONDS and print what happened, instead of the interactive UI",
    )
    parser.set_defaults(handler=run)
