"""`wearsense demo` wires the whole emulated wearable (detectors on the shipped MIT-BIH and
UMAFall samples), the companion session and the terminal UI; headless (`--check`), an event
of each kind the running models produce must reach the screen and the store over BLE.
Nothing is scripted: AF comes from the AFib model on record 219's AF, the fall from the
forward-fall trial, activity changes from the ADL trials."""

from __future__ import annotations

from wearsense.cli import main
from wearsense.emulator.updatable_device import factory_packages
from wearsense.store import Store
from wearsense.updates import package as pkg

SPEED = "40"  # 66 s of signal (the fall) in under 2 s


def _shipped_tasks() -> set[int]:
    return {pkg.parse(p.read_bytes()).header.task for p in factory_packages()}


def test_demo_check_shows_the_detectors_events(tmp_path, capsys):
    assert main(["demo", "--folder", str(tmp_path), "--check", "30", "--speed", SPEED]) == 0
    out = capsys.readouterr().out
    assert "first detector event on screen" in out
    tasks = _shipped_tasks()
    assert 0 in tasks  # the AFib model ships with the repository
    expected = {0: "af_start", 1: "fall", 2: "activity_change"}
    store = Store(tmp_path / "demo.db")
    try:
        first = store.count_events()
        stored = {e.type for e in store.events(include_unplaced=True)}
        for task in tasks:
            assert f"{expected[task]} on screen" in out
            assert expected[task] in stored
        if 1 in tasks:
            assert "fall alert raised on screen" in out
        af = [e for e in store.events(include_unplaced=True) if e.type == "af_start"]
        factory = {
            h.task: h.model_version
            for h in (pkg.parse(p.read_bytes()).header for p in factory_packages())
        }
        assert af and all(e.model_version == factory[0] for e in af)  # the factory model's
    finally:
        store.close()
    # A second run reuses the bond, the flash and the model store: sequence numbers go on,
    # and the check counts only this run's events (the stored ones are on screen at once).
    assert main(["demo", "--folder", str(tmp_path), "--check", "30", "--speed", SPEED]) == 0
    assert "af_start on screen" in capsys.readouterr().out
    store = Store(tmp_path / "demo.db")
    try:
        assert store.count_events() > first
    finally:
        store.close()


def test_damaged_saved_state_is_refused_with_its_folder(tmp_path, capsys):
    """A wearable state file of the wrong size (here the settings) stops the demo and the
    emulator with one line that names where it lies; nothing is overwritten."""
    (tmp_path / "wearable.settings").write_bytes(b"abc")
    assert main(["demo", "--folder", str(tmp_path), "--check", "5"]) == 1
    out = capsys.readouterr().out
    assert f"error: the wearable's saved state in {tmp_path}: settings image of 3 bytes" in out
    assert (tmp_path / "wearable.settings").read_bytes() == b"abc"
    emu = tmp_path / "emu"
    emu.mkdir()
    (emu / "WS-TEST.flash").write_bytes(b"x" * 10)
    code = main(["emulate", "--serial", "WS-TEST", "--state-dir", str(emu), "--duration", "1"])
    assert code == 2
    assert "error: the saved state of WS-TEST in" in capsys.readouterr().out
    assert (emu / "WS-TEST.flash").read_bytes() == b"x" * 10


def test_check_counts_only_what_the_wearable_detects_in_this_run(tmp_path, capsys):
    """Issue #30: `--check` counted the previous run's events. An AF onset the wearable
    still holds in its flash from before (never delivered) is stored when this run starts,
    but it is not this run's detection: at 1x, 3 s are far too short for the AF in the
    recording (30 s of signal), so the check must not report one."""
    from wearsense.emulator.updatable_device import open_saved, save
    from wearsense.protocol import AfStart

    stem = tmp_path / "wearable"
    core, _ = open_saved("WS-DEMO0001", stem)
    core.inject(AfStart(0, core.now_s, 0, hr_bpm=140, confidence=90, onset_lag_s=20))
    save(core, stem)
    assert main(["demo", "--folder", str(tmp_path), "--check", "3", "--speed", "1"]) == 1
    out = capsys.readouterr().out
    assert "af_start on screen" not in out
    assert "missing after 3 s" in out and "af_start" in out
    with Store(tmp_path / "demo.db") as store:  # it was delivered and stored all the same
        assert any(e.type == "af_start" for e in store.events(include_unplaced=True))


def test_the_demo_names_its_device_and_replay_speed_at_start(tmp_path, capsys):
    main(["demo", "--folder", str(tmp_path), "--check", "1", "--speed", "1"])
    out = capsys.readouterr().out
    assert "serial WS-DEMO0001" in out and "replayed x1" in out
