"""The `wearsense` command. Each subcommand lives in the module that owns its job and
registers itself here; only subcommands that work are listed."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules that provide `register(subparsers)`; each adds one subcommand (or group).
SUBCOMMAND_MODULES = (
    "wearsense.protocol.cli",
    "wearsense.demo",
    "wearsense.updates.cli",
    "wearsense.updates.update_cli",
    "wearsense.training.cli",
    "wearsense.store.cli",
    "wearsense.export.cli",
    "wearsense.ecg.cli",
    "wearsense.tflite.cli",
    "wearsense.datasets.imu.cli",
    "tui.cli",
    "wearsense.firmware.cli",
    "wearsense.emulator.cli",
    "wearsense.link.cli",
    "wearsense.budget.cli",
    "wearsense.replay.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wearsense",
        description=(
            "WearSense: wearable health sensing with int8 detectors on the device and a BLE "
            "companion on the host. Research software, not a medical device."
        ),
    )
    parser.add_argument("--version", action="version", version="wearsense 0.1.0")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
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
