"""The companion's records (docs/store.md): one SQLite file of patients, devices, their
assignments over time, the events the devices sent (idempotent by serial, epoch and
sequence), model versions, update history and the alert outbox.

Every problem raises ``StoreError``. Derived figures (AF burden, wear time, falls,
activity) live in ``wearsense.store.derived``; alerts in ``wearsense.store.alerts``.
"""

from wearsense.store.db import (
    Assignment,
    Device,
    Patient,
    SequenceHole,
    Store,
    StoredEvent,
    default_db_path,
    describe_holes,
    restore,
)
from wearsense.store.errors import StoreError

__all__ = [
    "Assignment",
    "Device",
    "Patient",
    "SequenceHole",
    "Store",
    "StoreError",
    "StoredEvent",
    "default_db_path",
    "describe_holes",
    "restore",
]
