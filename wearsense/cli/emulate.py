"""`wearsense emulate`: an emulated WearSense patch on a real BLE stack (Bumble).

The whole device (the firmware's C through ``wearsense.firmware``: device core, detectors,
A/B model store and update service) runs behind a Bumble GATT peripheral, fed with real
recordings replayed side by side at --speed times real time: an MIT-BIH ECG record and a
playlist of UMAFall trials (chest unit; walking, jogging, sitting, lying down, a forward
fall). Every event comes from the detectors. At the end of the longer recording both
start again (the device clock goes on) unless --once. The models are the model store's:
a blank store gets the factory packages (models/<task>/ for the chest), and
`wearsense update push` replaces them.

With the default ``--link emulator`` it attaches to Bumble's virtual controllers on
loopback (started here when nothing listens yet); ``wearsense companion`` attaches to the
other controller. ``--transport`` takes any Bumble HCI transport instead (e.g. ``usb:0``
for a real USB dongle).

Pairing (docs/link.md, "Security"): a wearable without an owner accepts the first
companion that pairs (LE Secure Connections with bonding only); after that a new
companion pairs only inside the pairing window the wearer opens by holding the button:
``--pair`` holds it at power-on, and ``kill -USR1 <pid>`` holds it while the emulator runs.
The window stays open 60 s or until a companion bonds, which replaces the previous owner.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from pathlib import Path
from typing import Any

from wearsense.datasets.common import DatasetError
from wearsense.emulator.replay import Player, load
from wearsense.emulator.security import LONG_PRESS_S, PAIRING_WINDOW_S
from wearsense.emulator.serve import serve
from wearsense.emulator.updatable_device import open_saved
from wearsense.emulator.wearable import EmulatedWearable
from wearsense.firmware.device import DeviceError
from wearsense.link.controllers import (
    DEFAULT_PORTS,
    ensure_controllers,
    parse_ports,
    run_process,
    stop_controllers,
    stop_on_signals,
)

log = logging.getLogger(__name__)

DEFAULT_SERIAL = "WS-00A1B2C3"
DEFAULT_RECORD = "219"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "emulate",
        help="run an emulated wearable: the whole device (core, detectors, model store) "
        "replaying real recordings behind a Bumble GATT peripheral",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--serial", default=DEFAULT_SERIAL, help="serial number (identity)")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path("build/emulator"),
        help="where the flash image (<serial>.flash), the model store (<serial>.models), "
        "the wearer's settings (<serial>.settings) and the bond keys live "
        "(default: build/emulator)",
    )
    parser.add_argument(
        "--link",
        choices=("emulator",),
        default="emulator",
        help="emulator: Bumble virtual controllers on loopback (the only link here)",
    )
    parser.add_argument(
        "--controllers",
        default=f"{DEFAULT_PORTS[0]},{DEFAULT_PORTS[1]}",
        help="loopback TCP ports A,B of the virtual controllers; the emulator takes A "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--transport", help="a Bumble HCI transport to use instead of the virtual controllers"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="data folder with mitdb/ and umafall/ (default: $WEARSENSE_DATA or "
        "../shared/data when present, else the shipped samples/data)",
    )
    parser.add_argument(
        "--record", default=DEFAULT_RECORD, help="MIT-BIH record for the ECG (default: 219)"
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="X",
        help="replay at X times real time (default: 1; 0 = no recordings, the device only "
        "serves its queue and model updates)",
    )
    parser.add_argument(
        "--once",
        action="store_true",
        help="replay the recordings once and then keep serving (default: start them again "
        "at the end, the device clock going on)",
    )
    parser.add_argument(
        "--factory-model",
        type=Path,
        action="append",
        default=None,
        metavar="PACKAGE",
        help="package installed on a blank model store (repeatable; default: each task's "
        "package of models/<task>/ built for the chest); `wearsense update push` replaces it",
    )
    parser.add_argument("--duration", type=float, default=0.0, help="stop after S seconds")
    parser.add_argument(
        "--pair",
        action="store_true",
        help="hold the button at power-on: open the pairing window (60 s) even when the "
        "wearable has an owner, so a new companion can bond and replace it (SIGUSR1 does "
        "the same while running)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log more and print each detector event"
    )
    parser.set_defaults(handler=_main)


def _open_core(args: argparse.Namespace, stem: Path) -> Any:
    """The emulated device with its model store; a blank store gets the factory models,
    installed through the same checks as an update."""

    core, provisioned = open_saved(args.serial, stem, args.factory_model)
    for package, status in provisioned:
        log.info("factory model %s: %s", package.name, status.name)
    return core


async def emulate(args: argparse.Namespace) -> int:
    if args.speed < 0:
        print("error: --speed must be >= 0")
        return 2
    player = None
    if args.speed > 0:
        try:
            recordings = load(args.data_dir, record=args.record)
        except DatasetError as exc:
            print(f"error: {exc}")
            return 2
        player = Player(recordings, loop=not args.once)
    state: Path = args.state_dir
    state.mkdir(parents=True, exist_ok=True)
    stem = state / args.serial

    try:
        core = _open_core(args, stem)
    except DeviceError as exc:  # a damaged or foreign state file: say which, touch nothing
        print(f"error: the saved state of {args.serial} in {state}: {exc}; move it away")
        return 2
    controllers = None
    if args.transport:
        transport = args.transport
    else:
        ports = parse_ports(args.controllers)
        controllers = ensure_controllers(ports)
        transport = f"tcp-client:127.0.0.1:{ports[0]}"
    wearable = await EmulatedWearable.open(
        core,
        transport=transport,
        keystore=state / f"{args.serial}-keys.json",
        pairing_window=args.pair,
    )
    info: Any = wearable.core.info()
    print(
        f"emulating {args.serial} on {transport}: epoch {info.epoch}, "
        f"last seq {info.last_seq}, acknowledged {info.acked_seq}, models "
        f"afib v{info.model_versions[0]} fall v{info.model_versions[1]} "
        f"activity v{info.model_versions[2]}",
        flush=True,
    )
    if player is not None:
        print(
            f"replaying at {args.speed:g}x ({'once' if args.once else 'looping'}): "
            + ", ".join(player.recordings.names),
            flush=True,
        )
    stop = asyncio.Event()
    stop_on_signals(stop)
    with contextlib.suppress(NotImplementedError, AttributeError):  # SIGUSR1: POSIX only
        asyncio.get_running_loop().add_signal_handler(
            signal.SIGUSR1, lambda: wearable.press_button(hold_s=LONG_PRESS_S)
        )
    security = wearable.peripheral.security
    if security.owner is None:
        print("pairing: no owner yet, the first companion to pair bonds", flush=True)
    elif security.window_open:
        print(f"pairing: window open for {PAIRING_WINDOW_S:g} s (--pair)", flush=True)

    def show(event: Any) -> None:
        print(f"event {event.NAME} seq {event.seq}", flush=True)

    try:
        await serve(
            wearable,
            player,
            speed=args.speed,
            stem=stem,
            stop=stop,
            duration_s=args.duration,
            on_event=show if args.verbose else None,
        )
    finally:
        stop_controllers(controllers)
    return 0


def _main(args: argparse.Namespace) -> int:
    return run_process(emulate, args)
