"""The package registry: which model packages exist (task, version, hash, evaluated metrics)
and which device runs which, in a small SQLite file of its own (``--registry``, else
``$WEARSENSE_REGISTRY``, else ``updates.db`` beside the event store:
:func:`default_registry_path`). It is kept apart from the event store on purpose: the store
holds what devices *reported* (clinical data, kept forever), the registry what the
publisher *shipped* (replaceable, rebuildable from the package files and the devices'
STATUS pages).

Only a package a device would accept is registered: its model hash and its Ed25519
signature must verify under one of the registry's **trusted keys** (by default the key
the firmware of this host build trusts, or the public keys named in
``$WEARSENSE_TRUSTED_KEYS``). An untrusted or tampered package is refused
(:class:`UntrustedPackage`) and leaves no trace, so the genuine package of the same task
and version can still be added.

The rollout guard (:func:`guard`) compares one evaluated metric (``macro_f1`` by default,
higher is better) of the package to push with the one the device runs, and refuses a worse
(or unevaluated) model unless forced.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wearsense.firmware.package import FirmwarePackages
from wearsense.protocol.errors import Status
from wearsense.store import default_db_path
from wearsense.updates import package as pkg
from wearsense.updates.errors import PackageError
from wearsense.updates.keys import PublicKey, load_public_key

SCHEMA = """
CREATE TABLE IF NOT EXISTS packages (
    sha256 TEXT PRIMARY KEY,
    task INTEGER NOT NULL,
    version INTEGER NOT NULL,
    size INTEGER NOT NULL,
    placement INTEGER NOT NULL,
    dev_key INTEGER NOT NULL,
    model_sha256 TEXT NOT NULL,
    metrics TEXT,
    path TEXT,
    added_utc REAL NOT NULL,
    UNIQUE (task, version)
);
CREATE TABLE IF NOT EXISTS installs (
    serial TEXT NOT NULL,
    task INTEGER NOT NULL,
    version INTEGER NOT NULL,
    reported_utc REAL NOT NULL,
    PRIMARY KEY (serial, task)
);
CREATE TABLE IF NOT EXISTS rollouts (
    id INTEGER PRIMARY KEY,
    serial TEXT NOT NULL,
    task INTEGER NOT NULL,
    from_version INTEGER,
    to_version INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT,
    at_utc REAL NOT NULL
);
"""
DEFAULT_METRIC = "macro_f1"
ENV_REGISTRY = "WEARSENSE_REGISTRY"
ENV_TRUSTED_KEYS = "WEARSENSE_TRUSTED_KEYS"  # public key files, separated by os.pathsep


class RegistryError(ValueError):
    """A registry request that cannot be met (unknown package, conflicting version)."""


class UntrustedPackage(RegistryError):
    """The package is not signed by a trusted key, or its hash or signature does not verify
    (tampered); it was not registered. ``status`` is what the device would answer."""

    def __init__(self, status: Status, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class GuardRefusal(RegistryError):
    """The rollout guard refused the package (its metrics are worse or unknown)."""


@dataclasses.dataclass(frozen=True)
class PackageRecord:
    sha256: str
    task: int
    version: int
    size: int
    placement: int
    dev_key: bool
    model_sha256: str
    metrics: dict[str, Any] | None
    path: str | None

    def metric(self, name: str) -> float | None:
        value = (self.metrics or {}).get(name)
        return float(value) if isinstance(value, int | float) else None


def default_registry_path(db: Path | None = None) -> Path:
    """``$WEARSENSE_REGISTRY``, else ``updates.db`` beside the event store ``db`` (the
    default event store when None)."""
    env = os.environ.get(ENV_REGISTRY)
    if env:
        return Path(env)
    return (db if db is not None else default_db_path()).with_name("updates.db")


def default_trusted_keys() -> list[PublicKey]:
    """The public keys in ``$WEARSENSE_TRUSTED_KEYS`` (files separated by ``os.pathsep``),
    else the key the firmware of this host build trusts (the development key in a
    development checkout: the emulator's). ``KeyFileError`` when a named file is no key."""
    env = os.environ.get(ENV_TRUSTED_KEYS)
    if env:
        return [load_public_key(Path(p)) for p in env.split(os.pathsep) if p]
    return [PublicKey(FirmwarePackages().trusted_key(), "firmware-trusted")]


def metrics_beside(package_path: Path) -> Path | None:
    """``metrics.json`` next to a package (the layout of models/<task>/), if any."""
    candidate = package_path.with_name("metrics.json")
    return candidate if candidate.is_file() else None


class Registry:
    """The registry file at ``path``; ``trusted_keys`` are the keys a package must be
    signed by to be registered (default: :func:`default_trusted_keys`)."""

    def __init__(self, path: Path, trusted_keys: Sequence[PublicKey] | None = None) -> None:
        self.trusted_keys = (
            list(trusted_keys) if trusted_keys is not None else default_trusted_keys()
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path)
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def add(
        self, data: bytes, *, metrics: dict[str, Any] | None = None, path: Path | None = None
    ) -> PackageRecord:
        """Registers a well-formed package signed by a trusted key (:meth:`verify`); adding
        the same bytes again updates its metrics. Another package with the same task and
        version is refused (``RegistryError``), and so is an untrusted or tampered one
        (:class:`UntrustedPackage`): neither is recorded."""
        parsed = self.verify(data)
        header = parsed.header
        digest = hashlib.sha256(data).hexdigest()
        if metrics is not None and metrics.get("model_sha256") not in (
            None,
            header.model_sha256.hex(),
        ):
            raise RegistryError("the metrics were measured on another model (model_sha256 differs)")
        existing = self.find(header.task, header.model_version)
        if existing is not None and existing.sha256 != digest:
            raise RegistryError(
                f"{pkg.Task(header.task).name.lower()} version {header.model_version} is "
                f"already registered with other bytes ({existing.sha256[:12]}...)"
            )
        with self._db:
            self._db.execute(
                "INSERT INTO packages VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(sha256) DO UPDATE "
                "SET metrics = COALESCE(excluded.metrics, metrics), path = excluded.path",
                (
                    digest,
                    header.task,
                    header.model_version,
                    len(data),
                    header.placement,
                    int(header.dev_key),
                    header.model_sha256.hex(),
                    json.dumps(metrics) if metrics is not None else None,
                    str(path) if path is not None else None,
                    time.time(),
                ),
            )
        record = self.find(header.task, header.model_version)
        assert record is not None
        return record

    def verify(self, data: bytes) -> pkg.ModelPackage:
        """The parsed package when it is well formed, its model hash matches its header and
        its signature verifies under the trusted key its header names; otherwise
        ``PackageError`` (not a package) or :class:`UntrustedPackage`."""
        parsed = pkg.parse(data)
        header = parsed.header
        name = f"{pkg.Task(header.task).name.lower()} v{header.model_version}"
        key = next((k for k in self.trusted_keys if k.key_id == header.key_id), None)
        if key is None:
            trusted = ", ".join(k.key_id.hex() for k in self.trusted_keys) or "none"
            dev = " (the DEVELOPMENT key)" if header.dev_key else ""
            raise UntrustedPackage(
                Status.PKG_KEY,
                f"{name} is signed by key {header.key_id.hex()}{dev}, which this registry "
                f"does not trust (trusted: {trusted}); not registered",
            )
        try:
            return pkg.verify(data, key)
        except PackageError as exc:
            raise UntrustedPackage(
                exc.status, f"{name} does not verify ({exc}); not registered"
            ) from exc

    def _record(self, row: tuple[Any, ...]) -> PackageRecord:
        return PackageRecord(
            sha256=row[0],
            task=row[1],
            version=row[2],
            size=row[3],
            placement=row[4],
            dev_key=bool(row[5]),
            model_sha256=row[6],
            metrics=json.loads(row[7]) if row[7] else None,
            path=row[8],
        )

    def find(self, task: int, version: int) -> PackageRecord | None:
        row = self._db.execute(
            "SELECT * FROM packages WHERE task = ? AND version = ?", (task, version)
        ).fetchone()
        return self._record(row) if row else None

    def packages(self) -> list[PackageRecord]:
        rows = self._db.execute("SELECT * FROM packages ORDER BY task, version").fetchall()
        return [self._record(r) for r in rows]

    def record_install(self, serial: str, task: int, version: int) -> None:
        """What a device reported running (STATUS page 1)."""
        with self._db:
            self._db.execute(
                "INSERT INTO installs VALUES (?,?,?,?) ON CONFLICT(serial, task) DO UPDATE "
                "SET version = excluded.version, reported_utc = excluded.reported_utc",
                (serial, task, version, time.time()),
            )

    def installed(self, serial: str, task: int) -> int | None:
        row = self._db.execute(
            "SELECT version FROM installs WHERE serial = ? AND task = ?", (serial, task)
        ).fetchone()
        return int(row[0]) if row else None

    def installs(self) -> list[tuple[str, int, int]]:
        rows = self._db.execute("SELECT serial, task, version FROM installs ORDER BY serial, task")
        return [(r[0], r[1], r[2]) for r in rows.fetchall()]

    def record_rollout(
        self, serial: str, task: int, from_version: int | None, to_version: int, outcome: str,
        detail: str = "",
    ) -> None:  # fmt: skip
        with self._db:
            self._db.execute(
                "INSERT INTO rollouts (serial, task, from_version, to_version, outcome, detail, "
                "at_utc) VALUES (?,?,?,?,?,?,?)",
                (serial, task, from_version, to_version, outcome, detail, time.time()),
            )

    def rollouts(self, serial: str | None = None) -> list[tuple[str, int, int | None, int, str]]:
        query = "SELECT serial, task, from_version, to_version, outcome FROM rollouts"
        args: tuple[Any, ...] = ()
        if serial is not None:
            query += " WHERE serial = ?"
            args = (serial,)
        return [tuple(r) for r in self._db.execute(query + " ORDER BY id", args)]


def guard(
    candidate: PackageRecord,
    installed: PackageRecord | None,
    *,
    metric: str = DEFAULT_METRIC,
    force: bool = False,
) -> str:
    """Returns why the rollout may go ahead; raises :class:`GuardRefusal` when the candidate's
    evaluated ``metric`` is worse than the installed model's (or either is unknown), unless
    ``force``."""
    new = candidate.metric(metric)
    if installed is None:
        reason = "the device runs no registered model of this task"
        if new is None and not force:
            raise GuardRefusal(f"version {candidate.version} has no evaluated {metric}")
        return reason
    old = installed.metric(metric)
    if new is None or old is None:
        missing = candidate.version if new is None else installed.version
        if force:
            return f"forced: version {missing} has no evaluated {metric}"
        raise GuardRefusal(
            f"version {missing} has no evaluated {metric}; use --force to push anyway"
        )
    if new < old:
        if force:
            return f"forced: {metric} {new:.4f} < installed {old:.4f}"
        raise GuardRefusal(
            f"version {candidate.version} is worse than the installed version "
            f"{installed.version}: {metric} {new:.4f} < {old:.4f}; use --force to push anyway"
        )
    return f"{metric} {new:.4f} >= installed {old:.4f}"
