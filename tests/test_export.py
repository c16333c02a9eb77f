"""Clinical export: FHIR R4 (validated, read back into the same events), CSV (read back),
EDF+ (read back with pyedflib, every annotation inside its day's file), the PDF/PNG
report, de-identification and clean failures."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pyedflib
import pytest

from wearsense.export import ExportError, fhir, report, select, table
from wearsense.export import edf as edf_export
from wearsense.export.common import atomic_path, parse_when, record
from wearsense.store import Store, StoreError, derived
from wearsense.testing.simulate_store import wearer_events

START = 1_711_670_400  # 2024-03-29 00:00 UTC; Berlin switches to summer time on the 31st
DAYS = 4


def key(r: object) -> tuple:
    return (r.serial, r.epoch, r.seq)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    s = Store(tmp_path_factory.mktemp("db") / "ws.db")
    s.add_patient("p-042", "Europe/Berlin")
    s.assign("SN-7", "p-042", start_utc=START - 3600)
    s.ingest("SN-7", 1, wearer_events(START, DAYS, seed=4))
    yield s
    s.close()


def test_fhir_bundle_validates_and_reads_back_into_the_same_events(
    store: Store, tmp_path: Path
) -> None:
    data = select(store, "p-042")
    out = fhir.write_fhir(data, tmp_path / "b.json")
    text = out.read_text()
    got = sorted(fhir.read_bundle(text), key=key)
    want = sorted((record(e) for e in data.events if e.type in fhir.FHIR_TYPES), key=key)
    assert got == want and len(want) > 100
    bundle = json.loads(text)
    kinds = Counter(e["resource"]["resourceType"] for e in bundle["entry"])
    assert kinds["Patient"] == 1 and kinds["Device"] == 1
    device = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Device"
    )
    assert device["serialNumber"] == "SN-7"
    assert {"firmware", "afib model"} <= {v["type"]["text"] for v in device["version"]}
    observations = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    ]
    af = [o for o in observations if o["code"]["coding"][0]["code"] == "8601-7"]
    assert len(af) == len(derived.af_episodes(data.events)) > 0
    assert all(
        "start" in o["effectivePeriod"] and o["code"]["coding"][0]["system"] == fhir.LOINC
        for o in af
    )
    assert any(o["code"]["coding"][0]["code"] == "8867-4" for o in observations)
    for o in observations:
        assert o["device"]["reference"].startswith("urn:uuid:")
        # the model version where a model produced it; heart rate and gaps: none
        if o["code"]["coding"][0]["code"] in ("8867-4", "data-gap"):
            assert "extension" not in o and "model version" not in o["device"]["display"]
        else:
            assert o["extension"][0]["url"] == fhir.EXT_MODEL
            assert o["extension"][0]["valueInteger"] > 0
    cancelled = [o for o in observations if o["status"] == "cancelled"]
    assert len(cancelled) == sum(f.cancelled for f in derived.falls(data.events))


def test_fhir_reader_rejects_other_json(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="not a valid FHIR"):
        fhir.read_bundle('{"resourceType": "Bundle", "type": "collection", "entry": 5}')
    with pytest.raises(ExportError, match="not a valid FHIR"):
        fhir.read_bundle("[1, 2")


def test_csv_reads_back(store: Store, tmp_path: Path) -> None:
    data = select(store, "p-042")
    out = table.write_csv(data, tmp_path / "e.csv")
    got = table.read_csv(out.read_text())
    assert sorted(got, key=key) == sorted((record(e) for e in data.events), key=key)
    header = out.read_text().splitlines()[0].split(",")
    assert tuple(header) == table.CSV_COLUMNS
    with pytest.raises(ExportError, match="not a WearSense CSV"):
        table.read_csv("a,b\n1,2\n")


def test_edf_one_file_per_local_day_reads_back(store: Store, tmp_path: Path) -> None:
    data = select(store, "p-042")
    paths = edf_export.write_edf(data, tmp_path / "edf")
    assert [p.name[-14:-4] for p in paths] == [d.isoformat() for d in data.days()]
    notes = edf_export.all_annotations(data)
    total = 0
    for day, path in zip(data.days(), paths, strict=True):
        reader = pyedflib.EdfReader(str(path))
        try:
            duration = reader.getFileDuration()
            onsets, durations, texts = reader.readAnnotations()
            assert reader.getStartdatetime().date() == day
            wear = reader.readSignal(0)
        finally:
            reader.close()
        start, end = edf_export.day_bounds(data, day)
        assert duration == pytest.approx(end - start)  # 23 h on the DST day
        want = edf_export.day_annotations(data, day, notes)
        assert list(texts) == [a.text for a in want]
        assert onsets == pytest.approx([a.onset for a in want], abs=1e-3)
        assert all(
            o >= 0 and o + max(d, 0) <= duration + 1e-6
            for o, d in zip(onsets, durations, strict=True)
        )
        assert set(wear) <= {0.0, 1.0} and wear.sum() > 0
        total += sum(t.startswith("AF episode") and "(cont.)" not in t for t in texts)
    assert total == len(derived.af_episodes(data.events))
    assert any(
        day_len < 86400
        for day_len in (
            edf_export.day_bounds(data, d)[1] - edf_export.day_bounds(data, d)[0]
            for d in data.days()
        )
    )


def test_report_writes_pdf_and_png(store: Store, tmp_path: Path) -> None:
    import matplotlib.image

    written = report.write_report(select(store, "p-042"), tmp_path / "summary")
    pdf, png = written
    assert pdf.read_bytes()[:5] == b"%PDF-"
    image = matplotlib.image.imread(png)
    assert image.shape[0] > 1000 and image.shape[1] > 700
    into_dir = report.write_report(select(store, "p-042"), tmp_path)
    assert [p.name for p in into_dir] == ["p-042-summary.pdf", "p-042-summary.png"]
    summary = report.summarize(select(store, "p-042"))
    # four UTC days starting 00:00 UTC touch five local days in Berlin (UTC+1/+2)
    assert len(summary.days) == DAYS + 1 and summary.af_burden is not None


def test_deidentified_export_shifts_dates_and_hides_names(store: Store, tmp_path: Path) -> None:
    plain = select(store, "p-042")
    data = select(store, "p-042", deidentify=True, shift_days=100)
    assert data.patient_label.startswith("anon-") and data.shift_s == 100 * 86400
    assert [e.utc for e in data.events] == [e.utc - 100 * 86400 for e in plain.events]
    for path in (
        fhir.write_fhir(data, tmp_path / "d.json"),
        table.write_csv(data, tmp_path / "d.csv"),
    ):
        text = path.read_text()
        assert "p-042" not in text and "SN-7" not in text
        assert str(START) not in text  # the device's clock offset is shifted too
    random_shift = select(store, "p-042", deidentify=True)
    assert 30 * 86400 <= random_shift.shift_s <= 730 * 86400


def test_empty_range_unknown_patient_and_failed_writes(store: Store, tmp_path: Path) -> None:
    tz = store.patient("p-042").tz
    with pytest.raises(ExportError, match="no events for patient 'p-042' between"):
        select(store, "p-042", parse_when("2020-01-01", tz), parse_when("2020-01-31", tz, end=True))
    with pytest.raises(StoreError, match="unknown patient"):
        select(store, "nobody")
    with pytest.raises(ExportError, match="not an ISO date"):
        parse_when("yesterday", tz)
    target = tmp_path / "half.json"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_time_range_selects_local_days(store: Store) -> None:
    tz = store.patient("p-042").tz
    day = select(
        store, "p-042", parse_when("2024-03-30", tz), parse_when("2024-03-30", tz, end=True)
    )
    assert {e.local_time(tz).date().isoformat() for e in day.events} == {"2024-03-30"}  # type: ignore[union-attr]


def test_fhir_validation_catches_a_broken_resource(store: Store) -> None:
    bundle = fhir.build_bundle(select(store, "p-042"))
    fhir.validate(bundle)
    broken = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation")
    del broken["resource"]["code"]
    with pytest.raises(ExportError, match="does not validate"):
        fhir.validate(bundle)
    del broken["resource"]["status"]
    broken["resource"]["code"] = {"coding": [{"system": "not a uri with spaces"}]}
    with pytest.raises(ExportError):
        fhir.validate(bundle)


def test_fhir_round_trip_when_the_range_cuts_an_episode(store: Store, tmp_path: Path) -> None:
    episode = derived.af_episodes(select(store, "p-042").events)[0]
    assert episode.end_utc is not None
    data = select(store, "p-042", start_utc=(episode.start_utc + episode.end_utc) / 2)
    out = fhir.write_fhir(data, tmp_path / "cut.json")
    got = sorted(fhir.read_bundle(out.read_text()), key=key)
    want = sorted((record(e) for e in data.events if e.type in fhir.FHIR_TYPES), key=key)
    assert got == want
    assert episode.end_key in {(r.serial, r.epoch, r.seq) for r in got}


def _looping_af_store(path: Path) -> Store:
    """A hand-made store like the demo's: AF onsets again and again, never an end."""
    from wearsense.protocol import AfStart, HrSummary, StatusFirmware

    s = Store(path)
    s.add_patient("p-af", "Europe/Berlin")
    s.assign("SN-AF", "p-af", start_utc=START - 3600)
    events = [StatusFirmware(1, 0, 0, fw_major=1, fw_minor=0, fw_patch=0, utc_offset_s=START)]
    for i in range(4):
        events.append(
            AfStart(2 + 2 * i, 600 + 1200 * i, 3, hr_bpm=130, confidence=90, onset_lag_s=30)
        )
        events.append(HrSummary(3 + 2 * i, 1200 + 1200 * i, 0, 600, 60, 90, 140))
    s.ingest("SN-AF", 1, events)
    return s


