"""`wearsense restore SRC`: replace the companion's database with a backup."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from wearsense.cli.common import EXIT_ERROR, EXIT_USAGE, add_db_argument, db_path, fail, guarded
from wearsense.store.db import restore


def _restore(args: argparse.Namespace) -> int:
    target = db_path(args)
    if target.exists() and not args.yes:
        if not sys.stdin.isatty():
            return fail(
                f"restoring replaces everything in {target}: confirm with --yes", EXIT_USAGE
            )
        if input(f"Replace everything in {target} with {args.source}? [y/N] ").lower() != "y":
            print("not restored")
            return EXIT_ERROR
    restore(args.source, target)
    print(f"restored {target} from {args.source}")
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "restore",
        help="replace the database with a backup",
        description="Checks the backup (a WearSense database that passes SQLite's integrity "
        "check), then copies it into the database with the backup API.",
    )
    add_db_argument(p)
    p.add_argument("source", type=Path, help="the backup file to restore")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(handler=guarded(_restore))
