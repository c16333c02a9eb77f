"""`wearsense update`: the package registry and model rollouts over BLE.

  add PACKAGE [--metrics JSON]   register a package with its evaluated metrics (default:
                                 metrics.json beside the package, as in models/<task>/)
  list                           registered packages and what each device last reported
  push PACKAGE [--force]         push to a wearable: connect (pairing once), read the model
                                 it runs (STATUS page 1), apply the rollout guard, transfer
                                 with a progress bar (resuming after link drops), commit,
                                 and confirm the new version from the device

Only a package signed by a trusted key (--trusted-key, $WEARSENSE_TRUSTED_KEYS, else the
key this build's firmware trusts) whose hash and signature verify is registered or pushed;
an untrusted or tampered one is refused before anything is recorded or sent.
The rollout guard refuses a package whose evaluated metric (--metric, default macro_f1)
is worse than the running model's, or unknown, unless --force. Exit status: 0 installed,
1 refused by the device (its status is printed), 2 refused by the guard, 3 link failure.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from wearsense.companion import PUSH_ADDRESS, Companion, PushError, PushFailure, Radio, open_store
from wearsense.companion.model_updates import (
    PushReport,
    push,
    read_metrics,
    read_package,
    register_package,
)
from wearsense.link.controllers import DEFAULT_PORTS, run_process
from wearsense.link.session import SessionConfig
from wearsense.store import default_db_path
from wearsense.updates import package as pkg
from wearsense.updates.errors import KeyFileError, PackageError
from wearsense.updates.keys import load_public_key
from wearsense.updates.registry import (
    DEFAULT_METRIC,
    ENV_TRUSTED_KEYS,
    Registry,
    RegistryError,
    default_registry_path,
)
from wearsense.updates.transfer import UpdateError


def _registry(args: argparse.Namespace) -> Registry:
    """--registry, else $WEARSENSE_REGISTRY, else updates.db beside the event store (--db
    of push, else the default store); trusting the --trusted-key keys when given.
    ``KeyFileError`` when a --trusted-key file is no public key."""
    path = args.registry or default_registry_path(getattr(args, "db", None))
    trusted = [load_public_key(p) for p in args.trusted_key] if args.trusted_key else None
    return Registry(path, trusted_keys=trusted)


def cmd_add(args: argparse.Namespace) -> int:
    try:
        data = args.package.read_bytes()
        with _registry(args) as registry:
            record = registry.add(
                data, metrics=read_metrics(args.metrics, args.package), path=args.package
            )
    except (OSError, PackageError, RegistryError, KeyFileError, json.JSONDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    value = record.metric(args.metric)
    shown = f"{args.metric} {value:.4f}" if value is not None else f"no {args.metric}"
    print(
        f"registered {pkg.Task(record.task).name.lower()} v{record.version} "
        f"({record.size} bytes, {shown}) {record.sha256[:16]}"
    )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    try:
        opened = _registry(args)
    except KeyFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    with opened as registry:
        for r in registry.packages():
            value = r.metric(args.metric)
            shown = f"{value:.4f}" if value is not None else "-"
            dev = " DEV-signed" if r.dev_key else ""
            print(
                f"{pkg.Task(r.task).name.lower():9} v{r.version:<5} {r.size:7} B "
                f"{args.metric} {shown}{dev}  {r.sha256[:16]}"
            )
        for serial, task, version in registry.installs():
            print(f"{serial} runs {pkg.Task(task).name.lower()} v{version}")
    return 0


async def _push(args: argparse.Namespace) -> int:
    try:
        package = read_package(args.package)
    except PushError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        registry = _registry(args)
    except KeyFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        register_package(registry, package, args.metrics)
    except PushError as exc:
        print(f"error: {exc}", file=sys.stderr)
        registry.close()
        return 1
    store = open_store(args.db or default_db_path())
    built: Companion | None = None
    bars: list[Any] = []  # made at the first acknowledged offset (after the guard)
    try:
        built = await Companion.open(
            store,
            Radio.bumble(args.transport, args.controllers),
            address=PUSH_ADDRESS,
            keystore=args.keystore,
            config=SessionConfig(serial=args.serial, max_attempts=10),
        )
        built.start()

        def progress(offset: int, size: int) -> None:
            if not bars:
                desc = f"push v{package.version}"
                bars.append(tqdm(total=size, unit="B", unit_scale=True, desc=desc))
            bars[0].update(offset - bars[0].n)

        report = await push(
            built.session,
            built.watcher,
            package,
            registry,
            force=args.force,
            metric=args.metric,
            timeout_s=args.timeout,
            history=store,
            on_progress=progress,
        )
        _close(bars)
        return _said(report)
    finally:
        _close(bars)
        if built is not None:
            await built.stop(quiet=True)
            await built.close()
        store.close()
        registry.close()


def _close(bars: list[Any]) -> None:
    if bars:
        bars[0].close()


def _said(report: PushReport) -> int:
    """Prints how the push ended; the exit status (docstring)."""
    outcome = report.outcome
    if outcome is not None:
        print(
            f"installed: {outcome.serial} runs {pkg.Task(outcome.task).name.lower()} "
            f"v{outcome.to_version} (was v{outcome.from_version}); {outcome.guard}; "
            f"{outcome.stats.att_bytes} bytes over the air in {outcome.seconds:.1f} s, "
            f"{outcome.attempts} attempt(s)"
        )
        return 0
    exc = report.error
    if report.failure is PushFailure.GUARD:
        print(f"refused by the rollout guard: {exc}", file=sys.stderr)
        return 2
    if report.failure is PushFailure.DEVICE:
        assert isinstance(exc, UpdateError)
        print(f"refused by the device ({exc.status.name}): {exc}; the old model keeps running",
              file=sys.stderr)  # fmt: skip
        return 1
    print(f"link failure: {exc or 'timed out'}; push again to resume", file=sys.stderr)
    return 3


def cmd_push(args: argparse.Namespace) -> int:
    return run_process(_push, args)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "update",
        help="package registry and model rollouts to wearables",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--registry", type=Path, help="registry file (default: $WEARSENSE_REGISTRY, else "
        "updates.db beside the event store: push's --db, else $WEARSENSE_DB)"
    )  # fmt: skip
    parser.add_argument(
        "--trusted-key", type=Path, action="append", metavar="PUBLIC_KEY",
        help="a public key packages must be signed by to be registered (repeatable; default: "
        f"${ENV_TRUSTED_KEYS}, else the key this build's firmware trusts)"
    )  # fmt: skip
    parser.add_argument(
        "--metric", default=DEFAULT_METRIC, help="metric the guard compares (higher is better)"
    )
    sub = parser.add_subparsers(dest="update_command", metavar="ACTION", required=True)

    add = sub.add_parser("add", help="register a package and its evaluated metrics")
    add.add_argument("package", type=Path)
    add.add_argument("--metrics", type=Path, help="metrics JSON (default: metrics.json beside it)")
    add.set_defaults(handler=cmd_add)

    show = sub.add_parser("list", help="registered packages and what each device runs")
    show.set_defaults(handler=cmd_list)

    push = sub.add_parser("push", help="push a package to a wearable over BLE")
    push.add_argument("package", type=Path)
    push.add_argument("--metrics", type=Path, help="metrics JSON (default: metrics.json beside it)")
    push.add_argument("--serial", help="the wearable (default: the first found)")
    push.add_argument("--force", action="store_true", help="push even if the guard refuses")
    push.add_argument("--db", type=Path, help="event store (default: $WEARSENSE_DB)")
    push.add_argument(
        "--controllers",
        default=f"{DEFAULT_PORTS[0]},{DEFAULT_PORTS[1]}",
        help="loopback TCP ports A,B of the virtual controllers (default: %(default)s)",
    )
    push.add_argument("--transport", help="a Bumble HCI transport instead of the controllers")
    push.add_argument(
        "--keystore",
        type=Path,
        default=Path("build/companion/keys.json"),
        help="the companion's bond keys (default: %(default)s)",
    )
    push.add_argument("--timeout", type=float, default=30.0, help="seconds per wait (default 30)")
    push.add_argument("-v", "--verbose", action="store_true")
    push.set_defaults(handler=cmd_push)
