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
import sys
from pathlib import Path
from typing import Any

from wearsense.companion import COMPANION_ADDRESS, Companion, Radio, open_store
from wearsense.companion.requests import (
    RECORD_TRIES,
    STREAMING_WAIT_S,
    DeviceSession,
    RecordingStep,
    calibrate_posture,
    follow_recording,
    recording_length_ok,
)
from wearsense.link.controllers import DEFAULT_PORTS, run_process, stop_on_signals
from wearsense.link.errors import LinkError
from wearsense.link.session import LinkState, SessionConfig
from wearsense.protocol import EcgRecording, Event, Status, StatusDevice, StatusFlag
from wearsense.store import default_db_path

__all__ = ["RECORD_TRIES", "companion", "posture_line", "register"]


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
    if args.record is not None and not recording_length_ok(args.record):
        print(f"error: --record {args.record}: a recording lasts 10 to 60 s", file=sys.stderr)
        return 2

    db = args.db or default_db_path()
    store = open_store(db)
    redecoded, _ = store.redecode()  # packets an earlier companion could not decode
    if redecoded:
        print(f"decoded {redecoded} kept packet(s) with this version's decoder")
    built: Companion | None = None
    try:
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

        radio = Radio() if args.link == "ble" else Radio.bumble(args.transport, args.controllers)
        built = await Companion.open(
            store,
            radio,
            address=COMPANION_ADDRESS,
            keystore=args.keystore,
            config=SessionConfig(serial=args.serial),
            on_state=on_state,
            on_stored=on_stored,
        )
        session = built.session
        stop_on_signals(done)
        task = built.start()
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
        waiter.cancel()
        await built.stop()
        print(f"stored {stored} new events in {db}", flush=True)
        return 0
    finally:
        if built is not None:
            await built.close()
        store.close()


def posture_line(event: Any) -> str | None:
    """What a STATUS page 0 says of the posture calibration (flag POSTURE_CALIBRATED,
    sent again when a calibration completes), for a companion that asked for one."""
    if not isinstance(event, StatusDevice):
        return None
    if event.flags & StatusFlag.POSTURE_CALIBRATED:
        return "posture: calibrated (the device reports it in force)"
    return "posture: not calibrated yet"


async def _calibrate_posture(session: DeviceSession) -> None:
    """The posture calibration once the session streams; says what the wearer must do
    before it is sent, then how the device took it."""
    try:
        await session.wait_streaming(STREAMING_WAIT_S)
        print("posture: stand upright and still for about 6 s", flush=True)
        response = await calibrate_posture(session)
    except (TimeoutError, LinkError) as exc:
        print(f"posture: not sent ({exc or 'no link within 60 s'})", flush=True)
        return
    if response.status == Status.OK:
        print("posture: calibration requested", flush=True)
    else:
        print(f"posture: the device refused it ({Status(response.status).name})", flush=True)


async def _record(
    session: DeviceSession, seconds: int, answered: asyncio.Event, tries: int = RECORD_TRIES
) -> None:
    """The recording request followed until its verdict (``answered``), each step said."""
    async for news in follow_recording(session, seconds, answered, tries):
        if news.step is RecordingStep.NOT_SENT:
            line = f"not sent ({news.error or 'no link within 60 s'})"
        elif news.step is RecordingStep.REQUESTED:
            again = " again (a reconnection came before the verdict)" if news.again else ""
            line = f"{seconds} s requested{again}; the verdict comes as ecg_recording"
        elif news.step is RecordingStep.UNDER_WAY:
            line = "still under way on the device"
        elif news.step is RecordingStep.REFUSED:
            line = f"the device refused it ({Status(news.status or 0).name})"
        else:
            line = f"no verdict after {tries} requests"
        print(f"recording: {line}", flush=True)


def _main(args: argparse.Namespace) -> int:
    return run_process(companion, args)
