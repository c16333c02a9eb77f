"""The ECG strips of an export as one EDF+D file (discontinuous): each strip is a run of
1 s data records at its own onset, so 30 s strips hours apart take 30 records each and
no filler. Layout (docs/clinical-export.md, "Strips"):

- signal ``ECG I`` in mV, the digital values the device's ADC counts as they are
  (digital range -32768..32767, physical range (count - adc_zero) / adc_gain at those
  ends), so a reader gets the same counts back and the same millivolts;
- a strip whose length is not whole seconds is padded to its last record with the count
  of 0 mV (the annotation gives its true duration);
- annotations: each strip (onset, duration, number and reason), the AF onset it
  documents (the AF_START event's time less its onset lag) and every review.

We write EDF+D ourselves: edflib (pyedflib) writes only continuous EDF+C; it reads
EDF+D, which is how the tests check the files. Strips with another rate or ADC scale,
or that overlap the strip before (two strips of one episode), start another file.
"""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from wearsense.export.common import ExportData, ExportError
from wearsense.protocol import EventKind
from wearsense.store.strips import REASONS, StoredStrip

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def _num(value: float) -> str:
    """A number in at most 8 characters, as exact as they allow."""
    for digits in range(6, -1, -1):
        text = f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"
        if len(text) <= 8:
            return text
    raise ExportError(f"{value} does not fit an EDF header field")


def _ascii(text: str) -> str:
    return "".join(c if " " <= c <= "~" else "_" for c in text)


def _seconds(value: float) -> str:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text if text.startswith("-") else "+" + text


def _groups(strips: list[StoredStrip]) -> list[list[StoredStrip]]:
    """Strips in time order, cut where the rate or scale changes or two overlap."""
    ordered = sorted(strips, key=lambda s: s.start_utc or 0.0)
    groups: list[list[StoredStrip]] = []
    end = -math.inf
    for s in ordered:
        img = s.image
        start = s.start_utc or 0.0
        if groups:
            first = groups[-1][0].image
            same = (first.fs_hz, first.adc_gain, first.adc_zero) == (
                img.fs_hz,
                img.adc_gain,
                img.adc_zero,
            )
            if same and start >= end:
                groups[-1].append(s)
                end = start + math.ceil(img.n_samples / img.fs_hz)
                continue
        groups.append([s])
        end = start + math.ceil(img.n_samples / img.fs_hz)
    return groups


def strip_notes(data: ExportData, strip: StoredStrip) -> list[tuple[float, float, str]]:
    """(UTC onset, duration or 0, text) of a strip: itself, its AF onset, its reviews."""
    img = strip.image
    assert strip.start_utc is not None
    notes = [
        (
            strip.start_utc,
            strip.duration_s,
            f"Strip {img.strip_id} {REASONS.get(img.reason, img.reason)} {strip.serial}",
        )
    ]
    for e in data.events:
        if (e.serial, e.epoch, e.seq) == (strip.serial, img.epoch, img.event_seq):
            if e.type == EventKind.AF_START and e.utc is not None and e.fields:
                notes.append((e.utc - e.fields["onset_lag_s"], 0.0, "AF onset (device)"))
            break
    for r in strip.reviews:
        notes.append((strip.start_utc, 0.0, f"Review {r.verdict.value} by {r.reviewer}"))
    return notes


