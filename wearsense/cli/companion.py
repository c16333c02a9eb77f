"""`wearsense companion`: the companion's BLE session, storing what a wearable sends.

Scans for the WearSense service, connects, pairs the first time (LE Secure Connections,
bonded; later connections reuse the bond), reads the serial number, time-syncs and
stores every event in the SQLite store before acknowledging it. Reconnects with backoff
when the link drops. ``--link emulator`` (default) talks to ``wearsense emulate``
through Bumble's virtual controllers on loopback (started here when nothing listens
yet); ``--link ble`` uses this computer's Bluetooth adapter through bleak.

At start it decodes again the packets an earlier companion kept as bytes because it could
not decode them (a newer firmware's events; ``wearsense store redecode``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
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

COMPANION_ADDRESS = "C0:57:53:00:00:02"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "companion",
        help="receive and store a wearable's events over BLE",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--db", type=Path, help="SQLite store (default: $WEARSENSE_DB or the user data dir)"
    )
    parser.add_argument("--serial", help="follow only this device (default: the first found)")
    parser.add_argument("--link", choices=("emulator", "ble"), default="emulator")
    parser.add_argument(
        "--controllers",
        default=f"{DEFAULT_PORTS[0]},{DEFAULT_PORTS[1]}",
        help="loopback TCP ports A,B of the virtual controllers; the companion takes B "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--transport", help="a Bumble HCI transport to use instead of the virtual controllers"
    )
    parser.add_argument(
        "--keystore",
        type=Path,
        default=Path("build/companion/keys.json"),
        help="the companion's bond keys with --link emulator (default: %(default)s)",
    )
    parser.add_argument("--duration", type=float, default=0.0, help="stop after S seconds")
    parser.add_argument(
        "--count", type=int, default=0, help="stop after storing N new events (0 = never)"
    )
    parser.add_argument(
        "--calibrate-posture",
        action="store_true",
        help="once connected, ask the wearer to stand upright and still and send the posture "
        "calibration (SET_CONFIG POSTURE): the device then tells sitting from standing by "
        "the tilt from that standing (docs/imu-front-end.md); says when the device reports "
        "it in force (STATUS page 0)",
    )
    parser.add_argument(
        "--record",
        type=int,
        metavar="S",
        help="once connected, ask for an on-demand ECG recording of S seconds (10-60, "
        "START_RECORDING): the wearable answers with one ECG_RECORDING event, its rhythm "
        "verdict (docs/detectors.md); asked again after a reconnection that came before the "
        "verdict (a reset loses the request), at most 3 times",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.set_defaults(handler=_main)


async def companion(args: argparse.Namespace) -> int:
    from wearsense.link.session import LinkState, Session, SessionConfig
    from wearsense.protocol import EcgRecording, Event
    from wearsense.store import Store, default_db_path

    if args.record is not None and not 10 <= args.record <= 60:
        print(f"error: --record {args.record}: a recording lasts 10 to 60 s", file=sys.stderr)
        return 2

    db = args.db or default_db_path()
    db.parent.mkdir(parents=True, exist_ok=True)
    store = Store(db)
    redecoded, _ = store.redecode()  # packets an earlier companion could not decode
    if redecoded:
        print(f"decoded {redecoded} kept packet(s) with this version's decoder")
    controllers = None
    stack = None
    kwargs: dict[str, Any] = {}
    try:
        if args.link == "emulator":
            from wearsense.link.bumble_backend import (
                BumbleCentral,
                BumbleClientBackend,
                BumbleScannerBackend,
            )
            from wearsense.link.stack import open_stack

            if args.transport:
                transport = args.transport
            else:
                ports = parse_ports(args.controllers)
                controllers = ensure_controllers(ports)
                transport = f"tcp-client:127.0.0.1:{ports[1]}"
            stack = await open_stack(
                "companion", COMPANION_ADDRESS, transport=transport, keystore=args.keystore
            )
            kwargs = {
                "scanner_backend": BumbleScannerBackend,
                "client_backend": BumbleClientBackend,
                "backend_kwargs": {"bumble": BumbleCentral(stack.device)},
            }
        stored = 0
        posture_said: str | None = None
        done = asyncio.Event()
        verdict = asyncio.Event()  # an ECG_RECORDING stored (answers --record)

        def on_state(state: LinkState, detail: str) -> None:
            print(f"[{state.value}] {detail}".rstrip(), flush=True)

        def on_stored(serial: str, epoch: int, events: Any, _now: float) -> None:
            nonlocal stored, posture_said
            for event in events:
                assert isinstance(event, Event)
                print(f"stored {serial} epoch {epoch} seq {event.seq} {event.NAME}", flush=True)
                if isinstance(event, EcgRecording):
                    verdict.set()
                line = posture_line(event) if args.calibrate_posture else None
                if line and line != posture_said:  # the first report, then each change
                    print(line, flush=True)
                    posture_said = line
            stored += len(events)
            if args.count and stored >= args.count:
                done.set()

        session = Session(
            store,
            SessionConfig(serial=args.serial),
            on_state=on_state,
            on_stored=on_stored,
            **kwargs,
        )
        stop_on_signals(done)
        task = asyncio.create_task(session.run())
        requests = []
        if args.calibrate_posture:
            requests.append(asyncio.create_task(_calibrate_posture(session)))
        if args.record is not None:
            requests.append(asyncio.create_task(_record(session, args.record, verdict)))
        waiter = asyncio.create_task(done.wait())
        timeout = args.duration or None
        await asyncio.wait({task, waiter}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if requests and not task.done():
            await asyncio.wait(requests, timeout=10.0)  # their answers before stopping
        for request in requests:
            request.cancel()
        await session.stop()
        waiter.cancel()
        await task
        print(f"stored {stored} new events in {db}", flush=True)
        return 0
    finally:
        if stack is not None:
            await stack.close()
        store.close()
        stop_controllers(controllers)


def posture_line(event: Any) -> str | None:
    """What a STATUS page 0 says of the posture calibration (flag POSTURE_CALIBRATED,
    sent again when a calibration completes), for a companion that asked for one."""
    from wearsense.protocol import StatusDevice, StatusFlag

    if not isinstance(event, StatusDevice):
        return None
    if event.flags & StatusFlag.POSTURE_CALIBRATED:
        return "posture: calibrated (the device reports it in force)"
    return "posture: not calibrated yet"


async def _once_streaming(
    session: Any, name: str, opcode: Any, args: dict[str, int], asked: str, ahead: str = ""
) -> None:
    """Sends one command once the session streams and says how it went, each line
    starting with ``name``: ``ahead`` before sending (what the wearer must do), ``asked``
    when the device took it."""
    from wearsense.link.errors import LinkError
    from wearsense.protocol import Status

    try:
        await session.wait_streaming(60.0)
        if ahead:
            print(f"{name}: {ahead}", flush=True)
        response = await session.command(opcode, **args)
    except (TimeoutError, LinkError) as exc:
        print(f"{name}: not sent ({exc or 'no link within 60 s'})", flush=True)
        return
    if response.status == Status.OK:
        print(f"{name}: {asked}", flush=True)
    else:
        print(f"{name}: the device refused it ({response.status.name})", flush=True)


def _calibrate_posture(session: Any) -> Any:
    """SET_CONFIG POSTURE once the session streams; says what the wearer must do."""
    from wearsense.protocol import ConfigKey, Opcode

    return _once_streaming(
        session,
        "posture",
        Opcode.SET_CONFIG,
        {"key": int(ConfigKey.POSTURE), "value": 1},
        "calibration requested",
        ahead="stand upright and still for about 6 s",
    )


RECORD_TRIES = 3


async def _record(
    session: Any, seconds: int, answered: asyncio.Event, tries: int = RECORD_TRIES
) -> None:
    """START_RECORDING once the session streams; the verdict arrives as an event
    (``answered`` is set when it is stored). A device keeps a pending request in RAM only,
    so a reset loses it (docs/device-core.md): when the session reconnects before the
    verdict came, the request is sent again, at most ``tries`` times in all. A device that
    still has it answers BUSY: the recording is under way and the verdict will come."""
    from wearsense.link.errors import LinkError
    from wearsense.protocol import Opcode, Status

    for attempt in range(tries):
        try:
            await session.wait_streaming(60.0)
            connection = session.stats.connections
            response = await session.command(Opcode.START_RECORDING, duration_s=seconds)
        except (TimeoutError, LinkError) as exc:
            print(f"recording: not sent ({exc or 'no link within 60 s'})", flush=True)
            return
        if response.status == Status.OK:
            again = " again (a reconnection came before the verdict)" if attempt else ""
            print(
                f"recording: {seconds} s requested{again}; the verdict comes as ecg_recording",
                flush=True,
            )
        elif response.status == Status.BUSY and attempt:
            print("recording: still under way on the device", flush=True)
        else:
            print(f"recording: the device refused it ({response.status.name})", flush=True)
            return
        while not answered.is_set() and session.stats.connections == connection:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(answered.wait(), 0.5)
        if answered.is_set():
            return
    print(f"recording: no verdict after {tries} requests", flush=True)


def _main(args: argparse.Namespace) -> int:
    return run_process(companion, args)
