"""The fast paths of the exports give the same bytes as the plain ones: the CSV's
cached times and templated fields against ``utc_iso``/``ExportData.iso``/``json.dumps``,
and the EDF+ writer against pyedflib (docs/clinical-export.md)."""

from __future__ import annotations

import json

import pytest

from wearsense.export.common import ExportData, utc_iso
from wearsense.export.table import _FieldsText, _Times


def _data(tz_name: str, label: str = "p-042") -> ExportData:
    return ExportData(label, tz_name, 0.0, 1.0, [], [], False, 0)


@pytest.mark.parametrize(
    "tz_name",
    ["Europe/Berlin", "UTC", "America/St_Johns", "Asia/Kathmandu", "Australia/Lord_Howe"],
)
def test_csv_times_match_the_plain_formatting_across_dst(tz_name: str) -> None:
    data = _data(tz_name)
    times = _Times(data)
    # around the 2024 transitions of both hemispheres, every 7 min 13 s, plus odd values
    points = [1_711_584_000 + i * 433 for i in range(2000)]
    points += [1_727_900_000 + i * 433 for i in range(2000)]
    values = [float(p) for p in points] + [1_711_846_799.5, 1_711_846_800.999999, 0.0, 59.0]
    for utc in values:
        assert times.both(utc) == (utc_iso(utc), data.iso(utc)), utc


def test_csv_fields_text_is_json_with_sorted_keys() -> None:
    text = _FieldsText()
    samples = [
        {"mean_bpm": 70, "interval_s": 600, "min_bpm": 60, "max_bpm": 80},
        {"minutes": [1, 2, 3, 0, 0, 0, 54, 0], "b": -4},
        {"minutes": [], "b": 0},
        {"minutes": [1, 2], "b": True},  # not an int: json.dumps decides
        {"reason": "crc"},
        {"z": 1.5, "a": None},
        {},
    ]
    for fields in samples * 2:  # the second round uses the cached templates
        assert text.text(fields) == json.dumps(fields, separators=(",", ":"), sort_keys=True)
    assert text.text(None) == "null"
