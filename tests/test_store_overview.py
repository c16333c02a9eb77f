"""The device card's figures (``wearsense.store.overview``): wear and data gaps over the
last 24 hours, bounded by the companion's clock and by the device's first event."""

from __future__ import annotations

from pathlib import Path

import pytest

from wearsense.protocol import HrSummary, StatusFirmware
from wearsense.store import Store
from wearsense.store.overview import Overview

T0 = 1_709_251_200  # 2024-03-01 00:00 UTC: the device's first event


def _store(path: Path, summaries: list) -> Store:
    s = Store(path)
    s.add_patient("p1", "UTC")
    s.assign("SN1", "p1", start_utc=T0 - 60)
    offset = StatusFirmware(1, 0, 0, fw_major=1, fw_minor=0, fw_patch=0, utc_offset_s=T0)
    s.ingest("SN1", 1, [offset, *summaries])
    return s


def test_a_device_streaming_for_minutes_has_worn_minutes_and_no_gap(tmp_path: Path) -> None:
    # 4.5 minutes after it started, replaying at 10x: its 10-minute summaries are
    # stamped up to 40 minutes ahead of the companion's clock
    now = T0 + 270
    summaries = [HrSummary(2 + i, 600 * (i + 1), 0, 600, 60, 70, 80) for i in range(4)]
    with _store(tmp_path / "ws.db", summaries) as s:
        (day,) = Overview(s, clock=lambda: now).device_days()
    assert day.wear_s == pytest.approx(270)  # up to now, not 40 min, not 0
    assert day.gaps == []  # the 24 hours before its first event are no data gap
    assert day.silent_hours == 0


def test_device_card_gaps_start_at_the_first_event_and_end_at_now(tmp_path: Path) -> None:
    # worn for the first hour, then nothing until now, 6 hours after its first event
    now = T0 + 6 * 3600
    summaries = [HrSummary(2 + i, 600 * (i + 1), 0, 600, 60, 70, 80) for i in range(6)]
    with _store(tmp_path / "ws.db", summaries) as s:
        (day,) = Overview(s, clock=lambda: now, gap_hours=4).device_days()
    assert day.wear_s == pytest.approx(3600)
    assert [(g.start_utc - T0, g.end_utc - T0) for g in day.gaps] == [(3600, 6 * 3600)]


def test_heart_rate_around_episodes_says_how_each_ended(tmp_path: Path) -> None:
    from wearsense.protocol import AfStart

    now = T0 + 7200
    events = [
        AfStart(2, 600, 3, hr_bpm=130, confidence=90, onset_lag_s=30),
        HrSummary(3, 1200, 0, 600, 60, 90, 140),
        AfStart(4, 1800, 3, hr_bpm=130, confidence=90, onset_lag_s=30),
        HrSummary(5, 2400, 0, 600, 60, 90, 140),
    ]
    with _store(tmp_path / "ws.db", events) as s:
        traces = Overview(s, clock=lambda: now).hr_around_episodes("p1")
    assert [(t.end_minute, t.status) for t in traces] == [
        (20.0, "closed by the next onset"),
        (None, "open"),
    ]
