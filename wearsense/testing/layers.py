"""The layer check: every import of ``wearsense/`` and ``tui/``, read with ``ast``.

Each module belongs to a layer (docs/architecture.md); an import may go to the same or a
lower layer only. This module finds the imports that break the rule:

- arrows that run up (a module importing a higher layer, or the library importing
  ``wearsense.testing``, or a pair of packages the architecture keeps apart);
- cycles between modules (every import counts: module top, inside functions, under
  ``TYPE_CHECKING``);
- imports of our own modules inside functions (they hide cycles and layer breaks).

``tests/test_layers.py`` fails on any of them. Run as a script
(``python -m wearsense.testing.layers``) it prints the layer table and the counts.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOP = ("wearsense", "tui")

# Bottom to top; a package of the host library -> its layer.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("protocol", ("wearsense.protocol",)),
    ("firmware", ("wearsense.firmware", "wearsense._firmware", "wearsense._firmware_asan")),
    ("records", ("wearsense.datasets", "wearsense.ecg", "wearsense.tflite", "wearsense.strips")),
    ("store", ("wearsense.store",)),
    ("transport", ("wearsense.link", "wearsense.emulator")),
    (
        "services",
        (
            "wearsense.updates",
            "wearsense.export",
            "wearsense.training",
            "wearsense.replay",
            "wearsense.budget",
        ),
    ),
    ("companion", ("wearsense.companion",)),
    ("faces", ("wearsense.cli", "tui")),
)
# Beside the layers: harnesses. Tests, benchmarks and the faces import them; the
# library never does. A harness may import any library layer, never a face.
TESTING = "wearsense.testing"
# Pairs of packages on one layer that must not import each other (importer, imported).
APART: tuple[tuple[str, str], ...] = (("wearsense.link", "wearsense.emulator"),)
# Imports of our own modules that stay inside a function, each with its reason.
# (module, imported module): reason. Empty: none is needed.
INNER_ALLOWED: dict[tuple[str, str], str] = {}

FACES = len(LAYERS) - 1


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def layer_of(module: str) -> int | None:
    """The layer's index (0 = bottom), -1 for the harnesses, None for ``wearsense`` itself."""
    if _within(module, TESTING):
        return -1
    for index, (_name, packages) in enumerate(LAYERS):
        if any(_within(module, package) for package in packages):
            return index
    return None


def layer_name(index: int | None) -> str:
    if index is None:
        return "root"
    return "testing" if index == -1 else LAYERS[index][0]


@dataclass(frozen=True)
class Import:
    importer: str  # module that imports
    imported: str  # module imported (a submodule where ``from pkg import submodule``)
    path: str  # file, relative to the repository root
    line: int
    inner: bool  # inside a function


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of ``wearsense/`` and ``tui/`` under ``root`` -> its file."""
    found: dict[str, Path] = {}
    for top in TOP:
        for path in sorted((root / top).rglob("*.py")):
            found[module_name(path, root)] = path
    return found


def _resolve(importer: str, is_package: bool, level: int, module: str | None) -> str:
    if level == 0:
        return module or ""
    base = importer.split(".")
    if not is_package:
        base.pop()
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _own(name: str) -> bool:
    return name.split(".")[0] in TOP


class _Reader(ast.NodeVisitor):
    def __init__(self, importer: str, is_package: bool, path: str, known: set[str]) -> None:
        self.importer = importer
        self.is_package = is_package
        self.path = path
        self.known = known
        self.depth = 0
        self.found: list[Import] = []

    def _add(self, imported: str, node: ast.stmt) -> None:
        if _own(imported):
            self.found.append(
                Import(self.importer, imported, self.path, node.lineno, self.depth > 0)
            )

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function
    visit_Lambda = _function

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = _resolve(self.importer, self.is_package, node.level, node.module)
        targets = dict.fromkeys(
            f"{base}.{alias.name}" if f"{base}.{alias.name}" in self.known else base
            for alias in node.names
        )
        for target in targets:
            self._add(target, node)


def imports(root: Path = ROOT) -> list[Import]:
    """Every import of one of our modules by one of our modules."""
    found = modules(root)
    known = set(found)
    result: list[Import] = []
    for name, path in found.items():
        reader = _Reader(name, path.name == "__init__.py", str(path.relative_to(root)), known)
        reader.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        result.extend(reader.found)
    return result


def unplaced(names: list[str]) -> list[str]:
    """Modules of ours on no layer (a new package must be given one in ``LAYERS``)."""
    return [name for name in names if name != "wearsense" and layer_of(name) is None]


def upward(found: list[Import]) -> list[Import]:
    """Imports that run up a layer, reach the harnesses from the library, or join an
    ``APART`` pair."""
    bad = []
    for imp in found:
        low, high = layer_of(imp.importer), layer_of(imp.imported)
        if high is None:
            continue
        if low is None:  # the root package imports nothing of ours; others: `unplaced`
            wrong = imp.importer == "wearsense"
        elif low == -1:
            wrong = high == FACES
        elif high == -1:
            wrong = low != FACES
        else:
            wrong = high > low
        wrong = wrong or any(
            _within(imp.importer, a) and _within(imp.imported, b) for a, b in APART
        )
        if wrong:
            bad.append(imp)
    return bad


def cycles(found: list[Import]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    graph: dict[str, set[str]] = defaultdict(set)
    for imp in found:
        if imp.imported != imp.importer:
            graph[imp.importer].add(imp.imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:  # recursive: the graph is a few hundred modules
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


def inner(found: list[Import]) -> list[Import]:
    """Own-module imports inside functions, less those ``INNER_ALLOWED`` names."""
    return [imp for imp in found if imp.inner and (imp.importer, imp.imported) not in INNER_ALLOWED]


def _lines(items: list[Import]) -> Iterator[str]:
    for imp in sorted(items, key=lambda i: (i.path, i.line)):
        yield (
            f"  {imp.path}:{imp.line}  {imp.importer} ({layer_name(layer_of(imp.importer))})"
            f" -> {imp.imported} ({layer_name(layer_of(imp.imported))})"
        )


def report(root: Path = ROOT) -> tuple[str, int]:
    """The printed report and the number of violations."""
    found = imports(root)
    names = modules(root)
    out = ["layer       modules  packages"]
    counts: dict[int | None, int] = defaultdict(int)
    for name in names:
        counts[layer_of(name)] += 1
    for index in range(len(LAYERS) - 1, -2, -1):
        packages = LAYERS[index][1] if index >= 0 else (TESTING,)
        shown = ", ".join(p for p in packages if not p.startswith("wearsense._"))
        out.append(
            f"{index + 1 if index >= 0 else '-'} {layer_name(index):10}"
            f" {counts[index]:5}    {shown}"
        )
    up, loops, hidden = upward(found), cycles(found), inner(found)
    lost = unplaced(list(names))
    out.append(f"modules on no layer: {len(lost)}")
    out.extend(f"  {name}" for name in lost)
    statements = {(i.path, i.line) for i in found}
    inside = {(i.path, i.line) for i in found if i.inner}
    out.append(
        f"import statements naming own modules: {len(statements)} ({len(inside)} inside functions)"
    )
    out.append(f"arrows up: {len(up)}")
    out.extend(_lines(up))
    out.append(f"cycles: {len(loops)}")
    out.extend("  " + " <-> ".join(group) for group in loops)
    out.append(f"imports inside functions: {len({(i.path, i.line) for i in hidden})}")
    out.extend(_lines(hidden))
    return "\n".join(out), len(up) + len(loops) + len(hidden) + len(lost)


def main() -> int:
    text, bad = report()
    print(text)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
