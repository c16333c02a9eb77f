"""docs/status.md is rendered from the bench results and the models' metrics."""

from __future__ import annotations

from benchmarks.status import NOT_MEASURED, PARTS, lookup, render


def _nest(flat: dict[str, object]) -> dict[str, object]:
    tree: dict[str, object] = {}
    for key, value in flat.items():
        node = tree
        *parents, last = key.split(".")
        for name in parents:
            node = node.setdefault(name, {})  # type: ignore[assignment]
        node[last] = value
    return tree


def test_every_figure_comes_from_its_key():
    figures = [f for part in PARTS for f in part.figures]
    bench = {f.key: 1000 + i for i, f in enumerate(figures) if f.source == "bench"}
    tasks: dict[str, dict[str, object]] = {}
    for i, f in enumerate(figures):
        if f.source != "bench":
            tasks.setdefault(f.source, {})[f.key] = 0.5 + i / 1000
    page = render(_nest(bench), {t: _nest(v) for t, v in tasks.items()})
    assert NOT_MEASURED not in page
    for f in figures:
        value = bench[f.key] if f.source == "bench" else tasks[f.source][f.key]
        assert f"{f.label}: {f.fmt(value)}" in page
    for part in PARTS:
        assert page.count(f"\n| {part.name} | {part.state} | ") == 1


def test_a_missing_key_reads_not_measured():
    page = render({}, {})
    assert page.count(NOT_MEASURED) == sum(len(p.figures) for p in PARTS)


def test_lookup_takes_names_with_dots_and_slashes():
    data = {"cross": {"dsads/right_arm": {"a.b": 3}}, "x": 1}
    assert lookup(data, "cross.dsads/right_arm.a.b") == 3
    assert lookup(data, "x") == 1
    assert lookup(data, "x.y") is None
    assert lookup(data, "missing") is None


def test_the_interpreter_table_lists_every_model():
    results = {
        "interpreter": {
            "models": {
                "afib": {"macs": 418976, "instructions_per_mac": 2.897, "arena_bytes": 10672},
                "tiny": {"macs": 8},
                "random3": {"macs": 9},
            }
        }
    }
    page = render(results, {})
    rows = [line for line in page.splitlines() if line.startswith("| afib |")]
    assert len(rows) == 1 and "418 976" in rows[0] and "2.90" in rows[0] and "10 672" in rows[0]
    tiny = next(line for line in page.splitlines() if line.startswith("| tiny |"))
    assert tiny.count(" - ") == 8  # every column but MACs unmeasured
    assert "| random3 |" not in page
    assert "per model" not in render({}, {})


def test_a_partial_run_keeps_the_other_areas_figures_from_the_page_before():
    """Re-measuring one area keeps what the page showed for the others (said on the page),
    takes the new figures of that area, and a figure never measured stays "not measured"."""
    from benchmarks.status import shown_before

    figures = [f for p in PARTS for f in p.figures if f.source == "bench"]
    full = {f.key: 1000 + i for i, f in enumerate(figures)}
    before = shown_before(render(_nest(full), {}))
    second = figures[-1]
    area = second.key.split(".")[0]
    first = next(f for f in figures if f.key.split(".")[0] != area)
    fresh = {k: 7 for k in full if k.split(".")[0] == area}
    page = render(_nest(fresh), {}, before)
    assert f"{second.label}: {second.fmt(7)}" in page
    assert f"{first.label}: {first.fmt(full[first.key])}" in page
    assert "kept from the page before" in page and f"`{area}`" in page
    assert render(_nest(fresh), {}, {}).count(NOT_MEASURED) > 0
    assert render(_nest(full), {}, before) == render(_nest(full), {})  # nothing carried


def test_a_run_without_the_interpreter_keeps_its_table_from_the_page_before():
    from benchmarks.status import INTERPRETER_HEADING, section_before

    results = {"interpreter": {"models": {"afib": {"macs": 418976, "arena_bytes": 10672}}}}
    old_page = render(results, {})
    kept = section_before(old_page)
    assert INTERPRETER_HEADING in kept and any(row.startswith("| afib |") for row in kept)
    page = render({"store": {"ingest_events_per_s": 5.0}}, {}, {}, kept)
    assert page.count(INTERPRETER_HEADING) == 1 and "| afib | 418 976 |" in page
    assert "kept from the page before" in page
    assert INTERPRETER_HEADING not in render({"store": {}}, {}, {}, [])