def test_af_episodes_in_every_export_end_and_never_nest(tmp_path: Path) -> None:
    with _looping_af_store(tmp_path / "af.db") as s:
        data = select(s, "p-af")
    notes = [a for a in edf_export.all_annotations(data) if a.text.startswith("AF episode")]
    assert [a.text for a in notes] == ["AF episode (closed by the next onset)"] * 3 + [
        "AF episode (open)"
    ]
    for a, b in zip(notes, notes[1:], strict=False):
        assert a.onset + a.duration_s <= b.onset  # none inside another
    bundle = fhir.build_bundle(data)
    af = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"] == fhir.AF_EPISODE_CODE
    ]
    assert ["end" in o["effectivePeriod"] for o in af] == [True, True, True, False]
    assert af[0]["note"][0]["text"].startswith("AF episode closed by the next onset")
    periods = [(o["effectivePeriod"]["start"], o["effectivePeriod"].get("end")) for o in af]
    assert all(end <= nxt for (_, end), (nxt, _) in zip(periods, periods[1:], strict=False))
    rows = report._episode_rows(data, report.summarize(data).episodes)
    assert [r[-1] for r in rows] == ["closed by the next onset"] * 3 + ["open"]
    assert rows[0][1].endswith(" *") and rows[-1][1] == "open"


