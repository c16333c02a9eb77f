"""Live events, newest at the bottom, coloured by severity: AF and falls stand out, a
long data gap is flagged with its own line. ``i`` shows only what matters (hides the
periodic summaries and status pages)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static

from tui.screens.base import DataScreen
from tui.widgets import EventLine

SCREEN_LINES = 200  # lines kept on screen; the app's feed keeps more


class EventsScreen(DataScreen):
    BINDINGS = [
        ("i", "toggle_important", "Important only"),
        ("end", "scroll_end", "Newest"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._shown = 0  # how many feed lines (ever added) are on screen

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="alert-banner")
        yield Static("", id="events-empty")
        yield VerticalScroll(id="event-list")
        yield Footer()

    def action_toggle_important(self) -> None:
        self.query_one("#event-list").toggle_class("important-only")
        self.reload()

    def action_scroll_end(self) -> None:
        self.query_one("#event-list", VerticalScroll).scroll_end(animate=False)

    def reload(self) -> None:
        app = self.wearsense
        feed = app.feed
        pending = len(app.pending_falls)
        banner = self.query_one("#alert-banner", Static)
        banner.update(
            f"{pending} fall alert(s) waiting for acknowledgement (press a)" if pending else ""
        )
        banner.set_class(pending > 0, "active")
        self.query_one("#events-empty", Static).update(
            "" if feed.total else "No events stored yet. New events appear here as they arrive."
        )
        new = feed.total - self._shown
        if new <= 0:
            return
        lines = list(feed.lines)[-min(new, len(feed.lines), SCREEN_LINES) :]
        listing = self.query_one("#event-list", VerticalScroll)
        listing.mount_all([EventLine(v) for v in lines])
        self._shown = feed.total
        extra = len(listing.children) - SCREEN_LINES
        if extra > 0:
            for child in list(listing.children)[:extra]:
                child.remove()
        listing.scroll_end(animate=False)
