"""The device's energy budget: currents of a stated part (cited per value in
``profiles/<name>.json``), Bluetooth LE link-layer arithmetic, and the day's charge for
inference, radio and sleep; events only against raw streaming (docs/budget.md)."""

from wearsense.budget.model import BudgetError, Link, Profile, Streams, day_budget, load_profile

__all__ = ["BudgetError", "Link", "Profile", "Streams", "day_budget", "load_profile"]
