"""The `wearsense patient|backup|restore|alerts|store|export` commands: what they print,
their exit status, and that errors are one line, never a traceback or a half-written file."""

from __future__ import annotations

import io
import json
import sqlite3
import sys
from pathlib import Path

import pytest

from wearsense.cli import main
from wearsense.export.fhir import read_bundle
from wearsense.store import Store
from wearsense.store.schema import SCHEMA_VERSION
from wearsense.testing.simulate_store import wearer_events

START = 1_711_670_400  # 2024-03-29 00:00 UTC


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ws.db"
    monkeypatch.setenv("WEARSENSE_DB", str(path))
    monkeypatch.setattr(sys, "stdin", io.StringIO())  # never interactive in tests
    return path


def _fill(db: Path) -> None:
    with Store(db) as store:
        store.ingest("SN-7", 1, wearer_events(START, 2, seed=3))


def test_patient_lifecycle(db: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run(capsys, "patient", "add", "p-1", "--timezone", "Europe/Berlin")[0] == 0
    code, _, err = run(capsys, "patient", "add", "p-1")
    assert code == 1 and err.startswith("error: patient 'p-1' already exists")
    assert run(capsys, "patient", "assign", "SN-7", "p-1", "--from", "2024-03-28T00:00")[0] == 0
    _fill(db)
    code, out, _ = run(capsys, "patient", "list", "--json")
    listed = json.loads(out)
    assert listed[0]["pseudonym"] == "p-1" and listed[0]["assignments"][0]["serial"] == "SN-7"
    code, out, _ = run(capsys, "patient", "unassign", "SN-7", "--at", "2024-04-10T00:00")
    assert code == 0 and "no longer worn by p-1" in out
    # delete needs a confirmation when not interactive; it can export first
    code, _, err = run(capsys, "patient", "delete", "p-1")
    assert code == 2 and "--yes" in err
    copy = tmp_path / "p-1.json"
    code, out, _ = run(capsys, "patient", "delete", "p-1", "--yes", "--export-first", str(copy))
    assert code == 0 and "deleted p-1" in out
    assert len(read_bundle(copy.read_text())) > 100
    with Store(db) as store:
        assert store.patients() == [] and store.events(serial="SN-7") == []
        assert store.assignments() == []


def test_export_commands(db: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    run(capsys, "patient", "add", "p-1", "--timezone", "Europe/Berlin")
    run(capsys, "patient", "assign", "SN-7", "p-1", "--from", "2024-03-28T00:00")
    _fill(db)
    for fmt, target in (("fhir", "b.json"), ("csv", "e.csv"), ("edf", "edf"), ("report", "r")):
        code, out, err = run(
            capsys, "export", fmt, "--patient", "p-1", "--out", str(tmp_path / target)
        )
        assert code == 0, err
        assert "wrote" in out
    assert len(list((tmp_path / "edf").glob("*.edf"))) == 3
    assert (tmp_path / "r.pdf").exists() and (tmp_path / "r.png").exists()
    code, out, _ = run(
        capsys,
        "export",
        "csv",
        "--patient",
        "p-1",
        "--deidentify",
        "--shift-days",
        "10",
        "--from",
        "2024-03-29",
        "--to",
        "2024-03-29",
        "--out",
        str(tmp_path / "d.csv"),
    )
    assert code == 0 and "shifted by -10 days" in out
    rows = (tmp_path / "d.csv").read_text().splitlines()[1:]
    assert rows and all(",2024-03-19T" in r or ",2024-03-18T" in r for r in rows)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["export", "fhir", "--patient", "nobody"], "unknown patient 'nobody'"),
        (
            ["export", "csv", "--patient", "p-1", "--from", "2020-01-01", "--to", "2020-01-02"],
            "no events for patient 'p-1' between",
        ),
        (["export", "edf", "--patient", "p-1", "--from", "soon"], "not an ISO date"),
    ],
)
def test_export_errors_are_one_line_and_write_nothing(
    db: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], message: str
) -> None:
    run(capsys, "patient", "add", "p-1")
    run(capsys, "patient", "assign", "SN-7", "p-1", "--from", "2024-03-28T00:00")
    _fill(db)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, _, err = run(capsys, *argv, "--out", str(out_dir / "x"))
    assert code == 1 and message in err and "Traceback" not in err
    assert err.count("\n") == 1 and list(out_dir.iterdir()) == []


@pytest.mark.parametrize("kind", ["text", "foreign", "garbage"])
def test_bad_database_file(db: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    if kind == "text":
        db.write_text("hello\n" * 100)
    elif kind == "foreign":
        with sqlite3.connect(db) as raw:
            raw.execute("CREATE TABLE t (x)")
    else:
        db.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 8)
    for argv in (
        ["patient", "list"],
        ["export", "fhir", "--patient", "p", "--out", "x.json"],
        ["store", "info"],
        ["backup", str(db) + ".bak"],
    ):
        code, _, err = run(capsys, *argv)
        assert code == 1 and err.startswith("error: ") and str(db) in err, err
        assert "Traceback" not in err


