"""`wearsense strip list|get|show|review`: the ECG strips the wearables keep.

A wearable keeps 30 s of ECG around each AF onset it detects and each on-demand
recording, and announces each with a STRIP event; it sends a strip only when asked.
`list` shows the announced and the stored strips ("stored" or "on device"), `get` fetches
one from the connected wearable (STRIP_GET; docs/protocol.md), stores it and then lets the
device forget it (STRIP_RELEASE), `show` prints what is known of a strip and draws it on
ECG paper (25 mm/s, 10 mm/mV; PNG or SVG with --out), `review` records a clinician's
verdict (confirmed_af, not_af or unreadable; every review is kept, the newest counts).

A strip is named by its number; add --serial when two devices have one of that number.
"""

from __future__ import annotations

import argparse
import zlib
from pathlib import Path
from typing import Any

from wearsense.cli.common import (
    EXIT_USAGE,
    add_db_argument,
    db_path,
    fail,
    guarded,
    local,
    subcommand,
    when,
)
from wearsense.companion import COMPANION_ADDRESS, Companion, Radio, open_store
from wearsense.companion.requests import STREAMING_WAIT_S
from wearsense.companion.strips import fetch_strip, release_strip
from wearsense.export.common import atomic_path
from wearsense.export.strip_summary import VERDICT_TEXT, describe, review_text, strip_trace, tz_of
from wearsense.link.controllers import DEFAULT_PORTS, run_process
from wearsense.link.session import SessionConfig
from wearsense.store import Store, StoreError
from wearsense.store import strips as st
from wearsense.strips.paper import draw_page

__all__ = ["register"]


def _key(store: Store, args: argparse.Namespace) -> st.StripKey:
    if args.epoch is not None:
        if args.serial is None:
            raise StoreError("--epoch needs --serial")
        return (args.serial, args.epoch, args.strip_id)
    return st.find_strip(store, args.strip_id, args.serial).key


def _list(args: argparse.Namespace) -> int:
    with Store(db_path(args), create=False) as store:
        tz_name = store.patient(args.patient).timezone if args.patient else "UTC"
        entries = st.list_strips(
            store,
            patient=args.patient,
            serial=args.serial,
            start_utc=when(args.start, tz_name),
            end_utc=when(args.end, tz_name),
            placed_only=args.serial is None,
        )
        if not entries:
            print("no strips")
            return 0
        print(f"{'time':<22} {'device':<12} {'ep':>3} {'#':>5} {'reason':<10} {'s':>4} "
              f"{'state':<9} review")  # fmt: skip
        for e in entries:
            tz = tz_of(store, e.patient) if not args.patient else tz_name
            verdict = VERDICT_TEXT[e.review.verdict] if e.review else "-"
            print(
                f"{local(e.utc, tz):<22} {e.serial:<12} {e.epoch:>3} {e.strip_id:>5} "
                f"{e.reason_text:<10} {e.duration_s:>4.0f} {e.state:<9} {verdict}"
            )
    return 0


def _show(args: argparse.Namespace) -> int:
    with Store(db_path(args), create=False) as store:
        key = _key(store, args)
        try:
            strip = st.get_strip(store, key)
        except StoreError:
            return fail(
                f"strip #{key[2]} of {key[0]} is still on the device: fetch it with "
                f"`wearsense strip get {key[2]} --serial {key[0]}`"
            )
        trace = strip_trace(strip)
        lines = describe(store, strip, trace)
    print("\n".join(lines))
    if args.out is not None:
        out = Path(args.out)
        if out.suffix.lower() not in (".png", ".svg", ".pdf"):
            return fail("--out must end in .png, .svg or .pdf", EXIT_USAGE)
        fig = draw_page(trace, [lines[0], *(line.replace("  ", " ") for line in lines[1:])])
        with atomic_path(out) as tmp:
            fig.savefig(tmp, format=out.suffix[1:].lower(), dpi=150)
        print(f"wrote {out} (25 mm/s, 10 mm/mV)")
    return 0


def _review(args: argparse.Namespace) -> int:
    with Store(db_path(args), create=False) as store:
        key = _key(store, args)
        review = st.review_strip(store, key, args.verdict, args.by)
        patient = store.patient_of(key[0], st.get_strip(store, key).start_utc)
        print(f"strip #{key[2]} of {key[0]}: {review_text(review, tz_of(store, patient))}")
    return 0


