"""Files only their owner may read: signing keys, bond keys (the companion's keystore, the
emulated wearable's ``<serial>-keys.json``) and anything else that is a secret on disk.

- :func:`write_private` writes a whole file that is created with mode 0600 (a fresh
  file beside it, renamed over the old one), so there is no moment at which the secret
  sits in a file others may read, and an old file's looser mode is not inherited.
- :func:`read_private` reads one and refuses it, with one clear error, when its group or
  others have any access (mode & 0o077): a key others could read is no longer a secret,
  and one others could write may have been replaced.

POSIX modes only: on a system without them (Windows) the check passes.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

PRIVATE_MODE = 0o600
OPEN_TO_OTHERS = stat.S_IRWXG | stat.S_IRWXO  # 0o077


class PrivateFileError(OSError):
    """A secret file that others may read or change (or that cannot be written private)."""


def _checks_modes() -> bool:
    return os.name == "posix"


def check_private(path: Path, what: str, st: os.stat_result | None = None) -> None:
    """Raises :class:`PrivateFileError` when ``path`` (a ``what``, e.g. "signing key") is
    open to its group or to others; a missing file passes (the caller reports that)."""
    if not _checks_modes():
        return
    if st is None:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return
    mode = stat.S_IMODE(st.st_mode)
    if mode & OPEN_TO_OTHERS:
        raise PrivateFileError(
            f"{path}: the {what} may be read or changed by other users (mode {mode:04o}); "
            f"it must be private to its owner: chmod 600 {path}"
        )


def read_private(path: Path, what: str) -> bytes:
    """The bytes of a private file, after :func:`check_private` on the file it read (the
    check and the read are of one open file). ``OSError`` when it cannot be read."""
    with path.open("rb") as handle:
        check_private(path, what, os.fstat(handle.fileno()))
        return handle.read()


def write_private(path: Path, data: bytes) -> None:
    """Replaces ``path`` with ``data`` in a file created with mode 0600 (and its folder,
    when missing, with 0700); the old file, if any, is replaced whole (rename)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # mkstemp creates the file O_EXCL with mode 0600, whatever the umask
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
