"""`wearsense store info|redecode|prune`: database upkeep."""

from __future__ import annotations

import argparse
from typing import Any

from wearsense.cli.common import EXIT_USAGE, db_path, fail, subcommand
from wearsense.store.db import SequenceHole, Store


def _hole_lines(holes: list[SequenceHole]) -> list[str]:
    """One line per device and epoch with holes: ``SERIAL epoch E: 23-41 (19 events)``."""
    keys = sorted({(h.serial, h.epoch) for h in holes})
    return [
        f"{serial} epoch {epoch}: "
        + ", ".join(str(h) for h in holes if (h.serial, h.epoch) == (serial, epoch))
        for serial, epoch in keys
    ]


def _store_info(args: argparse.Namespace) -> int:
    with Store(db_path(args), create=False) as store:
        days = store.retention_days()
        print(f"database      {store.path}")
        print(f"schema        version {store.schema_version}")
        print(f"patients      {len(store.patients())}")
        print(f"devices       {len(store.devices())}")
        print(f"events        {store.count_events()}")
        print(f"undecodable   {store.count_undecodable()} (kept as bytes; see `store redecode`)")
        print(f"retention     {f'{days:g} days' if days else 'keep everything'}")
        # events a device assigned that never reached the store (between stored events,
        # not reported dropped by the device): a sync that broke, another central's acks
        lines = _hole_lines(store.sequence_holes()) or ["none"]
        print(f"holes         {lines[0]}")
        for line in lines[1:]:
            print(f"              {line}")
    return 0


def _store_prune(args: argparse.Namespace) -> int:
    with Store(db_path(args), create=False) as store:
        if args.days is not None:
            store.set_retention_days(args.days)
        if store.retention_days() is None:
            return fail("no retention period set: give --days N", EXIT_USAGE)
        removed = store.apply_retention()
    print(f"removed {removed} events older than the retention period")
    return 0


def _store_redecode(args: argparse.Namespace) -> int:
    with Store(db_path(args), create=False) as store:
        done, left = store.redecode()
    print(f"decoded {done} kept packet(s) as events; {left} still undecodable")
    return 0


def register(subparsers: Any) -> None:
    store = subparsers.add_parser(
        "store", help="database information and retention", description="Database upkeep."
    )
    sub = store.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    subcommand(sub, "info", "schema version, counts, retention policy, sequence holes", _store_info)
    subcommand(
        sub,
        "redecode",
        "decode again the packets kept as bytes (after a companion update)",
        _store_redecode,
        "A packet the companion could not decode is kept as bytes, flagged undecodable, so "
        "the device can be acknowledged and nothing is lost (docs/store.md). A newer "
        "firmware's event is one: an older companion's decoder refuses its new flag bits. "
        "This decodes every such packet again with this version's decoder; each that now "
        "decodes to an event of the sequence it was kept at becomes that event (alerts for "
        "a fall or AF onset found this way are queued). `wearsense companion` does this "
        "when it starts.",
    )
    p = subcommand(sub, "prune", "delete events older than the retention period", _store_prune)
    p.add_argument("--days", type=float, help="set the retention period (days) first")
