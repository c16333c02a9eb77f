"""`wearsense alerts list|hook|deliver`: caregiver alerts, the hook command and the outbox."""

from __future__ import annotations

import argparse
from typing import Any

from wearsense.cli.common import EXIT_ERROR, EXIT_USAGE, db_path, fail, subcommand
from wearsense.store import alerts
from wearsense.store.db import Store


def _alerts_list(args: argparse.Namespace) -> int:
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
    with Store(db_path(args)) as store:
        alerts.check_silence(store)
        delivered, failed = alerts.deliver_pending(store)
    print(f"delivered {delivered}, failed {failed} (failed alerts are kept and retried)")
    return EXIT_ERROR if failed else 0


def register(subparsers: Any) -> None:
    alerts = subparsers.add_parser(
        "alerts",
        help="caregiver alerts: the hook command and the outbox",
        description="Falls, AF onsets and long data gaps queue an alert when stored; "
        "`deliver` runs the hook command with each alert as JSON on standard input. A "
        "failing hook is logged and retried later; alerts are never dropped.",
    )
    sub = alerts.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)
    p = subcommand(sub, "list", "list alerts", _alerts_list)
    p.add_argument("--pending", action="store_true", help="only undelivered alerts")
    p = subcommand(
        sub, "hook", "show or set the hook command (WEARSENSE_ALERT_HOOK overrides)", _alerts_hook
    )
    p.add_argument("command", nargs="?", help="command line, e.g. 'notify-caregiver --sms'")
    p.add_argument("--clear", action="store_true", help="remove the hook")
    p.add_argument("--gap-hours", type=float, help="hours without data that raise an alert")
    subcommand(
        sub, "deliver", "run the hook for every due alert (exit 1 if any failed)", _alerts_deliver
    )
