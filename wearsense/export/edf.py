"""EDF+ export (pyedflib): one file per local calendar day of the patient, so every
annotation falls inside its file. Layout (docs/clinical-export.md):

- start: local midnight of the day (EDF has no timezone; the patient's is used), length:
  the day's minutes (1380/1440/1500 on DST days), data records of 60 s;
- one signal ``Wear`` at 1/60 Hz: 1 where a summary covers that minute, else 0;
- annotations: AF episodes (onset, duration; an episode across midnight is cut into one
  part per day, marked "(cont.)"), falls, cancelled falls, activity changes, signal
  quality problems, ECG recordings, dropped-event gaps and wear gaps.
"""

from __future__ import annotations

import bisect
import contextlib
import math
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from wearsense.export.common import ExportData, ExportError, paused_gc
from wearsense.export.strip_edf import write_strips_edf
from wearsense.protocol import ActivityClass, EventKind, Quality, RhythmClass, SignalSource
from wearsense.store import derived

RECORD_S = 60


@dataclass(frozen=True)
class Annotation:
    """``onset``: UTC seconds in ``annotations``, seconds from the file's start in a day."""

    onset: float
    duration_s: float
    text: str


def _activity(code: int) -> str:
    try:
        return ActivityClass(code).name.lower()
    except ValueError:
        return str(code)


def all_annotations(data: ExportData) -> list[Annotation]:
    """Every annotation of the export, in UTC, before it is cut into days."""
    out: list[Annotation] = []
    events = data.events
    streams = derived.device_streams(events)
    for ep in derived.af_episodes(events, end_utc=data.end_utc, streams=streams):
        end = ep.end_utc if ep.end_utc is not None else data.end_utc
        text = "AF episode" if ep.status == "ended" else f"AF episode ({ep.status})"
        out.append(Annotation(ep.start_utc, max(0.0, end - ep.start_utc), text))
    for fall in derived.falls(events, end_utc=data.end_utc, streams=streams):
        out.append(Annotation(fall.utc, 0.0, "Fall (cancelled)" if fall.cancelled else "Fall"))
    for e in events:
        if e.utc is None or e.fields is None:
            continue
        f = e.fields
        if e.type == EventKind.ACTIVITY_CHANGE:
            out.append(Annotation(e.utc, 0.0, f"Activity {_activity(f['to_class'])}"))
        elif e.type == EventKind.SIGNAL_QUALITY:
            flags = ",".join(q.name.lower() for q in Quality if f["flags"] & q and q.name)
            source = SignalSource(f["source"]).name
            out.append(
                Annotation(e.utc - f["duration_s"], float(f["duration_s"]), f"{source} {flags}")
            )
        elif e.type == EventKind.ECG_RECORDING:
            rhythm = RhythmClass(f["rhythm_class"]).name.lower()
            out.append(
                Annotation(
                    e.utc - f["duration_s"], float(f["duration_s"]), f"ECG recording {rhythm}"
                )
            )
        elif e.type == EventKind.GAP:
            out.append(Annotation(e.utc, 0.0, f"{f['dropped']} events dropped"))
    for gap in derived.data_gaps(events, start_utc=data.start_utc, end_utc=data.end_utc):
        out.append(Annotation(gap.start_utc, gap.end_utc - gap.start_utc, "No data"))
    return sorted(out, key=lambda a: (a.onset, a.text))


def day_bounds(data: ExportData, day: date) -> tuple[float, float]:
    tz = data.tz
    start = datetime.combine(day, time(0), tz).timestamp()
    end = datetime.combine(day + timedelta(days=1), time(0), tz).timestamp()
    return start, end


def day_annotations(data: ExportData, day: date, notes: list[Annotation]) -> list[Annotation]:
    """The annotations of one day, cut to it; onsets in seconds from local midnight."""
    return _cut(notes, *day_bounds(data, day))


