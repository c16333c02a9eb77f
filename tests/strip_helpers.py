"""Strips for the tests: images of real ECG (a CinC 2017 AF record, when the shared data
is present, else a tiny synthetic trace) and STRIP announcements in a store."""

from __future__ import annotations

import numpy as np

from wearsense.datasets import DatasetError, cinc2017
from wearsense.protocol import Strip
from wearsense.store import Store
from wearsense.strips.image import build_image

AF_RECORD = "A00004"  # CinC 2017, labelled AF


def real_ecg(seconds: float = 30.0) -> tuple[np.ndarray, int, float, int] | None:
    """(samples, fs, adc_gain, adc_zero) of the first ``seconds`` of an AF record."""
    try:
        rec = cinc2017.load_record(AF_RECORD, label="A")
    except (DatasetError, OSError):
        return None
    return rec.signal[: int(seconds * rec.fs)].copy(), rec.fs, rec.adc_gain, rec.adc_zero


def synthetic_ecg(seconds: float = 2.0, fs: int = 300) -> tuple[np.ndarray, int, float, int]:
    """A spiky trace at 75 bpm (counts, 1000 per mV)."""
    t = np.arange(int(seconds * fs)) / fs
    beat = np.exp(-(((t % 0.8) - 0.3) ** 2) / (2 * 0.01**2))
    return (beat * 1200 - 100).astype(np.int16), fs, 1000.0, 0


def image(
    strip_id: int = 1,
    *,
    epoch: int = 1,
    start_time_s: int = 1000,
    event_seq: int = 0,
    reason: int = 1,
    real: bool = False,
    seconds: float = 2.0,
) -> bytes:
    got = real_ecg(seconds) if real else None
    x, fs, gain, zero = got if got is not None else synthetic_ecg(seconds)
    return build_image(
        reason=reason,
        strip_id=strip_id,
        epoch=epoch,
        start_time_s=start_time_s,
        start_ms=250,
        fs_hz=fs,
        adc_gain=gain,
        adc_zero=zero,
        event_seq=event_seq,
        samples=x,
    )


def announce(
    store: Store,
    serial: str,
    epoch: int,
    seq: int,
    time_s: int,
    strip_id: int,
    *,
    reason: int = 1,
    duration_s: int = 30,
    subject_seq: int = 1,
) -> None:
    """A STRIP event in the store, ingested as the link stores it."""
    event = Strip(
        seq, time_s, 0, strip_id=strip_id, reason=reason, duration_s=duration_s,
        subject_seq=subject_seq,
    )  # fmt: skip
    store.ingest(serial, epoch, [event])
