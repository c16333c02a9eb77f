"""The host library's layers (docs/architecture.md), checked on every import of
``wearsense/`` and ``tui/`` as written (module top, inside functions, under
``TYPE_CHECKING``): no arrow runs up, no two modules import each other, no import of our
own modules hides inside a function, every module sits on a layer.

``python -m wearsense.testing.layers`` prints the same findings with the layer table.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from wearsense.testing import layers

FOUND = layers.imports()


def _lines(items: list[layers.Import]) -> str:
    return "\n".join(layers._lines(items))


def test_every_module_sits_on_a_layer() -> None:
    assert layers.unplaced(list(layers.modules())) == []


def test_no_import_runs_up_a_layer() -> None:
    up = layers.upward(FOUND)
    assert not up, "imports that run up a layer:\n" + _lines(up)


def test_no_two_modules_import_each_other() -> None:
    loops = layers.cycles(FOUND)
    assert not loops, "import cycles:\n" + "\n".join(" <-> ".join(g) for g in loops)


def test_no_own_module_is_imported_inside_a_function() -> None:
    hidden = layers.inner(FOUND)
    assert not hidden, "imports inside functions:\n" + _lines(hidden)


def test_the_allowed_inner_imports_are_named_and_still_there() -> None:
    # INNER_ALLOWED names each import that must stay inside a function, with its reason;
    # an entry whose import is gone is stale and goes too.
    present = {(i.importer, i.imported) for i in FOUND if i.inner}
    for pair, reason in layers.INNER_ALLOWED.items():
        assert reason.strip(), pair
        assert pair in present, f"stale INNER_ALLOWED entry {pair}"


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "up", "loops", "inner"),
    [
        (  # the store reaching up to export, at module top
            {"wearsense/store/db.py": "from wearsense.export import fhir\n"},
            1,
            0,
            0,
        ),
        (  # the same hidden in a function and under TYPE_CHECKING
            {
                "wearsense/store/db.py": "def f():\n    from wearsense.export.fhir import x\n",
                "wearsense/store/alerts.py": (
                    "from typing import TYPE_CHECKING\n"
                    "if TYPE_CHECKING:\n    from wearsense.export.fhir import x\n"
                ),
            },
            2,
            0,
            1,
        ),
        (  # a cycle on one layer, through a relative import
            {
                "wearsense/store/__init__.py": "",
                "wearsense/store/db.py": "from . import alerts\n",
                "wearsense/store/alerts.py": "from wearsense.store.db import Store\n",
            },
            0,
            1,
            0,
        ),
        (  # the link may not import the emulator, though both are transport
            {"wearsense/link/session.py": "import wearsense.emulator.wearable\n"},
            1,
            0,
            0,
        ),
        (  # the library may not import the harnesses; a face and a test harness may
            {
                "wearsense/replay/runner.py": "from wearsense.testing import faults\n",
                "wearsense/cli/device.py": "from wearsense.testing import powercut\n",
                "wearsense/testing/faults.py": "from wearsense.store import Store\n",
            },
            1,
            0,
            0,
        ),
        (  # the library may not import its faces
            {"wearsense/emulator/replay.py": "import tui.app\n"},
            1,
            0,
            0,
        ),
    ],
)
def test_the_check_finds_each_kind_of_break(
    tmp_path: Path, files: dict[str, str], up: int, loops: int, inner: int
) -> None:
    found = layers.imports(_tree(tmp_path, files))
    assert len(layers.upward(found)) == up
    assert len(layers.cycles(found)) == loops
    assert len(layers.inner(found)) == inner