def test_backup_restore_and_store_info(
    db: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run(capsys, "patient", "add", "p-1")
    _fill(db)
    backup = tmp_path / "copy.db"
    assert run(capsys, "backup", str(backup))[0] == 0
    run(capsys, "patient", "add", "p-2")
    code, _, err = run(capsys, "restore", str(backup))
    assert code == 2 and "--yes" in err
    assert run(capsys, "restore", str(backup), "--yes")[0] == 0
    code, out, _ = run(capsys, "store", "info")
    assert "patients      1" in out and f"schema        version {SCHEMA_VERSION}" in out
    code, _, err = run(capsys, "restore", str(tmp_path / "missing.db"), "--yes")
    assert code == 1 and "no backup here" in err
    code, out, _ = run(capsys, "store", "prune", "--days", "30")
    assert code == 0 and "removed" in out


def test_store_redecode_reports_what_it_decoded(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from wearsense.protocol import HrSummary, encode

    _fill(db)
    with Store(db) as store:
        seq = store.contiguous_seq("SN-7", 1) + 1
        later = HrSummary(seq, 10, 0, interval_s=600, min_bpm=60, mean_bpm=70, max_bpm=80)
        store.store_undecodable("SN-7", 1, seq, encode(later), reason="range")
        store.store_undecodable("SN-7", 1, seq + 1, b"\x00\x01", reason="crc")
    code, out, _ = run(capsys, "store", "info")
    assert code == 0 and "undecodable   2" in out
    code, out, _ = run(capsys, "store", "redecode")
    assert code == 0 and out.strip() == "decoded 1 kept packet(s) as events; 1 still undecodable"
    code, out, _ = run(capsys, "store", "info")
    assert "undecodable   1" in out


def test_alert_commands(db: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    run(capsys, "patient", "add", "p-1")
    run(capsys, "patient", "assign", "SN-7", "p-1", "--from", "2024-03-28T00:00")
    _fill(db)
    sink = tmp_path / "sink.jsonl"
    hook = tmp_path / "hook.py"
    hook.write_text(f"import sys\nopen({str(sink)!r}, 'a').write(sys.stdin.read() + '\\n')\n")
    code, out, _ = run(capsys, "alerts", "hook", f"{sys.executable} {hook}", "--gap-hours", "3")
    assert code == 0
    code, out, _ = run(capsys, "alerts", "list", "--pending")
    pending = len(out.splitlines())
    assert pending > 0
    code, out, _ = run(capsys, "alerts", "deliver")
    assert code == 0 and "failed 0" in out
    kinds = {json.loads(x)["kind"] for x in sink.read_text().splitlines() if x}
    assert "af_onset" in kinds or "fall" in kinds
    assert run(capsys, "alerts", "list", "--pending")[1] == ""


def test_interactive_delete_offers_an_export_and_wants_the_pseudonym_typed(
    db: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(capsys, "patient", "add", "p-1")
    run(capsys, "patient", "assign", "SN-7", "p-1", "--from", "2024-03-28T00:00")
    _fill(db)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    copy = tmp_path / "kept.json"
    answers = iter([str(copy), "p-2"])  # export, then a wrong confirmation
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    code, out, _ = run(capsys, "patient", "delete", "p-1")
    assert code == 1 and "not deleted" in out and copy.exists()
    answers = iter(["", "p-1"])  # no export, right confirmation
    code, out, _ = run(capsys, "patient", "delete", "p-1")
    assert code == 0 and "deleted p-1" in out


def test_patient_assign_takes_the_events_the_device_queued_before(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the device streamed (and the store placed) its events before anyone was assigned:
    # "now" would leave them all to nobody
    _fill(db)
    with Store(db) as store:
        stored = store.count_device_events("SN-7")
        first = store.first_unassigned_utc("SN-7")
    assert stored > 100 and first is not None and first < START + 3600
    assert run(capsys, "patient", "add", "p-1")[0] == 0
    code, out, _ = run(capsys, "patient", "assign", "SN-7", "p-1")
    assert code == 0 and f"took {stored} events already stored" in out
    with Store(db) as store:
        assert store.assignments(serial="SN-7")[0].start_utc == first
        assert len(store.events(patient="p-1")) == stored
        assert store.first_unassigned_utc("SN-7") is None  # worn now: nothing waits


def test_patient_assign_from_says_what_stays_unassigned(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _fill(db)
    with Store(db) as store:
        later = store.count_device_events("SN-7", START + 86400)
        earlier = store.count_device_events("SN-7", end_utc=START + 86400)
    run(capsys, "patient", "add", "p-1")
    code, out, _ = run(capsys, "patient", "assign", "SN-7", "p-1", "--from", "2024-03-30T00:00Z")
    assert code == 0 and f"took {later} events already stored" in out
    assert f"{earlier} earlier events of the device stay unassigned" in out