async def _get(args: argparse.Namespace) -> int:
    store = open_store(db_path(args))
    built: Companion | None = None
    try:
        radio = Radio() if args.link == "ble" else Radio.bumble(args.transport, args.controllers)
        built = await Companion.open(
            store,
            radio,
            address=COMPANION_ADDRESS,
            keystore=args.keystore,
            config=SessionConfig(serial=args.serial),
        )
        session = built.session
        built.start()
        await session.wait_streaming(STREAMING_WAIT_S)
        serial = session.serial
        assert serial is not None

        def progress(done: int, total: int) -> None:
            print(f"\rstrip #{args.strip_id}: {done}/{total} bytes", end="", flush=True)

        image = await fetch_strip(session, args.strip_id, progress=progress)
        print()
        new = st.put_strip(store, serial, image)
        crc = zlib.crc32(image)
        await release_strip(session, args.strip_id, crc)
        state = "stored" if new else "already stored"
        print(f"strip #{args.strip_id} of {serial}: {len(image)} bytes, {state}; released")
        await built.stop(quiet=True)
        return 0
    except StoreError as exc:
        return fail(str(exc))
    finally:
        if built is not None:
            await built.close()
        store.close()


def _get_main(args: argparse.Namespace) -> int:
    return run_process(_get, args)


def _strip_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("strip_id", type=int, metavar="ID", help="the strip's number")
    p.add_argument("--serial", help="the device (needed when several have a strip ID)")
    p.add_argument("--epoch", type=int, help="the device's epoch (default: the newest)")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "strip",
        help="ECG strips: list, get from the device, show on ECG paper, review",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="strip_command", metavar="ACTION", required=True)
    p = subcommand(
        sub, "list", "announced and stored strips, oldest first", _list,
        "Strips the devices announced (STRIP events) and those stored, each once: "
        "'stored' or 'on device' (fetch it with `strip get`), with the newest review.",
    )  # fmt: skip
    p.add_argument("--patient", help="only the strips of this patient (by the device worn)")
    p.add_argument("--serial", help="only this device's strips (also those without a time)")
    p.add_argument("--from", dest="start", metavar="TIME", help="ISO date-time, inclusive")
    p.add_argument("--to", dest="end", metavar="TIME", help="ISO date-time, exclusive")

    p = subcommand(
        sub, "show", "what a strip shows; --out draws it on ECG paper", _show,
        "Time, reason, the device's verdict, heart rate (beats found by the device's QRS "
        "detector in the strip), duration and reviews of a stored strip. --out FILE.png, "
        ".svg or .pdf draws it at 25 mm/s and 10 mm/mV (print the SVG or PDF at 100 %).",
    )  # fmt: skip
    _strip_argument(p)
    p.add_argument("--out", type=Path, metavar="FILE", help="write the strip on ECG paper")

    p = subcommand(
        sub, "review", "record a clinician's verdict on a stored strip", _review,
        "Stores a review (verdict, reviewer, now). Every review is kept; the newest is "
        "the strip's verdict in lists, the terminal UI and the exports.",
    )  # fmt: skip
    _strip_argument(p)
    p.add_argument("--verdict", required=True, choices=[v.value for v in st.Verdict])
    p.add_argument("--by", required=True, metavar="NAME", help="the reviewer")

    p = sub.add_parser(
        "get",
        help="fetch a strip from the connected wearable, store it, release it",
        description="Connects as `wearsense companion` does (pairs the first time), asks "
        "the wearable for strip ID (STRIP_GET; resumes after a dropped link), checks it "
        "end to end, stores it and then sends STRIP_RELEASE so the device may reuse the "
        "space. A strip already stored with the same bytes is released again.",
    )
    add_db_argument(p)
    p.add_argument("strip_id", type=int, metavar="ID", help="the strip's number")
    p.add_argument("--serial", help="the device to connect to (default: the first found)")
    p.add_argument("--link", choices=("emulator", "ble"), default="emulator")
    p.add_argument(
        "--controllers",
        default=f"{DEFAULT_PORTS[0]},{DEFAULT_PORTS[1]}",
        help="loopback TCP ports A,B of the virtual controllers (default: %(default)s)",
    )
    p.add_argument("--transport", help="a Bumble HCI transport (as for `wearsense companion`)")
    p.add_argument(
        "--keystore", type=Path, default=Path("build/companion/keys.json"),
        help="the companion's bond keys with --link emulator (default: %(default)s)",
    )  # fmt: skip
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(handler=guarded(_get_main))
