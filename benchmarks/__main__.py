"""`python -m benchmarks [AREA ...]`: runs the benchmark modules and writes
build/bench/results.json (one top-level key per area), build/bench/results.md and
docs/status.md (the figures the docs show, benchmarks/status.py).

Results of areas not run this time are kept from the previous results.json, so one
area can be re-measured alone. results.json is written after every area, and an area that
reads other areas' figures (``RUN_LAST = True``: the device budget reads the replay and
interpreter results) runs after the others.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.status import write_status

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "bench"


def _modules() -> list[str]:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    last = {n for n in names if "\nRUN_LAST = True" in (here / f"{n}.py").read_text()}
    return [n for n in names if n not in last] + [n for n in names if n in last]


def _flatten(prefix: str, value: Any, rows: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, rows)
    else:
        text = f"{value:.4g}" if isinstance(value, float) else json.dumps(value)
        rows.append((prefix, text))


def write_table(results: dict[str, Any]) -> str:
    rows: list[tuple[str, str]] = []
    _flatten("", results, rows)
    lines = ["| metric | value |", "| --- | --- |"]
    lines += [f"| `{name}` | {value} |" for name, value in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("areas", nargs="*", help="bench_<area> modules to run (default: all)")
    args = parser.parse_args(argv)
    wanted = {f"bench_{a}" for a in args.areas}
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "results.json"
    results: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    failed = False
    for name in _modules():
        if wanted and name not in wanted:
            continue
        module = importlib.import_module(f"benchmarks.{name}")
        started = time.perf_counter()
        print(f"[bench] {name} ...", flush=True)
        try:
            area = module.run()
        except Exception as exc:  # one failing area must not hide the others' figures
            print(f"[bench] {name} FAILED: {exc!r}", file=sys.stderr)
            failed = True
            continue
        results.setdefault(module.KEY, {}).update(area)
        path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        print(f"[bench] {name} done in {time.perf_counter() - started:.1f} s", flush=True)
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    (OUT / "results.md").write_text(write_table(results))
    print(write_table(results))
    status = write_status(results)
    print(f"wrote {path.relative_to(ROOT)}, results.md and {status.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
