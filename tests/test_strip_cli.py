"""`wearsense strip list|show|review`: what they print, the ECG-paper drawing, exit
status and one-line errors. (`strip get` talks to a wearable: its end-to-end test comes
with the device side of strips.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from strip_helpers import announce, image

from wearsense.cli import main
from wearsense.protocol import AfStart, StatusFirmware
from wearsense.store import Store
from wearsense.store import strips as st
from wearsense.testing.kill9 import CLI, free_ports

T0 = 1_700_000_000


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "ws.db"
    with Store(path) as s:
        s.add_patient("p-001", "Europe/Berlin")
        s.assign("SN1", "p-001", start_utc=T0)
        s.ingest(
            "SN1",
            1,
            [
                StatusFirmware(1, 10, 0, 1, 2, 3, utc_offset_s=T0),
                AfStart(2, 1040, 3, hr_bpm=121, confidence=88, onset_lag_s=30),
            ],
        )
        announce(s, "SN1", 1, 3, 1041, 7, subject_seq=2)
        announce(s, "SN1", 1, 4, 3000, 8, reason=2)
        st.put_strip(s, "SN1", image(7, event_seq=2, real=True, seconds=30))
    return path


def test_list_shows_stored_and_on_device(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "strip", "list", "--db", str(db), "--patient", "p-001")
    assert code == 0 and err == ""
    rows = out.splitlines()[1:]
    assert len(rows) == 2
    assert "SN1" in rows[0] and " 7 " in rows[0] and "stored" in rows[0] and "AF onset" in rows[0]
    assert " 8 " in rows[1] and "on device" in rows[1] and "recording" in rows[1]


def test_review_then_show_gives_the_verdict(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "strip", "review", "7", "--db", str(db), "--verdict", "not_af",
               "--by", "dr-a")[0] == 0  # fmt: skip
    code, out, _ = run(capsys, "strip", "review", "7", "--db", str(db), "--verdict",
                       "confirmed_af", "--by", "dr-b")  # fmt: skip
    assert code == 0 and "confirmed AF (dr-b" in out
    code, out, _ = run(capsys, "strip", "show", "7", "--db", str(db))
    assert code == 0
    assert "AF onset (confidence 88 %, HR 121 bpm)" in out
    assert "review    confirmed AF (dr-b" in out and "earlier: not AF (dr-a" in out
    assert "patient p-001" in out and "duration  " in out
    hr = [line for line in out.splitlines() if line.startswith("HR")][0]
    assert "bpm" in hr  # beats found by the device's detector in the strip


@pytest.mark.parametrize("suffix", ["png", "svg"])
def test_show_draws_the_strip_on_paper(
    db: Path, tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / f"strip.{suffix}"
    code, out, _ = run(capsys, "strip", "show", "7", "--db", str(db), "--out", str(out_file))
    assert code == 0 and "25 mm/s" in out
    data = out_file.read_bytes()
    assert data.startswith(b"\x89PNG") if suffix == "png" else b"<svg" in data[:2000]
    if suffix == "svg":  # the page is sized in real millimetres: 10 s rows of 250 mm
        import re

        width = float(re.search(rb'width="([0-9.]+)pt"', data).group(1))  # type: ignore[union-attr]
        assert width / 72 * 25.4 == pytest.approx(280.0, abs=0.5)


def test_errors_are_one_line(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "strip", "show", "8", "--db", str(db))
    assert code == 1 and "still on the device" in err and "strip get 8" in err
    code, _, err = run(capsys, "strip", "show", "99", "--db", str(db))
    assert code == 1 and err.count("\n") == 1 and "no strip #99" in err
    code, _, err = run(capsys, "strip", "review", "8", "--db", str(db), "--verdict", "not_af",
                       "--by", "x")  # fmt: skip
    assert code == 1 and "no stored strip" in err


def test_help_names_every_action(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["strip", "--help"])
    text = capsys.readouterr().out
    for action in ("list", "get", "show", "review"):
        assert action in text
    with pytest.raises(SystemExit):
        main(["strip", "get", "--help"])
    assert "STRIP_RELEASE" in capsys.readouterr().out


def test_strip_get_fetches_from_wearsense_emulate(tmp_path: Path) -> None:
    """`wearsense emulate` and the companion as separate processes over Bumble's virtual
    controllers: an on-demand recording makes a strip the device announces ("on device"
    in `strip list`); `strip get` fetches it, stores it ("stored") and releases it."""
    import subprocess

    ports = ",".join(map(str, free_ports()))
    cli = CLI
    db = tmp_path / "c.db"
    link = ["--controllers", ports, "--keystore", str(tmp_path / "keys.json")]
    emulator = subprocess.Popen(
        [*cli, "emulate", "--state-dir", str(tmp_path / "emu"), "--controllers", ports]
        + ["--speed", "20", "--duration", "120"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert emulator.stdout is not None
    emulator.stdout.readline()  # its first line: the controllers listen
    try:
        got = subprocess.run(
            [*cli, "companion", "--db", str(db), *link, "--record", "10", "--duration", "15"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert got.returncode == 0, got.stdout + got.stderr
        listed = subprocess.run(
            [*cli, "strip", "list", "--db", str(db)], capture_output=True, text=True, timeout=30
        )
        assert listed.returncode == 0, listed.stderr
        # time, device, epoch, number, reason, seconds, state
        rows = [r.split() for r in listed.stdout.splitlines() if "recording" in r]
        assert rows and rows[0][-3:-1] == ["on", "device"], listed.stdout
        strip_id = int(rows[0][3])
        fetched = subprocess.run(
            [*cli, "strip", "get", str(strip_id), "--db", str(db), *link],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert fetched.returncode == 0, fetched.stdout + fetched.stderr
        assert "stored; released" in fetched.stdout
    finally:
        emulator.terminate()
        try:
            emulator.wait(timeout=10)
        except subprocess.TimeoutExpired:
            emulator.kill()
            emulator.wait()
    with Store(db) as store:
        stored = st.list_strips(store)
    assert any(s.strip_id == strip_id and s.stored for s in stored)