def _cut(notes: Iterable[Annotation], start: float, end: float) -> list[Annotation]:
    out = []
    for a in notes:
        a_end = a.onset + a.duration_s
        if a.duration_s == 0:
            if start <= a.onset < end:
                out.append(Annotation(a.onset - start, 0.0, a.text))
            continue
        if a_end <= start or a.onset >= end:
            continue
        lo, hi = max(a.onset, start), min(a_end, end)
        text = a.text if lo == a.onset else f"{a.text} (cont.)"
        out.append(Annotation(lo - start, hi - lo, text))
    return out


def _per_day(notes: list[Annotation], bounds: list[tuple[float, float]]) -> list[list[Annotation]]:
    """``day_annotations`` of every day at once: each annotation goes only to the days it
    touches (found by bisection), in the order of ``notes``."""
    starts = [lo for lo, _ in bounds]
    days: list[list[Annotation]] = [[] for _ in bounds]
    for a in notes:
        first = max(0, bisect.bisect_right(starts, a.onset) - 1)
        last = bisect.bisect_left(starts, a.onset + a.duration_s)
        for i in range(first, min(last + 1, len(bounds))):
            days[i].extend(_cut((a,), *bounds[i]))
    return days


def write_edf(data: ExportData, directory: str | Path, stem: str | None = None) -> list[Path]:
    """One EDF+ file per local day of the range, written to ``directory``, and the ECG
    strips of the range as EDF+D (``wearsense.export.strip_edf``); every file is
    written under a temporary name and renamed when complete."""
    with paused_gc():
        days = _write_days(data, directory, stem)
    return days + write_strips_edf(data, directory, stem)


