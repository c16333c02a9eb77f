# The terminal UI (docs/tui.md).
.PHONY: test-tui bench-tui tui-screenshots

test-tui: $(STAMP)
	$(PY) -m pytest -q tests/test_tui.py tests/test_tui_snapshots.py tests/test_tui_e2e.py

bench-tui: $(STAMP)
	$(PY) -m benchmarks tui

# Regenerates docs/screenshots/*.svg from the example store (tui/example.py), and
# updates_push.svg from a real push to the emulated wearable (needs the firmware build).
tui-screenshots: $(STAMP) firmware
	$(PY) tools/tui_screenshots.py
