"""What every loader shares: the data root and the one exception type."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_VAR = "WEARSENSE_DATA"


class DatasetError(Exception):
    """A dataset file is missing, unreadable, or says something impossible.

    ``path`` is the file (or folder) at fault; the message names it and says why.
    """

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


def data_root(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The data root: ``data_dir``, else ``$WEARSENSE_DATA``, else ``../shared/data``
    relative to the repository root. Raises DatasetError when it is not a folder."""
    if data_dir is not None:
        root = Path(data_dir)
    elif os.environ.get(ENV_VAR):
        root = Path(os.environ[ENV_VAR])
    else:
        root = REPO_ROOT.parent / "shared" / "data"
    if not root.is_dir():
        raise DatasetError(root, f"data root is not a folder (give --data-dir or set {ENV_VAR})")
    return root


def dataset_dir(name: str, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """``<data root>/<name>``; DatasetError when it is missing."""
    folder = data_root(data_dir) / name
    if not folder.is_dir():
        raise DatasetError(folder, f"dataset folder {name!r} is missing from the data root")
    return folder
