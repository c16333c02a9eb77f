"""wearsense.companion without a radio: the choice of radio and backend, a push that cannot
start (a report, never an exception, and nothing opened before the package reads), the
requests' commands, and the terminal UI's wording of each answer. The companion over a
real Bumble link is tested by test_link.py, test_update_e2e.py and test_demo.py."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from update_helpers import SHIPPED_AFIB

from tui.companion import CompanionActions
from tui.services import EXPORT_FORMATS
from wearsense.companion import Companion, PushFailure, Radio, make_session, model_updates, requests
from wearsense.export import ExportError
from wearsense.export.formats import FORMATS, export_format
from wearsense.link.bumble_backend import BumbleCentral, BumbleClientBackend
from wearsense.link.errors import LinkError
from wearsense.protocol import ConfigKey, Opcode, Status
from wearsense.store import Store


def test_the_radio_is_chosen_as_the_commands_choose_it() -> None:
    assert Radio.bumble("tcp-client:127.0.0.1:9", "6402,6403") == Radio(
        transport="tcp-client:127.0.0.1:9"
    )
    assert Radio.bumble(None, "7000,7001") == Radio(controllers=(7000, 7001))
    assert Radio().is_adapter and not Radio(controllers=(1, 2)).is_adapter
    with pytest.raises(LinkError, match="two ports"):
        Radio.bumble(None, "6402")
    with pytest.raises(ValueError, match="not several"):
        Radio(transport="tcp-client:127.0.0.1:9", controllers=(1, 2))


def test_a_session_gets_the_bumble_backend_only_with_a_central(tmp_path: Path) -> None:
    with Store(tmp_path / "c.db") as store:
        adapter = make_session(store)
        assert adapter._client_backend is None and adapter._backend_kwargs == {}
        central = BumbleCentral(device=None)  # type: ignore[arg-type]
        bumble = make_session(store, central=central)
        assert bumble._client_backend is BumbleClientBackend
        assert bumble._backend_kwargs == {"bumble": central}


def _companion(tmp_path: Path, session: Any = None) -> Companion:
    store = Store(tmp_path / "c.db")
    return Companion(store, session, None, registry_path=tmp_path / "updates.db")  # type: ignore[arg-type]


def test_a_push_that_cannot_start_is_a_report_and_opens_nothing_first(tmp_path: Path) -> None:
    companion = _companion(tmp_path)
    garbage = tmp_path / "garbage.wspkg"
    garbage.write_bytes(b"not a package")
    folder = tmp_path / "pkg"
    folder.mkdir()
    package = folder / "afib.wspkg"
    package.write_bytes(SHIPPED_AFIB.read_bytes())
    (folder / "metrics.json").write_text(json.dumps([1, 2]))  # not an object

    async def scenario() -> list[model_updates.PushReport]:
        reports = []
        for path in (tmp_path / "missing.wspkg", garbage):
            reports.append(await companion.push_model(path))
            assert not (tmp_path / "updates.db").exists()  # refused before the registry
        reports.append(await companion.push_model(package))
        return reports

    missing, bad, unregistered = asyncio.run(scenario())
    assert [r.failure for r in (missing, bad, unregistered)] == [
        PushFailure.UNREADABLE,
        PushFailure.NOT_A_PACKAGE,
        PushFailure.NOT_REGISTERED,
    ]
    assert not any(r.ok for r in (missing, bad, unregistered))
    assert "metrics must be a JSON object" in str(unregistered.error)
    companion.store.close()


def test_the_tui_words_a_push_that_cannot_start(tmp_path: Path) -> None:
    actions = CompanionActions(_companion(tmp_path))
    garbage = tmp_path / "garbage.wspkg"
    garbage.write_bytes(b"not a package")

    async def scenario() -> list[Any]:
        return [
            await actions.push(str(tmp_path / "missing.wspkg"), force=False, on_progress=print),
            await actions.push(str(garbage), force=False, on_progress=print),
        ]

    missing, bad = asyncio.run(scenario())
    assert not missing.ok and missing.message.startswith("cannot read ")
    assert missing.message.endswith("missing.wspkg: No such file or directory")
    assert not bad.ok and bad.message.startswith("garbage.wspkg is not a model package: ")
    actions.companion.store.close()


class _AnsweringSession:
    """Answers every command with ``status`` (or raises ``error``) and records it."""

    def __init__(self, status: Status = Status.OK, error: Exception | None = None) -> None:
        self.status, self.error = status, error
        self.sent: list[tuple[Opcode, dict[str, Any]]] = []
        self.stats = SimpleNamespace(connections=1)

    async def wait_streaming(self, timeout: float) -> None:
        return None

    async def command(self, opcode: Opcode, **fields: Any) -> Any:
        self.sent.append((opcode, fields))
        if self.error is not None:
            raise self.error
        return SimpleNamespace(status=self.status)


def test_the_requests_send_the_protocols_commands() -> None:
    session = _AnsweringSession()
    asyncio.run(requests.calibrate_posture(session))
    asyncio.run(requests.start_recording(session, 30))
    assert session.sent == [
        (Opcode.SET_CONFIG, {"key": int(ConfigKey.POSTURE), "value": 1}),
        (Opcode.START_RECORDING, {"duration_s": 30}),
    ]
    assert requests.recording_length_ok(10) and requests.recording_length_ok(60)
    assert not requests.recording_length_ok(9) and not requests.recording_length_ok(61)


@pytest.mark.parametrize(
    ("session", "posture", "recording"),
    [
        (
            _AnsweringSession(Status.OK),
            "calibrating: the wearer stands upright and still for about 6 s",
            "recording 30 s: the rhythm verdict arrives as an ECG recording event",
        ),
        (
            _AnsweringSession(Status.BUSY),
            "the device refused the calibration (BUSY)",
            "a recording is already under way: its verdict comes first",
        ),
        (
            _AnsweringSession(error=LinkError("not connected")),
            "calibration not sent (LinkError): not connected",
            "recording not asked (LinkError): not connected",
        ),
    ],
)
def test_the_tui_words_the_devices_answers(
    tmp_path: Path, session: _AnsweringSession, posture: str, recording: str
) -> None:
    actions = CompanionActions(_companion(tmp_path, session))
    asked = asyncio.run(actions.calibrate_posture())
    assert (asked.ok, asked.message) == (session.status == Status.OK and not session.error, posture)
    asked = asyncio.run(actions.start_recording(30))
    assert asked.message == recording
    actions.companion.store.close()


def test_one_table_of_export_formats_for_the_command_and_the_screen() -> None:
    assert list(FORMATS) == ["fhir", "csv", "edf", "report"]  # the command's order
    assert list(EXPORT_FORMATS) == ["csv", "fhir", "edf", "report"]  # the default first
    assert EXPORT_FORMATS["csv"] == FORMATS["csv"].label
    assert [f.name for f in FORMATS.values() if f.writes_folder] == ["edf"]
    with pytest.raises(ExportError, match="unknown export format 'xml'"):
        export_format("xml")
