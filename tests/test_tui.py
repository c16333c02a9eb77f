"""The terminal UI driven by Textual's Pilot: every screen and key binding, against a
store filled here (tui.example) and the in-memory link (tui.link.MemoryLink)."""

from __future__ import annotations

import asyncio
import enum
import json
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from rich.style import Style
from textual.pilot import Pilot
from textual.widgets import Button, Checkbox, DataTable, Input, ProgressBar, Static

from tui.app import WearSenseApp
from tui.example import EPOCH, NOW, T0, fill
from tui.link import ConnectionState, MemoryLink, PushResult, SessionLink
from tui.screens.alert import FallAlertScreen
from tui.screens.charts import ChartsScreen
from tui.screens.devices import DevicesScreen
from tui.screens.events import EventsScreen
from tui.screens.export import ExportScreen
from tui.screens.help import INTENDED_USE, HelpScreen
from tui.screens.updates import NOT_AVAILABLE, NOT_WIRED, PUSH_HELP, UpdatesScreen
from tui.services import EventFeed, EventView, Severity, describe
from tui.widgets import (
    ActivityChart,
    AlertBanner,
    BurdenChart,
    DeviceCard,
    EventList,
    HeartRateChart,
)
from wearsense.cli import main as cli_main
from wearsense.export import ExportError
from wearsense.protocol import (
    AfStart,
    Event,
    Fall,
    FallCancelled,
    HrSummary,
    StatusDevice,
    StatusModels,
    decode,
)
from wearsense.store import Store

SIZE = (120, 40)
VECTORS = Path(__file__).parent / "vectors" / "protocol.json"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "ws.db"
    fill(path).close()
    return path


Scenario = Callable[[WearSenseApp, Pilot[None]], Awaitable[None]]


def drive(app: WearSenseApp, scenario: Scenario) -> None:
    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await scenario(app, pilot)

    asyncio.run(main())


def make_app(db: Path, link: MemoryLink | None = None) -> WearSenseApp:
    return WearSenseApp(db, link, clock=lambda: float(NOW), poll_s=0, refresh_s=0)


def next_seq(store: Store, serial: str) -> int:
    return store.contiguous_seq(serial, EPOCH) + 1


def device_time(utc: float) -> int:
    return int(utc - T0)  # the example devices' clocks start at T0


def cards(app: WearSenseApp) -> dict[str, DeviceCard]:
    return {c.row.serial: c for c in app.screen.query(DeviceCard) if c.row is not None}


# -- devices --------------------------------------------------------------------------


def test_devices_screen_shows_assignment_state_battery_versions_sync_wear_and_gaps(
    db: Path,
) -> None:
    link = MemoryLink()

    async def scenario(app: WearSenseApp, pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, DevicesScreen)
        patients = app.screen.query_one("#patients", DataTable)
        assert patients.row_count == 2
        assert patients.get_row("p-001")[2] == "SN-0001"
        shown = cards(app)
        assert set(shown) == {"SN-0001", "SN-0002", "SN-0003"}
        first = shown["SN-0001"].row
        assert first is not None
        assert (first.patient, first.state, first.battery) == ("p-001", "disconnected", "81 %")
        assert first.firmware == "1.2.0" and first.models == "AF 3 · fall 2 · act 1"
        assert first.last_sync == "1 min ago"  # stored 60 s before the example's now
        assert first.wear_24h == "24.0 h" and first.gaps_24h == "none"
        second = shown["SN-0002"].row
        assert second is not None and second.gaps_24h == "1 (longest 6.0 h)"
        silent = shown["SN-0003"]
        assert silent.row is not None and silent.row.patient == "unassigned"
        assert silent.has_class("long-gap") and not shown["SN-0001"].has_class("long-gap")
        assert "DATA GAP: no data for 7.0 hours" in str(silent.render())

        link.set_status(
            "SN-0001",
            state=ConnectionState.CONNECTED,
            battery_pct=77,
            firmware="1.3.0",
            models={"afib": 4, "fall": 2, "activity": 1},
            last_sync_utc=NOW - 5,
        )
        await pilot.pause()
        card = cards(app)["SN-0001"]
        assert card.row is not None
        assert (card.row.state, card.row.battery, card.row.last_sync) == (
            "connected",
            "77 %",
            "5 s ago",
        )
        assert card.row.firmware == "1.3.0" and card.row.models.startswith("AF 4")
        assert card.has_class("state-connected")
        link.set_status("SN-0001", state=ConnectionState.DISCONNECTED)
        await pilot.pause()
        assert not cards(app)["SN-0001"].has_class("state-connected")

        await pilot.press("r")  # refresh reads the same store again
        assert set(cards(app)) == {"SN-0001", "SN-0002", "SN-0003"}

    drive(make_app(db, link), scenario)


def test_a_device_the_link_reports_but_the_store_has_not_seen_gets_a_card(db: Path) -> None:
    link = MemoryLink()
    link.set_status("SN-NEW", state=ConnectionState.CONNECTING)

    async def scenario(app: WearSenseApp, pilot: Pilot[None]) -> None:
        card = cards(app)["SN-NEW"]
        assert card.row is not None
        assert (card.row.state, card.row.patient, card.row.last_sync) == (
            "connecting",
            "unassigned",
            "never",
        )

    drive(make_app(db, link), scenario)


# -- keys and screens -----------------------------------------------------------------


def test_number_keys_switch_screens_help_opens_and_closes_and_q_quits(db: Path) -> None:
    link = MemoryLink()
    app = make_app(db, link)

    async def scenario(app: WearSenseApp, pilot: Pilot[None]) -> None:
        assert link.listeners == 1
        for key, screen in [
            ("2", EventsScreen),
            ("3", ChartsScreen),
            ("4", UpdatesScreen),
            ("5", ExportScreen),
            ("1", DevicesScreen),
        ]:
            await pilot.press(key)
            assert isinstance(app.screen, screen), key
        for key, close in (("question_mark", "escape"), ("f1", "question_mark")):
            await pilot.press(key)
            assert isinstance(app.screen, HelpScreen)
            await pilot.press(close)
            assert isinstance(app.screen, DevicesScreen)
        await pilot.press("question_mark")
        await pilot.press("3")  # help is modal: close it first
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("q")  # q closes help; a second q quits
        assert isinstance(app.screen, DevicesScreen)
        await pilot.press("q")
        await pilot.pause()

    drive(app, scenario)
    assert not app.is_running
    assert link.listeners == 0  # the subscription ended with the app


