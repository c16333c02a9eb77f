"""One vocabulary of event kinds, ``wearsense.protocol.EventKind``, from the protocol up to
the store, the exports and the TUI.

Two halves: the enum is tied to the codec (each event class carries its kind, decoding
gives it, and the values are the strings stored databases and exports hold), and no module
of ``wearsense/`` or ``tui/`` outside ``wearsense/protocol`` spells a kind as a string.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from wearsense import protocol
from wearsense.protocol import BY_NAME, EVENT_CLASSES, EventKind
from wearsense.store import Store

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("wearsense", "tui")
OWNER = Path("wearsense", "protocol")  # the one place that spells the kinds

# The strings every stored database, JSON and CSV export holds: renaming a kind is a
# migration, not a refactoring, so they are written out here once more.
STORED = {
    "af_start",
    "af_end",
    "rhythm_summary",
    "hr_summary",
    "fall",
    "fall_cancelled",
    "activity_change",
    "activity_summary",
    "signal_quality",
    "gap",
    "status_device",
    "status_models",
    "status_firmware",
    "ecg_recording",
    "strip",
}

# Kinds whose word also names something else in the code base. A string with one of these
# values counts as an event kind only where it is used as one (``_used_as_kind``); any
# other kind's value is refused wherever it appears.
OTHER_MEANINGS = {
    EventKind.FALL: "a task (model names and versions, training) and a class label",
    EventKind.GAP: "a step of a quantisation plan (global average pooling, tflite.ptq)",
    EventKind.ECG_RECORDING: "the TUI action that asks the device for one",
}
# Expressions that hold an event kind: ``x.type`` (a stored event, an event view),
# ``x.NAME`` (a protocol event), and the names ``type_name`` and ``kind``.
KIND_ATTRIBUTES = {"type", "NAME"}
KIND_NAMES = {"type_name", "kind"}
# SQL that filters on a kind written into its text, e.g. ``type = 'fall'``.
SQL_KIND = re.compile(
    r"\btype\s*(?:=|!=|<>|\bIN\b)\s*\(?\s*(?:'[^']*'\s*,\s*)*'(" + "|".join(sorted(STORED)) + r")'",
    re.IGNORECASE,
)


# -- the enum and the codec ------------------------------------------------------------


def test_kinds_are_the_stored_strings():
    assert {k.value for k in EventKind} == STORED
    assert len(EventKind) == len(STORED)


def test_each_event_class_carries_its_own_kind():
    kinds = [cls.NAME for cls in EVENT_CLASSES]
    assert all(type(k) is EventKind for k in kinds)
    assert sorted(kinds) == sorted(EventKind)  # one class per kind, one kind per class
    assert {kind: BY_NAME[kind] for kind in EventKind} == {c.NAME: c for c in EVENT_CLASSES}
    for kind in EventKind:
        assert BY_NAME[kind.value] is BY_NAME[kind]  # the stored string finds the class


def test_decoding_gives_the_kind_and_the_kind_round_trips(protocol_vectors):
    seen = set()
    for vector in protocol_vectors["events"]["valid"]:
        wire = bytes.fromhex(vector["hex"])
        event = protocol.decode(wire)
        kind = EventKind(vector["event"]["type"])  # the vectors name kinds by their strings
        assert event.NAME is kind, vector["name"]
        assert type(event) is BY_NAME[kind], vector["name"]
        fields = dataclasses.asdict(event)
        assert protocol.encode(BY_NAME[EventKind(str(kind))](**fields)) == wire, vector["name"]
        seen.add(kind)
    assert seen == set(EventKind)


def test_a_kind_writes_as_its_string():
    with contextlib.closing(sqlite3.connect(":memory:")) as db:
        db.execute("CREATE TABLE t (type TEXT)")
        for kind in EventKind:
            assert kind == kind.value and str(kind) == kind.value and f"{kind}" == kind.value
            assert json.dumps({"type": kind}) == json.dumps({"type": kind.value})
            db.execute("INSERT INTO t VALUES (?)", (kind,))
            row = db.execute("SELECT type, typeof(type) FROM t WHERE type = ?", (kind,)).fetchone()
            assert row == (kind.value, "text")


def test_the_store_gives_back_the_kind(protocol_vectors, tmp_path):
    events = [protocol.decode(bytes.fromhex(v["hex"])) for v in protocol_vectors["events"]["valid"]]
    with Store(tmp_path / "kinds.db") as store:
        for seq, event in enumerate(events, 1):
            store.ingest("SN-KINDS", 1, [dataclasses.replace(event, seq=seq)])
        stored = store.events(serial="SN-KINDS", include_unplaced=True)
        assert {e.type for e in stored} == set(EventKind)
        for row in stored:
            assert row.event().NAME is EventKind(row.type)
        falls = store.events(serial="SN-KINDS", types=[EventKind.FALL], include_unplaced=True)
        assert [e.type for e in falls] == [EventKind.FALL]


def test_the_protocol_document_lists_every_kind():
    text = (ROOT / "docs" / "protocol.md").read_text()
    table = text[text.index("| type | kind |", text.index("**Event kinds.**")) :]
    table = table[: table.index("\n\n")]
    assert set(re.findall(r"`([a-z_]+)`", table)) == STORED


# -- no kind spelled as a string above the protocol -------------------------------------


def _sources() -> Iterator[Path]:
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if rel.parts[: len(OWNER.parts)] != OWNER.parts:
                yield path


def _is_kind_expr(node: ast.AST) -> bool:
    """An expression that reads an event kind, or an EventKind member."""
    if isinstance(node, ast.Attribute):
        if node.attr in KIND_ATTRIBUTES:
            return True
        return _names_enum(node.value)
    if isinstance(node, ast.Name):
        return node.id in KIND_NAMES
    return isinstance(node, ast.Call) and _names_enum(node.func)


def _names_enum(node: ast.AST) -> bool:
    return (isinstance(node, ast.Name) and node.id == "EventKind") or (
        isinstance(node, ast.Attribute) and node.attr == "EventKind"
    )


def _unambiguous(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Constant)
        and node.value in STORED
        and EventKind(node.value) not in OTHER_MEANINGS
    )


def _holds_kind(node: ast.AST) -> bool:
    return any(_unambiguous(n) or _is_kind_expr(n) for n in ast.walk(node))


def _used_as_kind(node: ast.Constant, parents: dict[ast.AST, ast.AST]) -> bool:
    """Whether a string with a doubly used value stands where an event kind goes: beside
    another event kind in a tuple, list, set or dict's keys (or in a row of a table whose
    other rows hold one); compared (directly or inside such a display) with an expression
    that holds a kind; or in a ``types=`` argument. Not seen: such a string alone as a
    function's positional argument or as a dict's value."""
    child: ast.AST = node
    parent = parents.get(node)
    while parent is not None:
        if isinstance(parent, ast.Compare):
            operands = [parent.left, *parent.comparators]
            return any(_is_kind_expr(o) for o in operands if o is not child)
        if isinstance(parent, ast.keyword):
            return parent.arg == "types"
        if isinstance(parent, ast.Tuple | ast.List | ast.Set | ast.Dict):
            siblings = parent.keys if isinstance(parent, ast.Dict) else parent.elts
            if child not in siblings:
                return False  # a dict value: what a kind maps to, not a kind
            if any(s is not child and s is not None and _holds_kind(s) for s in siblings):
                return True
        elif not isinstance(parent, ast.Starred):
            return False
        child, parent = parent, parents.get(parent)
    return False


def _kind_literals(path: Path, root: Path = ROOT) -> Iterator[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    rel = path.relative_to(root)
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        where = f"{rel}:{node.lineno}"
        if node.value in STORED:
            kind = EventKind(node.value)
            if kind not in OTHER_MEANINGS or _used_as_kind(node, parents):
                yield f"{where}: {node.value!r} (use EventKind.{kind.name})"
        elif match := SQL_KIND.search(node.value):
            kind = EventKind(match.group(1))
            yield f"{where}: SQL filters on '{kind}' (bind EventKind.{kind.name} as a parameter)"


def test_no_event_kind_is_spelled_as_a_string_above_the_protocol():
    found = [hit for path in _sources() for hit in _kind_literals(path)]
    assert not found, "event kinds spelled as strings:\n" + "\n".join(found)


def test_the_scanner_sees_each_way_of_spelling_a_kind(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "a = 'af_start'\n"  # an unambiguous kind, anywhere
        "b = e.type == 'fall'\n"  # compared with a stored event's type
        "c = ev.NAME in ('gap', 'x')\n"  # in a tuple compared with an event's kind
        "d = store.events(types=['fall'])\n"  # a filter on kinds
        "e = {EventKind.AF_START: 1, 'fall': 2}\n"  # beside another kind
        "f = \"SELECT 1 FROM events WHERE type = 'fall'\"\n"  # SQL with a kind in its text
        "g = task == 'fall'\n"  # a task name: allowed
        "h = ('afib', 'fall', 'activity')\n"  # task names: allowed
        "i = step.kind == 'gap'\n"  # a quantisation step: allowed
        "j = ('e', 'ecg_recording', 'ECG recording')\n"  # a TUI action: allowed
        "k = {EventKind.FALL: 'fall'}\n"  # a value a kind maps to (an alert kind): allowed
        "m = [(1, EventKind.AF_START, {}), (2, 'fall', {})]\n"  # a row of a table of kinds
        "n = \"DELETE FROM events WHERE type IN ('x', 'gap')\"\n"  # SQL, a list of kinds
        "o = \"SELECT 1 FROM events WHERE type = ? AND note = 'fall'\"\n"  # not on the type
    )
    lines = sorted(int(hit.split(":")[1]) for hit in _kind_literals(sample, tmp_path))
    assert lines == [1, 2, 3, 4, 5, 6, 12, 13]
