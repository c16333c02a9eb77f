"""`wearsense budget`: energy per day and battery life of the device, events only against
raw streaming (docs/budget.md)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from wearsense.budget.inputs import events_per_day, instructions_per_s, read_results
from wearsense.budget.model import BudgetError, Link, Streams, day_budget, load_profile


def _instructions(values: list[str] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in values or []:
        name, sep, number = item.partition("=")
        try:
            value = float(number)
        except ValueError:
            value = -1.0
        if not sep or not name or value < 0:
            raise BudgetError(f"--instructions wants DETECTOR=PER_SECOND, got {item!r}")
        out[name] = value
    return out


def compute(args: argparse.Namespace) -> dict[str, Any]:
    profile = load_profile(args.profile)
    results = read_results(Path(args.results) if args.results else None)
    per_detector, instr_source = instructions_per_s(results, _instructions(args.instructions))
    sizes, events_source = events_per_day(results, args.events_per_day)
    link = Link(
        phy=args.phy,
        att_mtu=args.mtu,
        ll_payload=args.ll_payload,
        conn_interval_s=args.conn_interval_ms / 1000.0,
        connected_hours=args.connected_hours,
        adv_interval_s=args.adv_interval_ms / 1000.0,
    )
    stream_link = Link(**{**link.__dict__, "conn_interval_s": args.stream_interval_ms / 1000.0})
    budget = day_budget(
        profile,
        link,
        instructions_per_s=per_detector["total"],
        event_sizes_per_day=sizes,
        streams=Streams(ecg_hz=args.ecg_hz, imu_hz=args.imu_hz),
        stream_link=stream_link,
        cpi=args.cpi,
        cell_mah=args.cell_mah,
    )
    budget["inputs"] = {
        "instructions_per_s": {k: round(v) for k, v in per_detector.items()},
        "instructions_source": instr_source,
        "events_source": events_source,
        "event_sizes_per_day": {str(k): round(v, 1) for k, v in sorted(sizes.items())},
    }
    budget["sources"] = {
        k: {"value": v["value"], "unit": v["unit"], "source": v["source"], "status": v["status"]}
        for k, v in profile.values.items()
    }
    return budget


def table(budget: dict[str, Any]) -> str:
    ev, st = budget["events_only"], budget["streaming"]
    link = budget["link"]
    lines = [
        f"profile {budget['profile']}: {budget['cell_mah']:g} mAh cell, "
        f"{link['phy']} PHY, ATT MTU {link['att_mtu']}, LL payload {link['ll_payload']} B, "
        f"connection interval {link['conn_interval_s'] * 1000:g} ms "
        f"(streaming {budget['stream_link']['conn_interval_s'] * 1000:g} ms), "
        f"connected {link['connected_hours']:g} h/day, advertising "
        f"{link['adv_interval_s'] * 1000:g} ms otherwise",
        f"inference: {budget['inference']['instructions_per_s']:,} instructions/s, "
        f"CPI {budget['cpi']:g} -> duty {budget['inference']['duty'] * 100:.3f} % at "
        f"{budget['clock_hz'] / 1e6:g} MHz",
        "",
        f"{'per day':<24}{'events only':>14}{'raw streaming':>16}",
        f"{'inference (mAh)':<24}{ev['inference_mah']:>14.4f}{st['inference_mah']:>16.4f}",
        f"{'radio (mAh)':<24}{ev['radio_mah']:>14.4f}{st['radio_mah']:>16.4f}",
        f"{'sleep (mAh)':<24}{ev['sleep_mah']:>14.4f}{st['sleep_mah']:>16.4f}",
        f"{'total (mAh)':<24}{ev['total_mah_per_day']:>14.4f}{st['total_mah_per_day']:>16.4f}",
        f"{'average current (uA)':<24}{ev['average_ua']:>14.2f}{st['average_ua']:>16.2f}",
        f"{'bytes on air':<24}{budget['bytes_on_air_per_day']:>14,}"
        f"{budget['raw_bytes_per_day']:>16,}",
        f"{'event/signal bytes':<24}{budget['radio_events']['event_bytes_per_day']:>14,.0f}"
        f"{budget['radio_streaming']['signal_bytes_per_day']:>16,}",
        f"{'battery (days)':<24}{ev['battery_days']:>14.1f}{st['battery_days']:>16.1f}",
        "",
        f"events/day {budget['radio_events']['events_per_day']:g} "
        f"({budget['inputs']['events_source']})",
        f"instructions: {budget['inputs']['instructions_source']}",
        "assumed (not verified in a document we could read): " + ", ".join(budget["assumptions"]),
        "sensors (ECG front end, IMU) are not included: the same in both columns.",
    ]
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    try:
        budget = compute(args)
    except BudgetError as exc:
        print(f"wearsense budget: {exc}", file=sys.stderr)
        return 1
    print(table(budget))
    if args.json:
        Path(args.json).write_text(json.dumps(budget, indent=2, sort_keys=True) + "\n")
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "budget",
        help="energy per day and battery life: events only against raw streaming",
        description=(
            "Energy per day of the device on an nRF52840-class part at 64 MHz: inference "
            "(measured M4 instructions per second of the detectors), the radio (connection "
            "events, advertising and the bytes they carry, link-layer overheads included) "
            "and sleep; events only against streaming the raw ECG (250 Hz, 16-bit) and IMU "
            "(50 Hz, 6 axes, 16-bit); battery life on the profile's cell. Measured inputs "
            "come from build/bench/results.json (make bench); every current comes from the "
            "profile file, each with its document and table (docs/budget.md)."
        ),
    )
    parser.add_argument("--profile", default="nrf52840", help="profile name or JSON path")
    parser.add_argument("--results", help="benchmark results (default build/bench/results.json)")
    parser.add_argument(
        "--instructions",
        action="append",
        metavar="DETECTOR=PER_S",
        help="M4 instructions per second of signal for one detector (repeatable; "
        "replaces the measured figure of that name, 'total' for one figure)",
    )
    parser.add_argument("--events-per-day", type=float, help="scale the event mix to this")
    parser.add_argument("--cpi", type=float, default=1.0, help="cycles per instruction (1.0)")
    parser.add_argument("--phy", choices=("1M", "2M"), default="1M")
    parser.add_argument("--mtu", type=int, default=247, help="ATT MTU (247)")
    parser.add_argument("--ll-payload", type=int, default=251, help="LL payload, 27..251 (251)")
    parser.add_argument("--conn-interval-ms", type=float, default=1000.0)
    parser.add_argument("--stream-interval-ms", type=float, default=100.0)
    parser.add_argument("--connected-hours", type=float, default=23.0)
    parser.add_argument("--adv-interval-ms", type=float, default=1000.0)
    parser.add_argument("--ecg-hz", type=float, default=250.0, help="raw ECG rate (250)")
    parser.add_argument("--imu-hz", type=float, default=50.0, help="raw IMU rate (50)")
    parser.add_argument("--cell-mah", type=float, help="cell capacity (profile: CR2032 225)")
    parser.add_argument("--json", metavar="OUT", help="also write the full result as JSON")
    parser.set_defaults(handler=_run)