def test_help_lists_every_binding_and_the_intended_use(db: Path) -> None:
    async def scenario(app: WearSenseApp, pilot: Pilot[None]) -> None:
        await pilot.press("question_mark")
        table = app.screen.query_one("#help-keys", DataTable)
        rows = [tuple(table.get_row_at(i)) for i in range(table.row_count)]
        keys = {(where, key) for where, key, _ in rows}
        expected = {("everywhere", k) for k in ("1", "2", "3", "4", "5", "q", "? / f1")}
        expected |= {("devices", "r"), ("events", "i"), ("charts", "p"), ("charts", "e")}
        expected |= {("export", "ctrl+e"), ("fall alert", "a"), ("fall alert", "q")}
        assert expected <= keys
        assert not any(where == "updates" for where, _ in keys)  # it has no keys of its own
        notice = app.screen.query_one("#intended-use", Static)
        assert "not a medical device" in str(notice.render()).lower()
        assert "NOT a medical device" in INTENDED_USE

    drive(make_app(db), scenario)


# -- live events ----------------------------------------------------------------------


def event_list(app: WearSenseApp) -> EventList:
    return app.screen.query_one(EventList)


def lines(app: WearSenseApp) -> list[EventView]:
    """The lines the event list shows, oldest first."""
    return event_list(app).shown


def drawn_style(listing: EventList, view: EventView) -> Style:
    """The style of the description part of the line drawn for ``view``."""
    listing.scroll_to(y=listing.shown.index(view), animate=False, immediate=True)
    strip = listing.render_line(0)
    segment = next(seg for seg in strip if view.text[:6] in seg.text)
    assert segment.style is not None
    return segment.style


def test_events_screen_lists_stored_events_coloured_by_severity(db: Path) -> None:
    async def scenario(app: WearSenseApp, pilot: Pilot[None]) -> None:
        await pilot.press("2")
        listing = event_list(app)
        shown = lines(app)
        assert [v.key for v in shown] == [v.key for v in app.feed.lines]  # all of them
        assert listing.scroll_offset.y == listing.max_scroll_y > 0  # showing the newest
        falls = [v for v in shown if v.type == "fall"]
        summaries = [v for v in shown if v.type == "hr_summary"]
        onsets = [v for v in shown if v.type == "af_start"]
        assert falls and summaries and onsets
        assert {listing.style_name(v) for v in falls} == {"event-list--fall"}
        assert {listing.style_name(v) for v in onsets} == {"event-list--critical"}
        assert {listing.style_name(v) for v in summaries} == {"event-list--muted"}
        # the colours are the stylesheet's: a fall on red, a summary dimmed, no background
        fall = drawn_style(listing, falls[0])
        assert fall.bgcolor == listing.get_component_rich_style("event-list--fall").bgcolor
        assert fall.bgcolor is not None and fall.bold
        summary = drawn_style(listing, summaries[0])
        assert summary.color == listing.get_component_rich_style("event-list--muted").color
        assert summary.bgcolor != fall.bgcolor and not summary.bold
        assert not app.pending_falls  # falls stored before the UI started raise no alert

        await pilot.press("i")  # important only: the summaries disappear
        assert not any(v.severity is Severity.MUTED for v in lines(app))
        assert set(falls) <= set(lines(app))
        await pilot.press("i")
        assert set(summaries) <= set(lines(app))
        listing.scroll_to(y=0, animate=False, immediate=True)
        assert listing.scroll_offset.y == 0
        await pilot.press("end")  # back to the newest
        await pilot.pause()
        assert listing.scroll_offset.y == listing.max_scroll_y > 0

    drive(make_app(db), scenario)


def test_an_event_the_link_stores_appears_live(db: Path) -> None:
    link = MemoryLink()
    writer = Store(db)

    async def scenario(app: WearSenseApp, pilot: Pilot[None]) -> None:
        await pilot.press("2")
        seq = next_seq(writer, "SN-0002")
        onset = AfStart(seq, device_time(NOW - 30), 3, hr_bpm=142, confidence=90, onset_lag_s=20)
        link.deliver(writer, "SN-0002", EPOCH, [onset])
        await pilot.pause()
        newest = lines(app)[-1]
        assert newest.key == ("SN-0002", EPOCH, seq)
        assert newest.patient == "p-002"
        assert event_list(app).style_name(newest) == "event-list--critical"
        assert "AF episode began" in newest.text
        listing = event_list(app)
        assert listing.scroll_offset.y == listing.max_scroll_y  # it follows the newest
        # reported twice (a re-delivery): listed once
        link.deliver(writer, "SN-0002", EPOCH, [onset])
        await pilot.pause()
        assert [v.key for v in lines(app)].count(newest.key) == 1

    try:
        drive(make_app(db, link), scenario)
    finally:
        writer.close()


def banner_text(app: WearSenseApp) -> str:
    banner = app.screen.query_one("#alert-banner", AlertBanner)
    return str(banner.render()) if banner.has_class("active") else ""


