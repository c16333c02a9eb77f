"""`wearsense tui`: the terminal UI on a store.

Shows what the store holds (patients, devices, events, derived charts, model versions)
and follows it live: events another process stores appear within a couple of seconds,
and a link attached in the same process (the `wearsense demo` job) reports connection
state, battery and new events as they happen. The UI only reads the store.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from wearsense.store import StoreError, default_db_path


def run(args: argparse.Namespace) -> int:
    from tui.app import WearSenseApp

    try:
        app = WearSenseApp(args.db, poll_s=args.poll)
    except StoreError as exc:
        print(f"wearsense tui: {exc}", file=sys.stderr)
        return 1
    app.run()
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "tui",
        help="open the terminal UI on a store (devices, live events, charts, export)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--db",
        default=str(default_db_path()),
        help="the store to open (default: $WEARSENSE_DB or the user's data directory)",
    )
    parser.add_argument(
        "--poll",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="how often to look for events stored by another process (0: never; default 2)",
    )
    parser.set_defaults(handler=run)
