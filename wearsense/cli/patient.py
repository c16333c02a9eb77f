"""`wearsense patient add|list|assign|unassign|delete`: people and the devices they wear."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from wearsense.cli.common import EXIT_ERROR, EXIT_USAGE, db_path, fail, local, subcommand, when
from wearsense.export.common import ExportError, select
from wearsense.export.fhir import write_fhir
from wearsense.store.db import Store


def _patient_add(args: argparse.Namespace) -> int:
    with Store(db_path(args)) as store:
        p = store.add_patient(args.pseudonym, args.timezone)
    print(f"added patient {p.pseudonym} ({p.timezone})")
    return 0


def _patient_list(args: argparse.Namespace) -> int:
    with Store(db_path(args)) as store:
        patients = store.patients()
        if args.json:
            rows = [
                {
                    "pseudonym": p.pseudonym,
                    "timezone": p.timezone,
                    "assignments": [
                        {"serial": a.serial, "start_utc": a.start_utc, "end_utc": a.end_utc}
                        for a in store.assignments(p.pseudonym)
                    ],
                }
                for p in patients
            ]
            print(json.dumps(rows, indent=2))
            return 0
        if not patients:
            print("no patients (add one with `wearsense patient add PSEUDONYM`)")
        for p in patients:
            worn = [
                f"{a.serial} since {local(a.start_utc, p.timezone)}"
                for a in store.assignments(p.pseudonym)
                if a.end_utc is None
            ]
            print(f"{p.pseudonym:<20} {p.timezone:<22} {', '.join(worn) or 'no device'}")
    return 0


def _patient_assign(args: argparse.Namespace) -> int:
    with Store(db_path(args)) as store:
        patient = store.patient(args.pseudonym)
        serial = args.serial.strip()
        waiting_from = store.first_unassigned_utc(serial)
        start = when(args.start, patient.timezone)
        if start is None:  # from the first event the device queued for nobody
            start = waiting_from
        a = store.assign(serial, patient.pseudonym, start)
        took = store.count_device_events(a.serial, a.start_utc)
        left = (
            store.count_device_events(a.serial, waiting_from, a.start_utc)
            if waiting_from is not None and waiting_from < a.start_utc
            else 0
        )
    tz = patient.timezone
    print(f"device {a.serial} is worn by {a.patient} from {local(a.start_utc, tz)}")
    print(f"took {took} event{'s' * (took != 1)} already stored")
    if left:
        print(f"{left} earlier event{'s' * (left != 1)} of the device stay unassigned")
    return 0


def _patient_unassign(args: argparse.Namespace) -> int:
    with Store(db_path(args)) as store:
        open_ = [a for a in store.assignments(serial=args.serial) if a.end_utc is None]
        tz = store.patient(open_[0].patient).timezone if open_ else "UTC"
        a = store.unassign(args.serial, when(args.end, tz))
    print(f"device {a.serial} no longer worn by {a.patient} (from {local(a.end_utc, tz)})")
    return 0


def _patient_delete(args: argparse.Namespace) -> int:
    with Store(db_path(args)) as store:
        patient = store.patient(args.pseudonym)
        export_to: Path | None = args.export_first
        interactive = sys.stdin.isatty() and not args.yes
        if interactive and export_to is None:
            answer = input(
                f"Export {patient.pseudonym}'s events (FHIR JSON) before deleting? "
                "Give a file name, or press Enter for no export: "
            ).strip()
            export_to = Path(answer) if answer else None
        if export_to is not None:
            try:
                written = write_fhir(select(store, patient.pseudonym), export_to)
                print(f"exported to {written}")
            except ExportError as exc:
                if "no events" not in str(exc):
                    raise
                print(f"nothing to export: {exc}")
        if interactive:
            typed = input(
                f"Type the pseudonym to delete {patient.pseudonym} and all their events for good: "
            ).strip()
            if typed != patient.pseudonym:
                print("not deleted")
                return EXIT_ERROR
        elif not args.yes:
            return fail(
                "deleting a patient removes every event of theirs: confirm with --yes "
                "(and keep a copy with --export-first FILE)",
                EXIT_USAGE,
            )
        counts = store.delete_patient(patient.pseudonym)
    print(
        f"deleted {patient.pseudonym}: {counts['events']} events, "
        f"{counts['assignments']} assignments, {counts['alerts']} alerts"
    )
    return 0


def register(subparsers: Any) -> None:
    patient = subparsers.add_parser(
        "patient",
        help="add, list, assign devices to, and delete patients",
        description="Patients are pseudonyms with a timezone; a device (by serial) is "
        "assigned to one patient over a time span, and events belong to whoever wore the "
        "device at the event's time. Exit status: 0 done, 1 error, 2 missing confirmation.",
    )
    sub = patient.add_subparsers(dest="patient_command", metavar="ACTION", required=True)
    p = subcommand(sub, "add", "add a patient", _patient_add)
    p.add_argument("pseudonym", help="a pseudonym, never a name (e.g. p-001)")
    p.add_argument(
        "--timezone",
        default="UTC",
        help="IANA timezone in which the patient's days are shown (default: UTC)",
    )
    p = subcommand(sub, "list", "list patients and the devices they wear", _patient_list)
    p.add_argument("--json", action="store_true", help="print JSON")
    p = subcommand(sub, "assign", "assign a device to a patient", _patient_assign)
    p.add_argument("serial", help="the device's serial number")
    p.add_argument("pseudonym")
    p.add_argument(
        "--from",
        dest="start",
        metavar="WHEN",
        help="ISO date-time the patient started wearing it (patient's local time "
        "unless an offset is given; default: the time of the device's first event no "
        "patient holds, or now when it has none)",
    )
    p = subcommand(sub, "unassign", "end a device's current assignment", _patient_unassign)
    p.add_argument("serial")
    p.add_argument(
        "--at",
        dest="end",
        metavar="WHEN",
        help="ISO date-time the patient stopped wearing it (default: now)",
    )
    p = subcommand(
        sub,
        "delete",
        "delete a patient and every row of theirs",
        _patient_delete,
        description="Delete a patient: their assignments, the events their devices "
        "sent while assigned to them, and their alerts. Asks whether to export first "
        "when run interactively; otherwise needs --yes.",
    )
    p.add_argument("pseudonym")
    p.add_argument(
        "--export-first",
        type=Path,
        metavar="FILE",
        help="write the patient's FHIR export to FILE before deleting",
    )
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
