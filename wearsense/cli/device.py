"""`wearsense device`: the device core's power-cut campaign and queue capacity, run on the
C core with simulated NOR flash (docs/device-core.md)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from wearsense.budget.day import BUSY_DAY, TYPICAL_DAY
from wearsense.firmware.device import DEFAULT_PAGE_COUNT, DEFAULT_PAGE_SIZE
from wearsense.testing.capacity import capacity_days
from wearsense.testing.powercut import CAMPAIGN_PAGE_COUNT, CAMPAIGN_PAGE_SIZE, run_campaign


def _power_cut(args: argparse.Namespace) -> int:
    result = run_campaign(
        args.trials,
        args.seed,
        progress=True,
        page_size=args.page_size,
        page_count=args.page_count,
        full=args.full,
    )
    print(json.dumps(result.as_dict(), indent=2))
    bad = result.lost + result.corrupt_accepted + result.seq_repeated + result.nor_violations
    return 1 if bad else 0


def _capacity(args: argparse.Namespace) -> int:
    out = {
        "flash_bytes": args.page_size * args.page_count,
        "typical": {
            "events_per_day": TYPICAL_DAY.events_per_day(),
            "days": capacity_days(
                TYPICAL_DAY, page_size=args.page_size, page_count=args.page_count
            ),
        },
        "busy": {
            "events_per_day": BUSY_DAY.events_per_day(),
            "days": capacity_days(BUSY_DAY, page_size=args.page_size, page_count=args.page_count),
        },
    }
    print(json.dumps(out, indent=2))
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "device",
        help="device core: power-cut campaign, queue capacity",
        description=(
            "Exercise the firmware's device core (the same C as on the wearable) with its "
            "event queue on simulated NOR flash."
        ),
    )
    sub = parser.add_subparsers(dest="device_command", metavar="ACTION", required=True)
    cut = sub.add_parser(
        "power-cut",
        help="cut the power at random flash operations of a random workload",
        description=(
            "Runs a random workload (events, acknowledgements, time syncs, resets, factory "
            "resets) and cuts the power at a random flash operation of each step, torn at a "
            "random byte. Prints the counts of lost events, corrupt events accepted and "
            "repeated sequence numbers (all must be 0); exits 1 if any is not."
        ),
    )
    cut.add_argument("--trials", type=int, default=2000, help="power cuts to inject (2000)")
    cut.add_argument("--seed", type=int, default=1, help="random seed (1)")
    cut.add_argument(
        "--page-size",
        type=int,
        default=CAMPAIGN_PAGE_SIZE,
        help=f"flash page size in bytes ({CAMPAIGN_PAGE_SIZE})",
    )
    cut.add_argument(
        "--page-count",
        type=int,
        default=CAMPAIGN_PAGE_COUNT,
        help=f"pages given to the queue ({CAMPAIGN_PAGE_COUNT})",
    )
    cut.add_argument(
        "--full", action="store_true", help="keep the queue full so most cuts land in compactions"
    )
    cut.set_defaults(handler=_power_cut)
    cap = sub.add_parser(
        "capacity",
        help="days of events the queue keeps while the companion is away",
        description=(
            "Stores a typical and a busy day of events, day after day, without "
            "acknowledgement, until the queue first has to drop one; prints the days."
        ),
    )
    cap.add_argument(
        "--page-size",
        type=int,
        default=DEFAULT_PAGE_SIZE,
        help=f"flash page size in bytes ({DEFAULT_PAGE_SIZE})",
    )
    cap.add_argument(
        "--page-count",
        type=int,
        default=DEFAULT_PAGE_COUNT,
        help=f"pages given to the queue ({DEFAULT_PAGE_COUNT})",
    )
    cap.set_defaults(handler=_capacity)