def _write_days(data: ExportData, directory: str | Path, stem: str | None) -> list[Path]:
    folder = Path(directory)
    if folder.exists() and not folder.is_dir():
        raise ExportError(f"{folder} is not a directory")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create {folder}: {exc.strerror}") from exc
    stem = stem or data.patient_label
    notes = all_annotations(data)
    covered = derived.covered_intervals(data.events)
    covered_ends = [hi for _, hi in covered]
    days = data.days()
    bounds = [day_bounds(data, day) for day in days]
    per_day = _per_day(notes, bounds)
    written = []
    for day, (start, end), day_notes in zip(days, bounds, per_day, strict=True):
        minutes = int(round((end - start) / RECORD_S))
        wear = bytearray(minutes)
        for lo, hi in covered[bisect.bisect_right(covered_ends, start) :]:
            if lo >= end:
                break
            a = max(0, int((lo - start) // RECORD_S))
            b = min(minutes, math.ceil((hi - start) / RECORD_S))
            if b > a:
                wear[a:b] = b"\x01" * (b - a)
        dest = folder / f"{stem}-{day.isoformat()}.edf"
        tmp = folder / f".{dest.name}.{os.getpid()}.tmp"
        try:
            content = _edf_plus(data.patient_label, day, wear, day_notes)
            if content is None:
                _write_with_pyedflib(tmp, data.patient_label, day, wear, day_notes)
            else:
                tmp.write_bytes(content)
            os.replace(tmp, dest)
        except OSError as exc:
            raise ExportError(f"cannot write {dest}: {exc}") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        written.append(dest)
    return written


def _write_with_pyedflib(
    path: Path, label: str, day: date, wear: bytearray, notes: list[Annotation]
) -> None:
    """The day's file through pyedflib (edflib): the reference the fast writer matches
    byte for byte, used for what it does not cover (see ``_edf_plus``)."""
    import numpy as np  # here, as pyedflib: the export table loads with the terminal UI
    import pyedflib

    writer = pyedflib.EdfWriter(str(path), 1, file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        writer.setSignalHeaders(
            [
                {
                    "label": "Wear",
                    "dimension": "",
                    "sample_frequency": 1 / RECORD_S,
                    "physical_min": 0,
                    "physical_max": 1,
                    "digital_min": 0,
                    "digital_max": 1,
                    "transducer": "",
                    "prefilter": "",
                }
            ]
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            writer.setDatarecordDuration(RECORD_S)
        writer.setStartdatetime(datetime.combine(day, time(0)))
        writer.setPatientCode(label)
        writer.setEquipment("WearSense")
        writer.writeSamples([np.frombuffer(bytes(wear), dtype=np.uint8).astype(float)])
        for note in notes:
            duration = note.duration_s if note.duration_s > 0 else -1
            writer.writeAnnotation(note.onset, duration, note.text)
    finally:
        writer.close()


# The fast writer lays the file out as edflib (through pyedflib) does for this export:
# one 'Wear' signal of one 16-bit sample per 60 s record and one 'EDF Annotations'
# signal of 114 bytes per record holding the record's time-keeping TAL and, in record
# i, the i-th annotation (in the order written), onset and duration in units of 100 us.
TAL_BYTES = 114
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_RECORDS: dict[int, bytes] = {}


def _records(count: int) -> bytes:
    """``count`` data records with the Wear sample 0 and only their time-keeping TAL."""
    found = _RECORDS.get(count)
    if found is None:
        found = _RECORDS[count] = b"".join(
            b"\0\0" + f"+{k * RECORD_S}\x14\x14\0".encode().ljust(TAL_BYTES, b"\0")
            for k in range(count)
        )
    return found


def _seconds(units: int) -> str:
    whole, frac = divmod(units, 10000)
    return f"{whole}.{frac:04d}" if frac else str(whole)


def _edf_plus(label: str, day: date, wear: bytearray, notes: list[Annotation]) -> bytes | None:
    """The day's EDF+ file as edflib writes it, or None where this writer does not
    follow edflib (a label or text that is not plain ASCII, more annotations than
    records, a negative onset, a TAL that would not fit): pyedflib writes those."""
    count = len(wear)
    if not (label.isascii() and label.isprintable() and " " not in label and len(label) <= 40):
        return None
    if len(notes) > count or not 1 <= day.year <= 9999 or count > 99_999_999:
        return None
    tals = []
    for i, note in enumerate(notes):
        onset = round(note.onset * 10000)
        if onset < 0 or not (note.text.isascii() and note.text.isprintable()):
            return None
        tal = f"+{i * RECORD_S}\x14\x14\0+{_seconds(onset)}"
        if note.duration_s > 0:
            tal += f"\x15{_seconds(round(note.duration_s * 10000))}"
        tal += f"\x14{note.text[:40]}\x14"
        if len(tal) > TAL_BYTES:
            return None
        tals.append(tal.encode().ljust(TAL_BYTES, b"\0"))
    header = (
        "0       "
        + f"{label} X X X ".ljust(80)
        + f"Startdate {day.day:02d}-{_MONTHS[day.month - 1]}-{day.year:04d} X X WearSense ".ljust(
            80
        )
        + f"{day.day:02d}.{day.month:02d}.{day.year % 100:02d}00.00.00"
        + "768".ljust(8)
        + "EDF+C".ljust(44)
        + str(count).ljust(8)
        + str(RECORD_S).ljust(8)
        + "2   "
        + "Wear".ljust(16)
        + "EDF Annotations "
        + " " * 160
        + " " * 16
        + "0       -1      "
        + "1       1       "
        + "0       -32768  "
        + "1       32767   "
        + " " * 160
        + "1       "
        + str(TAL_BYTES // 2).ljust(8)
        + " " * 64
    ).encode()
    body = bytearray(_records(count))
    size = 2 + TAL_BYTES
    body[0::size] = wear  # the low byte of each record's sample; the high byte stays 0
    for i, record in enumerate(tals):
        body[i * size + 2 : (i + 1) * size] = record
    return header + bytes(body)


def read_edf(path: str | Path) -> tuple[datetime, list[Annotation]]:
    """(start, annotations with onsets in seconds from the start) of an EDF+ file."""
    import pyedflib

    try:
        reader = pyedflib.EdfReader(str(path))
    except OSError as exc:
        raise ExportError(f"{path}: not a readable EDF+ file ({exc})") from exc
    try:
        onsets, durations, texts = reader.readAnnotations()
        start = reader.getStartdatetime()
    finally:
        reader.close()
    notes = [
        Annotation(float(o), max(0.0, float(d)), str(t))
        for o, d, t in zip(onsets, durations, texts, strict=True)
    ]
    return start, notes
