"""`wearsense demo` wires the emulated wearable, the companion session and the terminal UI;
headless (`--check`), what the device core sends must reach the store over BLE."""

from __future__ import annotations

from wearsense.cli import main
from wearsense.store import Store


def test_demo_check_stores_what_the_wearable_sends(tmp_path, capsys):
    assert main(["demo", "--folder", str(tmp_path), "--check", "1"]) == 0
    assert "companion streaming" in capsys.readouterr().out
    store = Store(tmp_path / "demo.db")
    try:
        first = store.count_events()
        assert first >= 3  # the three STATUS pages the core queues at boot
    finally:
        store.close()
    # A second run reuses the bond and the wearable's flash: sequence numbers go on.
    assert main(["demo", "--folder", str(tmp_path), "--check", "1"]) == 0
    store = Store(tmp_path / "demo.db")
    try:
        assert store.count_events() > first
    finally:
        store.close()
