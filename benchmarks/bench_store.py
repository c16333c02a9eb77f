"""Store and export throughput (`python -m benchmarks store`).

- ``ingest_events_per_s``: one year of one wearer's events (synthetic stream of
  ``wearsense.testing.simulate_store``, about 100 000 events) ingested the way the BLE link does
  (each event with its wire bytes, encoded before the clock starts: the device made them),
  in batches of ``BATCH`` (32) events, each batch one committed (synchronous=FULL, WAL)
  transaction, into a fresh database file in a temporary directory: the same batch size
  as every earlier run of this key, so the figures compare. The disk's flush per commit
  bounds that rate: ``fsync_ms`` is one measured write+fdatasync of this disk, and 32
  events per flush can go no faster than ``32 / fsync_ms`` per ms.
  ``ingest_events_per_s_batch512``: the same in batches of 512, the device queue's
  capacity: the link stores whatever its notification queue holds as one batch, so a
  reconnect that drains a full queue commits batches of that size.
- ``export_year_s``: the time to export that patient's year in the slowest of the four
  formats (``export_year_slowest``), counting the selection of the events
  (``export_select_s``) that every format starts with, as one `wearsense export FORMAT`
  does; ``export_<format>_s`` gives each writer alone (FHIR Bundle, CSV, EDF+ per day,
  PDF/PNG report) and ``export_all_formats_s`` the selection plus all four.
  ``*_cpu_s``: CPU time of this process for the same work, less sensitive to a machine
  shared with other jobs than the wall-clock figures.
- ``overlapping_episodes``: AF episodes and falls awaiting a cancel that overlap another
  of the same patient (``wearsense.store.derived.overlapping_episodes``), over the demo's
  store after ``demo_s`` seconds of `wearsense demo --check` on a fresh folder (the
  wearable replaying its looping recordings at the default speed; the check made to
  wait the whole time instead of stopping at the first events; ``WEARSENSE_BENCH_DEMO_S``,
  default 600). The issue wants 0.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

KEY = "store"
BATCH = 32  # the headline rate's batch, as in every earlier run
LARGE_BATCH = 512  # the device queue's capacity: one reconnect's backlog
START_UTC = 1_704_067_200  # 2024-01-01T00:00:00Z
DAYS = 365
DEMO_S = float(os.environ.get("WEARSENSE_BENCH_DEMO_S", "600"))


def run() -> dict[str, Any]:
    from wearsense.export import select
    from wearsense.export.edf import write_edf
    from wearsense.export.fhir import write_fhir
    from wearsense.export.report import write_report
    from wearsense.export.table import write_csv
    from wearsense.protocol import encode
    from wearsense.store import Store
    from wearsense.testing.simulate_store import wearer_events

    # As the link hands them over: each event with the bytes it was decoded from (the
    # device encoded them; the store keeps the radio's bytes, it does not encode again).
    events = [(e, encode(e)) for e in wearer_events(START_UTC, DAYS, seed=7)]
    results: dict[str, Any] = {"events": len(events), "ingest_batch": BATCH}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with Store(folder / "bench.db") as store:
            store.add_patient("bench-1", "Europe/Berlin")
            store.assign("SN-BENCH", "bench-1", start_utc=START_UTC - 60)
            started, cpu = time.perf_counter(), time.process_time()
            acked = 0
            for i in range(0, len(events), BATCH):
                acked = store.ingest("SN-BENCH", 1, events[i : i + BATCH])
            elapsed = time.perf_counter() - started
            assert acked == len(events), (acked, len(events))
            results["ingest_s"] = round(elapsed, 3)
            results["ingest_events_per_s"] = round(len(events) / elapsed, 1)
            results["ingest_cpu_s"] = round(time.process_time() - cpu, 3)
            started = time.perf_counter()
            store.ingest("SN-BENCH", 1, events[:BATCH])
            results["reingest_batch_ms"] = round((time.perf_counter() - started) * 1000, 2)
        results.update(_large_batches(folder, events))
        results["fsync_ms"] = _fsync_ms(folder)
        with Store(folder / "bench.db") as store:
            parts: dict[str, float] = {}
            cpu = time.process_time()
            t0 = time.perf_counter()
            data = select(store, "bench-1")
            parts["export_select_s"] = time.perf_counter() - t0
            for name, write in (
                ("fhir", lambda: write_fhir(data, folder / "year.json")),
                ("csv", lambda: write_csv(data, folder / "year.csv")),
                ("edf", lambda: write_edf(data, folder / "edf")),
                ("report", lambda: write_report(data, folder / "year")),
            ):
                t0 = time.perf_counter()
                write()
                parts[f"export_{name}_s"] = time.perf_counter() - t0
            results.update({k: round(v, 3) for k, v in parts.items()})
            select_s = parts["export_select_s"]
            formats = {k: v for k, v in parts.items() if k != "export_select_s"}
            # what one `wearsense export FORMAT` costs: the selection plus that writer
            results["export_year_s"] = round(select_s + max(formats.values()), 3)
            results["export_year_slowest"] = max(formats, key=formats.__getitem__)[7:-2]
            results["export_all_formats_s"] = round(sum(parts.values()), 3)
            results["export_year_cpu_s"] = round(time.process_time() - cpu, 3)
            results["export_events"] = len(data.events)
            results["db_mib"] = round((folder / "bench.db").stat().st_size / 2**20, 1)
    results.update(demo_overlaps(DEMO_S))
    return results


def _large_batches(folder: Path, events: list[Any]) -> dict[str, float]:
    from wearsense.store import Store

    with Store(folder / "large.db") as store:
        store.add_patient("bench-1", "Europe/Berlin")
        store.assign("SN-BENCH", "bench-1", start_utc=START_UTC - 60)
        started, cpu = time.perf_counter(), time.process_time()
        for i in range(0, len(events), LARGE_BATCH):
            store.ingest("SN-BENCH", 1, events[i : i + LARGE_BATCH])
        elapsed = time.perf_counter() - started
        return {
            "ingest_events_per_s_batch512": round(len(events) / elapsed, 1),
            "ingest_cpu_s_batch512": round(time.process_time() - cpu, 3),
        }


def _fsync_ms(folder: Path, rounds: int = 50) -> float:
    """One 4 KiB write and fdatasync of this disk (the median of ``rounds``)."""
    import os
    import statistics

    path = folder / "fsync.bin"
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    times = []
    try:
        for _ in range(rounds):
            started = time.perf_counter()
            os.write(fd, b"\0" * 4096)
            os.fdatasync(fd)
            times.append(time.perf_counter() - started)
    finally:
        os.close(fd)
        path.unlink()
    return round(statistics.median(times) * 1000, 3)


def demo_overlaps(seconds: float) -> dict[str, Any]:
    """Runs the demo (headless ``--check``) on one fresh folder for ``seconds``, then
    counts the overlapping episodes of its store."""
    import contextlib
    import io
    from unittest import mock

    from wearsense.cli import demo
    from wearsense.cli.main import build_parser
    from wearsense.protocol import EventKind
    from wearsense.store import Store, derived

    never = dict.fromkeys(demo.EXPECTED, "(wait the whole time)")
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        runs = 0
        while runs == 0 or time.perf_counter() - started < seconds - 5:
            left = max(10.0, seconds - (time.perf_counter() - started))
            argv = ["demo", "--folder", folder, "--check", str(left)]
            args = build_parser(argv).parse_args(argv)
            with contextlib.redirect_stdout(io.StringIO()), mock.patch.dict(demo.EXPECTED, never):
                demo.run(args)
            runs += 1
        ran = time.perf_counter() - started
        with Store(Path(folder) / "demo.db") as store:
            kinds = {
                k: len(store.events(types=[k]))
                for k in (EventKind.AF_START, EventKind.AF_END, EventKind.FALL)
            }
            overlaps = derived.overlapping_episodes(store, now=time.time())
    return {
        "overlapping_episodes": overlaps,
        "demo_s": round(ran, 1),
        "demo_runs": runs,
        "demo_af_starts": kinds[EventKind.AF_START],
        "demo_af_ends": kinds[EventKind.AF_END],
        "demo_falls": kinds[EventKind.FALL],
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
