"""Replay: real recordings through the device core (the firmware's detectors), events
out, event-level results against the datasets' annotations (docs/replay.md).

``sources`` reads the recordings, ``device`` wraps the C core for one recording,
``runner`` feeds and collects, ``scoring`` holds the pure scoring rules; the command
`wearsense replay` is ``wearsense.cli.replay``.
"""
