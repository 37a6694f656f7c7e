"""Calendar → Sync: connected calendars (CalDAV, Google) with their health, and the ICS subscription link."""

from __future__ import annotations

import json

import reflex as rx

from assistant.components.chat import local_time
from assistant.components.forms import form_alert
from assistant.state.auth import OwnerState
from assistant.state.handlers import service_event
from backend.calendar import connections, feed
from backend.core.formatting import iso
from backend.errors import ServiceError
from backend.settings import get_settings


class CalendarSyncState(OwnerState):
    loaded: bool = False
    calendars: list[dict[str, str]] = []
    caldav_error: str = ""
    connecting: bool = False
    google_available: bool = False
    feed_on: bool = False
    new_feed_url: str = ""  # shown once, right after it is made
    notice: str = ""

    def _load(self) -> None:
        health = {h.id: h for h in connections.connection_health(self._workspace_id)}
        self.calendars = []
        for c in connections.list_connections(self._workspace_id):
            h = health.get(c.id)
            self.calendars.append({
                "id": str(c.id), "kind": "Google" if c.kind == "google" else "CalDAV", "name": c.name or c.url,
                "user": c.username, "secret": c.secret_masked, "last_sync": iso(c.last_sync_at),
                "error": c.last_error, "healthy": "1" if h is not None and h.healthy else "",
                "pending": str(h.pending_changes) if h is not None and h.pending_changes else "",
            })
        self.feed_on = feed.feed_enabled(self._workspace_id)
        settings = get_settings()
        self.google_available = bool(settings.google_client_id and settings.google_client_secret)
        self.loaded = True

    @service_event
    def load(self):
        self.caldav_error, self.new_feed_url = "", ""
        query = self.router.url.query_parameters
        self.notice = ("Google Calendar is connected." if query.get("calendar") == "connected" else
                       (f"Google Calendar was not connected: {query.get('calendar_error')}"
                        if query.get("calendar_error") else ""))
        self._load()

    @rx.event
    def start_connect(self):
        self.caldav_error = ""
        self.connecting = True

    @service_event
    def add_caldav(self, form: dict):
        self.caldav_error = ""
        try:
            ctx = self._owner()
            connections.add_caldav_connection(ctx.workspace_id, url=form.get("url", ""),
                                              username=form.get("username", ""), password=form.get("password", ""),
                                              calendar_name=form.get("calendar", ""), user_id=ctx.user_id)
        except ServiceError as exc:
            self.connecting = False
            self.caldav_error = exc.message
            return
        self.connecting = False
        self._load()
        return rx.toast.success("Calendar connected. Bookings go to it; its busy times block slots.")

    @service_event
    def remove(self, connection_id: str):
        done = self._for_owner(
            lambda ctx: connections.remove_connection(ctx.workspace_id, int(connection_id), user_id=ctx.user_id))
        if not done.ok:
            return done.event
        self._load()
        return rx.toast.success("Calendar disconnected; its stored password or token was deleted.")

    @service_event
    def connect_google(self):
        done = self._for_owner(lambda ctx: connections.google_authorization_url(
            ctx.workspace_id, connections.google_redirect_uri(), user_id=ctx.user_id))
        if not done.ok:
            return done.event
        auth = done.value
        # This browser keeps the key that the callback must present (only on the callback's path, for as long as
        # the sign-in may take); then Google's consent screen in this tab, whose callback brings the owner back.
        cookie = (f"{connections.GOOGLE_BROWSER_COOKIE}={auth.browser_key}; path={connections.GOOGLE_CALLBACK_PATH}; "
                  f"max-age={connections.GOOGLE_STATE_SECONDS}; samesite=lax")
        return rx.call_script(f"document.cookie = {json.dumps(cookie)} + (location.protocol === 'https:' ? "
                              f"'; secure' : ''); window.location.assign({json.dumps(auth.url)})")

    @service_event
    def make_feed(self):
        ctx = self._owner()
        self.new_feed_url = feed.rotate_feed_token(ctx.workspace_id, user_id=ctx.user_id)
        self.feed_on = True

    @service_event
    def turn_off_feed(self):
        ctx = self._owner()
        feed.disable_feed(ctx.workspace_id, user_id=ctx.user_id)
        self.feed_on, self.new_feed_url = False, ""
        return rx.toast.success("The subscription link no longer works.")


