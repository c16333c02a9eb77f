"""Real-data loaders: one module per dataset under the data root.

The data root is a folder laid out like ``shared/data`` (one sub-folder per dataset,
each with its README). It comes from ``--data-dir``, else the ``WEARSENSE_DATA``
environment variable, else ``../shared/data`` relative to the repository root.

Every loader raises :class:`DatasetError` (and nothing else) for a missing, unreadable
or inconsistent file; the message names the file.
"""

from __future__ import annotations

from wearsense.datasets.common import DatasetError, data_root

__all__ = ["DatasetError", "data_root"]
