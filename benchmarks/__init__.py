"""Benchmarks run by `make bench`: every module `benchmarks/bench_<area>.py` defines
``KEY`` (its top-level key in build/bench/results.json) and ``run() -> dict``."""
