"""Holes in a device's sequence space (issue #29): events a device assigned that lie between
stored events but never reached the store (another central acknowledged them, a sync broke
off) are reported by the store, by `wearsense store info` and on the TUI's device card.
Sequences a Gap event reports as dropped by the device are no hole (they never come)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from tui.services import StoreView
from tui.widgets import DeviceCard
from wearsense.cli import main
from wearsense.protocol import Gap, HrSummary
from wearsense.store import SequenceHole, Store, describe_holes

NOW = 1_711_670_400.0


def hr(seq: int) -> HrSummary:
    return HrSummary(seq, 60 * seq, 0, interval_s=600, min_bpm=60, mean_bpm=70, max_bpm=80)


def fill(store: Store, serial: str, epoch: int, seqs: list[int]) -> None:
    store.set_time_offset(serial, epoch, int(NOW) - 86_000)
    store.ingest(serial, epoch, [hr(s) for s in seqs], received_utc=NOW - 60)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ws.db"
    monkeypatch.setenv("WEARSENSE_DB", str(path))
    monkeypatch.setattr(sys, "stdin", io.StringIO())
    with Store(path) as store:
        # SN-HOLE: 1-22 and 42-50 stored, 23-41 never arrived
        fill(store, "SN-HOLE", 1, [*range(1, 23), *range(42, 51)])
        # SN-FULL: 1-30, nothing missing
        fill(store, "SN-FULL", 1, list(range(1, 31)))
        # SN-EPOCHS: epoch 1 misses 5 and 8-9, epoch 2 misses 3-6; 31 is after the last
        # stored event of epoch 2 and so not (yet) a hole
        fill(store, "SN-EPOCHS", 1, [1, 2, 3, 4, 6, 7, 10])
        fill(store, "SN-EPOCHS", 2, [1, 2, 7])
        # SN-GAP: the device dropped 5-9 itself (a Gap event says so); 12-13 are missing
        fill(store, "SN-GAP", 1, [1, 2, 3, 4, 11, 14])
        store.ingest("SN-GAP", 1, [Gap(10, 600, 0, first_seq=5, last_seq=9, dropped=5)])
    return path


def test_the_store_finds_each_hole_per_device_and_epoch(db: Path) -> None:
    with Store(db) as store:
        assert store.sequence_holes("SN-HOLE") == [SequenceHole("SN-HOLE", 1, 23, 41)]
        assert store.sequence_holes("SN-FULL") == []
        assert store.sequence_holes("SN-EPOCHS") == [
            SequenceHole("SN-EPOCHS", 1, 5, 5),
            SequenceHole("SN-EPOCHS", 1, 8, 9),
            SequenceHole("SN-EPOCHS", 2, 3, 6),
        ]
        assert store.sequence_holes("SN-GAP") == [SequenceHole("SN-GAP", 1, 12, 13)]
        assert {h.serial for h in store.sequence_holes()} == {"SN-HOLE", "SN-EPOCHS", "SN-GAP"}
    assert str(SequenceHole("SN-HOLE", 1, 23, 41)) == "23-41 (19 events)"
    assert str(SequenceHole("SN-HOLE", 1, 5, 5)) == "5 (1 event)"


def test_a_hole_closes_when_the_missing_events_arrive(db: Path) -> None:
    with Store(db) as store:
        store.ingest("SN-HOLE", 1, [hr(s) for s in range(23, 30)], received_utc=NOW)
        assert store.sequence_holes("SN-HOLE") == [SequenceHole("SN-HOLE", 1, 30, 41)]
        store.ingest("SN-HOLE", 1, [hr(s) for s in range(30, 42)], received_utc=NOW)
        assert store.sequence_holes("SN-HOLE") == []


def test_store_info_reports_the_holes(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["store", "info"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("holes"))
    assert lines[at : at + 4] == [
        "holes         SN-EPOCHS epoch 1: 5 (1 event), 8-9 (2 events)",
        "              SN-EPOCHS epoch 2: 3-6 (4 events)",
        "              SN-GAP epoch 1: 12-13 (2 events)",
        "              SN-HOLE epoch 1: 23-41 (19 events)",
    ]
    assert "SN-FULL" not in out


def test_store_info_says_none_without_holes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "clean.db"
    monkeypatch.setenv("WEARSENSE_DB", str(path))
    with Store(path) as store:
        fill(store, "SN-FULL", 1, list(range(1, 31)))
    assert main(["store", "info"]) == 0
    assert "holes         none" in capsys.readouterr().out.splitlines()


def test_the_device_card_shows_holes_only_when_there_are_some(db: Path) -> None:
    with Store(db) as store:
        view = StoreView(store, clock=lambda: NOW)
        days = {d.serial: d for d in view.overview.device_days()}
        assert [str(h) for h in days["SN-HOLE"].holes] == ["23-41 (19 events)"]
        assert days["SN-FULL"].holes == []
        rows = {r.serial: r for r in view.device_rows({})}
    assert rows["SN-HOLE"].holes == "23-41 (19 events)"
    assert rows["SN-FULL"].holes == ""
    assert rows["SN-EPOCHS"].holes == (
        "epoch 1: 5 (1 event), 8-9 (2 events); epoch 2: 3-6 (4 events)"
    )
    card = DeviceCard()
    card.row = rows["SN-HOLE"]
    assert "holes      23-41 (19 events)" in str(card.render())
    card.row = rows["SN-FULL"]
    assert "holes" not in str(card.render())
    assert describe_holes([]) == ""
