"""Which device identity each of the companion's bonds was made with (docs/link.md,
"Security").

A bond is kept per peer address (the identity address the keys are stored under). The
first time a session syncs over a bond it records the device's identity there: its
serial number and epoch. Later the same bond must bring the same serial and an epoch at
least as high (a factory reset starts a higher one, announced by STATUS page 0; a lower
one would make the store skip the device's new events as duplicates). Anything else is
refused with :class:`IdentityChanged` before a single event is stored.

:class:`BondIdentities` keeps the records in a small JSON file beside the companion's
keystore (written 0600), read and written at each use so two companions on the same
keystore (``wearsense companion``, ``wearsense update push``) see one record; without a
file it keeps them in memory.
"""

from __future__ import annotations

import json
from pathlib import Path

from wearsense.link.errors import LinkError
from wearsense.store.private_files import read_private, write_private


class IdentityChanged(LinkError):
    """A bonded device reported another serial, or an older epoch, than its bond was made
    with. Nothing from it is stored."""


class BondIdentities:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._memory: dict[str, dict[str, object]] = {}

    @classmethod
    def beside(cls, keystore: Path | None) -> BondIdentities:
        """The record kept next to the keystore file ``keys.json`` (``keys-identities.json``);
        in memory when there is no keystore file."""
        if keystore is None:
            return cls()
        return cls(keystore.with_name(f"{keystore.stem}-identities.json"))

    def _load(self) -> dict[str, dict[str, object]]:
        if self.path is None:
            return self._memory
        try:
            data = json.loads(read_private(self.path, "record of bonded devices"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise LinkError(f"cannot read the bond identities in {self.path}: {exc}") from exc
        return data if isinstance(data, dict) else {}

    def _save(self, data: dict[str, dict[str, object]]) -> None:
        if self.path is None:
            self._memory = data
            return
        write_private(self.path, json.dumps(data, indent=1, sort_keys=True).encode())

    def bound(self, bond: str) -> tuple[str, int] | None:
        """(serial, epoch) the bond with ``bond`` was made with, or None."""
        entry = self._load().get(bond)
        if not isinstance(entry, dict):
            return None
        serial, epoch = entry.get("serial"), entry.get("epoch")
        if not isinstance(serial, str) or not isinstance(epoch, int):
            return None
        return serial, epoch

    def check(self, bond: str, serial: str, epoch: int) -> None:
        """Raises :class:`IdentityChanged` when the bond with ``bond`` was made with
        another serial, or a higher epoch, than ``serial`` / ``epoch``."""
        known = self.bound(bond)
        if known is None:
            return
        was_serial, was_epoch = known
        if serial != was_serial or epoch < was_epoch:
            raise IdentityChanged(
                f"refused {serial} epoch {epoch} at {bond}: this bond was made with "
                f"{was_serial} (epoch {was_epoch}); a device whose identity changed under "
                "the same bond is not trusted and nothing was stored (if the wearable was "
                f"really replaced, remove {bond} from {self.path or 'the bond records'} "
                "and from the keystore)"
            )

    def bind(self, bond: str, serial: str, epoch: int) -> None:
        """Records (or moves forward) the identity of the bond with ``bond``."""
        self.check(bond, serial, epoch)
        data = self._load()
        if data.get(bond) != {"serial": serial, "epoch": epoch}:
            data[bond] = {"serial": serial, "epoch": epoch}
            self._save(data)

    def forget(self, bond: str) -> None:
        data = self._load()
        if data.pop(bond, None) is not None:
            self._save(data)
