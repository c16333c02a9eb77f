"""ECG strips in the exports: a FHIR Observation with SampledData (MDC 131329) that
fhir.resources accepts and that the interpretation names in derivedFrom; an EDF+D file
that pyedflib reads back with the same samples; the PDF report's strip page."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from strip_helpers import announce, image

from wearsense.export import fhir, select
from wearsense.export.edf import write_edf
from wearsense.export.report import strip_pages, write_report
from wearsense.export.strip_edf import read_edf_plus_d, read_strips_edf, write_strips_edf
from wearsense.protocol import AfStart, HrSummary, StatusFirmware
from wearsense.store import Store
from wearsense.store import strips as st
from wearsense.strips.image import parse_image

T0 = 1_700_000_000


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "ws.db")
    s.add_patient("p-001", "Europe/Berlin")
    s.assign("SN1", "p-001", start_utc=T0)
    s.ingest(
        "SN1",
        1,
        [
            StatusFirmware(1, 10, 0, 1, 2, 3, utc_offset_s=T0),
            AfStart(2, 1040, 3, hr_bpm=121, confidence=88, onset_lag_s=30),
            HrSummary(3, 1600, 0, interval_s=600, min_bpm=60, mean_bpm=90, max_bpm=130),
            HrSummary(5, 6000, 0, interval_s=600, min_bpm=60, mean_bpm=70, max_bpm=90),
        ],
    )
    announce(s, "SN1", 1, 4, 1041, 7, subject_seq=2)
    st.put_strip(s, "SN1", image(7, event_seq=2, start_time_s=1000, real=True, seconds=30))
    st.put_strip(s, "SN1", image(8, reason=2, start_time_s=5000, seconds=2.5))
    st.review_strip(s, ("SN1", 1, 7), "confirmed_af", "dr-b", utc=T0 + 9000)
    yield s
    s.close()


def test_fhir_strip_is_sampled_data_linked_to_its_interpretation(store: Store) -> None:
    data = select(store, "p-001", now=T0 + 10_000)
    assert [s.image.strip_id for s in data.strips] == [7, 8]
    bundle = fhir.build_bundle(data)
    fhir.validate(bundle)  # every entry through fhir.resources R4B
    from fhir.resources.R4B.observation import Observation

    obs = {
        e["resource"]["identifier"][0]["value"]: e
        for e in bundle["entry"]
        if e["resource"].get("identifier", [{}])[0].get("system") == fhir.STRIP_SYSTEM
    }
    assert set(obs) == {"SN1/1/7", "SN1/1/8"}
    entry = obs["SN1/1/7"]
    parsed = Observation.model_validate(entry["resource"])
    coding = parsed.code.coding[0]
    assert (coding.system, coding.code, coding.display) == (
        "urn:iso:std:iso:11073:10101",
        "131329",
        "MDC_ECG_ELEC_POTL_I",
    )
    sd = parsed.valueSampledData
    img = parse_image(st.get_strip(store, ("SN1", 1, 7)).raw)
    assert float(sd.period) == pytest.approx(1000 / img.fs_hz)
    assert sd.dimensions == 1
    counts = np.array([int(v) for v in sd.data.split(" ")])
    np.testing.assert_array_equal(counts, img.samples)
    mv = float(sd.origin.value) + float(sd.factor) * counts
    np.testing.assert_allclose(mv, (img.samples - img.adc_zero) / img.adc_gain, atol=1e-9)
    assert parsed.note[0].text == "review: confirmed_af" and parsed.note[0].authorString == "dr-b"
    af = [
        e["resource"]
        for e in bundle["entry"]
        if any(i.get("value") == "SN1/1/2" for i in e["resource"].get("identifier", []))
    ]
    assert af and af[0]["derivedFrom"] == [{"reference": entry["fullUrl"]}]
    assert "derivedFrom" not in obs["SN1/1/8"]["resource"]  # a recording without its event


def test_fhir_writer_and_reader_ignore_nothing_and_invent_nothing(
    store: Store, tmp_path: Path
) -> None:
    data = select(store, "p-001", now=T0 + 10_000)
    path = fhir.write_fhir(data, tmp_path / "b.json")
    records = fhir.read_bundle(path.read_text())  # the strips carry no event of their own
    assert {(r.type, r.seq) for r in records} >= {("af_start", 2)}
    assert all(r.serial == "SN1" for r in records)


def test_edf_plus_reads_back_the_same_samples(store: Store, tmp_path: Path) -> None:
    data = select(store, "p-001", now=T0 + 10_000)
    files = write_edf(data, tmp_path)
    assert [f.name for f in files if "-strip" in f.name] == [
        "p-001-strips.edf",
        "p-001-strip-SN1-1-7.edf",
        "p-001-strip-SN1-1-8.edf",
    ]
    assert files[-3:] == write_strips_edf(data, tmp_path)
    a = st.get_strip(store, ("SN1", 1, 7)).image
    b = st.get_strip(store, ("SN1", 1, 8)).image
    for img, name in ((a, "p-001-strip-SN1-1-7.edf"), (b, "p-001-strip-SN1-1-8.edf")):
        got = read_strips_edf(tmp_path / name)  # pyedflib (edflib)
        assert got["label"] == "ECG I" and got["fs"] == img.fs_hz
        n = img.n_samples
        np.testing.assert_array_equal(got["digital"][:n], img.samples)
        assert np.all(got["digital"][n:] == img.adc_zero)  # padded to whole records: 0 mV
        pmin, pmax = got["physical"]
        scale = (pmax - pmin) / 65535
        back = np.round((got["mv"][:n] - pmin) / scale - 32768).astype(int)  # physical -> digital
        np.testing.assert_array_equal(back, img.samples)
        np.testing.assert_allclose(
            got["mv"][:n], (img.samples - img.adc_zero) / img.adc_gain, atol=1e-4
        )
    notes = read_strips_edf(tmp_path / "p-001-strip-SN1-1-7.edf")["annotations"]
    texts = [(round(float(o), 2), t) for o, _, t in notes]  # s from the first sample
    assert (0.0, "Strip 7 AF onset SN1") in texts
    assert (9.75, "AF onset (device)") in texts  # AF_START at 1040 s less its 30 s lag
    assert (0.0, "Review confirmed_af by dr-b") in texts
    # the EDF+D file: both strips at their own onsets, the same records
    both = tmp_path / "p-001-strips.edf"
    assert both.read_bytes()[192:197] == b"EDF+D"
    records = read_edf_plus_d(both)
    onsets = [round(o, 2) for o, _, _ in records]
    assert onsets[:2] == [0.25, 1.25] and onsets[30:] == [4000.25, 4001.25, 4002.25]
    samples = np.concatenate([x for _, x, _ in records])
    np.testing.assert_array_equal(samples[: a.n_samples], a.samples)
    np.testing.assert_array_equal(samples[9000 : 9000 + b.n_samples], b.samples)
    assert any("Strip 8 recording SN1" in t for t in records[30][2][0].split("\x14"))


def test_report_has_a_strip_page_at_clinical_scale(store: Store, tmp_path: Path) -> None:
    data = select(store, "p-001", now=T0 + 10_000)
    pages = strip_pages(data)
    assert len(pages) == 2
    w, h = pages[0].get_size_inches()
    assert (w * 25.4, h * 25.4) == pytest.approx((297.0, 210.0))
    row = pages[0].axes[0]  # the first 10 s row: 250 mm wide, 4 mV tall (40 mm)
    box = row.get_position()
    assert box.width * 297.0 == pytest.approx(250.0) and box.height * 210.0 == pytest.approx(40.0)
    x0, x1 = row.get_xlim()
    y0, y1 = row.get_ylim()
    assert (x1 - x0) == 10.0 and (y1 - y0) == 4.0  # 25 mm/s, 10 mm/mV
    pdf, _png = write_report(data, tmp_path / "report")
    import re

    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf.read_bytes()))
    assert pages == 3  # the summary, then one page per strip
