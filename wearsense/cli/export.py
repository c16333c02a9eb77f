"""`wearsense export fhir|csv|edf|report`: one patient's events over a time range, for
clinicians and researchers (docs/clinical-export.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from wearsense.cli.common import add_db_argument, db_path, guarded
from wearsense.export.common import ExportData, parse_when, select
from wearsense.export.formats import FORMATS
from wearsense.store.db import Store


def _load(args: argparse.Namespace, store: Store) -> ExportData:
    tz = store.patient(args.patient).tz
    start = parse_when(args.start, tz) if args.start else None
    end = parse_when(args.end, tz, end=True) if args.end else None
    return select(
        store, args.patient, start, end, deidentify=args.deidentify, shift_days=args.shift_days
    )


def _export(args: argparse.Namespace) -> int:
    with Store(db_path(args), create=False) as store:
        data = _load(args, store)
    written = FORMATS[args.format].write(data, args.out, None, sys.stderr.isatty())
    print(
        f"{len(data.events)} events of {data.patient_label}"
        + (
            f" (de-identified, dates shifted by -{data.shift_s // 86400} days)"
            if data.deidentified
            else ""
        )
    )
    for path in written:
        print(f"wrote {path}")
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a patient's events: FHIR R4, CSV, EDF+, PDF/PNG report",
        description="Export one patient's events over a time range. Files are written "
        "under a temporary name and renamed when complete. Exit status: 0 written; 1 an "
        "unknown patient, no events in the range, a bad database or output path (one line "
        "on stderr, nothing written).",
    )
    sub = parser.add_subparsers(dest="format", metavar="FORMAT", required=True)
    for name, chosen in FORMATS.items():
        text = chosen.description
        p = sub.add_parser(name, help=text, description=f"Export {text}.")
        add_db_argument(p)
        p.add_argument("--patient", required=True, help="the patient's pseudonym")
        p.add_argument(
            "--from",
            dest="start",
            metavar="WHEN",
            help="first day (ISO date, patient's local time) or date-time",
        )
        p.add_argument(
            "--to",
            dest="end",
            metavar="WHEN",
            help="last day, included (ISO date) or end date-time, excluded",
        )
        p.add_argument(
            "--deidentify",
            action="store_true",
            help="shift all dates by a random number of whole days into the past (times "
            "written in UTC), "
            "replace the pseudonym and serials by unlinkable labels, drop raw "
            "bytes and device clocks",
        )
        p.add_argument(
            "--shift-days",
            type=int,
            metavar="N",
            help="with --deidentify: shift by exactly N days (reproducible)",
        )
        target = "directory" if chosen.writes_folder else "file"
        p.add_argument(
            "--out",
            "-o",
            type=Path,
            required=True,
            help=f"output {target}" + (" (OUT.pdf and OUT.png)" if name == "report" else ""),
        )
        p.set_defaults(handler=guarded(_export))
