"""The terminal UI against the real link: the whole emulated wearable (device core,
detectors and model store behind a Bumble GATT server) and the companion's session on bleak
over a virtual LocalLink, all in this process's event loop with the app. The wearable's
fall detector finds the fall in a real UMAFall forward-fall trial (the shipped sample); the
FALL travels over BLE, is stored by the session and opens the fall alert, which is
acknowledged. Nothing is scripted; skipped when no fall model for the chest is shipped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

loopback_mod = pytest.importorskip("wearsense.testing.loopback")

from tui.app import WearSenseApp  # noqa: E402
from tui.link import SessionLink  # noqa: E402
from tui.screens.alert import FallAlertScreen  # noqa: E402
from tui.screens.devices import DevicesScreen  # noqa: E402
from tui.widgets import DeviceCard  # noqa: E402
from wearsense.emulator.replay import SAMPLES, Player, load  # noqa: E402
from wearsense.emulator.updatable_device import (  # noqa: E402
    UpdatableWearable,
    factory_packages,
)
from wearsense.protocol import Fall  # noqa: E402
from wearsense.store import Store  # noqa: E402
from wearsense.updates import package as pkg  # noqa: E402

SERIAL = "WS-00E2E001"
FALL_TASK = 1
FACTORY = factory_packages()
needs_fall_model = pytest.mark.skipif(
    FALL_TASK not in {pkg.parse(p.read_bytes()).header.task for p in FACTORY},
    reason="no fall model for the chest in models/fall",
)


async def until(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


@needs_fall_model
def test_fall_from_the_emulated_wearable_raises_the_alert_over_bumble(tmp_path: Path) -> None:
    db = tmp_path / "companion.db"
    fall_trial = load(SAMPLES, trials=("Fall_forwardFall_2",))

    async def body() -> float:
        core = UpdatableWearable(SERIAL, battery_pct=64)
        for package in FACTORY:
            core.provision(package.read_bytes())
        loop = await loopback_mod.Loopback.open(core, tmp_path)
        store = Store(db)  # the session's store; the app opens its own connection
        store.add_patient("p-e2e", "UTC")
        store.assign(SERIAL, "p-e2e", start_utc=time.time() - 60)
        link = SessionLink(serial_hint=SERIAL)
        session = loop.session(store, on_state=link.on_state, on_stored=link.on_stored)
        link.follow(session)
        app = WearSenseApp(db, link, poll_s=0)
        task = None
        try:
            async with app.run_test(size=(120, 40)) as pilot:
                task = asyncio.create_task(session.run())
                await session.wait_streaming(15)
                started = time.perf_counter()
                loop.wearable.sense(Player(fall_trial, loop=False), 15)
                falls = [e for e in core.detections() if isinstance(e, Fall)]
                assert len(falls) == 1  # exactly one fall event for the one fall
                seq = falls[0].seq
                await until(lambda: isinstance(app.screen, FallAlertScreen))
                latency = time.perf_counter() - started
                alert = app.screen
                assert isinstance(alert, FallAlertScreen)
                assert alert.fall.serial == SERIAL and alert.fall.key[2] == seq
                assert alert.fall.patient == "p-e2e"
                await pilot.press("a")
                await until(lambda: isinstance(app.screen, DevicesScreen))
                card = app.screen.query_one(f"#device-{SERIAL}", DeviceCard)

                def shown() -> tuple[str, str, str] | None:
                    row = card.row
                    return None if row is None else (row.state, row.battery, row.patient)

                await until(lambda: shown() == ("connected", "64 %", "p-e2e"))
                await session.stop()
                await task
                await until(lambda: shown() == ("disconnected", "64 %", "p-e2e"))
                return latency
        finally:
            if task is not None and not task.done():
                await session.stop()
            store.close()
            await loop.close()

    latency = asyncio.run(asyncio.wait_for(body(), 60))
    print(f"fall alert on screen {latency * 1000:.0f} ms after the trial's 15 s were fed")
    assert latency < 5.0  # detection, BLE, store and screen