def _hr_store(path: Path, first_utc: int, hours: int) -> Store:
    """A hand-made store: a Berlin patient, one heart-rate summary per 10 min."""
    from wearsense.protocol import HrSummary, StatusFirmware

    s = Store(path)
    s.add_patient("p-t", "Europe/Berlin")
    s.assign("SN-T", "p-t", start_utc=first_utc - 86400)
    events: list = [
        StatusFirmware(1, 0, 0, fw_major=1, fw_minor=0, fw_patch=0, utc_offset_s=first_utc)
    ]
    events += [HrSummary(2 + i, (i + 1) * 600, 0, 600, 60, 70, 80) for i in range(hours * 6)]
    s.ingest("SN-T", 1, events)
    return s


def test_export_of_today_ends_at_the_companions_now(tmp_path: Path) -> None:
    morning = 1_718_258_400  # 2024-06-13 08:00 in Berlin
    with _hr_store(tmp_path / "t.db", morning, 2) as s:
        tz = s.patient("p-t").tz
        now = morning + 3 * 3600  # 11:00: the afternoon has not happened
        data = select(
            s, "p-t", parse_when("2024-06-13", tz), parse_when("2024-06-13", tz, end=True), now=now
        )
    assert data.end_utc == now
    gaps = derived.data_gaps(data.events, start_utc=data.start_utc, end_utc=data.end_utc)
    assert all(g.end_utc <= now for g in gaps)
    assert [round(g.hours, 1) for g in gaps] == [8.0]  # midnight to 08:00; none after 11:00
    notes = edf_export.all_annotations(data)
    assert all(a.onset + a.duration_s <= now for a in notes)