def _calendar_row(c: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.icon(rx.cond(c["healthy"] == "1", "circle_check", "circle_alert"), size=18,
                color=rx.cond(c["healthy"] == "1", rx.color("green", 10), rx.color("amber", 10))),
        rx.vstack(
            rx.hstack(rx.text(c["name"], size="2", weight="bold", class_name="truncate"),
                      rx.badge(c["kind"], variant="soft", size="1"), spacing="2", align="center"),
            rx.text(c["user"], " · ", c["secret"], size="1", color=rx.color("gray", 10)),
            rx.cond(c["last_sync"] != "",
                    rx.text("Last sync ", local_time(c["last_sync"]), size="1", color=rx.color("gray", 10)),
                    rx.text("Not synced yet", size="1", color=rx.color("gray", 10))),
            rx.cond(c["error"] != "", rx.text(c["error"], size="1", color=rx.color("red", 11))),
            rx.cond(c["pending"] != "", rx.text(c["pending"] + " change(s) waiting to be sent", size="1",
                                                color=rx.color("amber", 11))),
            spacing="1", min_width="0", flex="1",
        ),
        rx.button("Disconnect", size="1", variant="soft", color_scheme="red",
                  on_click=CalendarSyncState.remove(c["id"])),
        width="100%", align="start", class_name="gap-card", data_testid="calendar-connection",
    )


def _connections_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Connected calendars", size="3", as_="h2"),
            rx.text("Your bookings appear in them, and their busy times keep customers from booking then. A "
                    "calendar that fails never blocks a booking; it catches up at the next sync.", size="2",
                    color=rx.color("gray", 11)),
            rx.cond(CalendarSyncState.notice != "", rx.callout(CalendarSyncState.notice, icon="info", size="1")),
            rx.cond(CalendarSyncState.calendars.length() > 0,
                    rx.vstack(rx.foreach(CalendarSyncState.calendars, _calendar_row), spacing="2", width="100%"),
                    rx.text("No calendar connected.", size="2", color=rx.color("gray", 10))),
            rx.divider(),
            rx.heading("Add a CalDAV calendar", size="2", as_="h3"),
            rx.text("Nextcloud, iCloud, Fastmail, Radicale… Use an app password where your provider offers one.",
                    size="1", color=rx.color("gray", 10)),
            rx.form(
                rx.vstack(
                    rx.input(name="url", placeholder="https://cloud.example.com/remote.php/dav", width="100%",
                             aria_label="CalDAV address", required=True),
                    rx.grid(rx.input(name="username", placeholder="Username", aria_label="Username"),
                            rx.input(name="password", type="password", placeholder="Password",
                                     aria_label="Password"),
                            columns=rx.breakpoints(initial="1", sm="2"), spacing="2", width="100%"),
                    rx.input(name="calendar", placeholder="Calendar name (optional: the first one)", width="100%",
                             aria_label="Calendar name"),
                    form_alert(CalendarSyncState.caldav_error),
                    rx.button("Connect", type="submit", loading=CalendarSyncState.connecting,
                              on_click=CalendarSyncState.start_connect),
                    spacing="2", width="100%", align="start",
                ),
                on_submit=CalendarSyncState.add_caldav,
                width="100%",
            ),
            rx.divider(),
            rx.heading("Google Calendar", size="2", as_="h3"),
            rx.cond(CalendarSyncState.google_available,
                    rx.button(rx.icon("calendar_plus", size=14), "Connect Google Calendar", variant="soft",
                              on_click=CalendarSyncState.connect_google),
                    rx.text("Not set up on this server: the operator sets ASSISTANT_GOOGLE_CLIENT_ID and "
                            "ASSISTANT_GOOGLE_CLIENT_SECRET.", size="1", color=rx.color("gray", 10))),
            spacing="3", width="100%", align="start",
        ),
        width="100%",
    )


def _feed_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Subscription link (ICS)", size="3", as_="h2"),
            rx.text("Subscribe to your bookings from any calendar app. Anyone with the link can read your schedule: "
                    "keep it private, and replace it if it leaks.", size="2", color=rx.color("gray", 11)),
            rx.cond(
                CalendarSyncState.new_feed_url != "",
                rx.vstack(
                    rx.text("Your link (shown only now — copy it):", size="2", weight="medium"),
                    rx.hstack(rx.code(CalendarSyncState.new_feed_url, size="1", class_name="truncate",
                                      data_testid="feed-url"),
                              rx.icon_button(rx.icon("copy", size=14), variant="soft", aria_label="Copy link",
                                             on_click=[rx.set_clipboard(CalendarSyncState.new_feed_url),
                                                       rx.toast.success("Link copied.")]),
                              width="100%", align="center"),
                    spacing="1", width="100%",
                ),
            ),
            rx.hstack(
                rx.button(rx.cond(CalendarSyncState.feed_on, "Replace link", "Create link"), variant="soft",
                          on_click=CalendarSyncState.make_feed),
                rx.cond(CalendarSyncState.feed_on,
                        rx.button("Turn off", variant="soft", color_scheme="gray",
                                  on_click=CalendarSyncState.turn_off_feed)),
                spacing="2",
            ),
            spacing="3", width="100%", align="start",
        ),
        width="100%",
    )


def calendar_sync_panel() -> rx.Component:
    return rx.cond(
        CalendarSyncState.loaded,
        rx.grid(_connections_card(), _feed_card(), columns=rx.breakpoints(initial="1", lg="2"), spacing="4",
                width="100%"),
        rx.center(rx.spinner(), padding="3rem", width="100%"),
    )
