"""CSV export: one row per event, in time order, columns in ``CSV_COLUMNS`` (documented
in docs/clinical-export.md). ``read_csv`` reads such a file back into event records."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from wearsense.export.common import (
    EventRecord,
    ExportData,
    ExportError,
    atomic_path,
    paused_gc,
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
    times = _Times(data)
    fields = _FieldsText()
    label = data.patient_label
    rows = (
        (
            label,
            e.serial,
            e.epoch,
            e.seq,
            e.type,
            *times.both(e.utc),
            "" if e.device_time_s is None else e.device_time_s,
            e.model_version or 0,
            fields.text(e.fields),
            e.raw.hex(),
        )
        for e in progress(data.events, "csv", show_progress)
    )
    with (
        paused_gc(),
        atomic_path(destination) as tmp,
        tmp.open("w", newline="", encoding="utf-8") as handle,
    ):
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(rows)
    return Path(destination)


class _Times:
    """``utc_iso(utc)`` and ``data.iso(utc)`` of whole-second times, from the UTC offset
    of each hour and the date of each day computed once (a year of events has about 9 000
    hours, not 100 000 distinct datetimes); any other time goes the long way."""

    def __init__(self, data: ExportData) -> None:
        self._data = data
        self._tz = data.tz
        self._hours: dict[int, tuple[int, str] | None] = {}
        self._days: dict[int, str] = {}

    def _hour(self, hour: int) -> tuple[int, str] | None:
        found = self._hours.get(hour, False)
        if found is not False:
            return found  # type: ignore[return-value]
        first = datetime.fromtimestamp(hour * 3600, self._tz)
        last = datetime.fromtimestamp(hour * 3600 + 3599, self._tz)
        offset = first.utcoffset()
        result: tuple[int, str] | None = None
        if offset is not None and offset == last.utcoffset():
            seconds = int(offset.total_seconds())
            if seconds % 60 == 0 and offset.total_seconds() == seconds:
                suffix = first.isoformat(timespec="seconds")[19:]
                result = (seconds, suffix)
        self._hours[hour] = result
        return result

    def _day(self, day: int) -> str:
        text = self._days.get(day)
        if text is None:
            text = self._days[day] = (_EPOCH + timedelta(days=day)).isoformat()
        return text

    def both(self, utc: float | None) -> tuple[str, str]:
        assert utc is not None
        if type(utc) is float and utc.is_integer() and utc >= 0:
            whole = int(utc)
            hour = self._hour(whole // 3600)
            if hour is not None:
                offset, suffix = hour
                local = whole + offset
                return (
                    f"{self._day(whole // 86400)}T{_clock(whole % 86400)}Z",
                    f"{self._day(local // 86400)}T{_clock(local % 86400)}{suffix}",
                )
        return utc_iso(utc), self._data.iso(utc)


_EPOCH = date(1970, 1, 1)


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class _FieldsText:
    """``json.dumps(fields, separators=(",", ":"), sort_keys=True)`` from a template per
    key order when every value is an int or a list of ints; else json.dumps itself."""

    def __init__(self) -> None:
        self._templates: dict[tuple[str, ...], tuple[str, tuple[str, ...]]] = {}

    def text(self, fields: dict[str, Any] | None) -> str:
        if fields is None:
            return "null"
        keys = tuple(fields)
        found = self._templates.get(keys)
        if found is None:
            ordered = tuple(sorted(keys))
            if any(not _plain_key(k) for k in ordered):
                return json.dumps(fields, separators=(",", ":"), sort_keys=True)
            found = self._templates[keys] = (
                "{" + ",".join(f'"{k}":%s' for k in ordered) + "}",
                ordered,
            )
        template, ordered = found
        values = []
        for k in ordered:
            v = fields[k]
            if type(v) is int:
                values.append(str(v))
            elif type(v) is list and all(type(x) is int for x in v):
                values.append("[" + ",".join([str(x) for x in v]) + "]")
            else:
                return json.dumps(fields, separators=(",", ":"), sort_keys=True)
        return template % tuple(values)


def _plain_key(key: str) -> bool:
    return key.isascii() and key.isidentifier()


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