def test_deidentified_times_keep_their_utc_time_of_day_across_dst(tmp_path: Path) -> None:
    # summer time in Berlin (+02:00); shifted 200 days back, into winter time (+01:00)
    first = 1_718_258_400
    with _hr_store(tmp_path / "d.db", first, 3) as s:
        plain = select(s, "p-t")
        data = select(s, "p-t", deidentify=True, shift_days=200)
    assert data.timezone_name == "UTC" and data.shift_s == 200 * 86400
    for real, shifted in zip(plain.events, data.events, strict=True):
        assert real.utc is not None and shifted.utc is not None
        assert real.utc - shifted.utc == 200 * 86400
        got = data.iso(shifted.utc)
        assert got.endswith("+00:00")
        assert got[11:19] == datetime.fromtimestamp(real.utc, UTC).strftime("%H:%M:%S")
    notes = [a for a in edf_export.all_annotations(data) if a.duration_s == 0]
    for note in notes:  # EDF+ onsets from (UTC) midnight keep the real UTC time of day
        day = edf_export.day_bounds(data, data.local(note.onset).date())[0]
        assert (note.onset - day) == (note.onset + data.shift_s) % 86400


def test_report_words_impact_in_g_and_no_longest_gap_when_there_is_none(tmp_path: Path) -> None:
    from wearsense.protocol import Fall, HrSummary, StatusFirmware

    with Store(tmp_path / "r.db") as s:
        s.add_patient("p-r", "UTC")
        s.assign("SN-R", "p-r", start_utc=START - 60)
        events: list = [
            StatusFirmware(1, 0, 0, fw_major=1, fw_minor=0, fw_patch=0, utc_offset_s=START)
        ]
        events += [HrSummary(2 + i, (i + 1) * 600, 0, 600, 60, 70, 80) for i in range(12)]
        events.append(Fall(20, 3000, 2, impact_mg=2500, confidence=95, stillness_s=10))
        s.ingest("SN-R", 1, events)
        data = select(s, "p-r")
    summary = report.summarize(data)
    assert summary.gaps == []
    lines = report.summary_lines(summary)
    assert "Data gaps of 4 h or more: none" in lines[2] and "longest" not in lines[2]
    assert report.FALL_HEADER[1] == "impact (g)"
    assert report._fall_rows(data, summary.falls)[0][1] == "2.50"  # 2500 mg
    hr = [
        e["resource"]
        for e in fhir.build_bundle(data)["entry"]
        if e["resource"]["resourceType"] == "Observation"
    ]
    assert [("extension" in o, o["device"]["display"]) for o in hr if "valueQuantity" in o][0] == (
        False,
        "SN-R",
    )


def test_report_table_text_lines_up_columns() -> None:
    text = report.table_text(["a", "bb"], [["xyz", "1"], ["u", "22222"]])
    lines = text.splitlines()
    assert lines[0] == "a    bb" and lines[1] == "---  -----"
    assert lines[2] == "xyz  1" and lines[3] == "u    22222"
    # the second column starts at the same place on every line
    cells = ["bb", "-----", "1", "22222"]
    assert {line.index(cell) for line, cell in zip(lines, cells, strict=True)} == {5}


def test_report_pdf_embeds_fonts_only_for_a_label_beyond_ascii(
    store: Store, tmp_path: Path
) -> None:
    data = select(store, "p-042")
    pdf, _ = report.write_report(data, tmp_path / "plain")
    body = pdf.read_bytes()
    assert b"/Helvetica" in body and b"/FontFile" not in body  # the reader's own fonts
    named = dataclasses.replace(data, patient_label="Zoë-042")
    pdf, _ = report.write_report(named, tmp_path / "named")
    assert b"/Helvetica" not in pdf.read_bytes()  # its own fonts, embedded
