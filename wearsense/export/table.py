"""CSV export: one row per event, in time order, columns in ``CSV_COLUMNS`` (documented
in docs/clinical-export.md). ``read_csv`` reads such a file back into event records."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path

from wearsense.export.common import (
    EventRecord,
    ExportData,
    ExportError,
    atomic_path,
    progress,
    utc_iso,
)

CSV_COLUMNS = (
    "patient",
    "serial",
    "epoch",
    "seq",
    "type",
    "utc",
    "local_time",
    "device_time_s",
    "model_version",
    "fields",
    "raw_hex",
)


def write_csv(data: ExportData, destination: str | Path, show_progress: bool = False) -> Path:
    with atomic_path(destination) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for e in progress(data.events, "csv", show_progress):
            assert e.utc is not None
            writer.writerow(
                (
                    data.patient_label,
                    e.serial,
                    e.epoch,
                    e.seq,
                    e.type,
                    utc_iso(e.utc),
                    data.iso(e.utc),
                    "" if e.device_time_s is None else e.device_time_s,
                    e.model_version or 0,
                    json.dumps(e.fields, separators=(",", ":"), sort_keys=True),
                    e.raw.hex(),
                )
            )
    return Path(destination)


def read_csv(text: str) -> list[EventRecord]:
    """Event records of a WearSense CSV export; ExportError for any other table."""
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != CSV_COLUMNS:
        raise ExportError(f"not a WearSense CSV export (columns {reader.fieldnames})")
    out = []
    for line, row in enumerate(reader, start=2):
        try:
            out.append(
                EventRecord(
                    serial=row["serial"],
                    epoch=int(row["epoch"]),
                    seq=int(row["seq"]),
                    type=row["type"],
                    utc=datetime.fromisoformat(row["utc"]).timestamp(),
                    model_version=int(row["model_version"]),
                    fields=json.loads(row["fields"]),
                )
            )
        except (ValueError, TypeError) as exc:
            raise ExportError(f"line {line}: {exc}") from exc
    return out