def test_a_fall_opens_one_alert_then_waits_in_the_banner_and_keys_still_switch(
    db: Path,
) -> None:
    """Issue #30: the modal opens once per unacknowledged fall and never takes the
    navigation keys; put off (a number key or escape), the fall waits in the banner of
    every screen, where ``a`` acknowledges it; a fall that arrives while another waits only
    joins the banner (the demo's replay falls again every pass)."""
    link = MemoryLink()
    writer = Store(db)

    async def scenario(app: WearSenseApp, pilot: Pilot[None]) -> None:
        seq = next_seq(writer, "SN-0001")
        first = Fall(seq, device_time(NOW - 20), 2, impact_mg=3100, confidence=97, stillness_s=25)
        second = Fall(
            seq + 1, device_time(NOW - 10), 2, impact_mg=2900, confidence=90, stillness_s=40
        )
        link.deliver(writer, "SN-0001", EPOCH, [first, second])
        await pilot.pause()
        alert = app.screen
        assert isinstance(alert, FallAlertScreen)
        assert alert.fall.key == ("SN-0001", EPOCH, seq)
        body = str(alert.query_one("#alert-body", Static).render())
        assert "p-001" in body and "SN-0001" in body and "3.1 g" in body
        await pilot.press("2")  # the number keys switch screens even over the alert
        await pilot.pause()
        assert isinstance(app.screen, EventsScreen)
        assert not app.acknowledged and len(app.pending_falls) == 2
        text = banner_text(app)
        assert "FALL" in text and "SN-0001" in text and "1 more waiting" in text
        await pilot.press("3")  # no second modal for the fall that waits behind it
        await pilot.pause()
        assert isinstance(app.screen, ChartsScreen) and "FALL" in banner_text(app)
        await pilot.press("a")  # acknowledges the banner's fall; the next one gets its modal
        await pilot.pause()
        assert app.acknowledged == [("SN-0001", EPOCH, seq)]
        nxt = app.screen
        assert isinstance(nxt, FallAlertScreen) and nxt.fall.key[2] == seq + 1
        await pilot.press("escape")  # later: back to the screen, the fall in the banner
        await pilot.pause()
        assert isinstance(app.screen, ChartsScreen)
        assert "SN-0001" in banner_text(app) and "more waiting" not in banner_text(app)
        third = Fall(seq + 2, device_time(NOW - 5), 2, impact_mg=2500, confidence=91, stillness_s=9)
        link.deliver(writer, "SN-0001", EPOCH, [third])
        await pilot.pause()
        assert isinstance(app.screen, ChartsScreen)  # a fall waits already: banner only
        assert "1 more waiting" in banner_text(app)
        await pilot.press("a")
        await pilot.pause()
        third_alert = app.screen  # the third never had a modal: it gets one now
        assert isinstance(third_alert, FallAlertScreen) and third_alert.fall.key[2] == seq + 2
        await pilot.click("#acknowledge")
        await pilot.pause()
        assert isinstance(app.screen, ChartsScreen) and banner_text(app) == ""
        assert app.acknowledged == [("SN-0001", EPOCH, seq + i) for i in range(3)]
        assert not app.pending_falls
        await pilot.press("1")
        assert isinstance(app.screen, DevicesScreen)

    try:
        drive(make_app(db, link), scenario)
    finally:
        writer.close()


def test_an_unacknowledged_fall_is_raised_again_after_a_restart(db: Path) -> None:
    with Store(db) as writer:  # stored while no UI was running
        seq = next_seq(writer, "SN-0001")
        fall = Fall(seq, device_time(NOW - 30), 2, impact_mg=3300, confidence=95, stillness_s=20)
        writer.ingest("SN-0001", EPOCH, [fall])
    key = ("SN-0001", EPOCH, seq)

    async def quit_without_acknowledging(app: WearSenseApp, pilot: Pilot[None]) -> None:
        await pilot.pause()
        assert isinstance(app.screen, FallAlertScreen) and app.screen.fall.key == key
        assert [f.key for f in app.pending_falls] == [key]  # only this one: the rest were seen to
        await pilot.press("q")  # quitting is allowed from the alert; it is not an acknowledgement
        await pilot.pause()
        assert not app.is_running

    async def acknowledge(app: WearSenseApp, pilot: Pilot[None]) -> None:
        await pilot.pause()
        assert isinstance(app.screen, FallAlertScreen) and app.screen.fall.key == key
        await pilot.press("a")
        await pilot.pause()
        assert not app.pending_falls and isinstance(app.screen, DevicesScreen)

    async def nothing_left(app: WearSenseApp, pilot: Pilot[None]) -> None:
        await pilot.pause()
        assert not app.pending_falls and isinstance(app.screen, DevicesScreen)

    drive(make_app(db, MemoryLink()), quit_without_acknowledging)
    drive(make_app(db, MemoryLink()), acknowledge)
    drive(make_app(db, MemoryLink()), nothing_left)
    with Store(db) as reader:
        assert reader.fall_acknowledged(key)


def test_a_fall_the_wearer_cancels_is_marked_but_still_needs_acknowledging(db: Path) -> None:
    link = MemoryLink()
    writer = Store(db)

    async def scenario(app: WearSenseApp, pilot: Pilot[None]) -> None:
        await pilot.press("2")
        seq = next_seq(writer, "SN-0001")
        t = device_time(NOW - 30)
        link.deliver(
            writer,
            "SN-0001",
            EPOCH,
            [Fall(seq, t, 2, impact_mg=2000, confidence=80, stillness_s=5)],
        )
        await pilot.pause()
        alert = app.screen
        assert isinstance(alert, FallAlertScreen) and not alert.cancelled
        banner = app.screen_stack[-2].query_one("#alert-banner", Static)
        assert banner.has_class("active")
        cancel = FallCancelled(seq + 1, t + 12, 2, fall_seq=seq, delay_s=12)
        link.deliver(writer, "SN-0001", EPOCH, [cancel])
        await pilot.pause()
        assert app.screen is alert and alert.cancelled
        text = str(alert.query_one("#alert-cancelled", Static).render())
        assert "cancelled this fall" in text
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, EventsScreen)
        assert not app.screen.query_one("#alert-banner", Static).has_class("active")

    try:
        drive(make_app(db, link), scenario)
    finally:
        writer.close()


