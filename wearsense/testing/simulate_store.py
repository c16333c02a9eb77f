"""A synthetic event stream of one wearer, for the store's tests and benchmarks only.

It exercises every path of the store and the exports (summaries every 12 minutes, hourly
activity, AF episodes, falls some of which are cancelled, activity changes, nights off
the body) at the volume of a real year (about 100 000 events). It is not a recording and
no clinical or model figure may be computed from it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from wearsense.protocol import (
    ActivityChange,
    ActivitySummary,
    AfEnd,
    AfStart,
    Event,
    Fall,
    FallCancelled,
    HrSummary,
    RhythmSummary,
    StatusDevice,
    StatusFirmware,
    StatusFlag,
    StatusModels,
)

SUMMARY_S = 600
MODEL_AFIB, MODEL_FALL, MODEL_ACTIVITY = 3, 2, 1


def wearer_events(start_utc: int, days: int, seed: int = 1, epoch: int = 1) -> Iterator[Event]:
    """Events of one device in one epoch, sequence numbers from 1, device time 0 at
    ``start_utc`` (the first events are the STATUS pages that give its clock offset)."""
    rng = random.Random(seed)
    seq = 0

    def nxt() -> int:
        nonlocal seq
        seq += 1
        return seq

    yield StatusDevice(
        nxt(),
        0,
        0,
        battery_pct=100,
        epoch=epoch,
        queue_free=512,
        flags=int(StatusFlag.TIME_SYNCED),
        boot_count=1,
    )
    yield StatusModels(
        nxt(),
        0,
        0,
        afib_version=MODEL_AFIB,
        fall_version=MODEL_FALL,
        activity_version=MODEL_ACTIVITY,
    )
    yield StatusFirmware(nxt(), 0, 0, fw_major=1, fw_minor=4, fw_patch=0, utc_offset_s=start_utc)
    activity = 5
    for day in range(days):
        day_s = day * 86400
        off_from = rng.randrange(0, 24) * 3600 if rng.random() < 0.15 else -1
        off_until = off_from + rng.randrange(2, 7) * 3600
        af_at = rng.randrange(0, 86400) if rng.random() < 0.35 else -1
        af_len = min(rng.randrange(300, 4 * 3600), 86400 - SUMMARY_S - af_at - 1)
        if af_len < 60:
            af_at = -1  # episodes end within their day here
        fall_at = rng.randrange(0, 86400) if rng.random() < 0.05 else -1
        changes = sorted(rng.randrange(0, 86400) for _ in range(6))
        t = SUMMARY_S
        while t <= 86400:
            now = day_s + t
            worn = not (off_from <= t - SUMMARY_S < off_until)
            in_af = af_at >= 0 and af_at <= t - SUMMARY_S < af_at + af_len
            if worn:
                analysable = rng.randrange(SUMMARY_S // 2, SUMMARY_S + 1)
                af_s = analysable if in_af else 0
                yield RhythmSummary(
                    nxt(), now, MODEL_AFIB, interval_s=SUMMARY_S, analysable_s=analysable, af_s=af_s
                )
                mean = rng.randrange(110, 150) if in_af else rng.randrange(55, 95)
                yield HrSummary(
                    nxt(),
                    now,
                    MODEL_AFIB,
                    interval_s=SUMMARY_S,
                    min_bpm=mean - 10,
                    mean_bpm=mean,
                    max_bpm=mean + 15,
                )
            if af_at >= 0 and t - SUMMARY_S <= af_at < t:
                yield AfStart(
                    nxt(),
                    now,
                    MODEL_AFIB,
                    hr_bpm=rng.randrange(110, 160),
                    confidence=rng.randrange(70, 100),
                    onset_lag_s=now - day_s - af_at,
                )
            if af_at >= 0 and t - SUMMARY_S <= af_at + af_len < t:
                yield AfEnd(
                    nxt(),
                    now,
                    MODEL_AFIB,
                    duration_s=now - day_s - af_at,
                    mean_hr_bpm=rng.randrange(110, 150),
                )
            if fall_at >= 0 and t - SUMMARY_S <= fall_at < t:
                fall_seq = nxt()
                yield Fall(
                    fall_seq,
                    day_s + fall_at,
                    MODEL_FALL,
                    impact_mg=rng.randrange(1500, 6000),
                    confidence=rng.randrange(60, 100),
                    stillness_s=rng.randrange(0, 60),
                )
                if rng.random() < 0.4:
                    delay = rng.randrange(3, 30)
                    yield FallCancelled(
                        nxt(), day_s + fall_at + delay, MODEL_FALL, fall_seq=fall_seq, delay_s=delay
                    )
            for at in changes:
                if t - SUMMARY_S <= at < t and worn:
                    new = rng.choice([c for c in range(8) if c != activity])
                    yield ActivityChange(
                        nxt(),
                        day_s + at,
                        MODEL_ACTIVITY,
                        from_class=activity,
                        to_class=new,
                        confidence=rng.randrange(50, 100),
                    )
                    activity = new
            if t % 3600 == 0 and worn:
                minutes = [0] * 8
                for _ in range(60):
                    minutes[activity if rng.random() < 0.7 else rng.randrange(8)] += 1
                yield ActivitySummary(nxt(), now, MODEL_ACTIVITY, minutes=tuple(minutes))
            t += SUMMARY_S
