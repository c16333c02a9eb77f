"""Where the budget's measured inputs come from: instructions per second of the
detectors and events per day, read from ``build/bench/results.json`` (or given on the
command line), each returned with a line saying where it came from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wearsense.budget.day import TYPICAL_DAY
from wearsense.budget.model import BudgetError
from wearsense.protocol import events as ev

RESULTS = Path(__file__).resolve().parents[2] / "build" / "bench" / "results.json"
AFIB_HOP_S = 640 / 125  # WS_AFIB_HOP / WS_AFIB_RATE_HZ (firmware/include/ws_afib.h)


def read_results(path: Path | None = None) -> dict[str, Any]:
    path = path or RESULTS
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BudgetError(f"{path}: unreadable benchmark results ({exc})") from exc
    return data if isinstance(data, dict) else {}


def event_size(name: str) -> int:
    """Wire size of an event type by its protocol name (``hr_summary`` ...)."""
    cls = ev.BY_NAME.get(name)
    if cls is None:
        raise BudgetError(f"unknown event type {name!r}")
    return ev.HEADER_SIZE + cls.payload_size() + ev.CRC_SIZE


def instructions_per_s(
    results: dict[str, Any], overrides: dict[str, float] | None = None
) -> tuple[dict[str, float], str]:
    """{name: M4 instructions per second of signal}, always with a ``total`` (the figure
    the budget uses), and where it came from.

    ``device.instructions_per_s`` (measured on the replay image: a number, or a table whose
    ``total`` is the whole firmware; its per-detector entries each include their front end,
    so they overlap and are not summed); else the AFib model's
    ``interpreter.models.afib.m4_instructions`` every 5.12 s hop plus the ECG front end's
    ``ecg.m4_instructions_per_s`` (disjoint, summed; the fall and activity detectors then
    count as 0, and the source says so). ``overrides`` replace entries: ``total`` replaces
    the total; another name moves the total by its change."""
    per: dict[str, float] = {}
    source = ""
    measured = results.get("device", {}).get("instructions_per_s")
    if isinstance(measured, int | float):
        per, source = {"total": float(measured)}, "device.instructions_per_s (measured)"
    elif isinstance(measured, dict) and measured:
        per = {k: float(v) for k, v in measured.items() if isinstance(v, int | float)}
        if "total" not in per:
            per["total"] = sum(per.values())
        source = "device.instructions_per_s (measured on the M4 replay image)"
    else:
        model = results.get("interpreter", {}).get("models", {}).get("afib", {})
        if isinstance(model.get("m4_instructions"), int | float):
            per = {"afib": float(model["m4_instructions"]) / AFIB_HOP_S}
            source = "interpreter.models.afib.m4_instructions per 5.12 s hop"
            ecg = results.get("ecg", {}).get("m4_instructions_per_s")
            if isinstance(ecg, int | float):
                per["ecg_front_end"] = float(ecg)
                source += " + ecg.m4_instructions_per_s (ECG front end)"
            source += " (no measured figure for the fall and activity detectors)"
            per["total"] = sum(per.values())
    for name, value in (overrides or {}).items():
        if name == "total":
            continue
        per["total"] = per.get("total", 0.0) + value - per.get(name, 0.0)
        per[name] = value
    if overrides and "total" in overrides:
        per["total"] = overrides["total"]
    if overrides:
        source = (source + "; " if source else "") + "overridden: " + ", ".join(sorted(overrides))
    if not per:
        raise BudgetError(
            "no instruction counts: run `make bench` (device, interpreter) or give --instructions"
        )
    return per, source


def events_per_day(
    results: dict[str, Any], override: float | None = None
) -> tuple[dict[int, float], str]:
    """{packet size: events per day} and where it came from.

    From the replay benchmark (``replay.event_rates_per_hour``: ECG events per hour of
    MIT-BIH and IMU events per hour of UCI-HAPT, each type at its wire size, times 24);
    else the capacity model's typical day (``wearsense.budget.day``, not measured).
    ``override`` scales the chosen mix to that many events a day."""
    rates = results.get("replay", {}).get("event_rates_per_hour")
    sizes: dict[int, float] = {}
    if isinstance(rates, dict):
        rates = {k: v for k, v in rates.items() if isinstance(v, dict) and v}
    if isinstance(rates, dict) and rates:
        for table in rates.values():
            for name, per_hour in table.items():
                size = event_size(name)
                sizes[size] = sizes.get(size, 0.0) + 24.0 * float(per_hour)
        source = (
            "replay.event_rates_per_hour (measured by replay: " + ", ".join(sorted(rates)) + ")"
        )
    else:
        day = TYPICAL_DAY
        summaries = 24 * 60 // day.summary_min
        mix = {
            ev.EventKind.HR_SUMMARY: summaries,
            ev.EventKind.RHYTHM_SUMMARY: summaries,
            ev.EventKind.ACTIVITY_SUMMARY: 24,
            ev.EventKind.ACTIVITY_CHANGE: day.activity_changes,
            ev.EventKind.SIGNAL_QUALITY: day.signal_quality,
            ev.EventKind.STATUS_DEVICE: 3 * day.time_syncs,
        }
        for name, count in mix.items():
            size = event_size(name)
            sizes[size] = sizes.get(size, 0.0) + count
        source = "capacity model's typical day (not measured; run the replay benchmark)"
    if override is not None:
        if override < 0:
            raise BudgetError("events per day must be >= 0")
        total = sum(sizes.values())
        sizes = {k: v * override / total for k, v in sizes.items()} if total else {20: override}
        source += f"; scaled to {override:g} events/day"
    return sizes, source
