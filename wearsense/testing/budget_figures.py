"""The budget's figures for the device benchmark (``build/bench/results.json`` under
``device``): computed from the instruction counts that benchmark measured in the same
run when present, and the replay benchmark's event rates."""

from __future__ import annotations

from typing import Any

from wearsense.budget.inputs import events_per_day, instructions_per_s, read_results
from wearsense.budget.model import Link, day_budget, load_profile


def device_figures(device: dict[str, Any]) -> dict[str, Any]:
    """``bytes_on_air_per_day`` (events only), ``raw_bytes_per_day`` (raw streaming),
    ``battery_days`` (events only, the profile's cell) and what they rest on."""
    results = read_results()
    if "instructions_per_s" in device:
        results = {**results, "device": {**results.get("device", {}), **device}}
    per_detector, instr_source = instructions_per_s(results)
    sizes, events_source = events_per_day(results)
    budget = day_budget(
        load_profile(),
        Link(),
        instructions_per_s=per_detector["total"],
        event_sizes_per_day=sizes,
        stream_link=Link(conn_interval_s=0.1),
    )
    return {
        "bytes_on_air_per_day": budget["bytes_on_air_per_day"],
        "raw_bytes_per_day": budget["raw_bytes_per_day"],
        "battery_days": budget["battery_days"],
        "battery_days_streaming": budget["streaming"]["battery_days"],
        "radio_mah_per_day": budget["events_only"]["radio_mah"],
        "radio_mah_per_day_streaming": budget["streaming"]["radio_mah"],
        "budget_mah_per_day": budget["events_only"]["total_mah_per_day"],
        "budget_inputs": f"instructions: {instr_source}; events: {events_source}",
    }
