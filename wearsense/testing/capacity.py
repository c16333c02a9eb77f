"""How many days of events the device keeps while the companion is away.

A day is a schedule of events at the rates of a :class:`DayProfile`; the C core, on the
reference device's flash budget, receives day after day with no acknowledgement until
the queue first has to drop an event. The answer is measured with the real queue (record
overhead, page headers, the compaction reserve, the boot's STATUS events), not computed
from a formula. The days themselves (:class:`~wearsense.budget.day.DayProfile`, the
typical and the busy day) are ``wearsense.budget.day``.
"""

from __future__ import annotations

import random

from wearsense import protocol
from wearsense.budget.day import DAY_S, DayProfile
from wearsense.firmware.device import DEFAULT_PAGE_COUNT, DEFAULT_PAGE_SIZE, DeviceCore


def day_schedule(profile: DayProfile, rng: random.Random) -> list[tuple[int, str]]:
    """(second of the day, kind) for every event of one day, in time order."""
    step = profile.summary_min * 60
    items = [(t, "hr") for t in range(step, DAY_S + 1, step)]
    items += [(t, "rhythm") for t in range(step, DAY_S + 1, step)]
    items += [(t, protocol.EventKind.ACTIVITY_SUMMARY) for t in range(3600, DAY_S + 1, 3600)]
    for kind, count in (
        (protocol.EventKind.ACTIVITY_CHANGE, profile.activity_changes),
        (protocol.EventKind.SIGNAL_QUALITY, profile.signal_quality),
        ("af", profile.af_episodes),
        (protocol.EventKind.FALL, profile.falls),
        ("ecg", profile.ecg_recordings),
        ("time_sync", profile.time_syncs),
    ):
        items += [(rng.randrange(DAY_S), kind) for _ in range(count)]
    return sorted(items)


def _store(dev: DeviceCore, kind: str, t: int, rng: random.Random) -> None:
    head = {"seq": 0, "time_s": t, "model_version": 1}
    if kind == "hr":
        dev.inject(protocol.HrSummary(**head, interval_s=900, min_bpm=52, mean_bpm=64, max_bpm=98))
    elif kind == "rhythm":
        dev.inject(protocol.RhythmSummary(**head, interval_s=900, analysable_s=840, af_s=0))
    elif kind == protocol.EventKind.ACTIVITY_SUMMARY:
        dev.inject(protocol.ActivitySummary(**head, minutes=(10, 0, 0, 2, 2, 30, 10, 6)))
    elif kind == protocol.EventKind.ACTIVITY_CHANGE:
        a, b = rng.sample(range(8), 2)
        dev.inject(protocol.ActivityChange(**head, from_class=a, to_class=b, confidence=80))
    elif kind == protocol.EventKind.SIGNAL_QUALITY:
        dev.inject(protocol.SignalQuality(**head, source=0, flags=2, duration_s=40))
    elif kind == "af":
        dev.inject(protocol.AfStart(**head, hr_bpm=128, confidence=91, onset_lag_s=30))
        dev.inject(protocol.AfEnd(**head, duration_s=1800, mean_hr_bpm=120))
    elif kind == protocol.EventKind.FALL:
        dev.inject(protocol.Fall(**head, impact_mg=5200, confidence=96, stillness_s=12))
        dev.inject(protocol.FallCancelled(**head, fall_seq=1, delay_s=20))
    elif kind == "ecg":
        dev.inject(
            protocol.EcgRecording(
                **head, rhythm_class=0, confidence=88, hr_bpm=70, duration_s=30, quality=0
            )
        )
    else:
        frame = protocol.Command(protocol.Opcode.TIME_SYNC, 1, {"utc_s": 1_750_000_000 + t})
        dev.write_command(frame.encode())


def capacity_days(
    profile: DayProfile,
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
    page_count: int = DEFAULT_PAGE_COUNT,
    seed: int = 1,
    max_days: int = 400,
) -> float:
    """Days of ``profile`` the queue holds, unacknowledged, before it drops the first event."""
    rng = random.Random(seed)
    dev = DeviceCore("WS-CAPACITY", page_size=page_size, page_count=page_count)
    start_seq = dev.info().last_seq
    stored = 0
    per_day = profile.events_per_day()
    for day in range(max_days):
        for t, kind in day_schedule(profile, rng):
            dev.now_s = day * DAY_S + t
            before = dev.info()
            _store(dev, kind, day * DAY_S + t, rng)
            after = dev.info()
            # a drop shows as fewer events held than numbers handed out (a GAP takes one)
            if after.pending < after.last_seq - start_seq + 3:
                return round(stored / per_day, 2)
            stored += after.last_seq - before.last_seq
    return float(max_days)


NOR_ENDURANCE_CYCLES = 10_000  # erase cycles per page of typical MCU NOR flash (nRF52: 10 000)


def erases_per_day(
    profile: DayProfile,
    *,
    days: int = 20,
    ack_every_s: int = 3600,
    page_size: int = DEFAULT_PAGE_SIZE,
    page_count: int = DEFAULT_PAGE_COUNT,
    seed: int = 1,
) -> float:
    """Page erases per day when the companion is near and acknowledges every ``ack_every_s``."""
    rng = random.Random(seed)
    dev = DeviceCore("WS-WEAR", page_size=page_size, page_count=page_count)
    start = dev.flash_erases
    next_ack = ack_every_s
    for day in range(days):
        for t, kind in day_schedule(profile, rng):
            now = day * DAY_S + t
            dev.now_s = now
            if now >= next_ack:
                dev.ack(dev.info().last_seq)
                next_ack = now + ack_every_s
            _store(dev, kind, now, rng)
    return (dev.flash_erases - start) / days


def flash_life_years(erases_day: float, page_count: int = DEFAULT_PAGE_COUNT) -> float:
    """Years until the average page reaches its endurance (pages are used round robin)."""
    if erases_day <= 0:
        return float("inf")
    return NOR_ENDURANCE_CYCLES * page_count / erases_day / 365.0
