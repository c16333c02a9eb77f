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
    "protocol": ("wearsense.protocol.cli", "encode and decode wire packets"),
    "demo": ("wearsense.cli.demo", "the main job: emulated wearable + companion + terminal UI"),
    "package": ("wearsense.updates.cli", "build, sign, verify and inspect model packages"),
    "keys": ("wearsense.updates.cli", "Ed25519 signing keys"),
    "update": ("wearsense.cli.update", "model update registry and push over BLE"),
    "train": ("wearsense.training.cli", "train a model (teacher, distilled int8 student)"),
    "evaluate": ("wearsense.training.cli", "score a shipped int8 model on held-out data"),
    "baseline": ("wearsense.training.cli", "the classical recipe of BASELINES.md"),
    "patient": ("wearsense.store.cli", "patients and which device each wears"),
    "backup": ("wearsense.store.cli", "copy the companion's database"),
    "restore": ("wearsense.store.cli", "restore the companion's database from a backup"),
    "alerts": ("wearsense.store.cli", "fall and AF alerts: list, hook, deliver"),
    "store": ("wearsense.store.cli", "inspect and maintain the companion's store"),
    "export": ("wearsense.export.cli", "clinical export: FHIR, CSV, EDF+, report"),
    "ecg": ("wearsense.ecg.cli", "ECG front end: QRS detection and signal quality"),
    "model": ("wearsense.tflite.cli", "inspect or run an int8 .tflite model"),
    "imu": ("wearsense.datasets.imu.cli", "IMU datasets and the fall impact trigger"),
    "tui": ("wearsense.cli.tui", "the terminal UI on a store"),
    "device": ("wearsense.firmware.cli", "device core checks: power cuts, queue capacity"),
    "emulate": ("wearsense.emulator.cli", "the emulated wearable over Bumble"),
    "companion": ("wearsense.cli.companion", "the companion: connect, store, acknowledge"),
    "budget": ("wearsense.budget.cli", "energy per day and battery life"),
    "replay": ("wearsense.replay.cli", "recordings through the device core, event-level results"),
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
