"""Alerts for a caregiver: falls (and their cancellation), AF onsets, an IMU the device
calls unbelievable (sensor fault) and long data gaps.

An alert is written to the ``alerts`` outbox in the same transaction that stores its
event, so it exists as surely as the event does. ``deliver_pending`` then runs the
configured hook command once per alert with the alert as JSON on its standard input; a
hook that fails (non-zero exit, timeout, cannot start) is logged, and the alert is tried
again later with a growing delay. Alerts are never dropped by a failure.

The hook is the ``alert_hook`` setting (``wearsense alerts hook CMD``) or the environment
variable ``WEARSENSE_ALERT_HOOK``; the command line is split like a shell would (no shell).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shlex
import subprocess
import time
from typing import Any

from wearsense.store.db import DEFAULT_GAP_ALERT_HOURS, Store
from wearsense.store.errors import StoreError
from wearsense.store.outbox import enqueue_gap

log = logging.getLogger(__name__)

RETRY_FIRST_S = 30.0
RETRY_MAX_S = 3600.0
HOOK_TIMEOUT_S = 30.0


@dataclasses.dataclass(frozen=True)
class Alert:
    id: int
    key: str
    kind: str
    serial: str
    payload: dict[str, Any]
    created_utc: float
    attempts: int
    next_try_utc: float
    delivered_utc: float | None
    last_error: str


def check_silence(store: Store, now_utc: float | None = None) -> int:
    """Queues a data-gap alert for every assigned device silent for longer than the
    threshold (setting ``gap_alert_hours``, default 4). Returns how many were new."""
    now = time.time() if now_utc is None else now_utc
    hours = float(store.setting("gap_alert_hours", str(DEFAULT_GAP_ALERT_HOURS)) or 0)
    before = pending_count(store) + delivered_count(store)
    with store.transaction() as db:
        rows = db.execute(
            "SELECT a.serial, (SELECT max(utc) FROM events e WHERE e.serial = a.serial) "
            "FROM assignments a WHERE a.end_utc IS NULL"
        ).fetchall()
        for serial, last in rows:
            if last is not None and now - last >= hours * 3600:
                enqueue_gap(db, serial, last, None, now)
    return pending_count(store) + delivered_count(store) - before


def pending_count(store: Store) -> int:
    with store.transaction() as db:
        return int(
            db.execute("SELECT count(*) FROM alerts WHERE delivered_utc IS NULL").fetchone()[0]
        )


def delivered_count(store: Store) -> int:
    with store.transaction() as db:
        return int(
            db.execute("SELECT count(*) FROM alerts WHERE delivered_utc IS NOT NULL").fetchone()[0]
        )


def alerts(store: Store, pending_only: bool = False) -> list[Alert]:
    with store.transaction() as db:
        rows = db.execute(
            "SELECT id, key, kind, serial, payload, created_utc, attempts, next_try_utc, "
            "delivered_utc, last_error FROM alerts"
            + (" WHERE delivered_utc IS NULL" if pending_only else "")
            + " ORDER BY id"
        ).fetchall()
    return [Alert(r[0], r[1], r[2], r[3], json.loads(r[4]), *r[5:]) for r in rows]


def hook_command(store: Store) -> str | None:
    return os.environ.get("WEARSENSE_ALERT_HOOK") or store.setting("alert_hook")


def _run_hook(command: str, payload: dict[str, Any], timeout_s: float) -> str | None:
    """Runs the hook; None on success, else a sentence saying what went wrong."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        return f"hook command cannot be parsed: {exc}"
    if not argv:
        return "hook command is empty"
    try:
        done = subprocess.run(
            argv,
            input=json.dumps(payload, sort_keys=True).encode(),
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
    except FileNotFoundError:
        return f"hook {argv[0]!r} not found"
    except PermissionError:
        return f"hook {argv[0]!r} is not executable"
    except subprocess.TimeoutExpired:
        return f"hook did not finish within {timeout_s:.0f} s"
    except OSError as exc:
        return f"hook could not start: {exc}"
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip()[-200:]
        return f"hook exited with status {done.returncode}" + (f": {tail}" if tail else "")
    return None


def deliver_pending(
    store: Store,
    command: str | None = None,
    now_utc: float | None = None,
    timeout_s: float = HOOK_TIMEOUT_S,
) -> tuple[int, int]:
    """Runs the hook for every pending alert that is due. Returns (delivered, failed)."""
    command = command or hook_command(store)
    if not command:
        raise StoreError(
            "no alert hook configured (wearsense alerts hook CMD, or WEARSENSE_ALERT_HOOK)"
        )
    now = time.time() if now_utc is None else now_utc
    delivered = failed = 0
    for alert in alerts(store, pending_only=True):
        if alert.next_try_utc > now:
            continue
        error = _run_hook(command, alert.payload, timeout_s)
        with store.transaction() as db:
            if error is None:
                db.execute(
                    "UPDATE alerts SET delivered_utc = ?, attempts = attempts + 1, "
                    "last_error = '' WHERE id = ?",
                    (time.time(), alert.id),
                )
                delivered += 1
            else:
                attempts = alert.attempts + 1
                delay = min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** (attempts - 1))
                db.execute(
                    "UPDATE alerts SET attempts = ?, next_try_utc = ?, last_error = ? WHERE id = ?",
                    (attempts, now + delay, error, alert.id),
                )
                log.warning(
                    "alert %s (%s) not delivered, attempt %d, retry in %.0f s: %s",
                    alert.key,
                    alert.kind,
                    attempts,
                    delay,
                    error,
                )
                failed += 1
    return delivered, failed
