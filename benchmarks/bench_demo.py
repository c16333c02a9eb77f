"""The main job's first impression (`python -m benchmarks demo`): `wearsense demo --check`
on a fresh folder (new bond, blank flash and model store provisioned with the shipped
packages), the wearable replaying the shipped samples at the default 10x. Times are from
the start of the command's handler to the moment each line is on the (headless) screen;
loading the code is excluded (the CLI's, about 0.5 s under `make demo`, and the demo
module's: the terminal UI, the BLE stack and the emulator, about 1.3 s on the 2-core
machine, counted in these times until the imports moved to the module's top):

- ``first_detector_event_s``: the first event any detector produced;
- ``af_start_s``, ``fall_s``, ``fall_alert_s``, ``activity_change_s``: the first of each
  (absent when the model of that task is not shipped).
"""

from __future__ import annotations

import tempfile
from typing import Any

KEY = "demo"
CHECK_S = 40.0


def run() -> dict[str, Any]:
    from wearsense.cli.demo import DEFAULT_SPEED
    from wearsense.cli.demo import run as demo_run
    from wearsense.cli.main import build_parser
    from wearsense.protocol import EventKind

    names = {
        "first detector event": "first_detector_event_s",
        EventKind.AF_START: "af_start_s",
        EventKind.FALL: "fall_s",
        "fall alert raised": "fall_alert_s",
        EventKind.ACTIVITY_CHANGE: "activity_change_s",
    }
    with tempfile.TemporaryDirectory() as folder:
        # the command's own parser, so every option has its default
        argv = ["demo", "--folder", folder, "--check", str(CHECK_S)]
        args = build_parser(argv).parse_args(argv)
        status = demo_run(args)
    seen: dict[str, float] = getattr(args, "seen", {})
    result: dict[str, Any] = {"speed": DEFAULT_SPEED, "all_expected_seen": status == 0}
    for label, key in names.items():
        if label in seen:
            result[key] = round(seen[label], 2)
    return result
