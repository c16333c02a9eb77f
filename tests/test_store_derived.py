"""Derived figures (AF burden, episodes, falls, activity, wear time, gaps) and alerts."""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from wearsense.protocol import (
    ActivitySummary,
    AfEnd,
    AfStart,
    Fall,
    FallCancelled,
    HrSummary,
    RhythmSummary,
    SignalQuality,
    StatusFirmware,
)
from wearsense.store import Store, StoreError, derived
from wearsense.store import alerts as alerts_mod

# 2024-03-01 00:00 UTC = 01:00 in Berlin; device time 0 is that instant.
T0 = 1_709_251_200
BERLIN = ZoneInfo("Europe/Berlin")


def status() -> StatusFirmware:
    return StatusFirmware(1, 0, 0, fw_major=1, fw_minor=0, fw_patch=0, utc_offset_s=T0)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "ws.db")
    s.add_patient("p1", "Europe/Berlin")
    s.assign("SN1", "p1", start_utc=T0 - 86400)
    yield s
    s.close()


def test_af_burden_splits_intervals_at_local_midnight(store: Store) -> None:
    # local midnight in Berlin = 23:00 UTC = T0 + 23 h; 22:30-23:30 UTC straddles it
    end = 23 * 3600 + 1800
    store.ingest(
        "SN1",
        1,
        [
            status(),
            RhythmSummary(2, 3600, 1, interval_s=3600, analysable_s=3000, af_s=600),
            RhythmSummary(3, end, 1, interval_s=3600, analysable_s=3600, af_s=1800),
        ],
    )
    days = derived.af_burden_per_day(store.events(patient="p1"), BERLIN)
    assert [d.day for d in days] == [date(2024, 3, 1), date(2024, 3, 2)]
    assert days[0].af_s == pytest.approx(600 + 900)
    assert days[0].analysable_s == pytest.approx(3000 + 1800)
    assert days[1].burden == pytest.approx(0.5)


def test_episodes_falls_and_activity(store: Store) -> None:
    store.ingest(
        "SN1",
        1,
        [
            status(),
            AfStart(2, 1000, 4, hr_bpm=130, confidence=88, onset_lag_s=40),
            AfEnd(3, 2000, 4, duration_s=1040, mean_hr_bpm=120),
            AfStart(4, 5000, 4, hr_bpm=125, confidence=80, onset_lag_s=0),
            Fall(5, 6000, 2, impact_mg=2500, confidence=95, stillness_s=10),
            Fall(6, 7000, 2, impact_mg=2000, confidence=70, stillness_s=2),
            FallCancelled(7, 7020, 2, fall_seq=6, delay_s=20),
            ActivitySummary(8, 3600, 3, minutes=(10, 0, 0, 0, 0, 40, 10, 0)),
        ],
    )
    events = store.events(patient="p1")
    episodes = derived.af_episodes(events)
    assert [(e.start_utc - T0, e.duration_s) for e in episodes] == [(960, 1040), (5000, None)]
    assert episodes[0].mean_hr_bpm == 120 and episodes[0].model_version == 4
    all_falls = derived.falls(events)
    assert [f.cancelled for f in all_falls] == [False, True]
    assert [f.key[2] for f in derived.confirmed_falls(events)] == [5]
    activity = derived.activity_minutes_per_day(events, BERLIN)
    assert activity[date(2024, 3, 1)]["sit"] == 40 and activity[date(2024, 3, 1)]["walk"] == 10


def test_wear_time_and_gaps(store: Store) -> None:
    hrs = [HrSummary(i + 2, (i + 1) * 600, 1, 600, 60, 70, 80) for i in range(6)]  # 0-1 h
    late = [HrSummary(20 + i, 6 * 3600 + (i + 1) * 600, 1, 600, 60, 70, 80) for i in range(6)]
    store.ingest("SN1", 1, [status(), *hrs, *late])
    events = store.events(patient="p1")
    wear = derived.wear_time_per_day(events, BERLIN)
    assert sum(wear.values()) == pytest.approx(2 * 3600)
    gaps = derived.data_gaps(events, min_hours=4)
    assert len(gaps) == 1 and gaps[0].hours == pytest.approx(5.0)
    assert gaps[0].message == "no data for 5.0 hours"
    tail = derived.data_gaps(events, min_hours=4, start_utc=T0, end_utc=T0 + 12 * 3600)
    assert [round(g.hours, 1) for g in tail] == [5.0, 5.0]


