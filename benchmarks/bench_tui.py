"""Terminal UI responsiveness (`python -m benchmarks tui`), headless (Textual's
``run_test``) at 120x40.

- ``startup_first_event_s``: from creating the app on a store holding one year of one
  wearer's events (synthetic stream of ``wearsense.testing.simulate_store``, about 100 000
  events) until the Events screen lists the newest event.
- ``event_to_screen_ms``: median time from the in-memory link reporting a stored event
  to its line on the Events screen (``ROUNDS`` events, one at a time); it includes the
  app's ``REFRESH_S`` (0.1 s) of gathering changes into one redraw.
- ``fall_to_alert_ms``: the same for a fall, until the alert is the current screen (the
  alert does not wait for ``REFRESH_S``).
- ``screen_switch_ms``: median time of a switch to each screen (keys 1-5) on that store.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

KEY = "tui"
START_UTC = 1_704_067_200  # 2024-01-01T00:00:00Z
DAYS = 365
ROUNDS = 20
SERIAL = "SN-BENCH"


def run() -> dict[str, Any]:
    from tui.app import WearSenseApp
    from tui.link import MemoryLink
    from tui.screens.alert import FallAlertScreen
    from tui.widgets import EventList
    from wearsense.protocol import Fall, HrSummary
    from wearsense.store import Store
    from wearsense.testing.simulate_store import wearer_events

    events = list(wearer_events(START_UTC, DAYS, seed=7))
    end_utc = START_UTC + DAYS * 86400
    results: dict[str, Any] = {"events": len(events)}
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        with Store(db) as store:
            store.add_patient("bench-1", "Europe/Berlin")
            store.assign(SERIAL, "bench-1", start_utc=START_UTC - 60)
            for i in range(0, len(events), 2000):
                store.ingest(SERIAL, 1, events[i : i + 2000], received_utc=end_utc)
        writer = Store(db)
        link = MemoryLink()

        def newest_key(app: WearSenseApp) -> tuple[str, int, int] | None:
            shown = app.screen.query_one(EventList).shown if app.screen.query(EventList) else []
            return shown[-1].key if shown else None

        async def until(predicate: Any) -> None:
            while not predicate():
                await asyncio.sleep(0.001)

        async def body() -> None:
            started = time.perf_counter()
            app = WearSenseApp(db, link, clock=lambda: float(end_utc), poll_s=0)
            async with app.run_test(size=(120, 40)) as pilot:
                await pilot.press("2")
                await until(lambda: newest_key(app) is not None)
                results["startup_first_event_s"] = round(time.perf_counter() - started, 3)
                seq = writer.contiguous_seq(SERIAL, 1)
                last_time = max(e.time_s for e in events)
                latencies = []
                for i in range(1, ROUNDS + 1):
                    event = HrSummary(
                        seq + i,
                        last_time + 60 * i,
                        1,
                        interval_s=60,
                        min_bpm=60,
                        mean_bpm=70,
                        max_bpm=80,
                    )
                    t0 = time.perf_counter()
                    link.deliver(writer, SERIAL, 1, [event])
                    await until(lambda s=seq + i: newest_key(app) == (SERIAL, 1, s))
                    latencies.append(time.perf_counter() - t0)
                results["event_to_screen_ms"] = round(1000 * statistics.median(latencies), 1)
                fall = Fall(
                    seq + ROUNDS + 1,
                    last_time + 60 * (ROUNDS + 1),
                    2,
                    impact_mg=3000,
                    confidence=95,
                    stillness_s=30,
                )
                t0 = time.perf_counter()
                link.deliver(writer, SERIAL, 1, [fall])
                await until(lambda: isinstance(app.screen, FallAlertScreen))
                results["fall_to_alert_ms"] = round(1000 * (time.perf_counter() - t0), 1)
                await pilot.press("a")
                switches = []
                for key in "34512":
                    t0 = time.perf_counter()
                    await pilot.press(key)
                    await pilot.pause()
                    switches.append(time.perf_counter() - t0)
                results["screen_switch_ms"] = round(1000 * statistics.median(switches), 1)

        try:
            asyncio.run(body())
        finally:
            writer.close()
    return results


if __name__ == "__main__":
    print(run())
