"""The store: durable, idempotent ingest, contiguity for acknowledgements, queries,
patients over time, retention, backup, and clear errors for bad database files."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from wearsense.protocol import (
    AfStart,
    Fall,
    Gap,
    HrSummary,
    RhythmSummary,
    StatusFirmware,
    encode,
)
from wearsense.store import Store, StoreError, restore
from wearsense.store.db import default_db_path

T0 = 1_700_000_000  # UTC of device time 0 in these tests
OFFSET = T0


def hr(seq: int, t: int, mean: int = 70) -> HrSummary:
    return HrSummary(seq, t, 3, interval_s=600, min_bpm=mean - 10, mean_bpm=mean, max_bpm=mean + 10)


def status(seq: int, t: int = 0, offset: int = OFFSET) -> StatusFirmware:
    return StatusFirmware(seq, t, 0, fw_major=1, fw_minor=2, fw_patch=3, utc_offset_s=offset)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "ws.db")
    s.add_patient("p-001", "Europe/Berlin")
    s.assign("SN1", "p-001", start_utc=T0 - 10)
    yield s
    s.close()


def test_new_database_is_private_and_versioned(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "ws.db"
    with Store(path) as s:
        assert s.schema_version >= 1
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_ingest_is_idempotent_and_reports_contiguous_seq(store: Store) -> None:
    batch = [status(1), hr(2, 600), hr(3, 1200)]
    assert store.ingest("SN1", 1, batch) == 3
    assert store.ingest("SN1", 1, batch) == 3  # re-delivery: no-op
    assert store.count_events() == 3
    # a hole at 4: the link may only acknowledge up to 3
    assert store.ingest("SN1", 1, [hr(5, 3000)]) == 3
    assert store.ingest("SN1", 1, [hr(4, 2400)]) == 5
    assert store.contiguous_seq("SN1", 1) == 5
    assert store.contiguous_seq("SN1", 2) == 0


def test_dropped_ranges_and_undecodable_packets_count_as_stored(store: Store) -> None:
    assert (
        store.ingest("SN1", 1, [status(1), Gap(2, 10, 0, first_seq=3, last_seq=6, dropped=4)]) == 6
    )
    raw = encode(hr(7, 700))[:-1] + b"\x00"
    assert store.store_undecodable("SN1", 1, 7, raw, reason="crc") == 7
    bad = [e for e in store.events(serial="SN1", include_unplaced=True) if not e.decoded]
    assert bad[0].raw == raw and bad[0].type == "undecodable"
    # the good copy of seq 7 arriving later replaces the undecodable one
    store.ingest("SN1", 1, [hr(7, 700)])
    row = [e for e in store.events(serial="SN1") if e.seq == 7][0]
    assert row.decoded and row.event() == hr(7, 700)


def test_redecode_turns_kept_packets_into_events_and_leaves_the_device_alone(
    store: Store,
) -> None:
    """A companion that could not decode a packet (a newer firmware's event) kept its bytes;
    a later companion decodes them: nothing was lost, and now it is readable too."""
    from wearsense.store.alerts import alerts

    assert store.ingest("SN1", 1, [status(1), hr(2, 600)], received_utc=T0 + 700) == 2
    fall = Fall(3, 650, 0, impact_mg=2400, confidence=90, stillness_s=20)
    old_status = StatusFirmware(5, 660, 0, fw_major=0, fw_minor=9, fw_patch=0, utc_offset_s=1)
    store.store_undecodable("SN1", 1, 3, encode(fall), received_utc=T0 + 700, reason="range")
    store.store_undecodable("SN1", 1, 4, b"\x21\x00garbage", received_utc=T0 + 700)
    store.store_undecodable("SN1", 1, 5, encode(old_status), received_utc=T0 + 700)
    store.store_undecodable("SN1", 1, 6, encode(hr(9, 670)), received_utc=T0 + 700)  # seq 9
    assert store.count_undecodable() == 4 and store.contiguous_seq("SN1", 1) == 6
    before = store.device("SN1")
    assert store.redecode() == (2, 2)
    rows = {e.seq: e for e in store.events(serial="SN1", include_unplaced=True)}
    assert rows[3].decoded and rows[3].event() == fall and rows[3].utc == T0 + 650
    assert rows[5].decoded and rows[5].event() == old_status
    assert not rows[4].decoded and not rows[6].decoded  # garbage; a packet of another seq
    assert store.count_undecodable() == 2 and store.contiguous_seq("SN1", 1) == 6
    after = store.device("SN1")  # an old STATUS page does not rewrite today's device
    assert after.firmware == before.firmware == "1.2.3"
    assert after.last_seen_utc == before.last_seen_utc
    assert [a.kind for a in alerts(store) if a.kind == "fall"] == ["fall"]
    assert store.redecode() == (0, 2)  # nothing more to do


def test_utc_comes_from_status_page_or_time_sync(store: Store) -> None:
    store.ingest("SN1", 1, [hr(1, 600)])
    assert store.events(serial="SN1") == []  # no clock offset yet: no place on a timeline
    assert store.events(serial="SN1", include_unplaced=True)[0].utc is None
    store.ingest("SN1", 1, [status(2, 700)])
    assert store.events(serial="SN1")[0].utc == T0 + 600
    # a time sync by the companion wins over the device's report
    store.set_time_offset("SN2", 4, T0 + 5)
    store.ingest("SN2", 4, [status(1, 0, offset=T0), hr(2, 100)])
    assert store.events(serial="SN2", types=["hr_summary"])[0].utc == T0 + 105
    # an unsynced device (offset 0 -> 1970) gives no UTC
    store.ingest("SN3", 1, [status(1, 50, offset=0), hr(2, 100)])
    assert store.events(serial="SN3") == []


def test_queries_by_patient_time_and_type(store: Store) -> None:
    store.add_patient("p-002", "UTC")
    store.ingest("SN1", 1, [status(1)] + [hr(i, i * 600) for i in range(2, 12)])
    store.unassign("SN1", end_utc=T0 + 3000)
    store.assign("SN1", "p-002", start_utc=T0 + 3000)
    first = store.events(patient="p-001", types=["hr_summary"])
    second = store.events(patient="p-002", types=["hr_summary"])
    assert [e.seq for e in first] == [2, 3, 4]
    assert [e.seq for e in second] == list(range(5, 12))
    window = store.events(serial="SN1", start_utc=T0 + 1800, end_utc=T0 + 3600)
    assert [e.seq for e in window] == [3, 4, 5]
    local = first[0].local_time(store.patient("p-001").tz)
    assert local is not None and local.utcoffset() is not None
    assert local.utcoffset().total_seconds() == 3600  # Berlin in November


def test_the_index_by_type_leaves_out_the_periodic_summaries(store: Store) -> None:
    """Ingest does not rewrite an index entry for the nine in ten events that are
    summaries; the rare types are still found through that index."""
    from wearsense.store.schema import RARE_TYPES_SQL

    fall = Fall(3, 700, 2, impact_mg=2500, confidence=90, stillness_s=5)
    store.ingest("SN1", 1, [status(1), hr(2, 600), fall, hr(4, 1200)])
    conn = store._conn
    indexed = conn.execute(
        f"SELECT type FROM events INDEXED BY events_by_type WHERE {RARE_TYPES_SQL}"
    ).fetchall()
    assert sorted(t for (t,) in indexed) == ["fall", "status_firmware"]
    assert [e.seq for e in store.events(types=["fall"])] == [3]
    assert [e.seq for e in store.unacknowledged_falls()] == [3]
    sql = f"SELECT seq FROM events e WHERE e.type = 'fall' AND e.{RARE_TYPES_SQL}"
    plan = " ".join(str(row) for row in conn.execute("EXPLAIN QUERY PLAN " + sql))
    assert "events_by_type" in plan


def test_assignments_cannot_overlap_and_unknown_names_fail(store: Store) -> None:
    store.add_patient("p-002")
    with pytest.raises(StoreError, match="assigned to 'p-001'"):
        store.assign("SN1", "p-002")
    with pytest.raises(StoreError, match="unknown patient"):
        store.assign("SN9", "nobody")
    with pytest.raises(StoreError, match="already exists"):
        store.add_patient("p-001")
    with pytest.raises(StoreError, match="unknown timezone"):
        store.add_patient("p-003", "Mars/Olympus")
    with pytest.raises(StoreError, match="not assigned"):
        store.unassign("SN9")


def test_delete_patient_removes_every_row(store: Store) -> None:
    store.add_patient("p-002")
    store.ingest(
        "SN1", 1, [status(1), Fall(2, 100, 1, impact_mg=3000, confidence=90, stillness_s=5)]
    )
    store.assign("SN2", "p-002", start_utc=T0)
    store.ingest("SN2", 1, [status(1), hr(2, 60)])
    counts = store.delete_patient("p-001")
    assert counts["events"] == 2 and counts["assignments"] == 1 and counts["alerts"] == 1
    with pytest.raises(StoreError):
        store.patient("p-001")
    assert store.assignments("p-002") and len(store.events(serial="SN2")) == 2
    assert store.events(serial="SN1") == []


def test_retention_removes_old_events_only(store: Store) -> None:
    store.ingest("SN1", 1, [status(1), hr(2, 600), hr(3, 86400 * 40)])
    assert store.apply_retention(now_utc=T0 + 86400 * 41) == 0  # no policy: keep all
    store.set_retention_days(30)
    assert store.apply_retention(now_utc=T0 + 86400 * 41) == 2
    assert [e.seq for e in store.events(serial="SN1")] == [3]


def test_models_and_update_history(store: Store) -> None:
    store.record_model_version("afib", 3, "ab" * 32, "distilled")
    store.record_update("SN1", "afib", 3, "committed", utc=T0)
    assert store.model_versions("afib")[0]["version"] == 3
    assert store.updates("SN1")[0]["status"] == "committed"


def test_backup_while_open_and_restore(store: Store, tmp_path: Path) -> None:
    store.ingest("SN1", 1, [status(1), hr(2, 600)])
    copy = store.backup(tmp_path / "backup.db")
    assert stat.S_IMODE(os.stat(copy).st_mode) == 0o600
    store.ingest("SN1", 1, [hr(3, 1200)])
    restore(copy, store.path)
    assert store.count_events() == 2  # the open store sees the restored content


@pytest.mark.parametrize(
    "content, message",
    [
        (b"this is a text file, not a database\n" * 10, "not a SQLite database"),
        (b"SQLite format 3\x00" + b"\xff" * 200, "corrupt"),
    ],
)
def test_bad_files_give_store_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.db"
    path.write_bytes(content)
    with pytest.raises(StoreError, match=message) as info:
        Store(path)
    assert str(path) in str(info.value)


def test_foreign_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE songs (title TEXT)")
    with pytest.raises(StoreError, match="another program"):
        Store(path)


def test_truncated_database_is_reported(store: Store, tmp_path: Path) -> None:
    store.ingest("SN1", 1, [status(1)] + [hr(i, i * 600) for i in range(2, 400)])
    copy = store.backup(tmp_path / "full.db")
    data = copy.read_bytes()
    broken = tmp_path / "broken.db"
    broken.write_bytes(data[:4096] + b"\x00" * 4096 + data[8192:])
    with pytest.raises(StoreError):
        s = Store(broken)
        s.events(serial="SN1")


def test_default_path_follows_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WEARSENSE_DB", str(tmp_path / "x.db"))
    assert default_db_path() == tmp_path / "x.db"
    monkeypatch.delenv("WEARSENSE_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_db_path() == tmp_path / "wearsense" / "wearsense.db"


def test_rhythm_summary_round_trip(store: Store) -> None:
    event = RhythmSummary(2, 600, 7, interval_s=600, analysable_s=500, af_s=100)
    onset = AfStart(3, 700, 7, hr_bpm=120, confidence=90, onset_lag_s=30)
    store.ingest("SN1", 1, [status(1), event, onset])
    got = {e.seq: e.event() for e in store.events(serial="SN1")}
    assert got[2] == event and got[3] == onset


def test_backup_is_consistent_while_the_link_writes(tmp_path: Path) -> None:
    import threading

    path = tmp_path / "live.db"
    with Store(path) as s:
        s.ingest("SN1", 1, [status(1)])
    stop = threading.Event()

    def link() -> None:  # another connection, as the BLE link would hold
        with Store(path) as writer:
            seq = 2
            while not stop.is_set() and seq < 3000:
                writer.ingest("SN1", 1, [hr(seq, seq * 600), hr(seq + 1, seq * 600 + 600)])
                seq += 2

    thread = threading.Thread(target=link)
    thread.start()
    try:
        copies = []
        with Store(path) as reader:
            for i in range(3):
                copies.append(reader.backup(tmp_path / f"copy{i}.db"))
    finally:
        stop.set()
        thread.join()
    for copy in copies:
        with Store(copy) as snap:
            events = snap.count_events()
            # a snapshot holds whole transactions: every batch of two, all acknowledged
            assert events % 2 == 1 and snap.contiguous_seq("SN1", 1) == events
    for suffix in ("", "-wal", "-shm"):
        side = Path(str(path) + suffix)
        if side.exists():
            assert stat.S_IMODE(os.stat(side).st_mode) == 0o600


def test_delete_patient_also_removes_unplaced_events_of_their_time(store: Store) -> None:
    store.ingest("SN1", 1, [hr(1, 600)], received_utc=T0 + 100)  # no clock offset yet
    store.store_undecodable("SN1", 1, 2, b"\x01\x02", received_utc=T0 + 200)
    assert store.delete_patient("p-001")["events"] == 2
    assert store.events(serial="SN1", include_unplaced=True) == []


def test_restore_replaces_a_corrupt_database_and_refuses_a_bad_backup(
    store: Store, tmp_path: Path
) -> None:
    store.ingest("SN1", 1, [status(1), hr(2, 600)])
    good = store.backup(tmp_path / "good.db")
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"SQLite format 3\x00" + b"\x00" * 5000)
    restore(good, broken)
    with Store(broken) as s:
        assert s.count_events() == 2
    with pytest.raises(StoreError, match="not a SQLite database") as info:
        restore(_text(tmp_path), broken)
    assert info.value.path == str(tmp_path / "notes.txt")
    before = good.read_bytes()
    restore(good, broken)
    assert good.read_bytes() == before  # the backup file is never changed
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def _text(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("not a backup\n" * 20)
    return path


def test_an_episode_cut_by_the_range_keeps_its_end(store: Store) -> None:
    from wearsense.protocol import AfEnd
    from wearsense.store import derived

    store.ingest(
        "SN1",
        1,
        [
            status(1),
            AfStart(2, 1000, 3, hr_bpm=120, confidence=90, onset_lag_s=0),
            AfEnd(3, 5000, 3, duration_s=4000, mean_hr_bpm=115),
        ],
    )
    cut = store.events(patient="p-001", start_utc=T0 + 2000)
    (episode,) = derived.af_episodes(cut)
    assert episode.start_key is None and episode.end_key == ("SN1", 1, 3)
    assert episode.start_utc == T0 + 1000 and episode.duration_s == 4000


def test_ingest_rejects_a_bad_stream_identity(store: Store) -> None:
    with pytest.raises(StoreError, match="serial"):
        store.ingest("", 1, [hr(1, 600)])
    with pytest.raises(StoreError, match="epoch"):
        store.ingest("SN1", 70000, [hr(1, 600)])
    with pytest.raises(StoreError, match="sequence hint"):
        store.store_undecodable("SN1", 1, 0, b"\x00")
    assert store.count_events() == 0


def test_migration_from_version_1_backfills_dropped_ranges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from wearsense.store import db as db_module

    path = tmp_path / "v1.db"
    with monkeypatch.context() as patch:
        patch.setattr(db_module, "SCHEMA_VERSION", 1)
        with Store(path) as old:
            assert old.schema_version == 1
    gap = Gap(2, 10, 0, first_seq=3, last_seq=6, dropped=4)
    with sqlite3.connect(path) as raw:  # a gap event stored by version 1
        raw.execute(
            "INSERT INTO events VALUES ('SN1', 1, 2, 'gap', 1, 10, NULL, 0, ?, ?, 0)",
            (json.dumps({"first_seq": 3, "last_seq": 6, "dropped": 4}), encode(gap)),
        )
    with Store(path) as new:
        assert new.schema_version == db_module.SCHEMA_VERSION  # every later step too
        assert new.ingest("SN1", 1, [status(1), hr(7, 700)]) == 7


def test_a_batch_with_a_sequence_twice_stores_the_first_copy(store: Store) -> None:
    first, second = hr(2, 700, mean=61), hr(2, 700, mean=99)
    assert store.ingest("SN1", 1, [status(1), first, second, hr(3, 1300)]) == 3
    assert store.ingest("SN1", 1, [hr(2, 700, mean=42), hr(3, 1300, mean=42)]) == 3
    stored = {e.seq: e for e in store.events(serial="SN1")}
    assert stored[2].fields is not None and stored[2].fields["mean_bpm"] == 61
    assert stored[3].fields is not None and stored[3].fields["mean_bpm"] == 70


def test_stored_fields_are_the_json_of_the_payload(store: Store) -> None:
    """The per-class template ingest writes ``fields`` with is the compact JSON of
    ``event_fields`` for every kind of event the simulation makes."""
    import json

    from wearsense.store.schema import event_fields, fields_json
    from wearsense.testing.simulate_store import wearer_events

    events = list(wearer_events(1_704_067_200, 20, seed=5))
    for event in events:
        assert fields_json(event) == json.dumps(event_fields(event), separators=(",", ":"))
    gap = Gap(9, 10, 0, first_seq=3, last_seq=6, dropped=4)
    assert fields_json(gap) == json.dumps(event_fields(gap), separators=(",", ":"))


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    Store(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("INSERT INTO schema_version VALUES (99, 0)")
    with pytest.raises(StoreError, match="newer WearSense"):
        Store(path)


def test_fall_acknowledgements_persist_and_go_with_the_patient(
    store: Store, tmp_path: Path
) -> None:
    fall = Fall(2, 100, 1, impact_mg=3000, confidence=90, stillness_s=5)
    later = Fall(3, 200, 1, impact_mg=2500, confidence=80, stillness_s=9)
    store.ingest("SN1", 1, [status(1), fall, later])
    assert [e.seq for e in store.unacknowledged_falls()] == [2, 3]
    assert store.acknowledge_fall(("SN1", 1, 2), by="nurse", utc=T0 + 130) is True
    assert store.acknowledge_fall(("SN1", 1, 2), by="someone else") is False  # first one kept
    with pytest.raises(StoreError, match="no fall event"):
        store.acknowledge_fall(("SN1", 1, 1))  # a status page, not a fall
    with pytest.raises(StoreError, match="no fall event"):
        store.acknowledge_fall(("SN1", 1, 99))
    assert [e.seq for e in store.unacknowledged_falls(start_utc=T0 + 150)] == [3]
    store.close()
    with Store(tmp_path / "ws.db") as again:  # survives a restart
        assert again.fall_acknowledged(("SN1", 1, 2))
        assert not again.fall_acknowledged(("SN1", 1, 3))
        assert [e.seq for e in again.unacknowledged_falls()] == [3]
        again.delete_patient("p-001")
        with sqlite3.connect(tmp_path / "ws.db") as raw:
            assert raw.execute("SELECT count(*) FROM fall_acks").fetchone()[0] == 0


def test_last_seen_moves_in_steps_of_the_touch_resolution(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A device's last_seen_utc is rewritten at most once per TOUCH_RESOLUTION_S of
    received time (not once per batch), never goes back, and a rolled-back transaction
    leaves no stale memory of a write that did not happen."""
    from wearsense.store.db import TOUCH_RESOLUTION_S

    t = T0 + 5000.0
    store.ingest("SN2", 1, [status(1)], received_utc=t)
    store.ingest("SN2", 1, [hr(2, 600)], received_utc=t + TOUCH_RESOLUTION_S / 2)
    assert store.device("SN2").last_seen_utc == t
    store.ingest("SN2", 1, [hr(3, 1200)], received_utc=t + 2 * TOUCH_RESOLUTION_S)
    assert store.device("SN2").last_seen_utc == t + 2 * TOUCH_RESOLUTION_S
    store.ingest("SN2", 1, [hr(4, 1800)], received_utc=t)  # an old batch: no step back
    assert store.device("SN2").last_seen_utc == t + 2 * TOUCH_RESOLUTION_S
    from wearsense.store import db as db_module

    def broken(event: object) -> str:
        raise sqlite3.OperationalError("disk I/O error")

    with monkeypatch.context() as patch:  # a new device's first batch, rolled back
        patch.setattr(db_module, "fields_json", broken)
        with pytest.raises(StoreError):
            store.ingest("SN3", 1, [hr(1, 0)], received_utc=t)
    assert "SN3" not in {d.serial for d in store.devices()}
    store.ingest("SN3", 1, [status(1)], received_utc=t)  # its row is written after all
    assert store.device("SN3").last_seen_utc == t
