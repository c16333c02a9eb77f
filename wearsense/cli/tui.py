"""`wearsense tui`: the terminal UI on a store.

Shows what the store holds (patients, devices, events, derived charts, model versions)
and follows it live: events another process stores appear within a couple of seconds,
and a link attached in the same process (the `wearsense demo` job) reports connection
state, battery and new events as they happen. The UI only reads the store.

Exit status: 0 after `q`; 1 when the store is missing or unusable (one line on stderr).
"""

from __future__ import annotations

import argparse
from typing import Any

from tui.app import WearSenseApp
from wearsense.cli.common import add_db_argument, db_path, guarded


def run(args: argparse.Namespace) -> int:
    app = WearSenseApp(db_path(args), poll_s=args.poll)  # StoreError: one line, status 1
    app.run()
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "tui",
        help="open the terminal UI on a store (devices, live events, charts, model updates, "
        "export)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_db_argument(parser)
    parser.add_argument(
        "--poll",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="how often to look for events stored by another process (0: never; default 2)",
    )
    parser.set_defaults(handler=guarded(run))