def _hook(tmp_path: Path, exit_code: int) -> tuple[str, Path]:
    out = tmp_path / "alerts.jsonl"
    script = tmp_path / "hook.py"
    script.write_text(
        "import sys\n"
        f"open({str(out)!r}, 'a').write(sys.stdin.read() + '\\n')\n"
        f"sys.exit({exit_code})\n"
    )
    return f"{sys.executable} {script}", out


def test_alerts_are_queued_with_the_event_and_retried(store: Store, tmp_path: Path) -> None:
    store.ingest(
        "SN1",
        1,
        [
            status(),
            Fall(2, 100, 2, impact_mg=2500, confidence=95, stillness_s=10),
            AfStart(3, 200, 4, hr_bpm=130, confidence=88, onset_lag_s=40),
            HrSummary(4, 300, 1, 300, 60, 70, 80),
        ],
    )
    store.ingest("SN1", 1, [Fall(2, 100, 2, impact_mg=2500, confidence=95, stillness_s=10)])
    # six hours of silence, then data again: a data-gap alert
    store.ingest("SN1", 1, [HrSummary(5, 300 + 6 * 3600, 1, 300, 60, 70, 80)])
    pending = alerts_mod.alerts(store, pending_only=True)
    assert [a.kind for a in pending] == ["fall", "af_onset", "data_gap"]
    assert pending[0].payload["patient"] == "p1"
    assert pending[0].payload["local_time"].endswith("+01:00")

    failing, _ = _hook(tmp_path, 3)
    now = time.time()
    assert alerts_mod.deliver_pending(store, failing, now_utc=now) == (0, 3)
    again = alerts_mod.alerts(store, pending_only=True)
    assert len(again) == 3 and all(a.attempts == 1 for a in again)
    assert "status 3" in again[0].last_error
    assert alerts_mod.deliver_pending(store, failing, now_utc=now + 1) == (0, 0)  # not yet due

    working, out = _hook(tmp_path / "..", 0)
    assert alerts_mod.deliver_pending(store, working, now_utc=now + 10_000) == (3, 0)
    lines = [json.loads(x) for x in out.read_text().splitlines() if x.strip()]
    assert [x["kind"] for x in lines] == ["fall", "af_onset", "data_gap"]
    assert lines[2]["message"] == "no data for 6.0 hours"
    assert alerts_mod.alerts(store, pending_only=True) == []


def test_an_unbelievable_imu_raises_one_sensor_fault_alert_a_day(store: Store) -> None:
    def quality(seq: int, t: int, source: int, flags: int) -> SignalQuality:
        return SignalQuality(seq, t, 0, source=source, flags=flags, duration_s=900)

    store.ingest(
        "SN1",
        1,
        [
            status(),
            quality(2, 900, 0, 2),  # a noisy ECG: no alert
            quality(3, 1800, 1, 16),  # the IMU reads no 1 g at rest
            quality(4, 2700, 1, 16),  # the same fault, reported the next interval
            quality(5, 86400 + 900, 1, 16),  # the next UTC day: one more
        ],
    )
    pending = alerts_mod.alerts(store, pending_only=True)
    assert [a.kind for a in pending] == ["sensor_fault", "sensor_fault"]
    first = pending[0].payload
    assert (first["seq"], first["patient"], first["event"]["flags"]) == (3, "p1", 16)
    assert "falls may go undetected" in first["message"]


