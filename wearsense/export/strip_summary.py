"""A stored strip in words: its time, reason, the device's verdict on the event it
documents, the heart rate from the beats the device's QRS detector finds in it, its
duration and reviews. `wearsense strip show` prints it; the terminal UI shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wearsense.protocol import EventKind, RhythmClass
from wearsense.store import Store
from wearsense.store import strips as st
from wearsense.store.db import timezone
from wearsense.strips.paper import StripTrace, beat_times


def local(utc: float | None, tz_name: str) -> str:
    if utc is None:
        return "-"
    return datetime.fromtimestamp(utc, timezone(tz_name)).isoformat(timespec="minutes")


VERDICT_TEXT = {
    st.Verdict.CONFIRMED_AF: "confirmed AF",
    st.Verdict.NOT_AF: "not AF",
    st.Verdict.UNREADABLE: "unreadable",
}


def tz_of(store: Store, entry_patient: str | None) -> str:
    return store.patient(entry_patient).timezone if entry_patient else "UTC"


def review_text(review: st.Review | None, tz_name: str = "UTC") -> str:
    if review is None:
        return "not reviewed"
    at = local(review.reviewed_utc, tz_name)
    return f"{VERDICT_TEXT[review.verdict]} ({review.reviewer}, {at})"


def detector_verdict(store: Store, serial: str, epoch: int, seq: int) -> str:
    """What the device said of the episode or recording the strip documents."""
    event = st.subject_event(store, serial, epoch, seq)
    if event is None or event.fields is None:
        return "no event" if seq == 0 else f"event #{seq} not stored"
    f = event.fields
    if event.type == EventKind.AF_START:
        return f"AF onset (confidence {f['confidence']} %, HR {f['hr_bpm']} bpm)"
    if event.type == EventKind.ECG_RECORDING:
        name = RhythmClass(f["rhythm_class"]).name.lower()
        hr = f" HR {f['hr_bpm']} bpm" if f["hr_bpm"] else ""
        return f"recording: {name} (confidence {f['confidence']} %){hr}"
    return f"{event.type} #{seq}"


def strip_trace(strip: st.StoredStrip, title: str = "") -> Any:
    """The strip as ``wearsense.strips.paper.StripTrace``, beats from the device's detector."""
    img = strip.image
    beats = beat_times(img.samples, img.fs_hz, img.adc_gain, img.adc_zero)
    return StripTrace(strip.millivolts(), float(img.fs_hz), beats, title)


def describe(store: Store, strip: st.StoredStrip, trace: Any | None = None) -> list[str]:
    """The text summary of a stored strip: time, reason, verdicts, heart rate, duration."""
    img = strip.image
    patient = store.patient_of(strip.serial, strip.start_utc)
    tz_name = tz_of(store, patient)
    started = (
        local(strip.start_utc, tz_name)
        if strip.start_utc is not None
        else (f"device time {img.start_time_s} s (clock offset unknown)")
    )
    hr = trace.heart_rate_bpm() if trace is not None else None
    beats = len(trace.beats_s) if trace is not None else 0
    lines = [
        f"strip #{img.strip_id} of {strip.serial} (epoch {img.epoch})"
        + (f", patient {patient}" if patient else ""),
        f"time      {started}",
        f"reason    {st.REASONS.get(img.reason, img.reason)}",
        f"device    {detector_verdict(store, strip.serial, img.epoch, img.event_seq)}",
        f"HR        {hr:.0f} bpm ({beats} beats)" if hr else "HR        -",
        f"duration  {strip.duration_s:.1f} s ({img.n_samples} samples at {img.fs_hz} Hz, "
        f"{img.adc_gain:g} counts/mV)",
        f"review    {review_text(strip.review, tz_name)}",
    ]
    lines += [f"          earlier: {review_text(r, tz_name)}" for r in reversed(strip.reviews[:-1])]
    return lines
