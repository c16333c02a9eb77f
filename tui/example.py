"""A small synthetic store for the UI's tests and screenshots: two patients, three
devices, one day of summaries, an AF episode, a cancelled and a real fall, a long data
gap and a silent device. Synthetic: it shows the screens, it measures nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from unittest import mock

import numpy as np

from tui.link import ConnectionState, MemoryLink
from wearsense.datasets import DatasetError, cinc2017
from wearsense.protocol import (
    ActivityChange,
    ActivitySummary,
    AfEnd,
    AfStart,
    Event,
    EventKind,
    Fall,
    FallCancelled,
    HrSummary,
    RhythmSummary,
    StatusDevice,
    StatusFirmware,
    StatusModels,
)
from wearsense.store import Store, strips
from wearsense.strips.image import build_image

T0 = 1_709_251_200  # 2024-03-01 00:00 UTC; device time 0 of every example device
NOW = T0 + 24 * 3600  # the example's "now": the end of that day
EPOCH = 1


def _day(
    first_s: int, last_s: int, af: tuple[int, int] | None, active_hours: set[int]
) -> Iterator[tuple[int, str, dict[str, object]]]:
    """(device time, type, fields) of the periodic summaries from first_s to last_s."""
    for t in range(first_s + 600, last_s + 1, 600):
        in_af = af is not None and af[0] <= t <= af[1] + 600
        mean = 128 if in_af else 64 + (t // 600) % 7
        yield (
            t,
            "hr",
            {"interval_s": 600, "min_bpm": mean - 12, "mean_bpm": mean, "max_bpm": mean + 20},
        )
    for t in range(first_s + 3600, last_s + 1, 3600):
        hour = t // 3600 - 1
        af_s = 0
        if af is not None:
            af_s = max(0, min(t, af[1]) - max(t - 3600, af[0]))
        yield t, "rhythm", {"interval_s": 3600, "analysable_s": 3300, "af_s": min(af_s, 3300)}
        walk = 25 if hour in active_hours else 3
        run = 10 if hour in active_hours and hour % 2 else 0
        lie = 50 if hour < 7 else 0
        sit = 60 - walk - run - lie
        yield (
            t,
            "activity",
            {
                "minutes": (walk, run, 0, 0, 0, sit, 0, lie)
                if sit >= 0
                else (walk, run, 0, 0, 0, 0, 0, 60 - walk - run)
            },
        )


def _events(items: list[tuple[int, str, dict[str, object]]], version: int) -> list[Event]:
    """Numbers the items in time order (sequences 2.. after the status pages)."""
    out: list[Event] = [
        StatusFirmware(1, 0, 0, fw_major=1, fw_minor=2, fw_patch=0, utc_offset_s=T0),
    ]
    seq = 2
    for t, kind, fields in sorted(items, key=lambda item: item[0]):
        cls = {
            "hr": HrSummary,
            "rhythm": RhythmSummary,
            "activity": ActivitySummary,
            EventKind.AF_START: AfStart,
            EventKind.AF_END: AfEnd,
            EventKind.FALL: Fall,
            "cancel": FallCancelled,
            "change": ActivityChange,
            "models": StatusModels,
            "device": StatusDevice,
        }[kind]
        if kind == "cancel":
            fields = {**fields, "fall_seq": _seq_of(out, int(str(fields["fall_seq"])))}
        out.append(cls(seq, t, version if kind not in ("models", "device") else 0, **fields))
        seq += 1
    return out


def _seq_of(events: list[Event], time_s: int) -> int:
    return next(e.seq for e in events if isinstance(e, Fall) and e.time_s == time_s)


def fill(path: str | os.PathLike[str]) -> Store:
    """Creates the example store at ``path`` and returns it open. The store's own
    clock reads (creation and "last seen" times) are pinned to the example's day, so the
    same store, and the same screens, come out every time."""
    with mock.patch("time.time", return_value=float(NOW - 600)):
        return _fill(path)


def _fill(path: str | os.PathLike[str]) -> Store:
    store = Store(path)
    store.add_patient("p-001", "Europe/Berlin")
    store.add_patient("p-002", "UTC")
    store.assign("SN-0001", "p-001", start_utc=T0 - 3600)
    store.assign("SN-0002", "p-002", start_utc=T0 - 3600)
    store.record_model_version("afib", 3, "9f2c" * 16, notes="distilled 1-D CNN, int8")
    store.record_model_version("fall", 2, "41ab" * 16, notes="int8")
    store.record_model_version("activity", 1, "07de" * 16, notes="int8")
    store.set_setting("gap_alert_hours", "4")

    af = (10 * 3600 + 600, 10 * 3600 + 3000)  # 10:10-10:50 UTC
    first: list[tuple[int, str, dict[str, object]]] = list(_day(0, 24 * 3600, af, {8, 9, 17}))
    first += [
        (1, "models", {"afib_version": 3, "fall_version": 2, "activity_version": 1}),
        (
            2,
            "device",
            {"battery_pct": 81, "epoch": EPOCH, "queue_free": 240, "flags": 1, "boot_count": 3},
        ),
        (8 * 3600, "change", {"from_class": 7, "to_class": 0, "confidence": 91}),
        (af[0] + 45, EventKind.AF_START, {"hr_bpm": 131, "confidence": 93, "onset_lag_s": 45}),
        (af[1], EventKind.AF_END, {"duration_s": af[1] - af[0], "mean_hr_bpm": 127}),
        (12 * 3600, EventKind.FALL, {"impact_mg": 2300, "confidence": 71, "stillness_s": 3}),
        (12 * 3600 + 14, "cancel", {"fall_seq": 12 * 3600, "delay_s": 14}),
        (17 * 3600, "change", {"from_class": 5, "to_class": 1, "confidence": 88}),
        (
            23 * 3600 + 1800,
            EventKind.FALL,
            {"impact_mg": 3400, "confidence": 96, "stillness_s": 30},
        ),
    ]
    first_events = _events(first, 3)
    store.ingest("SN-0001", EPOCH, first_events, received_utc=NOW - 60)
    # both falls of the day were seen to by a caregiver at the time
    for fall_time in (12 * 3600, 23 * 3600 + 1800):
        key = ("SN-0001", EPOCH, _seq_of(first_events, fall_time))
        store.acknowledge_fall(key, by="nurse", utc=T0 + fall_time + 90)

    # SN-0002: silent from 09:00 to 15:00 UTC (a 6-hour data gap), then back.
    second = list(_day(0, 9 * 3600, None, {7})) + list(_day(15 * 3600, 24 * 3600, None, {18}))
    second += [
        (1, "models", {"afib_version": 3, "fall_version": 2, "activity_version": 1}),
        (
            2,
            "device",
            {"battery_pct": 34, "epoch": EPOCH, "queue_free": 255, "flags": 1, "boot_count": 1},
        ),
    ]
    store.ingest("SN-0002", EPOCH, _events(second, 3), received_utc=NOW - 300)

    # SN-0003: unassigned, last heard of 7 hours before "now".
    third = list(_day(0, 17 * 3600, None, set()))
    store.ingest("SN-0003", EPOCH, _events(third, 2), received_utc=NOW - 7 * 3600)
    return store


def example_link() -> MemoryLink:
    """A link that knows the example devices: SN-0001 connected, SN-0002 syncing,
    SN-0003 out of reach."""
    link = MemoryLink()
    link.set_status(
        "SN-0001",
        state=ConnectionState.CONNECTED,
        battery_pct=80,
        firmware="1.2.0",
        models={"afib": 3, "fall": 2, "activity": 1},
        last_sync_utc=NOW - 12,
    )
    link.set_status("SN-0002", state=ConnectionState.SYNCING, battery_pct=33, last_sync_utc=NOW)
    link.set_status("SN-0003", state=ConnectionState.DISCONNECTED)
    return link


def deliver_fall(path: str | os.PathLike[str], link: MemoryLink) -> None:
    """SN-0001 reports a new fall (stored first, as the real link does)."""
    with Store(path) as store:
        seq = store.contiguous_seq("SN-0001", EPOCH) + 1
        fall = Fall(seq, NOW - 8 - T0, 2, impact_mg=3800, confidence=98, stillness_s=45)
        with mock.patch("time.time", return_value=float(NOW - 5)):
            link.deliver(store, "SN-0001", EPOCH, [fall])


# (name, keys pressed after start, whether a fall arrives first): one per screen, for
# the snapshot tests and tools/tui_screenshots.py.
SCREENS: list[tuple[str, tuple[str, ...], bool]] = [
    ("devices", (), False),
    ("events", ("2",), False),
    ("charts", ("3",), False),
    ("updates", ("4",), False),
    ("export", ("5",), False),
    ("help", ("question_mark",), False),
    ("fall_alert", ("2",), True),
]


def add_strips(store: Store) -> None:
    """The ECG strip of the example: the 30 s around SN-0001's AF onset, stored (real
    ECG from a CinC 2017 AF record when the shared data is there, else a synthetic
    irregular rhythm)."""
    try:
        rec = cinc2017.load_record("A00004", label="A")
        x, fs, gain, zero = rec.signal[: 30 * rec.fs], rec.fs, rec.adc_gain, rec.adc_zero
    except (DatasetError, OSError):
        fs, gain, zero = 300, 1000.0, 0
        rng = np.random.default_rng(31)
        beats = np.cumsum(rng.uniform(0.45, 0.95, 60))
        t = np.arange(30 * fs) / fs
        trace = 40 * np.sin(2 * np.pi * 6 * t)  # fibrillatory waves
        for b in beats[beats < 30]:
            trace += 1100 * np.exp(-((t - b) ** 2) / (2 * 0.012**2))
        x = trace.astype(np.int16)
    onset = [e for e in store.events(serial="SN-0001", types=[EventKind.AF_START])][0]
    assert onset.device_time_s is not None and onset.fields is not None
    start = onset.device_time_s - onset.fields["onset_lag_s"] - 10
    image = build_image(
        reason=1, strip_id=1, epoch=onset.epoch, start_time_s=start, start_ms=0, fs_hz=fs,
        adc_gain=gain, adc_zero=zero, event_seq=onset.seq, samples=x,
    )  # fmt: skip
    strips.put_strip(store, "SN-0001", image, received_utc=float(NOW - 120))