def test_silence_check_and_missing_hook(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.ingest("SN1", 1, [status(), HrSummary(2, 300, 1, 300, 60, 70, 80)])
    assert alerts_mod.check_silence(store, now_utc=T0 + 3600) == 0
    assert alerts_mod.check_silence(store, now_utc=T0 + 5 * 3600) == 1
    assert alerts_mod.check_silence(store, now_utc=T0 + 6 * 3600) == 0  # once per silence
    monkeypatch.delenv("WEARSENSE_ALERT_HOOK", raising=False)
    with pytest.raises(StoreError, match="no alert hook"):
        alerts_mod.deliver_pending(store)
    missing = alerts_mod.deliver_pending(store, "/nonexistent/hook", now_utc=time.time())
    assert missing == (0, 1)
    assert "not found" in alerts_mod.alerts(store)[0].last_error


# -- episode integrity (issue #30): every episode closed, none overlapping --------------


def _af(seq: int, t: int) -> AfStart:
    return AfStart(seq, t, 4, hr_bpm=130, confidence=88, onset_lag_s=30)


def _spans(episodes: list[derived.AfEpisode]) -> list[tuple[float, float | None, str | None]]:
    return [
        (ep.start_utc - T0, None if ep.end_utc is None else ep.end_utc - T0, ep.closed_by)
        for ep in episodes
    ]


def test_af_starts_without_ends_close_at_the_next_onset(store: Store) -> None:
    # the demo's store: onsets again and again, never an end (the recording loops)
    store.ingest(
        "SN1",
        1,
        [
            status(),
            _af(2, 1000),
            HrSummary(3, 1600, 1, 600, 60, 70, 80),
            _af(4, 2000),
            _af(5, 3000),
        ],
    )
    episodes = derived.af_episodes(store.events(patient="p1"))
    assert _spans(episodes) == [
        (970, 1970, derived.NEXT_START),
        (1970, 2970, derived.NEXT_START),
        (2970, None, None),
    ]
    assert [ep.status for ep in episodes] == [
        "closed by the next onset",
        "closed by the next onset",
        "open",
    ]
    assert derived.overlapping_episodes(store) == 0


def test_af_episode_closed_by_a_reset_and_by_a_data_gap(store: Store) -> None:
    store.ingest(
        "SN1",
        1,
        [status(), _af(2, 1000), HrSummary(3, 1600, 1, 600, 60, 70, 80)],
    )
    # the device reset: epoch 2 starts; the episode ends at epoch 1's last event
    reset = StatusFirmware(1, 0, 0, fw_major=1, fw_minor=0, fw_patch=0, utc_offset_s=T0 + 5000)
    gap = derived.EPISODE_GAP_S
    store.ingest(
        "SN1",
        2,
        [
            reset,
            _af(2, 100),
            HrSummary(3, 700, 1, 600, 60, 70, 80),
            HrSummary(4, 700 + int(gap) + 600, 1, 600, 60, 70, 80),  # after a long silence
            _af(5, 700 + int(gap) + 1000),
        ],
    )
    episodes = derived.af_episodes(store.events(patient="p1"), end_utc=T0 + 5000 + 3 * gap)
    assert _spans(episodes) == [
        (970, 1600, derived.DEVICE_RESET),
        (5070, 5700, derived.DATA_GAP),  # the last event before the silence
        (5700 + gap + 970, 5700 + gap + 1000, derived.DATA_GAP),  # silent until the end
    ]
    assert all(ep.inferred_end for ep in episodes)
    assert derived.overlapping_episodes(store, now=T0 + 5000 + 3 * gap) == 0


def test_the_devices_own_end_wins_over_a_silence(store: Store) -> None:
    gap = int(derived.EPISODE_GAP_S)
    store.ingest(
        "SN1",
        1,
        [
            status(),
            _af(2, 1000),
            HrSummary(3, 1600, 1, 600, 60, 70, 80),
            AfEnd(4, 1600 + gap + 60, 4, duration_s=gap + 690, mean_hr_bpm=110),
        ],
    )
    (episode,) = derived.af_episodes(store.events(patient="p1"))
    assert _spans([episode]) == [(970, 1600 + gap + 60, derived.END_EVENT)]
    assert episode.mean_hr_bpm == 110 and not episode.inferred_end


def test_episodes_of_two_devices_of_one_patient_do_not_overlap(store: Store) -> None:
    store.assign("SN2", "p1", start_utc=T0 - 86400)
    store.ingest("SN1", 1, [status(), _af(2, 1000), HrSummary(3, 1600, 1, 600, 60, 70, 80)])
    store.ingest(
        "SN2",
        1,
        [
            status(),
            _af(2, 1200),
            AfEnd(3, 1500, 4, duration_s=330, mean_hr_bpm=110),
        ],
    )
    episodes = derived.af_episodes(store.events(patient="p1"))
    assert _spans(episodes) == [(970, 1170, derived.NEXT_START), (1170, 1500, derived.END_EVENT)]
    assert derived.overlapping((ep.start_utc, ep.end_utc) for ep in episodes) == 0
    assert derived.overlapping([(0, 10), (5, None), (20, 30)]) == 2


def test_falls_awaiting_a_cancel_never_overlap(store: Store) -> None:
    store.ingest(
        "SN1",
        1,
        [
            status(),
            Fall(2, 1000, 2, impact_mg=2500, confidence=95, stillness_s=10),
            Fall(3, 1010, 2, impact_mg=2600, confidence=90, stillness_s=10),
            FallCancelled(4, 1030, 2, fall_seq=3, delay_s=20),
            Fall(5, 5000, 2, impact_mg=1800, confidence=80, stillness_s=5),
            Fall(6, 9000, 2, impact_mg=1800, confidence=80, stillness_s=5),
        ],
    )
    got = derived.falls(store.events(patient="p1"), end_utc=T0 + 9100)
    assert [
        (f.utc - T0, None if f.await_end_utc is None else f.await_end_utc - T0, f.await_closed_by)
        for f in got
    ] == [
        (1000, 1010, derived.NEXT_FALL),
        (1010, 1030, derived.CANCELLED),
        (5000, 5000 + derived.FALL_CANCEL_MAX_S, derived.WINDOW),
        (9000, None, None),  # its window is still open at the companion's now
    ]
    assert got[1].impact_g == pytest.approx(2.6)
    assert derived.overlapping_episodes(store, now=T0 + 9100) == 0


def test_no_data_gap_runs_past_the_end_of_the_range(store: Store) -> None:
    # coverage stamped after the range's end (a device ahead of the companion's clock)
    store.ingest("SN1", 1, [status(), HrSummary(2, 600, 1, 600, 60, 70, 80)])
    store.ingest("SN1", 1, [HrSummary(3, 20 * 3600, 1, 600, 60, 70, 80)])
    events = store.events(patient="p1")
    gaps = derived.data_gaps(events, min_hours=4, start_utc=T0, end_utc=T0 + 10 * 3600)
    assert [(g.start_utc - T0, g.end_utc - T0) for g in gaps] == [(600, 10 * 3600)]


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/Santiago", "Australia/Lord_Howe"])
def test_splitting_by_local_day_matches_the_calendar_across_clock_changes(zone: str) -> None:
    """The day split (which remembers the last local day it found) gives the same days
    and seconds as converting every instant, over a year of hourly spans that cross
    midnights, DST changes (Santiago's skips midnight itself; Lord Howe moves 30 min)
    and a lookup that jumps back in time."""
    from datetime import datetime, timedelta

    tz = ZoneInfo(zone)

    def by_calendar(start: float, end: float) -> list[tuple[date, float]]:
        out, cursor = [], start
        while cursor < end:
            day = datetime.fromtimestamp(cursor, tz).date()
            midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(), tz)
            stop = min(end, midnight.timestamp())
            out.append((day, stop - cursor))
            cursor = stop
        return out

    start = 1_704_067_200.0  # 2024-01-01 UTC
    spans = [(start + h * 3600 - 1800, start + h * 3600 + 1800) for h in range(0, 366 * 24, 5)]
    spans += [(start + 40 * 86400.0, start + 43.5 * 86400.0), (start, start + 1.0)]
    for a, b in spans:
        assert list(derived._split_by_day(a, b, tz)) == by_calendar(a, b)
