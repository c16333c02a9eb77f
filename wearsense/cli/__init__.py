"""The `wearsense` command: `main.py` dispatches, one module per command beside it."""

from wearsense.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
