"""The export formats, one table: a format's name -> its label, its description and its
writer. ``wearsense export FORMAT`` and the terminal UI's Export screen both choose the
writer here; adding a format is one writer module and one row.

A writer takes the selected data and a destination (``--out``: a file, or a folder for
EDF+, or the stem of OUT.pdf/OUT.png for the report) and returns the files it wrote. The
writers import their third-party packages when they run, so a missing one is an
``ImportError`` naming it (``write_into_folder`` says so as an ``ExportError``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from wearsense.export.common import ExportData, ExportError, parse_when, select
from wearsense.export.edf import write_edf
from wearsense.export.fhir import write_fhir
from wearsense.export.report import write_report
from wearsense.export.table import write_csv
from wearsense.store import Store
from wearsense.store.db import timezone

# (data, destination, stem for a folder format, show a progress bar) -> files written
Writer = Callable[[ExportData, Path, str | None, bool], list[Path]]


@dataclasses.dataclass(frozen=True)
class ExportFormat:
    name: str
    label: str  # short, for a menu
    description: str  # what ``--out`` receives, for the command's help
    write: Writer
    suffix: str | None  # the file name after the stem in a folder; None: a folder format

    @property
    def writes_folder(self) -> bool:
        return self.suffix is None


def _fhir(data: ExportData, out: Path, _stem: str | None, progress: bool) -> list[Path]:
    return [write_fhir(data, out, show_progress=progress)]


def _csv(data: ExportData, out: Path, _stem: str | None, progress: bool) -> list[Path]:
    return [write_csv(data, out, show_progress=progress)]


def _edf(data: ExportData, out: Path, stem: str | None, _progress: bool) -> list[Path]:
    return write_edf(data, out, stem)


def _report(data: ExportData, out: Path, _stem: str | None, _progress: bool) -> list[Path]:
    return write_report(data, out)


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat(
            "fhir",
            "FHIR R4 Bundle (JSON)",
            "a FHIR R4 Bundle (JSON): Patient, Devices, Observations",
            _fhir,
            ".fhir.json",
        ),
        ExportFormat(
            "csv",
            "CSV (one row per event)",
            "one row per event (columns in docs/clinical-export.md)",
            _csv,
            ".csv",
        ),
        ExportFormat(
            "edf",
            "EDF+ annotations (one file per day)",
            "EDF+ annotation files, one per local day, into the --out directory",
            _edf,
            None,
        ),
        ExportFormat(
            "report",
            "Clinical summary (PDF and PNG)",
            "a clinical summary, OUT.pdf and OUT.png",
            _report,
            "_summary",
        ),
    )
}


def export_format(name: str) -> ExportFormat:
    """The format called ``name``; ``ExportError`` for an unknown one."""
    try:
        return FORMATS[name]
    except KeyError:
        raise ExportError(f"unknown export format {name!r} (one of {', '.join(FORMATS)})") from None


def write_into_folder(
    store: Store,
    fmt: str,
    patient: str,
    start: str,
    end: str,
    folder: str | Path,
    *,
    deidentify: bool = False,
) -> list[Path]:
    """Writes the patient's events in [start, end] (ISO dates or date-times in the
    patient's timezone; empty: unbounded) as ``fmt`` into ``folder``, the files named
    after the patient's label and the first day. Returns the files written; ExportError
    (or StoreError) says why not."""
    chosen = export_format(fmt)
    tz = timezone(store.patient(patient).timezone)
    start_utc = parse_when(start.strip(), tz) if start.strip() else None
    end_utc = parse_when(end.strip(), tz, end=True) if end.strip() else None
    if start_utc is not None and end_utc is not None and end_utc <= start_utc:
        raise ExportError("the end of the range must come after its start")
    data = select(store, patient, start_utc, end_utc, deidentify=deidentify)
    directory = Path(folder).expanduser()
    stem = f"{data.patient_label}_{data.local(data.start_utc):%Y%m%d}"
    out = directory if chosen.suffix is None else directory / f"{stem}{chosen.suffix}"
    try:
        return chosen.write(data, out, stem, False)
    except ImportError as exc:
        raise ExportError(
            f"the {chosen.label} export needs the Python package {exc.name!r}, "
            "which is not installed"
        ) from exc
