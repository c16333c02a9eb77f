"""`wearsense patient|backup|restore|alerts|store`: people and devices, copies of the
database, the alert hook, and database upkeep. Every command takes ``--db PATH``
(default: ``$WEARSENSE_DB``, else wearsense.db in the user's data directory)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from wearsense.store.db import Store, default_db_path, restore, timezone
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
        from wearsense.export.common import ExportError

        try:
            return handler(args)
        except (StoreError, ExportError) as exc:
            return fail(str(exc))

    return run


def _when(text: str | None, tz_name: str) -> float | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise StoreError(f"{text!r} is not an ISO date-time (2024-03-01T08:00)") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone(tz_name))
    return moment.timestamp()


def _local(utc: float | None, tz_name: str) -> str:
    if utc is None:
        return "-"
    return datetime.fromtimestamp(utc, timezone(tz_name)).isoformat(timespec="minutes")


# -- patient ---------------------------------------------------------------------------


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
                f"{a.serial} since {_local(a.start_utc, p.timezone)}"
                for a in store.assignments(p.pseudonym)
                if a.end_utc is None
            ]
            print(f"{p.pseudonym:<20} {p.timezone:<22} {', '.join(worn) or 'no device'}")
    return 0


def _patient_assign(args: argparse.Namespace) -> int:
    with Store(db_path(args)) as store:
        patient = store.patient(args.pseudonym)
        a = store.assign(args.serial, patient.pseudonym, _when(args.start, patient.timezone))
    print(f"device {a.serial} is worn by {a.patient} from {_local(a.start_utc, patient.timezone)}")
    return 0


def _patient_unassign(args: argparse.Namespace) -> int:
    with Store(db_path(args)) as store:
        open_ = [a for a in store.assignments(serial=args.serial) if a.end_utc is None]
        tz = store.patient(open_[0].patient).timezone if open_ else "UTC"
        a = store.unassign(args.serial, _when(args.end, tz))
    print(f"device {a.serial} no longer worn by {a.patient} (from {_local(a.end_utc, tz)})")
    return 0


def _patient_delete(args: argparse.Namespace) -> int:
    from wearsense.export.common import ExportError, select
    from wearsense.export.fhir import write_fhir

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


# -- backup, restore --------------------------------------------------------------------


def _backup(args: argparse.Namespace) -> int:
    with Store(db_path(args), create=False) as store:
        dest = store.backup(args.destination)
    print(f"backed up {db_path(args)} to {dest}")
    return 0


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


# -- alerts -----------------------------------------------------------------------------


def _alerts_list(args: argparse.Namespace) -> int:
    from wearsense.store import alerts

    with Store(db_path(args)) as store:
        for a in alerts.alerts(store, pending_only=args.pending):
            state = "delivered" if a.delivered_utc else f"pending ({a.attempts} tries)"
            print(f"{a.id:>5} {a.kind:<15} {a.serial:<12} {state:<20} {a.last_error}")
    return 0


def _alerts_hook(args: argparse.Namespace) -> int:
    with Store(db_path(args)) as store:
        if args.clear:
            store.set_setting("alert_hook", None)
            print("alert hook cleared")
        elif args.command:
            store.set_setting("alert_hook", args.command)
            print(f"alert hook: {args.command}")
        else:
            print(store.setting("alert_hook") or "no alert hook configured")
        if args.gap_hours is not None:
            if args.gap_hours <= 0:
                return fail("--gap-hours must be positive", EXIT_USAGE)
            store.set_setting("gap_alert_hours", str(args.gap_hours))
            print(f"data-gap alerts after {args.gap_hours} hours without data")
    return 0


def _alerts_deliver(args: argparse.Namespace) -> int:
    from wearsense.store import alerts

    with Store(db_path(args)) as store:
        alerts.check_silence(store)
        delivered, failed = alerts.deliver_pending(store)
    print(f"delivered {delivered}, failed {failed} (failed alerts are kept and retried)")
    return EXIT_ERROR if failed else 0


# -- store ------------------------------------------------------------------------------


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


def _sub(
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


def register(subparsers: Any) -> None:
    patient = subparsers.add_parser(
        "patient",
        help="add, list, assign devices to, and delete patients",
        description="Patients are pseudonyms with a timezone; a device (by serial) is "
        "assigned to one patient over a time span, and events belong to whoever wore the "
        "device at the event's time. Exit status: 0 done, 1 error, 2 missing confirmation.",
    )
    sub = patient.add_subparsers(dest="patient_command", metavar="ACTION", required=True)
    p = _sub(sub, "add", "add a patient", _patient_add)
    p.add_argument("pseudonym", help="a pseudonym, never a name (e.g. p-001)")
    p.add_argument(
        "--timezone",
        default="UTC",
        help="IANA timezone in which the patient's days are shown (default: UTC)",
    )
    p = _sub(sub, "list", "list patients and the devices they wear", _patient_list)
    p.add_argument("--json", action="store_true", help="print JSON")
    p = _sub(sub, "assign", "assign a device to a patient", _patient_assign)
    p.add_argument("serial", help="the device's serial number")
    p.add_argument("pseudonym")
    p.add_argument(
        "--from",
        dest="start",
        metavar="WHEN",
        help="ISO date-time the patient started wearing it (patient's local time "
        "unless an offset is given; default: now)",
    )
    p = _sub(sub, "unassign", "end a device's current assignment", _patient_unassign)
    p.add_argument("serial")
    p.add_argument(
        "--at",
        dest="end",
        metavar="WHEN",
        help="ISO date-time the patient stopped wearing it (default: now)",
    )
    p = _sub(
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

    p = subparsers.add_parser(
        "backup",
        help="copy the database consistently, even while the companion runs",
        description="A consistent copy made with SQLite's online backup API, safe while "
        "the companion is writing; written to a temporary file and renamed.",
    )
    add_db_argument(p)
    p.add_argument("destination", type=Path, help="the backup file to write")
    p.set_defaults(handler=guarded(_backup))
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

    alerts = subparsers.add_parser(
        "alerts",
        help="caregiver alerts: the hook command and the outbox",
        description="Falls, AF onsets and long data gaps queue an alert when stored; "
        "`deliver` runs the hook command with each alert as JSON on standard input. A "
        "failing hook is logged and retried later; alerts are never dropped.",
    )
    sub = alerts.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)
    p = _sub(sub, "list", "list alerts", _alerts_list)
    p.add_argument("--pending", action="store_true", help="only undelivered alerts")
    p = _sub(
        sub, "hook", "show or set the hook command (WEARSENSE_ALERT_HOOK overrides)", _alerts_hook
    )
    p.add_argument("command", nargs="?", help="command line, e.g. 'notify-caregiver --sms'")
    p.add_argument("--clear", action="store_true", help="remove the hook")
    p.add_argument("--gap-hours", type=float, help="hours without data that raise an alert")
    _sub(sub, "deliver", "run the hook for every due alert (exit 1 if any failed)", _alerts_deliver)

    store = subparsers.add_parser(
        "store", help="database information and retention", description="Database upkeep."
    )
    sub = store.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    _sub(sub, "info", "schema version, counts, retention policy", _store_info)
    _sub(
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
    p = _sub(sub, "prune", "delete events older than the retention period", _store_prune)
    p.add_argument("--days", type=float, help="set the retention period (days) first")
