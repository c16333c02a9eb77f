"""wearsense/training imports our own modules at module top only, and its modules import
each other in no circle (issue #26: no cycles, no imports inside functions to dodge one).
Third-party imports (scikit-learn, SciPy, matplotlib) may stay inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRAINING = ROOT / "wearsense" / "training"


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _ours(node: ast.AST) -> list[str]:
    """The wearsense modules an import statement names (``from a import b``: a.b and a)."""
    if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("wearsense"):
        module = str(node.module)
        return [module, *(f"{module}.{a.name}" for a in node.names)]
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.startswith("wearsense")]
    return []


def test_no_import_of_our_modules_inside_a_function():
    found = []
    for path in sorted(TRAINING.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in ast.walk(fn):
                    if _ours(node):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, "imports of our modules inside functions: " + ", ".join(found)


def test_the_training_modules_import_no_circle():
    modules = {_name(p): p for p in TRAINING.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            targets |= {t for t in _ours(node) if t in modules and t != name}
        graph[name] = targets

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            for nxt in graph[todo.pop()]:
                if nxt == goal:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return False

    circles = sorted(f"{a} -> {b}" for a in graph for b in graph[a] if reaches(b, a))
    assert not circles, "import circles: " + ", ".join(circles)