def test_a_long_data_gap_is_flagged_when_the_device_comes_back(db: Path) -> None:
    link = MemoryLink()
    writer = Store(db)

    async def scenario(app: WearSenseApp, pilot: Pilot[None]) -> None:
        await pilot.press("2")
        last = max(e.utc for e in writer.events(serial="SN-0003") if e.utc is not None)
        back = last + 5 * 3600
        seq = next_seq(writer, "SN-0003")
        hr = HrSummary(
            seq, device_time(back), 2, interval_s=600, min_bpm=60, mean_bpm=70, max_bpm=90
        )
        link.deliver(writer, "SN-0003", EPOCH, [hr])
        await pilot.pause()
        shown = lines(app)
        flag, event = shown[-2], shown[-1]
        assert event.type == "hr_summary"
        assert flag.type == "data_gap" and flag.severity is Severity.WARNING
        assert event_list(app).style_name(flag) == "event-list--data-gap"
        assert "no data for 5.0 hours" in flag.text

        seq += 1  # 10 minutes later: no flag
        hr2 = HrSummary(
            seq, device_time(back + 600), 2, interval_s=600, min_bpm=60, mean_bpm=70, max_bpm=90
        )
        link.deliver(writer, "SN-0003", EPOCH, [hr2])
        await pilot.pause()
        assert [v.type for v in lines(app)[-3:]] == [
            "data_gap",
            "hr_summary",
            "hr_summary",
        ]

    try:
        drive(make_app(db, link), scenario)
    finally:
        writer.close()


def test_events_another_process_stores_are_picked_up_by_polling(db: Path) -> None:
    async def scenario(app: WearSenseApp, pilot: Pilot[None]) -> None:
        await pilot.press("2")
        with Store(db) as other:
            seq = next_seq(other, "SN-0002")
            other.ingest(
                "SN-0002",
                EPOCH,
                [Fall(seq, device_time(NOW - 5), 2, impact_mg=2500, confidence=88, stillness_s=12)],
            )
        app.poll_store()
        await pilot.pause()
        assert isinstance(app.screen, FallAlertScreen)
        await pilot.press("a")
        await pilot.pause()
        key = ("SN-0002", EPOCH, seq)
        assert lines(app)[-1].key == key
        app.poll_store()  # nothing new: nothing added
        await pilot.pause()
        assert [v.key for v in lines(app)].count(key) == 1
        assert lines(app)[-1].key == key

    drive(make_app(db), scenario)


# -- charts ---------------------------------------------------------------------------


def test_charts_show_burden_heart_rate_around_episodes_and_activity(db: Path) -> None:
    async def scenario(app: WearSenseApp, pilot: Pilot[None]) -> None:
        await pilot.press("3")
        screen = app.screen
        assert isinstance(screen, ChartsScreen) and screen.patient == "p-001"
        burden = screen.query_one(BurdenChart).days
        # the 40-minute episode of 1 March, over 55 analysable minutes an hour
        assert [d for d, _ in burden] == ["03-01", "03-02"]
        assert burden[0][1] == pytest.approx(100 * 2400 / (23 * 3300), rel=0.01)
        assert burden[1][1] == 0
        trace = screen.query_one(HeartRateChart).trace
        assert trace is not None and trace.end_minute == pytest.approx(40.0)
        during = [b for m, b in zip(trace.minutes, trace.mean_bpm, strict=True) if 1 < m < 39]
        before = [b for m, b in zip(trace.minutes, trace.mean_bpm, strict=True) if m < -1]
        assert during and min(during) > max(before)
        hours = screen.query_one(ActivityChart).hours
        assert len(hours) == 24
        assert all(sum(m.values()) == 60 for _, m in hours)
        walked = {label: m["walk"] for label, m in hours}
        assert walked["09:00"] == 25 and walked["03:00"] == 3  # local (Berlin) hours

        await pilot.press("p")  # next patient: no AF at all
        await pilot.pause()
        assert screen.patient == "p-002"
        assert all(b == 0 for _, b in screen.query_one(BurdenChart).days)
        assert screen.query_one(HeartRateChart).trace is None
        await pilot.press("e")  # no episode to go back to: nothing changes
        assert screen.episode_back == 0
        await pilot.press("p")
        await pilot.pause()
        assert screen.patient == "p-001"

    drive(make_app(db), scenario)


def test_previous_episode_key_walks_back_through_episodes(db: Path) -> None:
    with Store(db) as writer:
        seq = next_seq(writer, "SN-0001")
        t = device_time(T0 + 3 * 3600)
        writer.ingest(
            "SN-0001",
            EPOCH,
            [AfStart(seq, t, 3, hr_bpm=120, confidence=80, onset_lag_s=0)],
        )

    async def scenario(app: WearSenseApp, pilot: Pilot[None]) -> None:
        await pilot.press("3")
        screen = app.screen
        assert isinstance(screen, ChartsScreen)
        chart = screen.query_one(HeartRateChart)
        assert chart.trace is not None and chart.trace.label == "03-01 11:10"  # newest
        await pilot.press("e")
        assert screen.episode_back == 1 and chart.trace.label == "03-01 04:00"
        await pilot.press("e")
        assert screen.episode_back == 0

    drive(make_app(db), scenario)


# -- updates --------------------------------------------------------------------------


def test_updates_screen_shows_the_registry_and_says_pushing_is_not_available(
    db: Path,
) -> None:
    async def scenario(app: WearSenseApp, pilot: Pilot[None]) -> None:
        await pilot.press("4")
        notice = str(app.screen.query_one("#push-notice", Static).render())
        pushing = app.view.registry().push_available
        assert notice == (NOT_WIRED if pushing else NOT_AVAILABLE)
        registry = app.screen.query_one("#registry", DataTable)
        tasks = {registry.get_row_at(i)[0] for i in range(registry.row_count)}
        assert tasks == {"afib", "fall", "activity"}
        running = app.screen.query_one("#running", DataTable)
        assert running.row_count == 3
        history = app.screen.query_one("#history", DataTable)
        assert history.get_row_at(0)[0] == "(no updates yet)"
        assert not app.screen.query("Button")  # nothing pretends to push

    drive(make_app(db), scenario)


class FakePusher:
    """A ``ModelPusher`` played by the test: acknowledges the package in four steps, or
    refuses it (the real one is tests/test_update_e2e.py over Bumble)."""

    def __init__(self, result: PushResult) -> None:
        self.result = result
        self.calls: list[tuple[str, bool]] = []
        self.release = asyncio.Event()

    async def push(
        self, path: str, *, force: bool, on_progress: Callable[[int, int], None]
    ) -> PushResult:
        self.calls.append((path, force))
        for done in (0, 1000, 2000, 4000):
            on_progress(done, 4000)
        await self.release.wait()
        return self.result