def _file(data: ExportData, strips: list[StoredStrip], kind: str = "EDF+D") -> bytes:
    first = strips[0]
    fs = first.image.fs_hz
    gain, zero = first.image.adc_gain, first.image.adc_zero
    assert first.start_utc is not None
    t0 = math.floor(first.start_utc)
    start = data.local(t0).replace(tzinfo=None)
    records: list[tuple[float, np.ndarray, list[str]]] = []
    for s in strips:
        assert s.start_utc is not None
        x = s.image.samples.astype("<i2")
        count = math.ceil(len(x) / fs)
        padded = np.full(count * fs, zero, dtype="<i2")
        padded[: len(x)] = x
        notes = [
            f"{_seconds(onset - t0)}" + (f"\x15{_seconds(dur)[1:]}" if dur > 0 else "")
            + f"\x14{_ascii(text)}\x14\x00"
            for onset, dur, text in strip_notes(data, s)
        ]  # fmt: skip
        for k in range(count):
            records.append(
                (s.start_utc - t0 + k, padded[k * fs : (k + 1) * fs], notes if k == 0 else [])
            )
    tals = [
        (f"{_seconds(onset)}\x14\x14\x00" + "".join(notes)).encode("ascii")
        for onset, _, notes in records
    ]
    tal_bytes = max(len(t) for t in tals)
    tal_bytes += tal_bytes % 2
    label = _ascii(data.patient_label).replace(" ", "_")[:40]
    pmin = _num((-32768 - zero) / gain)
    pmax = _num((32767 - zero) / gain)
    fields: list[tuple[str, str]] = [
        ("ECG I", "EDF Annotations"),  # label
        ("AgCl electrodes, single lead", ""),  # transducer
        ("mV", ""),
        (pmin, "-1"),
        (pmax, "1"),
        ("-32768", "-32768"),
        ("32767", "32767"),
        ("", ""),  # prefiltering: none (the ADC input)
        (str(fs), str(tal_bytes // 2)),
        ("", ""),
    ]
    widths = (16, 80, 8, 8, 8, 8, 8, 80, 8, 32)
    header = (
        "0".ljust(8)
        + f"{label} X X X".ljust(80)[:80]
        + f"Startdate {start.day:02d}-{_MONTHS[start.month - 1]}-{start.year:04d} X X "
        "WearSense".ljust(80)[:80]
        + start.strftime("%d.%m.%y")
        + start.strftime("%H.%M.%S")
        + str(256 * 3).ljust(8)
        + kind.ljust(44)
        + str(len(records)).ljust(8)
        + "1".ljust(8)
        + "2".ljust(4)
        + "".join(a.ljust(w)[:w] + b.ljust(w)[:w] for (a, b), w in zip(fields, widths, strict=True))
    ).encode("ascii")
    assert len(header) == 768
    body = bytearray()
    for (_, samples, _), tal in zip(records, tals, strict=True):
        body += samples.tobytes()
        body += tal.ljust(tal_bytes, b"\x00")
    return header + bytes(body)


def write_strips_edf(
    data: ExportData, directory: str | Path, stem: str | None = None
) -> list[Path]:
    """The export's strips in ``directory``: all of them as EDF+D, ``STEM-strips.edf``
    (then ``-strips-2.edf``, ... when they need several files), and each as EDF+C,
    ``STEM-strip-SERIAL-EPOCH-ID.edf``, for readers without EDF+D (pyedflib, edflib:
    they refuse a discontinuous file); none without strips."""
    if not data.strips:
        return []
    folder = Path(directory)
    stem = stem or data.patient_label
    files: list[tuple[Path, bytes]] = []
    for i, group in enumerate(_groups(data.strips), 1):
        name = f"{stem}-strips.edf" if i == 1 else f"{stem}-strips-{i}.edf"
        files.append((folder / name, _file(data, group)))
    for s in data.strips:
        name = f"{stem}-strip-{_ascii(s.serial)}-{s.image.epoch}-{s.image.strip_id}.edf"
        files.append((folder / name.replace("/", "_"), _file(data, [s], "EDF+C")))
    written = []
    for dest, content in files:
        tmp = folder / f".{dest.name}.{os.getpid()}.tmp"
        try:
            tmp.write_bytes(content)
            os.replace(tmp, dest)
        except OSError as exc:
            raise ExportError(f"cannot write {dest}: {exc}") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        written.append(dest)
    return written


def read_edf_plus_d(path: str | Path) -> list[tuple[float, Any, list[str]]]:
    """The data records of an EDF+ file of one 16-bit signal and one annotation signal
    (what ``write_strips_edf`` writes): (onset s from the start, digital samples, the
    record's other annotation TALs). ExportError for anything else."""
    raw = Path(path).read_bytes()
    try:
        head = int(raw[184:192])
        count, ns = int(raw[236:244]), int(raw[252:256])
        if ns != 2 or head != 256 * 3:
            raise ValueError("not one signal and one annotation signal")
        per = [int(raw[256 + 216 * ns + 8 * k : 256 + 216 * ns + 8 * k + 8]) for k in range(ns)]
    except ValueError as exc:
        raise ExportError(f"{path}: not a strip EDF+ file ({exc})") from exc
    size = 2 * sum(per)
    if len(raw) != head + count * size:
        raise ExportError(f"{path}: {len(raw)} bytes, the header says {head + count * size}")
    out = []
    for r in range(count):
        rec = raw[head + r * size : head + (r + 1) * size]
        samples = np.frombuffer(rec[: 2 * per[0]], dtype="<i2")
        tals = [t for t in rec[2 * per[0] :].split(b"\x00") if t]
        onset = float(tals[0].split(b"\x14")[0])
        out.append((onset, samples, [t.decode("ascii") for t in tals[1:]]))
    return out


def read_strips_edf(path: str | Path) -> dict[str, Any]:
    """What a reader sees (pyedflib): start, file type, the ECG in counts and in mV, the
    annotations. For the tests and for checking an export by hand."""
    import pyedflib

    try:
        reader = pyedflib.EdfReader(str(path))
    except OSError as exc:
        raise ExportError(f"{path}: not a readable EDF+ file ({exc})") from exc
    try:
        onsets, durations, texts = reader.readAnnotations()
        return {
            "start": reader.getStartdatetime(),
            "filetype": reader.filetype,
            "label": reader.getLabel(0),
            "fs": reader.getSampleFrequency(0),
            "digital": reader.readSignal(0, digital=True),
            "mv": reader.readSignal(0),
            "physical": (reader.getPhysicalMinimum(0), reader.getPhysicalMaximum(0)),
            "annotations": list(zip(onsets, durations, texts, strict=True)),
        }
    finally:
        reader.close()
