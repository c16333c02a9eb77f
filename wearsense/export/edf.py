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

import contextlib
import os
import warnings
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from wearsense.export.common import ExportData, ExportError
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
    for ep in derived.af_episodes(events, end_utc=data.end_utc):
        end = ep.end_utc if ep.end_utc is not None else data.end_utc
        text = "AF episode" if ep.status == "ended" else f"AF episode ({ep.status})"
        out.append(Annotation(ep.start_utc, max(0.0, end - ep.start_utc), text))
    for fall in derived.falls(events, end_utc=data.end_utc):
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
    start, end = day_bounds(data, day)
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


def write_edf(data: ExportData, directory: str | Path, stem: str | None = None) -> list[Path]:
    """One EDF+ file per local day of the range, written to ``directory``; every file is
    written under a temporary name and renamed when complete."""
    import numpy as np  # here, as pyedflib: the export table loads with the terminal UI
    import pyedflib

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
    written = []
    for day in data.days():
        start, end = day_bounds(data, day)
        minutes = int(round((end - start) / RECORD_S))
        wear = np.zeros(minutes)
        for lo, hi in covered:
            a = max(0, int((lo - start) // RECORD_S))
            b = min(minutes, int(np.ceil((hi - start) / RECORD_S)))
            if b > a:
                wear[a:b] = 1.0
        dest = folder / f"{stem}-{day.isoformat()}.edf"
        tmp = folder / f".{dest.name}.{os.getpid()}.tmp"
        try:
            writer = pyedflib.EdfWriter(str(tmp), 1, file_type=pyedflib.FILETYPE_EDFPLUS)
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
                writer.setPatientCode(data.patient_label)
                writer.setEquipment("WearSense")
                writer.writeSamples([wear])
                for note in day_annotations(data, day, notes):
                    duration = note.duration_s if note.duration_s > 0 else -1
                    writer.writeAnnotation(note.onset, duration, note.text)
            finally:
                writer.close()
            os.replace(tmp, dest)
        except OSError as exc:
            raise ExportError(f"cannot write {dest}: {exc}") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        written.append(dest)
    return written


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