def test_updates_screen_pushes_with_progress_and_shows_the_outcome(db: Path) -> None:
    pusher = FakePusher(PushResult(True, "WS-0001 runs afib v2 (was v1)"))

    async def scenario(app: WearSenseApp, pilot: Pilot[None]) -> None:
        await pilot.press("4")
        notice = str(app.screen.query_one("#push-notice", Static).render())
        assert notice == PUSH_HELP
        outcome = app.screen.query_one("#push-outcome", Static)
        app.screen.query_one("#push-path", Input).focus()
        await pilot.press("enter")  # nothing named yet
        assert "Name a package file" in str(outcome.render()) and not pusher.calls
        app.screen.query_one("#push-path", Input).value = "models/afib/afib-v2.wspkg"
        app.screen.query_one("#push-force", Checkbox).value = True
        await pilot.pause()
        await pilot.click("#push-button")
        await pilot.pause(0.1)
        assert pusher.calls == [("models/afib/afib-v2.wspkg", True)]
        bar = app.screen.query_one("#push-progress", ProgressBar)
        assert (bar.progress, bar.total) == (4000, 4000)
        button = app.screen.query_one("#push-button", Button)
        assert button.disabled  # one push at a time
        await pilot.press("enter")  # the field's enter is the same request: ignored now
        assert len(pusher.calls) == 1
        pusher.release.set()
        await pilot.pause(0.1)
        assert str(outcome.render()) == "WS-0001 runs afib v2 (was v1)"
        assert outcome.has_class("ok") and not button.disabled

    app = WearSenseApp(db, None, clock=lambda: float(NOW), poll_s=0, refresh_s=0, pusher=pusher)
    drive(app, scenario)


def test_the_number_keys_leave_the_updates_screen_and_escape_leaves_its_field(
    db: Path,
) -> None:
    """Issue #30: the package field took the focus on arrival, kept the number keys and
    escape did not leave it. Now nothing is focused on arrival (``2`` switches at once);
    in the field the digits are typed (file names have them), escape leaves it."""
    pusher = FakePusher(PushResult(True, "ok"))

    async def scenario(app: WearSenseApp, pilot: Pilot[None]) -> None:
        await pilot.press("4")
        await pilot.pause()
        assert isinstance(app.screen, UpdatesScreen) and app.focused is None
        await pilot.press("2")
        assert isinstance(app.screen, EventsScreen)
        await pilot.press("4")
        await pilot.click("#push-path")
        field = app.screen.query_one("#push-path", Input)
        assert app.focused is field
        await pilot.press("v", "2")
        assert field.value == "v2" and isinstance(app.screen, UpdatesScreen)
        await pilot.press("escape")
        assert app.focused is None
        await pilot.press("3")
        assert isinstance(app.screen, ChartsScreen)
        await pilot.press("5")  # the same on the Export screen's fields
        app.screen.query_one("#export-from", Input).focus()
        await pilot.press("escape", "1")
        assert isinstance(app.screen, DevicesScreen)
        # F2-F6 switch from inside a field too
        await pilot.press("5")
        app.screen.query_one("#export-from", Input).focus()
        await pilot.press("f4")
        assert isinstance(app.screen, ChartsScreen)
        await pilot.press("f5")
        app.screen.query_one("#push-path", Input).focus()
        await pilot.press("f3")
        assert isinstance(app.screen, EventsScreen)

    app = WearSenseApp(db, None, clock=lambda: float(NOW), poll_s=0, refresh_s=0, pusher=pusher)
    drive(app, scenario)


def test_a_refused_push_says_why(db: Path) -> None:
    pusher = FakePusher(PushResult(False, "refused by the rollout guard: worse macro_f1"))
    pusher.release.set()

    async def scenario(app: WearSenseApp, pilot: Pilot[None]) -> None:
        await pilot.press("4")
        app.screen.query_one("#push-path", Input).value = "x.wspkg"
        app.screen.query_one("#push-path", Input).focus()
        await pilot.press("enter")
        await pilot.pause(0.1)
        outcome = app.screen.query_one("#push-outcome", Static)
        assert "refused by the rollout guard" in str(outcome.render())
        assert outcome.has_class("failed")
        assert pusher.calls == [("x.wspkg", False)]

    app = WearSenseApp(db, None, clock=lambda: float(NOW), poll_s=0, refresh_s=0, pusher=pusher)
    drive(app, scenario)


# -- export ---------------------------------------------------------------------------


