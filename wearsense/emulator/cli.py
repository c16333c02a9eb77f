"""`wearsense emulate`: an emulated WearSense patch on a real BLE stack (Bumble).

The device core (the firmware's C, through ``wearsense.firmware``) runs behind a Bumble
GATT peripheral. With the default ``--link emulator`` it attaches to Bumble's virtual
controllers on loopback (started here when nothing listens yet); ``wearsense
companion`` attaches to the other controller. ``--transport`` takes any Bumble HCI
transport instead (e.g. ``usb:0`` for a real USB dongle).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

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


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "emulate",
        help="run an emulated wearable (device core + Bumble GATT peripheral)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--serial", default=DEFAULT_SERIAL, help="serial number (identity)")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path("build/emulator"),
        help="where the flash image (<serial>.flash), the model store (<serial>.models) "
        "and the bond keys live "
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
        "--demo-every",
        type=float,
        default=0.0,
        metavar="S",
        help="inject a heart-rate summary every S seconds through the core's test "
        "interface, to exercise the link (synthetic values; 0 = never)",
    )
    parser.add_argument(
        "--factory-model",
        type=Path,
        action="append",
        default=None,
        metavar="PACKAGE",
        help="package installed on a blank model store (repeatable; default: every "
        "models/<task>/<task>.wspkg of the repository); `wearsense update push` replaces it",
    )
    parser.add_argument("--duration", type=float, default=0.0, help="stop after S seconds")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.set_defaults(handler=_main)


def _save_flash(path: Path, image: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    with os.fdopen(fd, "wb") as out:
        out.write(image)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def _flash_of(wearable: Any) -> bytes:
    return bytes(wearable.core.flash_image())


def _store_of(wearable: Any) -> bytes:
    return bytes(wearable.core.store_image())


def _factory_packages(given: list[Path] | None) -> list[Path]:
    if given is not None:
        return given
    models = Path(__file__).resolve().parents[2] / "models"
    return sorted(p for p in models.glob("*/*.wspkg") if p.stem == p.parent.name)


def _open_core(args: argparse.Namespace, flash_path: Path, store_path: Path) -> Any:
    """The emulated device core with its model store; a blank store gets the factory
    models, installed through the same checks as an update."""
    from wearsense.firmware.updatable import UpdatableDevice

    flash = flash_path.read_bytes() if flash_path.exists() else None
    store = store_path.read_bytes() if store_path.exists() else None
    core = UpdatableDevice(args.serial, flash, store=store)
    if store is None:
        for package in _factory_packages(args.factory_model):
            status = core.provision(package.read_bytes())
            log.info("factory model %s: %s", package.name, status.name)
    return core


async def emulate(args: argparse.Namespace) -> int:
    from wearsense.emulator.wearable import EmulatedWearable
    from wearsense.protocol import HrSummary

    state: Path = args.state_dir
    state.mkdir(parents=True, exist_ok=True)
    flash_path = state / f"{args.serial}.flash"
    store_path = state / f"{args.serial}.models"
    core = _open_core(args, flash_path, store_path)
    controllers = None
    if args.transport:
        transport = args.transport
    else:
        ports = parse_ports(args.controllers)
        controllers = ensure_controllers(ports)
        transport = f"tcp-client:127.0.0.1:{ports[0]}"
    wearable = await EmulatedWearable.open(
        core, transport=transport, keystore=state / f"{args.serial}-keys.json"
    )
    info: Any = wearable.core.info()
    print(
        f"emulating {args.serial} on {transport}: epoch {info.epoch}, "
        f"last seq {info.last_seq}, acknowledged {info.acked_seq}, models "
        f"afib v{info.model_versions[0]} fall v{info.model_versions[1]} "
        f"activity v{info.model_versions[2]}",
        flush=True,
    )
    stop = asyncio.Event()
    stop_on_signals(stop)
    loop = asyncio.get_running_loop()
    started = loop.time()
    tick = 0
    try:
        while not stop.is_set():
            period = args.demo_every if args.demo_every > 0 else 1.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), period)
            if args.duration and loop.time() - started >= args.duration:
                break
            if args.demo_every > 0:
                tick += 1
                current: Any = wearable.core
                current.advance(int(max(1, args.demo_every)))
                low = 55 + tick % 20
                event = HrSummary(0, 0, 0, 60, min_bpm=low, mean_bpm=low + 8, max_bpm=low + 20)
                seq = wearable.inject(event)
                print(f"injected hr_summary seq {seq}", flush=True)
            _save_flash(flash_path, _flash_of(wearable))
            _save_flash(store_path, _store_of(wearable))
    finally:
        _save_flash(flash_path, _flash_of(wearable))
        _save_flash(store_path, _store_of(wearable))
        await wearable.close()
        stop_controllers(controllers)
    return 0


def _main(args: argparse.Namespace) -> int:
    return run_process(emulate, args)
