"""Device core: power cuts at random flash operations of a long random workload
(`wearsense.testing.powercut`) and the queue's capacity in days on the reference
device's flash budget (`wearsense.testing.capacity`); the whole firmware's Cortex-M4
budgets from the replay image (`wearsense.testing.m4budget`, docs/detectors.md): flash_bytes
(code + three models), ram_bytes (static + stack high-water mark, queue not counted),
duty_64mhz and instructions_per_s per detector (afib, fall, activity, total)."""

from __future__ import annotations

import time
from typing import Any

from wearsense.budget.day import BUSY_DAY, TYPICAL_DAY
from wearsense.firmware.device import DEFAULT_PAGE_COUNT, DEFAULT_PAGE_SIZE
from wearsense.testing import m4budget
from wearsense.testing.budget_figures import device_figures
from wearsense.testing.capacity import capacity_days, erases_per_day, flash_life_years
from wearsense.testing.powercut import run_campaign

KEY = "device"
RUN_LAST = True  # reads the replay and interpreter figures of this run (benchmarks/__main__.py)

# (trials, seed, page size, page count, keep the queue full): small pages wrap and fill
# constantly; a full-queue run puts most cuts into compactions; the reference page size
# checks the same on the real geometry.
CAMPAIGNS = ((10_000, 1, 512, 6, False), (1_500, 2, 512, 6, True), (1_000, 3, 4096, 4, False))


def m4_figures() -> dict[str, Any]:
    """The M4 budget keys; None where the toolchain, QEMU or the data are missing."""
    if not m4budget.available():
        print("  no ARM toolchain or QEMU: skipping the M4 budgets (make toolchain)")
        return {"flash_bytes": None, "ram_bytes": None, "duty_64mhz": None}
    try:
        figures = m4budget.measure()
    except m4budget.BudgetError as err:
        print(f"  M4 budgets not measured: {err}")
        return {"flash_bytes": None, "ram_bytes": None, "duty_64mhz": None}
    keys = ("flash_bytes", "ram_bytes", "duty_64mhz", "instructions_per_s")
    out = {k: figures[k] for k in keys}
    out.update({f"m4_{k}": v for k, v in figures.items() if k not in keys})
    return out


def run() -> dict[str, Any]:
    m4 = m4_figures()
    totals = {"trials": 0, "lost": 0, "corrupt": 0, "repeated": 0, "nor": 0, "compaction": 0}
    totals["stuck"] = 0
    totals.update({"flash_ops": 0, "epochs": 0, "gaps": 0})
    started = time.perf_counter()
    for trials, seed, page_size, page_count, full in CAMPAIGNS:
        result = run_campaign(
            trials, seed, progress=True, page_size=page_size, page_count=page_count, full=full
        )
        if result.failures:
            print("power-cut failures:", result.failures[:5])
        totals["trials"] += result.trials
        totals["lost"] += result.lost
        totals["corrupt"] += result.corrupt_accepted
        totals["repeated"] += result.seq_repeated
        totals["nor"] += result.nor_violations
        totals["compaction"] += result.compaction_trials
        totals["stuck"] += result.stuck
        totals["flash_ops"] += result.flash_ops
        totals["epochs"] += result.epochs_seen
        totals["gaps"] += result.gaps_seen
    campaign_s = time.perf_counter() - started
    typical = capacity_days(TYPICAL_DAY)
    busy = capacity_days(BUSY_DAY)
    wear_typical = erases_per_day(TYPICAL_DAY, ack_every_s=3600)
    wear_busy = erases_per_day(BUSY_DAY, ack_every_s=600)
    result = {
        "power_cut_trials": totals["trials"],
        "power_cut_lost": totals["lost"],
        "power_cut_corrupt_accepted": totals["corrupt"],
        "power_cut_seq_repeated": totals["repeated"],
        "power_cut_nor_violations": totals["nor"],
        "power_cut_during_compaction": totals["compaction"],
        "power_cut_stuck": totals["stuck"],
        "power_cut_workload_flash_ops": totals["flash_ops"],
        "power_cut_epochs": totals["epochs"],
        "power_cut_s": round(campaign_s, 1),
        "queue_capacity_days": typical,
        "queue_capacity_days_busy": busy,
        "queue_flash_budget_bytes": DEFAULT_PAGE_SIZE * DEFAULT_PAGE_COUNT,
        "events_per_day_typical": TYPICAL_DAY.events_per_day(),
        "events_per_day_busy": BUSY_DAY.events_per_day(),
        "queue_erases_per_day_typical": wear_typical,
        "queue_erases_per_day_busy": wear_busy,
        "flash_life_years_busy": round(flash_life_years(wear_busy), 1),
        **m4,
    }
    result.update(device_figures(result))  # energy budget (docs/budget.md)
    return result