def test_export_writes_the_chosen_patient_and_range_as_csv(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"

    async def scenario(app: WearSenseApp, pilot: Pilot[None]) -> None:
        await pilot.press("5")
        screen = app.screen
        screen.query_one("#export-dir", Input).value = str(out)
        screen.query_one("#export-from", Input).value = "2024-03-01"
        screen.query_one("#export-to", Input).value = "2024-03-01"
        await pilot.press("ctrl+e")
        await app.workers.wait_for_complete()
        await pilot.pause()
        result = screen.query_one("#export-result", Static)
        assert "Wrote 1 file" in str(result.render()), str(result.render())
        assert not result.has_class("error")

        screen.query_one("#export-from", Input).value = "2030-01-01"
        screen.query_one("#export-to", Input).value = "2030-01-02"
        await pilot.click("#export-button")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert result.has_class("error")
        assert "no events for patient 'p-001'" in str(result.render())

    drive(make_app(db), scenario)
    files = list(out.glob("*.csv"))
    assert [f.name for f in files] == ["p-001_20240301.csv"]
    text = files[0].read_text()
    assert "fall" in text and "af_start" in text
    # only 1 March (Berlin): the fall at 00:30 on 2 March is outside the range
    assert text.count("\nSN-0001") + text.count(",SN-0001") >= 1
    rows = [r for r in text.splitlines()[1:] if r]
    assert sum(",fall," in r for r in rows) == 1


def test_export_rejects_an_unreadable_date(db: Path) -> None:
    async def scenario(app: WearSenseApp, pilot: Pilot[None]) -> None:
        await pilot.press("5")
        app.screen.query_one("#export-from", Input).value = "first of March"
        await pilot.press("ctrl+e")
        await app.workers.wait_for_complete()
        await pilot.pause()
        result = app.screen.query_one("#export-result", Static)
        assert result.has_class("error") and "not an ISO date" in str(result.render())

    drive(make_app(db), scenario)


# -- services without the app ---------------------------------------------------------


def _vector_events() -> list[Event]:
    vectors = json.loads(VECTORS.read_text())
    return [decode(bytes.fromhex(v["hex"])) for v in vectors["events"]["valid"]]


def test_every_event_type_has_a_description_and_falls_and_af_stand_out() -> None:
    from wearsense.store.db import event_fields

    seen = set()
    for event in _vector_events():
        severity, text = describe(event.NAME, event_fields(event))
        assert text and text != event.NAME, event.NAME
        seen.add(event.NAME)
        if event.NAME in ("fall", "af_start"):
            assert severity is Severity.CRITICAL
    assert {"fall", "af_start", "activity_summary", "status_device"} <= seen


def _view(serial: str, seq: int, utc: float | None) -> EventView:
    return EventView((serial, 1, seq), serial, "hr_summary", utc, None, "", Severity.MUTED, "")


def test_event_feed_ignores_duplicates_and_flags_gaps_per_device() -> None:
    feed = EventFeed(gap_hours=4)
    assert len(feed.add([_view("A", 1, 0.0), _view("B", 1, 100.0)])) == 2
    assert feed.add([_view("A", 1, 0.0)]) == []
    added = feed.add([_view("B", 2, 3 * 3600.0), _view("A", 2, 4 * 3600.0)])
    assert [v.type for v in added] == ["hr_summary", "data_gap", "hr_summary"]
    assert added[1].serial == "A" and "4.0 hours" in added[1].text
    assert feed.add([_view("C", 1, None)])[0].utc is None  # time unknown: no flag
    assert feed.total == len(feed) == 6


# -- command line ---------------------------------------------------------------------


def test_tui_command_has_help_and_refuses_a_missing_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        cli_main(["tui", "--help"])
    assert done.value.code == 0
    assert "--db" in capsys.readouterr().out
    missing = tmp_path / "none.db"
    assert cli_main(["tui", "--db", str(missing)]) == 1
    assert "no database here" in capsys.readouterr().err
    assert not missing.exists()


def test_every_export_format_writes_files_that_read_back(db: Path, tmp_path: Path) -> None:
    from tui.services import EXPORT_FORMATS, StoreView
    from wearsense.export.fhir import read_bundle
    from wearsense.export.table import read_csv

    with Store(db) as store:
        view = StoreView(store, lambda: float(NOW))
        written = {
            fmt: view.export(fmt, "p-002", "2024-03-01", "2024-03-01", tmp_path / fmt)
            for fmt in EXPORT_FORMATS
        }
        # p-002 lives in UTC: 1 March is [T0, T0 + 1 day)
        day = store.events(patient="p-002", start_utc=T0, end_utc=T0 + 86400)
    assert all(p.exists() and p.stat().st_size > 0 for paths in written.values() for p in paths)
    assert [p.suffix for p in written["edf"]] == [".edf"]  # one local day
    assert sorted(p.suffix for p in written["report"]) == [".pdf", ".png"]
    rows = {(r.serial, r.epoch, r.seq) for r in read_csv(written["csv"][0].read_text())}
    assert rows == {e.key for e in day}
    fhir = {(r.serial, r.epoch, r.seq) for r in read_bundle(written["fhir"][0].read_text())}
    assert {e.key for e in day if e.type == "hr_summary"} <= fhir <= rows
    with Store(db) as store, pytest.raises(ExportError, match="unknown export format"):
        StoreView(store, lambda: float(NOW)).export("xml", "p-002", "", "", tmp_path)


class _SessionState(enum.Enum):  # the values of wearsense.link.session.LinkState
    SCANNING = "scanning"
    CONNECTING = "connecting"
    SYNCING = "syncing"
    STREAMING = "streaming"
    BACKOFF = "backoff"


class _FakeSession:
    """Only what SessionLink reads from the companion session: its serial."""

    serial: str | None = None


def test_the_companion_session_plugs_in_through_session_link(db: Path) -> None:
    link = SessionLink()
    session = _FakeSession()
    link.follow(session)
    writer = Store(db)

    async def scenario(app: WearSenseApp, pilot: Pilot[None]) -> None:
        link.on_state(_SessionState.SCANNING)  # serial not known yet: nothing to show
        await pilot.pause()
        assert link.statuses() == []
        session.serial = "SN-0002"
        for state, shown in [
            (_SessionState.CONNECTING, "connecting"),
            (_SessionState.SYNCING, "syncing"),
            (_SessionState.STREAMING, "connected"),
        ]:
            link.on_state(state, "detail")
            await pilot.pause()
            row = cards(app)["SN-0002"].row
            assert row is not None and row.state == shown
        seq = next_seq(writer, "SN-0002")
        batch: list[Event] = [
            StatusDevice(
                seq,
                device_time(NOW - 3),
                0,
                battery_pct=55,
                epoch=EPOCH,
                queue_free=200,
                flags=1,
                boot_count=2,
            ),
            StatusModels(
                seq + 1, device_time(NOW - 3), 0, afib_version=4, fall_version=2, activity_version=1
            ),
            Fall(seq + 2, device_time(NOW - 2), 2, impact_mg=2600, confidence=91, stillness_s=20),
        ]
        writer.ingest("SN-0002", EPOCH, batch)  # the session stores first...
        link.on_stored("SN-0002", EPOCH, batch, NOW - 1)  # ...then reports
        await pilot.pause()
        assert isinstance(app.screen, FallAlertScreen)
        assert app.screen.fall.key == ("SN-0002", EPOCH, seq + 2)
        await pilot.press("a")
        await pilot.pause()
        row = cards(app)["SN-0002"].row
        assert row is not None
        assert (row.battery, row.models, row.last_sync) == (
            "55 %",
            "AF 4 · fall 2 · act 1",
            "1 s ago",
        )
        assert row.posture == "not calibrated (p: calibrate)"  # flags 1: time synced only
        seq = next_seq(writer, "SN-0002")  # the wearer stood: page 0 with POSTURE_CALIBRATED
        calibrated = StatusDevice(
            seq,
            device_time(NOW - 1),
            0,
            battery_pct=55,
            epoch=EPOCH,
            queue_free=199,
            flags=9,
            boot_count=2,
        )
        writer.ingest("SN-0002", EPOCH, [calibrated])
        link.on_stored("SN-0002", EPOCH, [calibrated], NOW - 1)
        await pilot.pause()
        row = cards(app)["SN-0002"].row
        assert row is not None and row.posture == "calibrated"
        assert "posture    calibrated" in str(cards(app)["SN-0002"].render())
        link.on_state(_SessionState.BACKOFF, "link lost")
        await pilot.pause()
        row = cards(app)["SN-0002"].row
        assert row is not None and row.state == "disconnected" and row.battery == "55 %"

    try:
        drive(make_app(db, link), scenario)
    finally:
        writer.close()


def test_an_old_store_still_shows_its_last_days(db: Path) -> None:
    from tui.services import StoreView

    with Store(db) as store:
        today = StoreView(store, lambda: float(NOW))
        later = StoreView(store, lambda: float(NOW + 400 * 86400))  # opened a year on
        assert later.af_burden("p-001") == today.af_burden("p-001") != []
        assert later.activity_per_hour("p-001") == today.activity_per_hour("p-001")
        assert [t.label for t in later.hr_around_episodes("p-001")] == ["03-01 11:10"]
        assert [v.key for v in later.recent_events()] == [v.key for v in today.recent_events()]
        assert later.patient_rows() == today.patient_rows()


def test_a_link_running_in_another_thread_is_safe(db: Path) -> None:
    link = MemoryLink()

    async def scenario(app: WearSenseApp, pilot: Pilot[None]) -> None:
        worker = threading.Thread(
            target=link.set_status,
            args=("SN-0002",),
            kwargs={"state": ConnectionState.SYNCING, "battery_pct": 12},
        )
        worker.start()
        worker.join()
        for _ in range(50):
            await pilot.pause(0.01)
            row = cards(app)["SN-0002"].row
            if row is not None and row.state == "syncing":
                break
        assert row is not None and (row.state, row.battery) == ("syncing", "12 %")

    drive(make_app(db, link), scenario)


def test_a_burst_of_changes_is_one_reload(db: Path) -> None:
    link = MemoryLink()
    app = WearSenseApp(db, link, clock=lambda: float(NOW), poll_s=0, refresh_s=0.05)

    async def scenario(app: WearSenseApp, pilot: Pilot[None]) -> None:
        await pilot.pause(0.1)
        before = app.revision
        for pct in range(60, 40, -1):
            link.set_status("SN-0001", battery_pct=pct)
        await pilot.pause(0.2)
        assert app.revision == before + 1
        row = cards(app)["SN-0001"].row
        assert row is not None and row.battery == "41 %"  # the last of the burst

    drive(app, scenario)


def test_push_is_offered_only_when_the_transfer_exists(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui import services

    with Store(db) as store:
        view = services.StoreView(store, lambda: float(NOW))
        monkeypatch.setattr(services, "PUSH_MODULE", "json.decoder")  # any module that exists
        assert view.registry().push_available
        monkeypatch.setattr(services, "PUSH_MODULE", "no_such_package.transfer")
        assert not view.registry().push_available


# -- posture calibration ------------------------------------------------------------------


class FakeCalibrator:
    """A ``PostureCalibrator`` played by the test (the real one sends SET_CONFIG POSTURE
    over the companion's session: tests/test_link.py runs it over Bumble)."""

    def __init__(self, result: PushResult) -> None:
        self.result = result
        self.calls = 0

    async def calibrate_posture(self) -> PushResult:
        self.calls += 1
        return self.result


def _messages(app: WearSenseApp) -> list[str]:
    return [n.message for n in app._notifications]


def test_devices_screen_asks_the_wearable_for_a_posture_calibration(db: Path) -> None:
    calibrator = FakeCalibrator(PushResult(True, "calibrating: stand upright for about 6 s"))

    async def scenario(app: WearSenseApp, pilot: Pilot[None]) -> None:
        await pilot.press("1")
        await pilot.press("p")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert calibrator.calls == 1
        assert any("stand upright and still" in m for m in _messages(app))
        assert "calibrating: stand upright for about 6 s" in _messages(app)

    app = WearSenseApp(
        db, None, clock=lambda: float(NOW), poll_s=0, refresh_s=0, calibrator=calibrator
    )
    drive(app, scenario)


def test_a_refused_calibration_and_no_link_are_said(db: Path) -> None:
    refused = FakeCalibrator(PushResult(False, "the device refused the calibration (RANGE)"))

    async def scenario(app: WearSenseApp, pilot: Pilot[None]) -> None:
        await pilot.press("1")
        await pilot.press("p")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "the device refused the calibration (RANGE)" in _messages(app)

    app = WearSenseApp(
        db, None, clock=lambda: float(NOW), poll_s=0, refresh_s=0, calibrator=refused
    )
    drive(app, scenario)

    async def unwired(app: WearSenseApp, pilot: Pilot[None]) -> None:
        await pilot.press("1")
        await pilot.press("p")
        await pilot.pause()
        assert any("--calibrate-posture" in m for m in _messages(app))

    drive(make_app(db), unwired)


# -- on-demand ECG recording ----------------------------------------------------------------


class FakeRecorder:
    """A ``Recorder`` played by the test (the real one sends START_RECORDING over the
    companion's session: tests/test_update_e2e.py runs it over Bumble)."""

    def __init__(self, result: PushResult) -> None:
        self.result = result
        self.asked: list[int] = []

    async def start_recording(self, seconds: int) -> PushResult:
        self.asked.append(seconds)
        return self.result


def test_devices_screen_asks_the_wearable_for_an_ecg_recording(db: Path) -> None:
    recorder = FakeRecorder(PushResult(True, "recording 30 s: the verdict arrives as an event"))
    busy = FakeRecorder(PushResult(False, "a recording is already under way"))

    async def scenario(app: WearSenseApp, pilot: Pilot[None]) -> None:
        await pilot.press("1")
        await pilot.press("e")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert any("keeps still for 30 s" in m for m in _messages(app))
        assert app.recorder is not None and app.recorder.result.message in _messages(app)

    for fake in (recorder, busy):
        app = WearSenseApp(db, None, clock=lambda: float(NOW), poll_s=0, refresh_s=0, recorder=fake)
        drive(app, scenario)
        assert fake.asked == [30]

    async def unwired(app: WearSenseApp, pilot: Pilot[None]) -> None:
        await pilot.press("1")
        await pilot.press("e")
        await pilot.pause()
        assert any("--record 30" in m for m in _messages(app))

    drive(make_app(db), unwired)


def test_a_replaying_device_says_its_speed_wherever_its_times_show(db: Path) -> None:
    """Issue #30: the demo's device times ran ahead of the wall clock with nothing on
    screen saying the device replays at x10; its serial was nowhere to be seen."""
    link = MemoryLink()
    link.set_status("SN-0001", state=ConnectionState.CONNECTED)

    async def scenario(app: WearSenseApp, pilot: Pilot[None]) -> None:
        assert "SN-0001: device time, replayed x10" in app.sub_title
        card = cards(app)["SN-0001"]
        assert card.border_subtitle == "device time, replayed x10"
        assert cards(app)["SN-0002"].border_subtitle == ""
        await pilot.press("2")
        note = str(app.screen.query_one("#replay-note", Static).render())
        assert "SN-0001: times are device time, replayed x10" in note

    app = WearSenseApp(
        db, link, clock=lambda: float(NOW), poll_s=0, refresh_s=0, replay_speed={"SN-0001": 10}
    )
    drive(app, scenario)


def test_the_events_screen_has_no_replay_note_for_a_real_device(db: Path) -> None:
    async def scenario(app: WearSenseApp, pilot: Pilot[None]) -> None:
        await pilot.press("2")
        assert not app.screen.query_one("#replay-note", Static).display
        assert "replayed" not in app.sub_title

    drive(make_app(db), scenario)


def test_charts_say_no_data_yet_then_draw_from_the_first_events(tmp_path: Path) -> None:
    """Issue #30: the demo's charts were empty or flat for minutes (the activity chart
    waited for the first hourly summary). Empty, each chart says "no data yet"; the
    activity chart's "now" bar adds up the activity changes since the last summary."""
    from wearsense.protocol import ActivityChange, RhythmSummary

    db = tmp_path / "fresh.db"
    with Store(db) as store:
        store.add_patient("p-009", "UTC")
        store.assign("SN-0009", "p-009", start_utc=NOW - 3600)
        store.set_time_offset("SN-0009", EPOCH, NOW - 300)  # device time 0: 5 min ago
    link = MemoryLink()
    writer = Store(db)

    def titles(app: WearSenseApp) -> list[str]:
        charts = (BurdenChart, HeartRateChart, ActivityChart)
        return [app.screen.query_one(c).shown_title for c in charts]

    async def scenario(app: WearSenseApp, pilot: Pilot[None]) -> None:
        await pilot.press("3")
        await pilot.pause()
        assert all("no data yet" in t for t in titles(app))
        link.deliver(
            writer,
            "SN-0009",
            EPOCH,
            [
                ActivityChange(1, 30, 2, from_class=7, to_class=0, confidence=90),
                ActivityChange(2, 150, 2, from_class=0, to_class=1, confidence=90),
                RhythmSummary(3, 60, 3, interval_s=60, analysable_s=60, af_s=30),
                ActivityChange(4, 270, 2, from_class=1, to_class=0, confidence=90),
            ],
        )
        await pilot.pause()
        hours = app.screen.query_one(ActivityChart).hours
        assert [label for label, _ in hours] == ["now"]
        minutes = hours[0][1]
        assert (minutes["walk"], minutes["run"]) == (2.5, 2.0)  # 30-150, 270-300 s; 150-270 s
        burden = app.screen.query_one(BurdenChart).days
        assert len(burden) == 1 and burden[0][1] == pytest.approx(50.0)
        assert "no data yet" not in titles(app)[0] and "no data yet" not in titles(app)[2]

    try:
        drive(WearSenseApp(db, link, clock=lambda: float(NOW), poll_s=0, refresh_s=0), scenario)
    finally:
        writer.close()


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_every_screen_fits_80x24_and_160x48(db: Path, size: tuple[int, int]) -> None:
    """Issue #30: the Push button was cut off at 160 columns. At both sizes nothing lies
    outside the terminal but what a scrolling body holds (reachable by scrolling)."""
    pusher = FakePusher(PushResult(True, "ok"))
    with Store(db) as store:  # a long update history, as after a few pushes in the demo
        for i in range(12):
            store.record_update("SN-0001", "afib", 4 + i, "confirmed", "from the demo")

    async def main() -> None:
        app = WearSenseApp(
            db, MemoryLink(), clock=lambda: float(NOW), poll_s=0, refresh_s=0, pusher=pusher
        )
        async with app.run_test(size=size) as pilot:
            for key in "123456":
                await pilot.press(key)
                await pilot.pause()
                outside = [
                    w
                    for w in app.screen.query("*")
                    if w.display
                    and w.region.width
                    and (w.region.right > size[0] or w.region.bottom > size[1])
                    and not any(a.id in ("updates-body", "export-body") for a in w.ancestors)
                ]
                assert not outside, (key, outside)
            await pilot.press("4")
            button = app.screen.query_one("#push-button", Button)
            button.scroll_visible(animate=False, immediate=True)
            await pilot.pause()
            assert button.region.right <= size[0] - 1 and button.region.bottom <= size[1]
            assert app.screen.find_widget(button).region == button.region  # drawn whole

    asyncio.run(main())
