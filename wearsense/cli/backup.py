"""`wearsense backup DEST`: a consistent copy of the companion's database."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from wearsense.cli.common import add_db_argument, db_path, guarded
from wearsense.store.db import Store


def _backup(args: argparse.Namespace) -> int:
    with Store(db_path(args), create=False) as store:
        dest = store.backup(args.destination)
    print(f"backed up {db_path(args)} to {dest}")
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "backup",
        help="copy the database consistently, even while the companion runs",
        description="A consistent copy made with SQLite's online backup API, safe while "
        "the companion is writing; written to a temporary file and renamed.",
    )
    add_db_argument(p)
    p.add_argument("destination", type=Path, help="the backup file to write")
    p.set_defaults(handler=guarded(_backup))
