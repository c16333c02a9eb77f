"""`wearsense demo`: the main job (`make demo`).

Runs the whole emulated wearable (the firmware's C: device core, AF/fall/activity detectors,
A/B model store) behind a Bumble GATT server, the companion's BLE session on bleak (through
the Bumble backend, over a virtual link in this process) storing into SQLite, and the
terminal UI following both. The wearable replays real recordings through its detectors at
--speed times real time (default 10): the MIT-BIH 219 excerpt (sinus rhythm, then atrial
fibrillation) and UMAFall trials of one subject (walking, jogging, sitting down, lying
down, a forward fall) side by side, starting again at the end. Within seconds the detectors
report activity changes, an AF episode and a fall (the fall alert opens: press `a`). No
event is scripted. The Updates screen (`4`) pushes a signed package to the wearable over
the same link (progress bar, rollout guard, outcome); the detector's next events carry the
new version. Press `q` to quit: the session stops, acknowledges what it stored and
the store is closed cleanly.

The recordings are the shipped samples (samples/data) unless --data-dir names a data
folder holding the same record and trials. The models are the model store's: a blank
store gets the shipped packages of models/ (`wearsense update push` replaces them).

The emulated wearable's serial is WS-DEMO0001 (printed at start, on its device card and
in the header). Its clock is the replay's sample clock, so the times of its events run
ahead of the wall clock by the speed factor: the header says "device time, replayed x10".
The wearable sends its rhythm and heart-rate summaries every minute of device time (6 s
at 10x; a real wearer's default is 15 min), so the charts fill within seconds.

`--check SECONDS` runs the same wiring headless and waits (at most SECONDS) until an event
of each kind the running models can produce (AF start, fall, activity change) is on
screen; it prints when each arrived, counted from the start of the command, and exits 1
when one did not. It counts only what the wearable detects in this run: events of an
earlier run, stored or still queued in the wearable's flash, do not count.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

from tui.app import WearSenseApp
from tui.companion import CompanionActions
from tui.link import SessionLink
from tui.screens.alert import FallAlertScreen
from wearsense.companion import IN_PROCESS_ADDRESS, Companion, Radio, in_process_config, open_store
from wearsense.companion.model_updates import read_metrics
from wearsense.datasets.common import DatasetError
from wearsense.emulator.replay import SAMPLES, Player, load
from wearsense.emulator.updatable_device import factory_packages, open_saved, save
from wearsense.emulator.wearable import EmulatedWearable
from wearsense.firmware.device import DeviceError
from wearsense.link.stack import LocalLink
from wearsense.protocol import EventKind
from wearsense.protocol.frames import Command, ConfigKey, Opcode
from wearsense.store import StoreError
from wearsense.updates.registry import Registry, RegistryError

REPO = Path(__file__).resolve().parents[2]
SERIAL = "WS-DEMO0001"
PATIENT = "demo-patient"
DEFAULT_SPEED = 10.0
SUMMARY_MIN = 1  # the demo's summary interval (device minutes): charts fill within seconds
# What each task's detector shows first, by the protocol's event names.
EXPECTED = {0: EventKind.AF_START, 1: EventKind.FALL, 2: EventKind.ACTIVITY_CHANGE}
DEVICE_ONLY = {
    EventKind.STATUS_DEVICE,
    EventKind.STATUS_MODELS,
    EventKind.STATUS_FIRMWARE,
    EventKind.GAP,
}


def _register_factory(registry_path: Path) -> None:
    """The factory packages and their evaluated metrics in the demo's registry, so the
    rollout guard of a push from the Updates screen compares against them."""
    with Registry(registry_path) as registry:
        for package in factory_packages():
            try:
                metrics = read_metrics(None, package)
                registry.add(package.read_bytes(), metrics=metrics, path=package)
            except (RegistryError, ValueError) as exc:
                print(f"registry: {package.name} not registered: {exc}")


async def _replay(
    wearable: EmulatedWearable, player: Player, speed: float, stop: asyncio.Event
) -> None:
    """Feeds the recordings to the wearable at ``speed`` x real time until ``stop``."""
    clock = asyncio.get_running_loop()
    started = clock.time()
    while not stop.is_set() and not player.done:
        due = int((clock.time() - started) * speed) - player.fed_s
        if due > 0:
            wearable.sense(player, due)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.05)


async def _run(args: argparse.Namespace, started: float) -> int:
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        recordings = load(args.data_dir if args.data_dir is not None else SAMPLES)
    except DatasetError as exc:
        print(f"error: {exc}")
        return 1
    db = folder / "demo.db"
    try:
        core, _ = open_saved(SERIAL, folder / "wearable")
    except DeviceError as exc:  # a damaged or foreign state file: say which, touch nothing
        print(f"error: the wearable's saved state in {folder}: {exc}; move it away to start blank")
        return 1
    running = core.store_models().running
    # What the wearable has already numbered (this run's events come after it).
    start = core.info()
    core.command(
        Command(Opcode.SET_CONFIG, 0, {"key": int(ConfigKey.SUMMARY_MIN), "value": SUMMARY_MIN})
    )
    expected = {name for task, name in EXPECTED.items() if running[task]}
    radio = LocalLink()  # the wearable and the companion, in this process
    # The wearer holds the button at start when this demo's companion has no keys yet (its
    # file was removed): the wearable, which may have an owner, accepts the new bond.
    wearable = await EmulatedWearable.open(
        core,
        link=radio,
        keystore=folder / "device-keys.json",
        pairing_window=not (folder / "companion-keys.json").exists(),
    )
    store = open_store(db)
    try:
        if not any(p.pseudonym == PATIENT for p in store.patients()):
            store.add_patient(PATIENT, "UTC")
            # the demo patient has worn the demo device from its first event on: the
            # events it queued before the companion connected are hers too (issue 30)
            store.assign(SERIAL, PATIENT, start_utc=0.0)
    except StoreError as exc:
        print(f"error: {exc}")
        store.close()
        await wearable.close()
        return 1
    link = SessionLink(serial_hint=SERIAL)
    companion = await Companion.open(
        store,
        Radio(link=radio),
        address=IN_PROCESS_ADDRESS,
        keystore=folder / "companion-keys.json",
        config=in_process_config(),
        on_state=link.on_state,
        on_stored=link.on_stored,
        registry_path=folder / "updates.db",
    )
    link.follow(companion.session)
    _register_factory(folder / "updates.db")
    actions = CompanionActions(companion)
    app = WearSenseApp(
        db,
        link,
        poll_s=0,
        pusher=actions,
        calibrator=actions,
        recorder=actions,
        replay_speed={SERIAL: args.speed},
    )
    stop = asyncio.Event()
    companion.start()
    player = Player(recordings, loop=True)
    feeder = asyncio.create_task(_replay(wearable, player, args.speed, stop))
    seen: dict[str, float] = {}

    def this_run(key: tuple[str, int, int]) -> bool:
        """An event the wearable numbered in this run (not one stored or queued before)."""
        serial, epoch, seq = key
        return serial == SERIAL and (epoch > start.epoch or seq > start.last_seq)

    try:
        if args.check is None:
            await app.run_async()
            return 0
        async with app.run_test(size=args.size) as pilot:
            clock = asyncio.get_running_loop()
            deadline = clock.time() + args.check
            while clock.time() < deadline and not expected <= seen.keys():
                now = time.perf_counter() - started
                for line in app.feed.lines:
                    if not this_run(line.key):
                        continue
                    if line.type not in DEVICE_ONLY and "first detector event" not in seen:
                        seen["first detector event"] = now
                    if line.type in expected and line.type not in seen:
                        seen[line.type] = now
                alert = app.screen
                raised = [f for f in app.pending_falls if this_run(f.key)]
                if isinstance(alert, FallAlertScreen) and this_run(alert.fall.key):
                    raised.append(alert.fall)
                if raised and "fall alert raised" not in seen:
                    seen["fall alert raised"] = now
                await asyncio.sleep(0.05)
            if args.screenshot is not None:  # tools/tui_screenshots.py: the demo's screen
                await asyncio.sleep(max(0.0, args.screenshot_at - (time.perf_counter() - started)))
                if isinstance(app.screen, FallAlertScreen):
                    await pilot.press("escape")  # put off: the fall waits in the banner
                await pilot.press(args.screenshot_keys)
                await pilot.pause(0.5)
                out = Path(args.screenshot)
                app.save_screenshot(out.name, str(out.parent))
        args.seen = dict(seen)  # for benchmarks/bench_demo.py
        # printed after the app has let go of the terminal (Textual captures stdout)
        for what, at in sorted(seen.items(), key=lambda kv: kv[1]):
            print(f"{what} on screen {at:.2f} s after start")
        print(f"(command started at UTC epoch {args.started_epoch:.3f})")
        missing = sorted(expected - seen.keys())
        ours = sum(1 for e in store.events(include_unplaced=True) if this_run(e.key))
        print(
            f"events stored: {ours} in this run ({store.count_events()} in the store); "
            f"signal replayed: {player.fed_s} s at {args.speed:g}x"
        )
        if missing:
            print(f"missing after {args.check:g} s: {', '.join(missing)}")
            return 1
        return 0
    finally:
        stop.set()
        await feeder
        await companion.stop()
        save(wearable.core, folder / "wearable")
        store.close()
        await companion.close()
        await wearable.close()


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    args.started_epoch = time.time()
    if args.speed <= 0:
        print("error: --speed must be > 0")
        return 2
    print("WearSense demo: research software, not a medical device.")
    print(
        "Running: emulated wearable (detectors on replayed MIT-BIH and UMAFall recordings, "
        f"{args.speed:g}x real time) + companion over BLE (Bumble) + terminal UI."
    )
    print(
        f"Emulated wearable: serial {SERIAL}; its event times are device time, "
        f"replayed x{args.speed:g} (ahead of the wall clock)."
    )
    return asyncio.run(_run(args, started))


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
        help="where the demo keeps its store, the wearable's flash and model store and the "
        "bonds (default: build/demo)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="data folder with mitdb/219 and the UMAFall subject 06 trials "
        "(default: the shipped samples/data)",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=DEFAULT_SPEED,
        metavar="X",
        help="replay at X times real time (default: %(default)g)",
    )
    parser.add_argument(
        "--check",
        type=float,
        metavar="SECONDS",
        help="run headless until every detector's event is on screen (at most SECONDS), "
        "print when each arrived, exit 1 if one did not",
    )
    parser.add_argument("--screenshot", type=Path, help=argparse.SUPPRESS)  # with --check
    parser.add_argument("--screenshot-keys", default="2", help=argparse.SUPPRESS)
    # seconds after the start (at the earliest) to take it
    parser.add_argument("--screenshot-at", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument(
        "--size",
        type=lambda v: tuple(int(x) for x in v.split("x")),
        default=(120, 40),
        help=argparse.SUPPRESS,  # the headless terminal of --check, COLSxROWS
    )
    parser.set_defaults(handler=run)
