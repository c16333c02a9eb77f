"""The AFib model's input, made by the device's own ECG front end (the firmware's C chain,
called through `wearsense.firmware`): 10.24 s of ECG at 125 Hz as int8
(`ws_afib_input_s8` over the chain's normalised output; float value = q / 64), followed in a
hybrid model by 16 int8 features of the RR intervals of the chain's beat detector over the
20.48 s before the window's end (`ws_afib_rr_features`); the windows of a record (hop
5.12 s), the front end's quality gate, and a MIT-BIH record's windows with their rhythm
annotation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np

from wearsense.datasets import cinc2017
from wearsense.firmware import core
from wearsense.firmware.ecg import Beats, Quality, run_chain

LABELS = ("normal", "af", "other", "noisy")


CINC_CLASS = {"N": 0, "A": 1, "O": 2, "~": 3}


WINDOW = 1280


HOP = 640


INPUT_SCALE = 1.0 / 64.0


RR_FEATURES = 16  # WS_AFIB_RR_FEATURES


# WS_REC_UNSEEN: front-end flags (leads-off 1, saturated 4, flat 8) that keep a window from
# the model in a recording; the noisy flag (2) does not (the model has a noisy class).
UNSEEN_FLAGS = 1 | 4 | 8


QUALITY_WINDOW = 500  # WS_ECG_QUALITY_WINDOW: 250 Hz samples per quality verdict


def afib_input(normalised_250hz: np.ndarray) -> np.ndarray:
    """The model input sequence (int8, 125 Hz) from the chain's normalised output."""
    lib, ffi = core().lib, core().ffi
    samples = np.ascontiguousarray(normalised_250hz[: len(normalised_250hz) // 2 * 2], np.int16)
    out = np.empty(len(samples) // 2, dtype=np.int8)
    status = lib.ws_afib_input_s8(
        ffi.from_buffer("int16_t[]", samples), len(samples), ffi.from_buffer("int8_t[]", out)
    )
    if status != 0:
        raise RuntimeError(f"ws_afib_input_s8 failed with status {status}")
    return out


def rr_features(beats: Beats, ends: Iterable[int]) -> np.ndarray:
    """``ws_afib_rr_features`` of the chain's beats for windows ending at each of ``ends``
    (250 Hz output samples): int8 ``[len(ends), RR_FEATURES]``."""
    lib, ffi = core().lib, core().ffi
    n = len(beats.sample)
    array = ffi.new("ws_ecg_beat_t[]", max(n, 1))
    for i in range(n):
        array[i].sample = int(beats.sample[i])
        array[i].rr_ms = int(beats.rr_ms[i])
        array[i].amp_uv = int(beats.amp_uv[i])
        array[i].flags = int(beats.flags[i])
        array[i].lag = 0 if beats.lag is None else int(beats.lag[i])
    ends = list(ends)
    out = np.zeros((len(ends), RR_FEATURES), dtype=np.int8)
    for row, end in enumerate(ends):
        status = lib.ws_afib_rr_features(array, n, int(end), ffi.from_buffer("int8_t[]", out[row]))
        if status != 0:
            raise RuntimeError(f"ws_afib_rr_features failed with status {status}")
    return out


@dataclasses.dataclass(frozen=True)
class EcgInput:
    """What the AFib model's input is made of: the 125 Hz int8 sequence and the beats."""

    sequence: np.ndarray
    beats: Beats
    quality: Quality | None = None  # the front end's verdicts (None: none kept)


def record_input(record: cinc2017.CincRecord) -> EcgInput:
    """A CinC record through the device's ECG chain and AFib input stage."""
    chain = run_chain(record.signal, record.fs, record.adc_gain, record.adc_zero, normalised=True)
    return EcgInput(afib_input(chain.signal), chain.beats, chain.quality)


def record_sequence(record: cinc2017.CincRecord) -> np.ndarray:
    return record_input(record).sequence


def seen_windows(ecg: EcgInput, n: int, window: int = WINDOW) -> np.ndarray:
    """Which of the first ``n`` windows (every HOP) the device shows the model in a
    recording: those no front-end verdict ending within them flags leads-off, flat or
    saturated (``quality_over`` and WS_REC_UNSEEN in firmware/src/detectors/afib.c)."""
    seen = np.ones(n, dtype=bool)
    if ecg.quality is None or len(ecg.quality.start) == 0:
        return seen
    begin = 2 * np.arange(n) * HOP  # in 250 Hz output samples
    end = begin + 2 * window
    stop, flags = ecg.quality.start + QUALITY_WINDOW, ecg.quality.flags
    for k in range(n):
        over = (stop > begin[k]) & (stop <= end[k])
        seen[k] = not np.any(flags[over] & UNSEEN_FLAGS)
    return seen


def recording_for(ecg: EcgInput) -> tuple[int, int]:
    """(windows, seconds): the record's windows (every HOP; 0 when shorter than one) and
    the shortest START_RECORDING whose windows are exactly those (WS_REC_WINDOWS; at most
    60 s, so at most 10 windows: every CinC record)."""
    windows = max(0, (len(ecg.sequence) - WINDOW) // HOP + 1)
    return windows, max(10, min(60, -(-(HOP * (windows - 1) + WINDOW) // 125)))


def signal_length(length: int) -> int:
    """ECG samples in an input row of ``length`` values: a row of WINDOW + RR_FEATURES is a
    hybrid model's (window, then RR features); any other length is all ECG."""
    return length - RR_FEATURES if length == WINDOW + RR_FEATURES else length


def model_inputs(ecg: EcgInput, length: int, hop: int = HOP) -> np.ndarray:
    """The int8 input rows of a model whose input holds ``length`` values: windows of the
    sequence (every ``hop`` samples; the device's HOP unless training asks for more),
    each followed by its RR features for a hybrid model."""
    window = signal_length(length)
    rows = windows(ecg.sequence, window, hop)
    if window == length:
        return rows
    ends = 2 * (np.arange(len(rows)) * hop + window)  # in 250 Hz output samples
    return np.concatenate([rows, rr_features(ecg.beats, ends)], axis=1)


def windows(sequence: np.ndarray, window: int = WINDOW, hop: int = HOP) -> np.ndarray:
    """Windows of ``window`` samples every ``hop``; a short record is zero-padded to one
    window."""
    if len(sequence) < window:
        sequence = np.concatenate([sequence, np.zeros(window - len(sequence), np.int8)])
    starts = range(0, len(sequence) - window + 1, hop)
    return np.stack([sequence[s : s + window] for s in starts])


def model_length(model: Any) -> int:
    """Values in the model's input row (its input tensor is [1, 1, length, 1])."""
    return int(model.inputs[0].shape[2])


def model_window(model: Any) -> int:
    """ECG samples in the model's input (the row less a hybrid model's RR features)."""
    return signal_length(model_length(model))


def to_float(x: np.ndarray) -> np.ndarray:
    return (x.astype(np.float32) * np.float32(INPUT_SCALE)).astype(np.float32)


def _mitdb_truth(label: str | None) -> int | None:
    if label is None or label in ("AFL",):
        return None
    if label == "AFIB":
        return 1
    return 0 if label == "N" else 2


FLUTTER = -1  # a window `mitdb_windows` finds in atrial flutter (scored on its own)


class MitdbWindows(NamedTuple):
    """What `mitdb_windows` returns for one MIT-BIH record."""

    rows: np.ndarray  # int8 model input rows [N, length]
    centres_s: np.ndarray  # each window's centre, in seconds of the record
    truths: list[int | None]  # the rhythm class at each centre (FLUTTER, None: unscored)


def mitdb_windows(record: Any, length: int) -> MitdbWindows:
    """A MIT-BIH record through the device's ECG front end: the int8 model input rows
    (every HOP, as `model_inputs`), each window's centre in seconds of the record, and its
    rhythm class at that centre (`_mitdb_truth`: AF 1, normal sinus 0, any other rhythm 2;
    ``FLUTTER`` in atrial flutter; None where the annotation says nothing)."""
    lead = record.lead_index()
    chain = run_chain(
        record.signals[:, lead],
        record.fs,
        record.adc_gain[lead],
        record.adc_zero[lead],
        normalised=True,
    )
    ecg = EcgInput(afib_input(chain.signal), chain.beats)
    wins = model_inputs(ecg, length)
    centres_s = (np.arange(len(wins)) * HOP + signal_length(length) / 2) / 125.0 - chain.delay_s
    truths: list[int | None] = []
    for centre in centres_s:
        sample = int(centre * record.fs)
        label = record.rhythm_at(sample)
        if label == "AFL" or any(a <= sample < b for a, b in record.excluded):
            truths.append(FLUTTER)
        else:
            truths.append(_mitdb_truth(label))
    return MitdbWindows(wins, centres_s, truths)
