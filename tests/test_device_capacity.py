"""Queue capacity in days, measured with the real queue on a small flash."""

from __future__ import annotations

from wearsense.budget.day import BUSY_DAY, TYPICAL_DAY, DayProfile
from wearsense.testing.capacity import capacity_days

SMALL = {"page_size": 1024, "page_count": 8}


def test_capacity_is_bounded_by_the_flash_and_shrinks_on_busy_days():
    typical = capacity_days(TYPICAL_DAY, **SMALL)
    busy = capacity_days(BUSY_DAY, **SMALL)
    assert 0 < busy < typical
    flash = SMALL["page_size"] * SMALL["page_count"]
    smallest_record = 20  # a 12-byte event in its record
    assert typical * TYPICAL_DAY.events_per_day() * smallest_record <= flash
    # at least the pages outside the reserve and the head are used
    usable = (SMALL["page_count"] - 2) * (SMALL["page_size"] - 24)
    assert typical * TYPICAL_DAY.events_per_day() * 28 >= usable


def test_events_per_day_follow_the_summary_interval():
    hourly = DayProfile(
        "hourly", summary_min=60, activity_changes=0, signal_quality=0, time_syncs=0
    )
    assert hourly.events_per_day() == 24 + 24 + 24


def test_cli_reports_capacity_as_json(capsys):
    import json

    from wearsense.cli import main

    assert main(["device", "capacity", "--page-size", "1024", "--page-count", "8"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["flash_bytes"] == 8192
    assert 0 < out["busy"]["days"] < out["typical"]["days"]


def test_wear_grows_with_the_event_rate_and_stays_within_one_erase_per_page_written():
    from wearsense.testing.capacity import erases_per_day, flash_life_years

    typical = erases_per_day(TYPICAL_DAY, days=3, **SMALL)
    busy = erases_per_day(BUSY_DAY, days=3, **SMALL)
    assert 0 < typical < busy
    # one erase per page filled: bytes written per day / usable page bytes, plus slack
    bytes_per_day = BUSY_DAY.events_per_day() * 28 + 24 * 16
    assert busy <= bytes_per_day / (SMALL["page_size"] - 28) + 2
    assert flash_life_years(busy, SMALL["page_count"]) > 0
