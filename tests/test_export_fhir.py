"""FHIR export: the codes (HL7 Personal Health Records IG, US Core, ISO/IEEE 11073 and
one project code system, docs/clinical-export.md), ECG interpretations with coded
rhythms, the fast writer (templates, sample validation) against the dict builder."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from wearsense.export import ExportError, fhir, select
from wearsense.export.common import record
from wearsense.protocol import EcgRecording, Fall, FallCancelled, RhythmClass
from wearsense.store import Store, derived
from wearsense.testing.simulate_store import wearer_events

START = 1_711_670_400  # 2024-03-29 00:00 UTC; Berlin switches to summer time on the 31st
DAYS = 4
# (rhythm class, heart rate) of on-demand recordings, and the PHR IG code each must get
RECORDINGS = [
    (RhythmClass.NORMAL, 72, "sinusRhythm"),
    (RhythmClass.AF, 131, "atrialFibrillation"),
    (RhythmClass.NOISY, 0, "inconclusivePoorReading"),
    (RhythmClass.OTHER, 171, "inconclusiveHighHeartRate"),
    (RhythmClass.OTHER, 41, "inconclusiveLowHeartRate"),
    (RhythmClass.OTHER, 88, "inconclusiveOther"),
    (RhythmClass.OTHER, 0, "inconclusiveOther"),
]
KNOWN_SYSTEMS = {
    fhir.LOINC,
    fhir.SNOMED,
    fhir.MDC,
    fhir.OBS_CATEGORY,
    fhir.PHR_PGHD,
    fhir.PHR_ECG,
    fhir.PHR_ECG_CLASS,
    fhir.WEARSENSE,
}


def key(r: Any) -> tuple[str, int, int]:
    return (r.serial, r.epoch, r.seq)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = Store(tmp_path_factory.mktemp("db") / "ws.db")
    s.add_patient("p-042", "Europe/Berlin")
    s.assign("SN-7", "p-042", start_utc=START - 3600)
    events = list(wearer_events(START, DAYS, seed=4))
    seq = events[-1].seq
    for i, (rhythm, bpm, _) in enumerate(RECORDINGS):
        events.append(
            EcgRecording(
                seq + 1 + i,
                86400 + 3600 * i + 45,
                3,
                rhythm_class=int(rhythm),
                confidence=90,
                hr_bpm=bpm,
                duration_s=30,
                quality=0 if rhythm != RhythmClass.NOISY else 2,
            )
        )
    seq += len(RECORDINGS)
    for i, cancelled in enumerate((False, True)):  # a confirmed and a cancelled fall
        at = 2 * 86400 + 7200 * i + 100
        events.append(Fall(seq + 1, at, 2, impact_mg=3100, confidence=88, stillness_s=20))
        if cancelled:
            events.append(FallCancelled(seq + 2, at + 9, 2, fall_seq=seq + 1, delay_s=9))
        seq += 2
    s.ingest("SN-7", 1, events)
    yield s
    s.close()


def observations(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    ]


def codes(concept: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["system"], c["code"]) for c in concept["coding"]}


def categories(resource: dict[str, Any]) -> set[str]:
    return {c["code"] for cat in resource.get("category", []) for c in cat["coding"]}


def test_codes_follow_the_phr_ig_and_us_core(store: Store) -> None:
    data = select(store, "p-042")
    obs = observations(fhir.build_bundle(data))
    ecg = [o for o in obs if (fhir.LOINC, "8601-7") in codes(o["code"])]
    episodes = [o for o in ecg if len(o.get("identifier", [])) and "af_" in str(o["identifier"])]
    assert len(episodes) == len(derived.af_episodes(data.events)) > 0
    for o in episodes:
        assert "valueBoolean" not in o
        assert codes(o["valueCodeableConcept"]) == {
            (fhir.PHR_ECG_CLASS, "atrialFibrillation"),
            (fhir.SNOMED, "164889003"),
        }
        assert categories(o) == {"procedure", "exam"}
        classification = [
            c for c in o["component"] if c["code"]["coding"][0]["system"] == fhir.PHR_ECG
        ]
        assert classification[0]["valueCodeableConcept"] == o["valueCodeableConcept"]
    hr = [o for o in obs if (fhir.LOINC, "8867-4") in codes(o["code"])]
    assert hr and all((fhir.MDC, "147842") in codes(o["code"]) for o in hr)
    assert all(
        categories(o) == {"vital-signs"} and o["valueQuantity"]["code"] == "/min" for o in hr
    )
    falls = [o for o in obs if (fhir.PHR_PGHD, "numberOfTimesFallen") in codes(o["code"])]
    assert len(falls) == len(derived.falls(data.events)) > 0
    assert all(categories(o) == {"exam"} and o["valueQuantity"]["value"] == 1 for o in falls)
    assert sorted(o["status"] for o in falls) == ["cancelled", "final"]
    burden = [o for o in obs if (fhir.PHR_PGHD, "atrialFibrillationBurden") in codes(o["code"])]
    days = [d for d in derived.af_burden_per_day(data.events, data.tz) if d.burden is not None]
    assert [o["valueQuantity"]["value"] for o in burden] == [
        round(100 * d.burden, 2) for d in days if d.burden is not None
    ]
    assert all(
        o["valueQuantity"]["code"] == "%" and categories(o) == {"vital-signs"} for o in burden
    )
    assert any(o["valueQuantity"]["value"] > 0 for o in burden)
    # every code comes from a published system or the one project code system
    systems = {
        c["system"]
        for o in obs
        for concept in (o["code"], *(c["code"] for c in o.get("component", [])))
        for c in concept["coding"]
    }
    assert systems <= KNOWN_SYSTEMS
    assert "survey" not in {c for o in obs for c in categories(o)}
    assert all("valueBoolean" not in o for o in obs)


def test_ecg_recordings_carry_the_phr_classification_and_read_back(
    store: Store, tmp_path: Path
) -> None:
    data = select(store, "p-042")
    out = fhir.write_fhir(data, tmp_path / "b.json")
    bundle = json.loads(out.read_text())
    recordings = [
        o
        for o in observations(bundle)
        if o.get("identifier") and o["identifier"][0]["type"]["text"] == "ecg_recording"
    ]
    got = [o["valueCodeableConcept"]["coding"][0] for o in recordings]
    assert [(c["system"], c["code"]) for c in got] == [
        (fhir.PHR_ECG_CLASS, want) for _, _, want in RECORDINGS
    ]
    assert all((fhir.LOINC, "8601-7") in codes(o["code"]) for o in recordings)
    back = sorted(fhir.read_bundle(out.read_text()), key=key)
    want = sorted((record(e) for e in data.events if e.type in fhir.FHIR_TYPES), key=key)
    assert back == want
    assert sum(r.type == "ecg_recording" for r in back) == len(RECORDINGS)


def test_the_writer_writes_what_the_dict_builder_builds(store: Store, tmp_path: Path) -> None:
    data = select(store, "p-042")
    written = json.loads(fhir.write_fhir(data, tmp_path / "b.json").read_text())
    built = fhir.build_bundle(data)
    written.pop("timestamp")
    built.pop("timestamp")
    assert written == json.loads(json.dumps(built))


def test_write_validates_a_sample_holding_every_shape(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = select(store, "p-042")
    entries = fhir.build_bundle(data)["entry"]
    chosen = fhir.sample(entries)
    assert len(chosen) < len(entries) / 10
    assert {fhir._shape(entries[i]) for i in chosen} == {fhir._shape(e) for e in entries}
    # a fault in the heart-rate template is caught although only a sample is checked
    good = fhir._hr_entry

    def broken(p: dict[str, Any]) -> dict[str, Any]:
        entry = good(p)
        del entry["resource"]["code"]  # required
        return entry

    monkeypatch.setattr(fhir, "_hr_entry", broken)
    with pytest.raises(ExportError, match="does not validate"):
        fhir.write_fhir(data, tmp_path / "broken.json")
    assert not (tmp_path / "broken.json").exists()


@pytest.mark.parametrize(
    "zone", ["Europe/Berlin", "Australia/Lord_Howe", "America/St_Johns", "UTC", "Asia/Kolkata"]
)
def test_iso_clock_agrees_with_datetime(zone: str) -> None:
    tz = ZoneInfo(zone)
    clock = fhir.IsoClock(tz)
    # a year in steps that are not a divisor of an hour, and the seconds around changes
    moments = [1_704_067_200 + 997.25 * i for i in range(0, 32_000)]
    changes = (  # 2024: Berlin, Lord Howe (30 min), St John's (at 02:00 local, -03:30)
        (1_711_846_800, 1_729_990_800, 1_712_415_600, 1_728_142_200, 1_710_048_600)
    )
    for change in changes:
        moments += [change + d for d in range(-3700, 3700, 7)]
    for utc in moments:
        assert clock(utc) == datetime.fromtimestamp(utc, tz).isoformat(timespec="seconds")


def test_fast_uuid_is_uuid5() -> None:
    cases = [("obs", "8867-4", "SN-7/1/5", "2024-01-01T04:00:00+01:00"), ("patient", "p")]
    cases += [("obs", "x", f"SN-{i}/1/{i * 7}") for i in range(500)]  # every variant digit
    variants = set()
    for parts in cases:
        want = str(uuid.uuid5(fhir.NAMESPACE, "/".join(parts)))
        assert fhir._uuid(*parts) == want
        variants.add(want[19])
    assert variants == set("89ab")


def test_serials_with_quotes_are_escaped(tmp_path: Path) -> None:
    with Store(tmp_path / "q.db") as s:
        s.add_patient("p-1", "Europe/Berlin")
        serial = 'SN "7"\\x'
        s.assign(serial, "p-1", start_utc=START - 3600)
        s.ingest(serial, 1, wearer_events(START, 1, seed=2))
        data = select(s, "p-1")
        out = fhir.write_fhir(data, tmp_path / "q.json")
        back = fhir.read_bundle(out.read_text())
        assert back and {r.serial for r in back} == {serial}
