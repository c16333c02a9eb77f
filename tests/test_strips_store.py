"""Strips in the store: validated, idempotent, never silently replaced; reviews kept with
the newest as the verdict; listed with their announcements; owned by the patient who wore
the device; gone with the patient and with retention."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from strip_helpers import announce, image, real_ecg

from wearsense.protocol import AfStart, StatusFirmware
from wearsense.store import Store, StoreError
from wearsense.store import strips as st
from wearsense.strips.image import parse_image

T0 = 1_700_000_000  # UTC of device time 0


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "ws.db")
    s.add_patient("p-001", "Europe/Berlin")
    s.assign("SN1", "p-001", start_utc=T0)
    s.ingest("SN1", 1, [StatusFirmware(1, 10, 0, 1, 2, 3, utc_offset_s=T0)])
    yield s
    s.close()


def test_a_strip_is_stored_once_and_reads_back(store: Store) -> None:
    raw = image(3, real=True, seconds=30)
    assert st.put_strip(store, "SN1", raw) is True
    assert st.put_strip(store, "SN1", raw) is False  # the same bytes again: a no-op
    got = st.get_strip(store, ("SN1", 1, 3))
    assert got.raw == raw
    np.testing.assert_array_equal(got.image.samples, parse_image(raw).samples)
    assert got.start_utc == pytest.approx(T0 + 1000.25)
    if real_ecg() is not None:
        assert got.duration_s == pytest.approx(30.0)


def test_other_bytes_under_a_stored_key_are_refused(store: Store) -> None:
    st.put_strip(store, "SN1", image(3))
    with pytest.raises(StoreError, match="other content"):
        st.put_strip(store, "SN1", image(3, start_time_s=2000))
    assert st.get_strip(store, ("SN1", 1, 3)).image.start_time_s == 1000  # the first kept
    st.put_strip(store, "SN2", image(3, start_time_s=2000))  # another device: its own key


@pytest.mark.parametrize("cut", [0, 10, 44, -1])
def test_a_damaged_image_is_not_stored(store: Store, cut: int) -> None:
    raw = bytearray(image(4))
    bad = bytes(raw[:cut]) if cut >= 0 else bytes(raw[:-1]) + bytes([raw[-1] ^ 1])
    with pytest.raises(StoreError, match="refused"):
        st.put_strip(store, "SN1", bad)
    assert st.list_strips(store, serial="SN1") == []


def test_reviews_are_kept_and_the_newest_wins(store: Store) -> None:
    st.put_strip(store, "SN1", image(5))
    key = ("SN1", 1, 5)
    st.review_strip(store, key, "not_af", "dr-a", utc=T0 + 5000)
    st.review_strip(store, key, st.Verdict.CONFIRMED_AF, "dr-b", utc=T0 + 6000)
    got = st.get_strip(store, key)
    assert [r.reviewer for r in got.reviews] == ["dr-a", "dr-b"]
    assert got.review == st.Review(st.Verdict.CONFIRMED_AF, "dr-b", T0 + 6000)
    with pytest.raises(StoreError, match="unknown verdict"):
        st.review_strip(store, key, "maybe", "dr-a")
    with pytest.raises(StoreError, match="reviewer"):
        st.review_strip(store, key, "not_af", " ")
    with pytest.raises(StoreError, match="no stored strip"):
        st.review_strip(store, ("SN1", 1, 99), "not_af", "dr-a")


def test_list_joins_announcements_with_stored_strips(store: Store) -> None:
    store.ingest("SN1", 1, [AfStart(2, 1040, 3, hr_bpm=120, confidence=90, onset_lag_s=30)])
    announce(store, "SN1", 1, 3, 1041, 7, subject_seq=2)
    announce(store, "SN1", 1, 4, 3000, 8, reason=2, duration_s=30)
    st.put_strip(store, "SN1", image(7, event_seq=2))
    listed = st.list_strips(store, patient="p-001")
    assert [(e.strip_id, e.state) for e in listed] == [(7, "stored"), (8, "on device")]
    assert listed[0].subject_seq == 2 and listed[0].announced_utc == T0 + 1041
    assert listed[1].reason_text == "recording" and listed[1].start_utc is None
    assert all(e.patient == "p-001" for e in listed)
    subject = st.subject_event(store, "SN1", 1, listed[0].subject_seq)
    assert subject is not None and subject.fields and subject.fields["hr_bpm"] == 120
    assert st.find_strip(store, 8).key == ("SN1", 1, 8)


def test_a_strip_belongs_to_who_wore_the_device_then(store: Store) -> None:
    store.unassign("SN1", end_utc=T0 + 1500)
    store.add_patient("p-002")
    store.assign("SN1", "p-002", start_utc=T0 + 1500)
    st.put_strip(store, "SN1", image(1, start_time_s=1000))
    st.put_strip(store, "SN1", image(2, start_time_s=2000))
    assert [e.strip_id for e in st.list_strips(store, patient="p-001")] == [1]
    assert [e.strip_id for e in st.list_strips(store, patient="p-002")] == [2]
    counts = store.delete_patient("p-001")
    assert counts["strips"] == 1
    assert [e.strip_id for e in st.list_strips(store, serial="SN1")] == [2]


def test_retention_removes_old_strips_and_their_reviews(store: Store) -> None:
    st.put_strip(store, "SN1", image(1, start_time_s=1000))
    st.put_strip(store, "SN1", image(2, start_time_s=90 * 86400))
    st.review_strip(store, ("SN1", 1, 1), "not_af", "dr-a")
    store.set_retention_days(30)
    store.apply_retention(now_utc=T0 + 100 * 86400)
    assert [e.strip_id for e in st.list_strips(store, serial="SN1")] == [2]
    assert st.reviews(store, ("SN1", 1, 1)) == ()


def test_a_strip_without_a_clock_offset_is_listed_only_for_its_device(store: Store) -> None:
    st.put_strip(store, "SN1", image(1, epoch=2))
    assert st.list_strips(store, patient="p-001") == []
    assert [e.strip_id for e in st.list_strips(store, serial="SN1", placed_only=False)] == [1]
