"""What the commands on the companion's database share: the ``--db`` argument, the
error line and exit codes, ISO date-times in a patient's timezone, and ``sub``, a
subcommand that takes ``--db`` and turns the documented errors into exit status 1.
Default database: ``$WEARSENSE_DB``, else wearsense.db in the user's data directory."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from wearsense.export.common import ExportError
from wearsense.store.db import default_db_path, timezone
from wearsense.store.errors import StoreError

EXIT_ERROR = 1
EXIT_USAGE = 2


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        metavar="PATH",
        help="the database file (default: $WEARSENSE_DB, else wearsense.db in the user's "
        "data directory, $XDG_DATA_HOME/wearsense or ~/.local/share/wearsense)",
    )


def db_path(args: argparse.Namespace) -> Path:
    return args.db if args.db is not None else default_db_path()


def fail(message: str, code: int = EXIT_ERROR) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def guarded(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turns the documented errors into one line on stderr and exit status 1."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except (StoreError, ExportError) as exc:
            return fail(str(exc))

    return run


def when(text: str | None, tz_name: str) -> float | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise StoreError(f"{text!r} is not an ISO date-time (2024-03-01T08:00)") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone(tz_name))
    return moment.timestamp()


def local(utc: float | None, tz_name: str) -> str:
    if utc is None:
        return "-"
    return datetime.fromtimestamp(utc, timezone(tz_name)).isoformat(timespec="minutes")


def subcommand(
    sub: Any,
    name: str,
    help_: str,
    handler: Callable[[argparse.Namespace], int],
    description: str | None = None,
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=help_, description=description or help_
    )
    add_db_argument(parser)
    parser.set_defaults(handler=guarded(handler))
    return parser
