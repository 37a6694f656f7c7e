"""The Calendar page's state: the visible range and what is in it (appointments, blocks, busy time from synced
calendars), laid out for the time grid or grouped for the list by calendar_layout.py; and which dialog is open.

Each dialog has a substate of CalendarState beside this module: the open appointment and its actions in
calendar_appointment_state.py, a manual booking and a time block in calendar_forms_state.py. A substate reads and
writes these vars through inheritance, and reloads the grid after a change with `self._load()`.
The components are in calendar.py and calendar_dialogs.py."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import reflex as rx

from assistant.live import registry
from assistant.pages.dashboard import calendar_layout as layout
from assistant.state.auth import OwnerState
from assistant.state.handlers import service_event
from backend.calendar import booking
from backend.calendar.availability import get_booking_policy, get_weekly_hours, list_services
from backend.calendar.slots import available_slots, get_zone, wall_to_utc
from backend.core.live_events import APPOINTMENT_UPDATED, workspace_channel
from backend.errors import ServiceError

UTC = timezone.utc
TABS = [("schedule", "Schedule", "calendar_days"), ("setup", "Setup", "sliders_horizontal"),
        ("sync", "Sync", "refresh_cw")]
VIEWS = [("day", "Day"), ("week", "Week"), ("list", "List")]
FILTERS = [("active", "Upcoming"), ("pending", "Pending"), ("confirmed", "Confirmed"), ("completed", "Completed"),
           ("no_show", "No-show"), ("cancelled", "Cancelled"), ("all", "All")]
_FILTER_STATUSES = {"active": ["pending", "confirmed"], "all": None}


class CalendarState(OwnerState):
    tab: str = "schedule"
    view: str = "week"
    anchor: str = ""
    today: str = ""
    tz_name: str = ""
    tz_abbr: str = ""
    range_title: str = ""
    loaded: bool = False
    load_error: str = ""
    services: list[dict[str, str]] = []
    hours: list[str] = []
    grid_height: str = "0px"
    days: list[dict[str, str]] = []
    columns: list[list[dict[str, str]]] = []
    in_range: int = 0
    status_filter: str = "active"
    groups: list[dict[str, str]] = []
    group_items: list[list[dict[str, str]]] = []
    # One dialog at a time, and none after the page loads again: "appointment", "booking", "block" or "".
    dialog: str = ""

    _dirty: bool = False

    # --- loading ---
    def _zone(self):
        return get_zone(self.tz_name)

    def _load(self) -> None:
        ws = self._workspace_id
        self.tz_name = get_booking_policy(ws).timezone or "UTC"
        tz = self._zone()
        now = datetime.now(UTC)
        self.tz_abbr = now.astimezone(tz).tzname() or ""
        today = now.astimezone(tz).date()
        self.today = today.isoformat()
        if not self.anchor:
            self.anchor = self.today
        self.services = [{"id": str(s.id), "name": s.name, "duration": str(s.duration_minutes)}
                         for s in list_services(ws, include_inactive=False)]
        first, last = layout.visible_range(self.view, date.fromisoformat(self.anchor))
        self.range_title = layout.range_title(self.view, first, last)
        self.load_error = ""
        if self.view == "list":
            statuses = _FILTER_STATUSES.get(self.status_filter, [self.status_filter])
            rows = booking.list_appointments(ws, first, last, status=statuses)
            self.in_range = len(rows)
            self.groups, self.group_items = layout.list_groups(rows, tz, today)
        else:
            rows = [a for a in booking.list_appointments(ws, first, last) if a.status != "cancelled"]
            self.in_range = len(rows)
            grid = layout.time_grid(first, last, appointments=rows, busy=booking.list_busy(ws, first, last),
                                    weekly_hours=get_weekly_hours(ws), tz=tz, now=now)
            self.hours, self.grid_height, self.days, self.columns = grid.hours, grid.height, grid.days, grid.columns
        self.loaded = True

    @service_event
    def load(self):
        params = self.router.url.query_parameters
        tab = params.get("tab", "")
        self.tab = tab if tab in ("schedule", "setup", "sync") else "schedule"
        self.dialog = ""
        self.anchor = ""
        self._load()
        registry.watch(self.router.session.client_token, CalendarState, [workspace_channel(self._workspace_id)])

    def _guarded_reload(self):
        try:
            self._load()
        except ServiceError as exc:
            self.load_error = exc.message

    def _show_dialog(self, name: str, is_open: bool) -> None:
        """Open the dialog `name`, or close it: only if it is the one open, so a late close shuts no other."""
        if is_open:
            self.dialog = name
        elif self.dialog == name:
            self.dialog = ""

    # --- the range in sight ---
    @service_event
    def set_tab(self, tab: str):
        self.tab = tab if tab in ("schedule", "setup", "sync") else "schedule"
        query = "" if self.tab == "schedule" else f"?tab={self.tab}"
        redirect = self._guarded_reload() if self.tab == "schedule" else None
        return redirect or rx.call_script(f"window.history.replaceState(null, '', '/dashboard/calendar{query}')")

    @service_event
    def set_view(self, view: str):
        view = view if view in dict(VIEWS) else "week"
        if view == "list" and self.view != "list" and self.anchor and self.today:
            # The list runs forward from today when today is in sight, else from the first day shown.
            first, last = layout.visible_range(self.view, date.fromisoformat(self.anchor))
            today = date.fromisoformat(self.today)
            self.anchor = (today if first <= today <= last else first).isoformat()
        self.view = view
        return self._guarded_reload()

    @service_event
    def set_status_filter(self, value: str):
        self.status_filter = value if value in dict(FILTERS) else "active"
        return self._guarded_reload()

    @service_event
    def step(self, direction: int):
        anchor = date.fromisoformat(self.anchor or self.today)
        days = {"day": 1, "week": 7}.get(self.view, layout.LIST_DAYS)
        self.anchor = (anchor + timedelta(days=days * int(direction))).isoformat()
        return self._guarded_reload()

    @service_event
    def go_today(self):
        self.anchor = self.today or ""
        return self._guarded_reload()

    @service_event
    def open_day(self, key: str):
        self.anchor, self.view = key, "day"
        return self._guarded_reload()

    # --- live updates: the grid (an open appointment follows them in its own substate) ---
    def on_live_event(self, channel: str, event: dict) -> None:
        if event.get("type") == APPOINTMENT_UPDATED:
            self._dirty = True

    def on_resync(self) -> None:
        self._dirty = True

    def after_live_events(self) -> None:
        if self._dirty and self._workspace_id:
            self._dirty = False
            self._load()

    # --- what the dialogs share: the business's clock ---
    def _slots_for(self, service_id: str, day_text: str) -> tuple[list[dict[str, str]], str]:
        """The free times of a service on a day, as buttons to pick, and a note when there are none."""
        if not service_id:
            return [], ""
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            return [], "Pick a date to see the free times."
        try:
            slots = available_slots(self._workspace_id, int(service_id), start=day, end=day)
        except ServiceError as exc:
            return [], exc.message
        tz = self._zone()
        out = [{"time": layout.hhmm(s.starts_at.astimezone(tz)), "label": s.label} for s in slots]
        note = "" if out else "No free times that day within your hours. Type a time to book outside them."
        return out, note

    def _local(self, day_text: str, time_text: str, field: str = "time") -> datetime:
        """The instant a date and a wall-clock time typed in a dialog name, in the business's zone."""
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            raise ServiceError("Pick a date.", field="date") from None
        try:
            at = time.fromisoformat(time_text)
        except ValueError:
            raise ServiceError("Pick a time, or type one like 14:30.", field=field) from None
        moment = wall_to_utc(day, at.replace(second=0, microsecond=0), self._zone())
        if moment is None:
            raise ServiceError("That time does not exist that day: the clocks change. Pick another.", field=field)
        return moment
