"""The fast paths of the exports give the same bytes as the plain ones: the CSV's
cached times and templated fields against ``utc_iso``/``ExportData.iso``/``json.dumps``,
and the EDF+ writer against pyedflib (docs/clinical-export.md)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from wearsense.export.common import ExportData, utc_iso
from wearsense.export.edf import (
    Annotation,
    _edf_plus,
    _per_day,
    _write_with_pyedflib,
    day_annotations,
    day_bounds,
)
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


def _edf_cases() -> list[tuple[str, date, bytearray, list[Annotation]]]:
    wear = bytearray([0, 1, 1, 0] * 360)
    notes = [
        Annotation(0.0, 0.0, "Fall"),
        Annotation(61.25, 0.0, "Fall (cancelled)"),
        Annotation(3600.00005, 1799.99995, "AF episode"),
        Annotation(7200.5, 86400.0 - 7200.5, "AF episode (open)"),
        Annotation(12.3456789, 0.00001, "ECG recording af"),
        Annotation(86399.0, 0.0, "An annotation text longer than forty characters"),
        Annotation(40000.0, 4 * 3600.0, "No data"),
    ]
    many = [Annotation(i * 30.0, 0.0, "Activity walk") for i in range(1500)]
    return [
        ("p-042", date(2024, 3, 29), wear, notes),
        ("anon-0123456789", date(2024, 3, 31), bytearray(1380), notes[:3]),  # 23 h
        ("p-042", date(2024, 10, 27), bytearray([1] * 1500), []),  # 25 h
        ("x", date(2099, 12, 31), wear, notes[::-1]),
        ("p 042", date(2024, 3, 29), wear, notes),  # a space: pyedflib's path
        ("pätient", date(2024, 3, 29), wear, notes),  # not ASCII: pyedflib's path
        ("p-042", date(2024, 3, 29), wear, [Annotation(5.0, 0.0, "Fall ü")]),
        ("p-042", date(2024, 3, 29), wear, many),  # more annotations than records
    ]


@pytest.mark.parametrize("case", range(len(_edf_cases())))
def test_edf_writer_matches_pyedflib_byte_for_byte(case: int, tmp_path: Path) -> None:
    label, day, wear, notes = _edf_cases()[case]
    reference = tmp_path / "ref.edf"
    _write_with_pyedflib(reference, label, day, wear, notes)
    fast = _edf_plus(label, day, wear, notes)
    if case >= 4:
        assert fast is None  # handed to pyedflib
    else:
        assert fast == reference.read_bytes()


def test_edf_annotations_per_day_match_day_annotations() -> None:
    data = _data("Europe/Berlin")
    days = [date(2024, 3, 30) + timedelta(days=i) for i in range(3)]
    bounds = [day_bounds(data, d) for d in days]
    start = bounds[0][0]
    notes = [
        Annotation(start - 600, 1200, "AF episode"),
        Annotation(start, 0.0, "Fall"),
        Annotation(bounds[1][0], 0.0, "Fall"),
        Annotation(start + 3600, 3 * 86400, "AF episode (open)"),
        Annotation(bounds[2][1] - 1, 0.0, "Fall"),
        Annotation(bounds[2][1], 0.0, "Fall"),
    ]
    assert _per_day(notes, bounds) == [day_annotations(data, d, notes) for d in days]


def _chart(tmp_path: Path, name: str, draw: object) -> bytes:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 3))
    for i, heights in enumerate(([0.0, 3.5, 0.0, 12.25, 7.0], [0.0] * 5)):
        ax = fig.add_subplot(2, 1, i + 1)
        bottom = [0.0] * 5
        for color, values in (("#1f77b4", heights), ("#ff7f0e", [1.0, 2.0, 0.5, 0.0, 4.0])):
            draw(ax, list(range(5)), values, bottom, color, f"series {color}")  # type: ignore[operator]
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        draw(ax, [0, 1, 2, 3, 4], [2.0, 0.0, 1.0, 3.0, 0.0], None, "#5d6d7e")  # type: ignore[operator]
        ax.legend(fontsize=6, ncol=3, loc="upper left", frameon=False)
        ax.set_xlim(-0.6, 4.6)
    path = tmp_path / f"{name}.png"
    fig.savefig(path, format="png", dpi=110)
    return path.read_bytes()


def test_report_bars_draw_the_same_pixels_as_matplotlib_bar(tmp_path: Path) -> None:
    from wearsense.export.report import _bars

    def bar(ax, x, heights, bottom, color, label=None):  # type: ignore[no-untyped-def]
        ax.bar(x, heights, bottom=bottom, color=color, label=label)

    assert _chart(tmp_path, "collection", _bars) == _chart(tmp_path, "patches", bar)
