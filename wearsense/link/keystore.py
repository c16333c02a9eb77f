"""The bond keys of a Bumble stack in a JSON file that only its owner may read: Bumble's
``JsonKeyStore`` writes its file with the process's umask (0644 as a rule), so the long-term
keys of every bond (LTK, IRK, CSRK) were readable by every user of the computer. Here the
file is written in a fresh file created with mode 0600 (``write_private``), and a keystore
its group or others may read or change is refused, at open and at every load, with one
clear error instead of being used."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bumble.keys import JsonKeyStore

from wearsense.link.errors import LinkError
from wearsense.store.private_files import PrivateFileError, check_private, write_private

WHAT = "bond keystore"


class PrivateJsonKeyStore(JsonKeyStore):
    """Bumble's ``JsonKeyStore`` (same file format) kept private to its owner."""

    def __init__(self, path: Path) -> None:
        open_keystore_check(path)
        super().__init__(namespace=None, filename=str(path))

    async def load(self) -> tuple[dict[str, dict[str, dict[str, Any]]], dict[str, dict[str, Any]]]:
        check_private(Path(self.filename), WHAT)  # PrivateFileError: chmod-ed since the open
        return await super().load()

    async def save(self, db: dict[str, dict[str, dict[str, Any]]]) -> None:
        write_private(Path(self.filename), json.dumps(db, sort_keys=True, indent=4).encode())


def open_keystore_check(path: Path) -> None:
    """``LinkError`` when the keystore at ``path`` is open to its group or to others."""
    try:
        check_private(path, WHAT)
    except PrivateFileError as exc:
        raise LinkError(str(exc)) from exc
