"""`wearsense demo`: the main job (`make demo`).

Runs the emulated wearable (the firmware's C device core behind a Bumble GATT server), the
companion's BLE session on bleak (through the Bumble backend, over a virtual link in this
process) storing into SQLite, and the terminal UI following both. Press `q` to quit: the
session stops, acknowledges what it stored and the store is closed cleanly.

The wearable is the whole firmware (`wearsense.firmware.wearable.Wearable`: device core,
detectors and the shipped models) fed, second by second at `--speed` times real time, with
the real sample recordings of `samples/data`: MIT-BIH 219 (sinus rhythm, then atrial
fibrillation) on the ECG and UMAFall subject 06's waist sensor (walking, jogging, sitting
down and getting up, lying down, a forward fall) on the IMU, both looped. Every event comes
from the detectors on those signals (plus the core's status pages); nothing is scripted.

`--check SECONDS` runs the same wiring headless for that long and prints what reached the
screen and when (for tests and for timing).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any, cast

REPO = Path(__file__).resolve().parents[1]
SERIAL = "WS-DEMO0001"
PATIENT = "demo-patient"
SAMPLES = REPO / "samples" / "data"
UMAFALL_TRIALS = (  # the IMU loop, in this order
    "06_ADL_Walking_1",
    "06_ADL_Jogging_1",
    "06_ADL_Sitting_GettingUpOnAChair_1",
    "06_ADL_LyingDown_OnABed_1",
    "06_Fall_forwardFall_2",
)


def sample_streams(data_dir: Path = SAMPLES) -> dict[str, Any]:
    """The demo's recordings: ECG counts of MIT-BIH 219 (lead MLII) and the waist IMU of
    the UMAFall trials in :data:`UMAFALL_TRIALS`, concatenated ((n, 6), g and deg/s)."""
    import numpy as np

    from wearsense.datasets import imu, mitdb
    from wearsense.datasets.imu.types import Position

    rec = mitdb.load_record("219", data_dir)
    lead = rec.lead_index()
    trials = {
        r.trial: r
        for r in imu.recordings("umafall", data_dir, positions={Position.WAIST})
        if r.trial in UMAFALL_TRIALS
    }
    rates = {trials[t].rate_hz for t in UMAFALL_TRIALS}
    if len(trials) != len(UMAFALL_TRIALS) or len(rates) != 1:
        raise FileNotFoundError(f"{data_dir}: the UMAFall sample trials are incomplete")
    return {
        "ecg": rec.signals[:, lead],
        "ecg_fs": rec.fs,
        "adc_gain": rec.adc_gain[lead],
        "adc_zero": rec.adc_zero[lead],
        "imu": np.vstack([trials[t].six_axis() for t in UMAFALL_TRIALS]),
        "imu_fs": int(rates.pop()),
    }


async def replay(loop: Any, streams: dict[str, Any], speed: float) -> None:
    """Feeds one second of each stream every 1/speed s, looping, and wakes the
    notification pump; runs until cancelled."""
    ecg, efs = streams["ecg"], streams["ecg_fs"]
    imu, ifs = streams["imu"], streams["imu_fs"]
    ecg_s, imu_s = len(ecg) // efs, len(imu) // ifs
    second = 0
    while True:
        e, m = second % ecg_s, second % imu_s
        loop.wearable.core.feed(
            ecg=ecg[e * efs : (e + 1) * efs],
            ecg_fs=efs,
            imu=imu[m * ifs : (m + 1) * ifs],
            imu_fs=ifs,
            adc_gain=streams["adc_gain"],
            adc_zero=streams["adc_zero"],
        )
        loop.wearable.peripheral.kick()
        second += 1
        await asyncio.sleep(1.0 / speed)


async def _run(folder: Path, check_s: float | None, speed: float = 1.0) -> int:
    from tui.app import WearSenseApp
    from tui.link import SessionLink
    from wearsense.firmware.wearable import Wearable
    from wearsense.link.loopback import Loopback
    from wearsense.store import Store, StoreError

    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "demo.db"
    flash = folder / "wearable.flash"
    core = Wearable.from_file(SERIAL, flash) if flash.exists() else Wearable(SERIAL)
    streams = sample_streams()
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
    feeder = asyncio.create_task(replay(loop, streams, speed))
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
        feeder.cancel()
        await asyncio.gather(feeder, return_exceptions=True)
        await session.stop()
        await task
        cast(Wearable, loop.wearable.core).save_flash(flash)  # a reset makes a new one
        store.close()
        await loop.close()


def run(args: argparse.Namespace) -> int:
    print("WearSense demo: research software, not a medical device.")
    print(
        "Running: emulated wearable (firmware core + detectors on replayed MIT-BIH and UMAFall "
        f"samples at {args.speed:g}x) + companion over BLE (Bumble) + terminal UI."
    )
    if args.speed <= 0:
        print("error: --speed must be positive")
        return 2
    return asyncio.run(_run(Path(args.folder), args.check, args.speed))


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
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="replay the sample recordings at this multiple of real time (default 1); device "
        "time follows the recordings",
    )
    parser.set_defaults(handler=run)
