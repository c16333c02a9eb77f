"""Live events, newest at the bottom, coloured by severity: AF and falls stand out, a
long data gap is flagged with its own line. ``i`` shows only what matters (hides the
periodic summaries and status pages)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Header, Static

from tui.screens.base import DataScreen
from tui.widgets import AlertBanner, EventList

SCREEN_LINES = 2000  # lines the list keeps; the app's feed keeps the newest FEED_SIZE


class EventsScreen(DataScreen):
    BINDINGS = [
        ("i", "toggle_important", "Important"),
        ("end", "scroll_end", "Newest"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._shown = 0  # how many feed lines (ever added) the list has

    def compose(self) -> ComposeResult:
        yield Header()
        yield AlertBanner(id="alert-banner")
        yield Static("", id="replay-note")
        yield Static("", id="events-empty")
        yield EventList(SCREEN_LINES, id="event-list")
        yield Footer(compact=True)

    def action_toggle_important(self) -> None:
        listing = self.query_one(EventList)
        listing.important_only = not listing.important_only

    def action_scroll_end(self) -> None:
        self.query_one(EventList).scroll_end(animate=False)

    def reload(self) -> None:
        app = self.wearsense
        feed = app.feed
        note = ", ".join(
            f"{serial}: times are device time, replayed x{speed:g} (ahead of the wall clock)"
            for serial, speed in sorted(app.replay_speed.items())
        )
        self.query_one("#replay-note", Static).update(note)
        self.query_one("#replay-note", Static).display = bool(note)
        self.query_one("#events-empty", Static).update(
            "" if feed.total else "No events stored yet. New events appear here as they arrive."
        )
        new = feed.total - self._shown
        if new > 0:
            self.query_one(EventList).add(list(feed.lines)[-min(new, len(feed.lines)) :])
            self._shown = feed.total
