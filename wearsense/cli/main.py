"""The `wearsense` command.

Each command lives in a module that provides ``register(subparsers)``; this table names
the module and the one-line help shown by ``wearsense --help``. Only the module of the
command being run is imported (so ``wearsense store info`` does not load PyTorch); the
others appear in the listing by their help line alone.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# command -> (module providing register(subparsers), one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "protocol": ("wearsense.cli.protocol", "encode and decode wire packets"),
    "demo": ("wearsense.cli.demo", "the main job: emulated wearable + companion + terminal UI"),
    "package": ("wearsense.cli.package", "build, sign, verify and inspect model packages"),
    "keys": ("wearsense.cli.keys", "Ed25519 signing keys"),
    "update": ("wearsense.cli.update", "model update registry and push over BLE"),
    "train": ("wearsense.cli.train", "train a model (teacher, distilled int8 student)"),
    "evaluate": ("wearsense.cli.evaluate", "score a shipped int8 model on held-out data"),
    "baseline": ("wearsense.cli.baseline", "the classical recipe of BASELINES.md"),
    "patient": ("wearsense.cli.patient", "patients and which device each wears"),
    "backup": ("wearsense.cli.backup", "copy the companion's database"),
    "restore": ("wearsense.cli.restore", "restore the companion's database from a backup"),
    "alerts": ("wearsense.cli.alerts", "fall and AF alerts: list, hook, deliver"),
    "store": ("wearsense.cli.store", "inspect and maintain the companion's store"),
    "export": ("wearsense.cli.export", "clinical export: FHIR, CSV, EDF+, report"),
    "ecg": ("wearsense.cli.ecg", "ECG front end: QRS detection and signal quality"),
    "model": ("wearsense.cli.model", "inspect or run an int8 .tflite model"),
    "imu": ("wearsense.cli.imu", "IMU datasets and the fall impact trigger"),
    "tui": ("wearsense.cli.tui", "the terminal UI on a store"),
    "device": ("wearsense.cli.device", "device core checks: power cuts, queue capacity"),
    "emulate": ("wearsense.cli.emulate", "the emulated wearable over Bumble"),
    "companion": ("wearsense.cli.companion", "the companion: connect, store, acknowledge"),
    "budget": ("wearsense.cli.budget", "energy per day and battery life"),
    "replay": ("wearsense.cli.replay", "recordings through the device core, event-level results"),
    "strip": ("wearsense.cli.strip", "ECG strips: list, get from the device, show, review"),
}


def _chosen(argv: Sequence[str]) -> str | None:
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser; the module of the command named in ``argv`` is loaded in full."""
    parser = argparse.ArgumentParser(
        prog="wearsense",
        description=(
            "WearSense: wearable health sensing with int8 detectors on the device and a BLE "
            "companion on the host. Research software, not a medical device."
        ),
    )
    parser.add_argument("--version", action="version", version="wearsense 0.1.0")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = _chosen(argv)
    if chosen is not None:
        importlib.import_module(COMMANDS[chosen][0]).register(subparsers)
    for name, (_module, text) in COMMANDS.items():
        if name not in subparsers.choices:  # listed by its help line alone
            subparsers.add_parser(name, help=text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
