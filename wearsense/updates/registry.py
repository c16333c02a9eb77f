"""The package registry: which model packages exist (task, version, hash, evaluated metrics)
and which device runs which, in a small SQLite file of its own (``updates.db`` beside the
event store by default; ``--registry`` or ``$WEARSENSE_REGISTRY``). It is kept apart from
the event store on purpose: the store holds what devices *reported* (clinical data, kept
forever), the registry what the publisher *shipped* (replaceable, rebuildable from the
package files and the devices' STATUS pages).

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
from pathlib import Path
from typing import Any

from wearsense.store import default_db_path
from wearsense.updates import package as pkg

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


class RegistryError(ValueError):
    """A registry request that cannot be met (unknown package, conflicting version)."""


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


def default_registry_path() -> Path:
    env = os.environ.get("WEARSENSE_REGISTRY")
    if env:
        return Path(env)
    return default_db_path().with_name("updates.db")


def metrics_beside(package_path: Path) -> Path | None:
    """``metrics.json`` next to a package (the layout of models/<task>/), if any."""
    candidate = package_path.with_name("metrics.json")
    return candidate if candidate.is_file() else None


class Registry:
    def __init__(self, path: Path) -> None:
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
        """Registers a (parsed, well-formed) package; adding the same bytes again updates its
        metrics. Another package with the same task and version is refused."""
        parsed = pkg.parse(data)
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
