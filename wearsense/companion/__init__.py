"""The companion (layer 7, docs/architecture.md): the one place that builds a companion
(store, Bumble stack or this computer's adapter, virtual controllers, BLE session, the
watcher of the wearable's model versions) and the operations on a connected wearable.
The faces (``wearsense.cli``, ``tui``) call it and wire nothing themselves.

- ``build``: :class:`Companion`, :class:`Radio`, :class:`Central` and the functions that
  open them one by one (``open_store``, ``open_central``, ``make_session``).
- ``model_updates``: push a model package (guard, transfer with resume, confirmation).
- ``requests``: posture calibration, on-demand ECG recording.

Each coming capability (ECG strips, firmware updates, personal models, fleet learning)
is one more module here beside these, over the same session, with a method on
:class:`Companion`.
"""

from wearsense.companion.build import (
    COMPANION_ADDRESS,
    IN_PROCESS_ADDRESS,
    PUSH_ADDRESS,
    Central,
    Companion,
    Radio,
    in_process_config,
    make_session,
    open_central,
    open_store,
)
from wearsense.companion.model_updates import PushError, PushFailure, PushReport

__all__ = [
    "COMPANION_ADDRESS",
    "IN_PROCESS_ADDRESS",
    "PUSH_ADDRESS",
    "Central",
    "Companion",
    "PushError",
    "PushFailure",
    "PushReport",
    "Radio",
    "in_process_config",
    "make_session",
    "open_central",
    "open_store",
]
