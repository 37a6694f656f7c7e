"""Calendar: the owner's schedule (day and week time grids, an upcoming list), each appointment's details and
actions, manual bookings for walk-ins and phone calls, time blocks; beside it the Setup and Sync tabs."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import reflex as rx

from assistant.components.forms import field_error, form_alert
from assistant.components.layout import dashboard_shell, empty_state, page_header, tab_bar
from assistant.live import registry
from assistant.pages.dashboard.booking_setup import booking_setup_panel
from assistant.pages.dashboard.calendar_sync import calendar_sync_panel
from assistant.state.auth import AuthState
from backend.calendar import booking
from backend.calendar.availability import get_booking_policy, get_weekly_hours, list_services
from backend.calendar.slots import BLOCK_SOURCE, available_slots, get_zone, wall_to_utc
from backend.errors import AuthenticationError, ServiceError
from backend.messaging.contacts import find_or_create_contact, list_contacts
from backend.messaging.events import APPOINTMENT_UPDATED
from backend.messaging.phones import display_phone
from backend.providers.events import workspace_channel

UTC = timezone.utc
HOUR_PX = 52
MIN_BLOCK_PX = 24
LIST_DAYS = 28
TABS = [("schedule", "Schedule", "calendar_days"), ("setup", "Setup", "sliders_horizontal"),
        ("sync", "Sync", "refresh_cw")]
VIEWS = [("day", "Day"), ("week", "Week"), ("list", "List")]
FILTERS = [("active", "Upcoming"), ("pending", "Pending"), ("confirmed", "Confirmed"), ("completed", "Completed"),
           ("no_show", "No-show"), ("cancelled", "Cancelled"), ("all", "All")]
_FILTER_STATUSES = {"active": ["pending", "confirmed"], "all": None}
STATUS_LABELS = {"pending": "Pending", "confirmed": "Confirmed", "completed": "Completed", "no_show": "No-show",
                 "cancelled": "Cancelled"}
STATUS_COLORS = {"pending": "amber", "confirmed": "indigo", "completed": "green", "no_show": "red",
                 "cancelled": "gray"}
SOURCE_LABELS = {"chat": "Booked by the customer in the chat", "owner": "Booked by you",
                 "api": "Booked through the API", BLOCK_SOURCE: "Time you blocked"}
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]


# --- pure helpers ----------------------------------------------------------------------------------------------


def _short_day(d: date) -> str:
    return f"{_WEEKDAYS[d.weekday()][:3]} {d.day} {_MONTHS[d.month - 1][:3]}"


def _range_title(view: str, first: date, last: date) -> str:
    if view == "day":
        return f"{_WEEKDAYS[first.weekday()]} {first.day} {_MONTHS[first.month - 1]} {first.year}"
    if first.year != last.year:
        return f"{first.day} {_MONTHS[first.month - 1][:3]} {first.year} – {last.day} {_MONTHS[last.month - 1][:3]} " \
               f"{last.year}"
    if first.month != last.month:
        return f"{first.day} {_MONTHS[first.month - 1][:3]} – {last.day} {_MONTHS[last.month - 1][:3]} {last.year}"
    return f"{first.day} – {last.day} {_MONTHS[first.month - 1]} {first.year}"


def _hhmm(moment: datetime) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"


def _lay_out(items: list[dict]) -> None:
    """Side by side where times overlap: each item gets a lane within its cluster of overlapping items."""
    items.sort(key=lambda it: (it["_s"], it["_e"]))
    cluster: list[dict] = []
    cluster_end = -1

    def place(group: list[dict]) -> None:
        lane_ends: list[int] = []
        for it in group:
            for lane, end in enumerate(lane_ends):
                if end <= it["_s"]:
                    lane_ends[lane] = it["_e"]
                    it["_lane"] = lane
                    break
            else:
                lane_ends.append(it["_e"])
                it["_lane"] = len(lane_ends) - 1
        for it in group:
            it["left"] = f"{it['_lane'] * 100 / len(lane_ends):.3f}%"
            it["width"] = f"{100 / len(lane_ends):.3f}%"

    for it in items:
        if cluster and it["_s"] >= cluster_end:
            place(cluster)
            cluster, cluster_end = [], -1
        cluster.append(it)
        cluster_end = max(cluster_end, it["_e"])
    if cluster:
        place(cluster)


def _flags(a: booking.AppointmentView, now: datetime) -> dict[str, str]:
    block = a.source == BLOCK_SOURCE
    live = a.status in ("pending", "confirmed")
    started = a.starts_at <= now
    return {
        "is_block": "1" if block else "",
        "can_confirm": "1" if (not block and a.status == "pending") else "",
        "can_complete": "1" if (not block and started and a.status in ("confirmed", "no_show")) else "",
        "can_no_show": "1" if (not block and started and a.status in ("confirmed", "completed")) else "",
        "can_move": "1" if (not block and live) else "",
        "can_cancel": "1" if (not block and live) else "",
        "can_remove": "1" if (block and live) else "",
    }


def _title(a: booking.AppointmentView) -> str:
    if a.source == BLOCK_SOURCE:
        return a.title or "Blocked"
    return a.service_name or a.title or "Appointment"


def _summary(a: booking.AppointmentView, tz) -> dict[str, str]:
    start, end = a.starts_at.astimezone(tz), a.ends_at.astimezone(tz)
    block = a.source == BLOCK_SOURCE
    status = "blocked" if block else a.status
    who = "" if block else (a.contact_name or "No customer")
    return {
        "id": str(a.id),
        "title": _title(a),
        "who": who,
        "time": f"{_hhmm(start)}–{_hhmm(end)}",
        "status": status,
        "status_label": "Blocked" if block else STATUS_LABELS.get(a.status, a.status),
        "color": "gray" if block else STATUS_COLORS.get(a.status, "gray"),
        "kind": "block" if block else "appointment",
        "line": f"{_hhmm(start)} {_title(a)}" + (f" · {who}" if who else ""),
        "label": f"{_title(a)}{' with ' + who if who else ''}, {_short_day(start.date())} {_hhmm(start)}, "
                 f"{'blocked' if block else STATUS_LABELS.get(a.status, a.status).lower()}",
    }


def _busy_summary(b: booking.BusyView, tz) -> dict[str, str]:
    """Busy time from a synced calendar, shaped like an appointment's summary so the grid lays both out."""
    start, end = b.starts_at.astimezone(tz), b.ends_at.astimezone(tz)
    return {
        "id": "", "title": "Busy", "who": b.calendar, "time": f"{_hhmm(start)}–{_hhmm(end)}", "status": "busy",
        "status_label": "Busy", "color": "gray", "kind": "busy", "line": f"{_hhmm(start)} Busy · {b.calendar}",
        "label": f"Busy on {b.calendar}, {_short_day(start.date())} {_hhmm(start)}–{_hhmm(end)}",
    }


# --- state -----------------------------------------------------------------------------------------------------


class CalendarState(AuthState):
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
    # the open appointment
    detail_open: bool = False
    selected: dict[str, str] = {}
    detail_error: str = ""
    rescheduling: bool = False
    move_date: str = ""
    move_time: str = ""
    move_slots: list[dict[str, str]] = []
    move_slots_note: str = ""
    cancel_reason: str = ""
    # a new booking
    booking_open: bool = False
    b_service: str = ""
    b_query: str = ""
    b_matches: list[dict[str, str]] = []
    b_searched: bool = False
    b_contact_id: str = ""
    b_contact_label: str = ""
    b_new_customer: bool = False
    b_phone: str = ""
    b_first: str = ""
    b_last: str = ""
    b_date: str = ""
    b_time: str = ""
    b_slots: list[dict[str, str]] = []
    b_slots_note: str = ""
    b_notes: str = ""
    booking_error: str = ""
    booking_field: str = ""
    booking_busy: bool = False
    # a time block
    block_open: bool = False
    k_date: str = ""
    k_from: str = "12:00"
    k_to: str = "13:00"
    k_title: str = ""
    block_error: str = ""

    _dirty: bool = False
    _selected_dirty: bool = False

    # --- loading ---
    def _zone(self):
        return get_zone(self.tz_name)

    def _today(self) -> date:
        return datetime.now(self._zone()).date()

    def _range(self) -> tuple[date, date]:
        anchor = date.fromisoformat(self.anchor)
        if self.view == "day":
            return anchor, anchor
        if self.view == "week":
            first = anchor - timedelta(days=anchor.weekday())
            return first, first + timedelta(days=6)
        return anchor, anchor + timedelta(days=LIST_DAYS - 1)

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
        first, last = self._range()
        self.range_title = _range_title(self.view, first, last)
        self.load_error = ""
        if self.view == "list":
            self._load_list(first, last, tz, now)
        else:
            self._load_grid(first, last, tz, now, today)
        self.loaded = True

    def _load_grid(self, first: date, last: date, tz, now: datetime, today: date) -> None:
        rows = [a for a in booking.list_appointments(self._workspace_id, first, last) if a.status != "cancelled"]
        self.in_range = len(rows)
        # Busy time from synced calendars shows too: it is why those hours offer no slot.
        spans = [(a.starts_at, a.ends_at, _summary(a, tz)) for a in rows] + \
            [(b.starts_at, b.ends_at, _busy_summary(b, tz)) for b in booking.list_busy(self._workspace_id, first, last)]
        # The hours shown: the opening hours of the week, stretched to whatever is booked outside them.
        weekly = get_weekly_hours(self._workspace_id)
        opens = [int(s[:2]) for windows in weekly.values() for s, _ in windows]
        # A window past midnight keeps the grid open to midnight; its hours after midnight show when booked.
        closes = [24 if e <= s else int(e[:2]) + (1 if e[3:5] != "00" else 0)
                  for windows in weekly.values() for s, e in windows]
        lo, hi = (min(opens), max(closes)) if opens else (8, 18)
        n_days = (last - first).days + 1
        per_day: list[list[dict]] = [[] for _ in range(n_days)]
        for starts_at, ends_at, summary in spans:
            start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
            for i in range(n_days):
                day = first + timedelta(days=i)
                day_start = datetime.combine(day, time(0), tzinfo=tz)
                day_end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
                if end <= day_start or start >= day_end:
                    continue
                s_min = int((max(start, day_start) - day_start).total_seconds() // 60)
                e_min = int((min(end, day_end) - day_start).total_seconds() // 60)
                lo, hi = min(lo, s_min // 60), max(hi, -(-e_min // 60))
                per_day[i].append({**summary, "_s": s_min, "_e": max(e_min, s_min + 15)})
        lo, hi = max(0, lo), min(24, max(hi, lo + 1))
        self.hours = [f"{h:02d}:00" for h in range(lo, hi)]
        self.grid_height = f"{(hi - lo) * HOUR_PX}px"
        now_local = now.astimezone(tz)
        now_min = now_local.hour * 60 + now_local.minute
        days, columns = [], []
        for i, items in enumerate(per_day):
            day = first + timedelta(days=i)
            _lay_out(items)
            for it in items:
                it["top"] = f"{(it['_s'] - lo * 60) * HOUR_PX / 60:.1f}px"
                it["height"] = f"{max(MIN_BLOCK_PX, (it['_e'] - it['_s']) * HOUR_PX / 60 - 2):.1f}px"
                # As many lines as the block's height holds: one under 45 minutes, two under 75, else three.
                minutes = it["_e"] - it["_s"]
                it["lines"] = "1" if minutes < 45 else ("2" if minutes < 75 else "3")
                it["meta"] = it["time"] + (f" · {it['who']}" if it["who"] else "")
            columns.append([{k: v for k, v in it.items() if not k.startswith("_")} for it in items])
            days.append({
                "key": day.isoformat(), "weekday": _WEEKDAYS[day.weekday()][:3], "day": str(day.day),
                "label": _short_day(day), "today": "1" if day == today else "",
                "now": f"{(now_min - lo * 60) * HOUR_PX / 60:.1f}px"
                if day == today and lo * 60 <= now_min < hi * 60 else "",
                "count": str(len(items)),
            })
        self.days, self.columns = days, columns

    def _load_list(self, first: date, last: date, tz, now: datetime) -> None:
        statuses = _FILTER_STATUSES.get(self.status_filter, [self.status_filter])
        rows = booking.list_appointments(self._workspace_id, first, last, status=statuses)
        self.in_range = len(rows)
        groups: list[dict[str, str]] = []
        items: list[list[dict[str, str]]] = []
        for a in rows:
            day = a.starts_at.astimezone(tz).date()
            key = day.isoformat()
            if not groups or groups[-1]["key"] != key:
                label = _short_day(day)
                if key == self.today:
                    label = "Today · " + label
                elif day == date.fromisoformat(self.today) + timedelta(days=1):
                    label = "Tomorrow · " + label
                groups.append({"key": key, "label": label})
                items.append([])
            item = _summary(a, tz)
            if a.status == "cancelled" and a.cancel_reason:
                item["who"] = (item["who"] + " · " if item["who"] else "") + "“" + a.cancel_reason + "”"
            items[-1].append(item)
        self.groups, self.group_items = groups, items

    @rx.event
    def load(self):
        try:
            self._owner()
        except AuthenticationError as exc:
            return self._to_login(exc)
        params = self.router.url.query_parameters
        tab = params.get("tab", "")
        self.tab = tab if tab in ("schedule", "setup", "sync") else "schedule"
        self.detail_open = self.booking_open = self.block_open = False
        self.anchor = ""
        self._load()
        registry.watch(self.router.session.client_token, CalendarState, [workspace_channel(self._workspace_id)])
        wanted = params.get("appointment", "")
        if wanted.isdigit():  # a link from the inbox opens that appointment
            return CalendarState.open_appointment(wanted)

    def _guarded_reload(self):
        try:
            self._owner()
        except AuthenticationError as exc:
            return self._to_login(exc)
        try:
            self._load()
        except ServiceError as exc:
            self.load_error = exc.message

    @rx.event
    def set_tab(self, tab: str):
        self.tab = tab if tab in ("schedule", "setup", "sync") else "schedule"
        query = "" if self.tab == "schedule" else f"?tab={self.tab}"
        redirect = self._guarded_reload() if self.tab == "schedule" else None
        return redirect or rx.call_script(f"window.history.replaceState(null, '', '/dashboard/calendar{query}')")

    @rx.event
    def set_view(self, view: str):
        view = view if view in dict(VIEWS) else "week"
        if view == "list" and self.view != "list" and self.anchor and self.today:
            # The list runs forward from today when today is in sight, else from the first day shown.
            first, last = self._range()
            today = date.fromisoformat(self.today)
            self.anchor = (today if first <= today <= last else first).isoformat()
        self.view = view
        return self._guarded_reload()

    @rx.event
    def set_status_filter(self, value: str):
        self.status_filter = value if value in dict(FILTERS) else "active"
        return self._guarded_reload()

    @rx.event
    def step(self, direction: int):
        anchor = date.fromisoformat(self.anchor or self.today)
        days = {"day": 1, "week": 7}.get(self.view, LIST_DAYS)
        self.anchor = (anchor + timedelta(days=days * int(direction))).isoformat()
        return self._guarded_reload()

    @rx.event
    def go_today(self):
        self.anchor = self.today or ""
        return self._guarded_reload()

    @rx.event
    def open_day(self, key: str):
        self.anchor, self.view = key, "day"
        return self._guarded_reload()

    # --- live updates ---
    def on_live_event(self, channel: str, event: dict) -> None:
        if event.get("type") != APPOINTMENT_UPDATED:
            return
        self._dirty = True
        if self.detail_open and str(event.get("appointment_id")) == self.selected.get("id"):
            self._selected_dirty = True

    def after_live_events(self) -> None:
        if self._dirty and self._workspace_id:
            self._dirty = False
            self._load()
        if self._selected_dirty:
            self._selected_dirty = False
            try:
                self._select(int(self.selected.get("id", "0")))
            except ServiceError:
                self.detail_open = False

    # --- the open appointment ---
    def _select(self, appointment_id: int) -> None:
        a = booking.get_appointment(self._workspace_id, appointment_id)
        tz = self._zone()
        start, end = a.starts_at.astimezone(tz), a.ends_at.astimezone(tz)
        summary = _summary(a, tz)
        cancelled = ""
        if a.status == "cancelled":
            who = {"owner": "you", "customer": "the customer"}.get(a.cancelled_by, a.cancelled_by or "someone")
            cancelled = f"Cancelled by {who}" + (f": “{a.cancel_reason}”" if a.cancel_reason else ".")
        self.selected = {
            **summary, **_flags(a, datetime.now(UTC)),
            "when": f"{_WEEKDAYS[start.weekday()]} {start.day} {_MONTHS[start.month - 1]} {start.year}, "
                    f"{_hhmm(start)}–{_hhmm(end)}" if start.date() == end.date() else
                    f"{a.label} – {_short_day(end.date())}, {_hhmm(end)}",
            "service": a.service_name, "service_id": str(a.service_id or ""),
            "contact_id": str(a.contact_id or ""), "contact_name": a.contact_name,
            "conversation_id": str(a.conversation_id or ""), "notes": a.notes,
            "source": SOURCE_LABELS.get(a.source, a.source), "cancelled": cancelled,
            "date": start.date().isoformat(), "start_time": _hhmm(start),
        }

    @rx.event
    def open_appointment(self, appointment_id: str):
        try:
            self._owner()
            self._select(int(appointment_id))
        except AuthenticationError as exc:
            return self._to_login(exc)
        except (ServiceError, ValueError):
            self._guarded_reload()
            return rx.toast.error("That appointment no longer exists.")
        self.detail_error, self.rescheduling, self.cancel_reason = "", False, ""
        self.detail_open = True

    @rx.event
    def set_detail_open(self, value: bool):
        self.detail_open = value
        if not value:
            self.rescheduling = False

    def _act(self, action, done: str):
        self.detail_error = ""
        outcome = self._for_owner(lambda ctx: action(), error_to="detail_error")
        if not outcome.ok:
            return outcome.event
        self._select(outcome.value.id)
        self._load()
        return rx.toast.success(done)

    @rx.event
    def set_status(self, status: str):
        appointment_id = int(self.selected.get("id", "0"))
        done = {"confirmed": "Appointment confirmed.", "completed": "Marked completed.",
                "no_show": "Marked as a no-show."}.get(status, "Saved.")
        return self._act(lambda: booking.set_appointment_status(self._workspace_id, appointment_id, status), done)

    @rx.event
    def set_cancel_reason(self, value: str):
        self.cancel_reason = value[:300]

    @rx.event
    def cancel_selected(self):
        appointment_id = int(self.selected.get("id", "0"))
        block = self.selected.get("is_block") == "1"
        result = self._act(lambda: booking.cancel_appointment(self._workspace_id, appointment_id, by="owner",
                                                              reason=self.cancel_reason),
                           "Block removed." if block else "Appointment cancelled.")
        if block and not self.detail_error:
            self.detail_open = False
        return result

    # reschedule
    def _slots_for(self, service_id: str, day_text: str) -> tuple[list[dict[str, str]], str]:
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
        out = [{"time": _hhmm(s.starts_at.astimezone(tz)), "label": s.label} for s in slots]
        note = "" if out else "No free times that day within your hours. Type a time to book outside them."
        return out, note

    @rx.event
    def start_reschedule(self):
        self.rescheduling = True
        self.detail_error = ""
        self.move_date = self.selected.get("date", self.today)
        self.move_time = ""
        self.move_slots, self.move_slots_note = self._slots_for(self.selected.get("service_id", ""), self.move_date)

    @rx.event
    def stop_reschedule(self):
        self.rescheduling = False
        self.detail_error = ""

    @rx.event
    def set_move_date(self, value: str):
        self.move_date = value
        self.move_time = ""
        self.move_slots, self.move_slots_note = self._slots_for(self.selected.get("service_id", ""), value)

    @rx.event
    def set_move_time(self, value: str):
        self.move_time = value

    def _local(self, day_text: str, time_text: str, field: str = "time") -> datetime:
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

    @rx.event
    def confirm_reschedule(self):
        appointment_id = int(self.selected.get("id", "0"))

        def move():
            return booking.reschedule_appointment(self._workspace_id, appointment_id,
                                                  self._local(self.move_date, self.move_time), by="owner")

        result = self._act(move, "Appointment moved.")
        if not self.detail_error:
            self.rescheduling = False
        return result

    # --- a new booking ---
    @rx.event
    def open_booking(self):
        self.booking_open = True
        self.booking_error = self.booking_field = ""
        self.b_service = self.services[0]["id"] if len(self.services) == 1 else ""
        self.b_query, self.b_matches, self.b_searched = "", [], False
        self.b_contact_id = self.b_contact_label = ""
        self.b_new_customer = False
        self.b_phone = self.b_first = self.b_last = self.b_notes = self.b_time = ""
        self.b_date = self.anchor if self.anchor >= self.today else self.today
        self._refresh_booking_slots()

    @rx.event
    def set_booking_open(self, value: bool):
        self.booking_open = value

    def _refresh_booking_slots(self) -> None:
        self.b_slots, self.b_slots_note = self._slots_for(self.b_service, self.b_date)
        if not self.b_service:
            self.b_slots_note = "Pick a service to see its free times."

    @rx.event
    def set_b_service(self, value: str):
        self.b_service = value
        self.b_time = ""
        self._refresh_booking_slots()

    @rx.event
    def set_b_date(self, value: str):
        self.b_date = value
        self.b_time = ""
        self._refresh_booking_slots()

    @rx.event
    def set_b_time(self, value: str):
        self.b_time = value

    @rx.event
    def set_b_query(self, value: str):
        self.b_query = value[:80]
        if not self.b_query.strip():
            self.b_matches, self.b_searched = [], False
            return
        try:
            self._owner()
        except AuthenticationError as exc:
            return self._to_login(exc)
        self.b_matches = [{"id": str(c.id), "name": c.display_name, "phone": display_phone(c.phone)}
                          for c in list_contacts(self._workspace_id, search=self.b_query, sort="name", limit=6)]
        self.b_searched = True

    @rx.event
    def pick_contact(self, contact_id: str, label: str):
        self.b_contact_id, self.b_contact_label = contact_id, label
        self.b_new_customer = False
        if self.booking_field == "customer":
            self.booking_error = self.booking_field = ""

    @rx.event
    def clear_contact(self):
        self.b_contact_id = self.b_contact_label = ""

    @rx.event
    def set_new_customer(self, value: bool):
        self.b_new_customer = value
        self.b_contact_id = self.b_contact_label = ""
        if value and self.b_query and not self.b_phone and any(ch.isdigit() for ch in self.b_query):
            self.b_phone = self.b_query

    @rx.event
    def set_b_phone(self, value: str):
        self.b_phone = value[:40]

    @rx.event
    def set_b_first(self, value: str):
        self.b_first = value[:80]

    @rx.event
    def set_b_last(self, value: str):
        self.b_last = value[:80]

    @rx.event
    def set_b_notes(self, value: str):
        self.b_notes = value[:5000]

    @rx.event
    def submit_booking(self):
        self.booking_error = self.booking_field = ""
        try:
            ctx = self._owner()
        except AuthenticationError as exc:
            return self._to_login(exc)
        try:
            if not self.b_service:
                raise ServiceError("Pick a service.", field="service")
            if not self.b_contact_id and not self.b_new_customer:
                raise ServiceError("Pick a customer from your contacts, or add a new one.", field="customer")
            starts_at = self._local(self.b_date, self.b_time)
            if self.b_new_customer:
                contact_id = find_or_create_contact(ctx.workspace_id, self.b_phone, self.b_first,
                                                             self.b_last)
            else:
                contact_id = int(self.b_contact_id)
            view = booking.book_appointment(ctx.workspace_id, service_id=int(self.b_service), starts_at=starts_at,
                                            contact_id=contact_id, source="owner", notes=self.b_notes)
        except ServiceError as exc:
            self.booking_error = exc.message
            self.booking_field = {"starts_at": "time", "first_name": "phone", "last_name": "phone",
                                  "contact_id": "customer", "service_id": "service"}.get(exc.field or "",
                                                                                          exc.field or "")
            return
        self.booking_open = False
        self.anchor = view.local_start[:10]
        if self.view == "list":
            self.status_filter = "active"
        self._load()
        return rx.toast.success(f"Booked: {view.service_name} with {view.contact_name}, {view.label}.")

    # --- a time block ---
    @rx.event
    def open_block(self):
        self.block_open = True
        self.block_error = ""
        self.k_date = self.anchor if self.anchor >= self.today else self.today
        self.k_from, self.k_to, self.k_title = "12:00", "13:00", ""

    @rx.event
    def set_block_open(self, value: bool):
        self.block_open = value

    @rx.event
    def set_k_date(self, value: str):
        self.k_date = value

    @rx.event
    def set_k_from(self, value: str):
        self.k_from = value

    @rx.event
    def set_k_to(self, value: str):
        self.k_to = value

    @rx.event
    def set_k_title(self, value: str):
        self.k_title = value[:200]

    @rx.event
    def submit_block(self):
        self.block_error = ""
        try:
            ctx = self._owner()
        except AuthenticationError as exc:
            return self._to_login(exc)
        try:
            start = self._local(self.k_date, self.k_from, "from")
            end = self._local(self.k_date, self.k_to, "to")
            view = booking.block_time(ctx.workspace_id, start, end, self.k_title.strip() or "Blocked")
        except ServiceError as exc:
            self.block_error = exc.message
            return
        self.block_open = False
        self.anchor = view.local_start[:10]
        self._load()
        return rx.toast.success(f"Blocked {view.label}–{self.k_to}.")


# --- components ------------------------------------------------------------------------------------------------


def _status_badge(item: rx.Var) -> rx.Component:
    return rx.badge(item["status_label"], color_scheme=item["color"], variant="soft", size="1")


def _event_lines(item: rx.Var) -> rx.Component:
    return rx.match(
        item["lines"],
        ("1", rx.text(item["line"], class_name="cal-event-title")),
        ("2", rx.fragment(rx.text(item["title"], class_name="cal-event-title"),
                          rx.text(item["meta"], class_name="cal-event-meta"))),
        rx.fragment(rx.text(item["title"], class_name="cal-event-title"),
                    rx.text(item["time"], class_name="cal-event-meta"),
                    rx.cond(item["who"] != "", rx.text(item["who"], class_name="cal-event-meta"))),
    )


def _placed(item: rx.Var) -> dict:
    """Where a block sits in its day column, and what it says to a pointer and to a screen reader."""
    return {"top": item["top"], "height": item["height"], "left": item["left"], "width": item["width"],
            "title": item["label"], "aria_label": item["label"]}


def _event_block(item: rx.Var) -> rx.Component:
    return rx.el.button(
        _event_lines(item),
        class_name="cal-event cal-" + item["status"],
        **_placed(item),
        data_testid="cal-event",
        on_click=CalendarState.open_appointment(item["id"]),
        type="button",
    )


def _busy_block(item: rx.Var) -> rx.Component:
    """Busy time from a synced calendar: shown, not opened (it is edited in that calendar)."""
    return rx.box(
        _event_lines(item),
        class_name="cal-event cal-busy",
        **_placed(item),
        role="note",
        data_testid="cal-busy",
    )


def _grid_item(item: rx.Var) -> rx.Component:
    return rx.cond(item["kind"] == "busy", _busy_block(item), _event_block(item))


def _day_header(d: rx.Var) -> rx.Component:
    return rx.el.button(
        rx.text(d["weekday"], size="1", color=rx.color("gray", 10)),
        rx.text(d["day"], size="4", weight="bold", class_name=rx.cond(d["today"] == "1", "cal-today-num", "")),
        class_name="cal-day-head",
        on_click=CalendarState.open_day(d["key"]),
        aria_label="Open " + d["label"],
        type="button",
    )


def _time_grid() -> rx.Component:
    """Hours down the side, one column per visible day, appointments positioned by time."""
    return rx.box(
        rx.box(
            rx.box(class_name="cal-gutter-head"),
            rx.foreach(CalendarState.days, _day_header),
            class_name="cal-grid cal-grid-head",
        ),
        rx.box(
            rx.box(rx.foreach(CalendarState.hours, lambda h: rx.box(rx.text(h, class_name="cal-hour-label"),
                                                                    class_name="cal-hour")),
                   class_name="cal-gutter"),
            rx.foreach(CalendarState.columns, lambda col, i: rx.box(
                rx.foreach(col, _grid_item),
                rx.cond(CalendarState.days[i]["now"] != "",
                        rx.box(class_name="cal-now", top=CalendarState.days[i]["now"], aria_hidden="true")),
                class_name=rx.cond(CalendarState.days[i]["today"] == "1", "cal-col cal-col-today", "cal-col"),
                height=CalendarState.grid_height,
                data_testid="cal-day-" + CalendarState.days[i]["key"],
            )),
            class_name="cal-grid cal-grid-body",
        ),
        class_name=rx.cond(CalendarState.view == "week", "cal-frame cal-week", "cal-frame cal-day"),
        data_testid="cal-grid",
    )


def _list_item(item: rx.Var) -> rx.Component:
    return rx.cond(item["kind"] == "busy", _busy_list_item(item), _appointment_list_item(item))


def _busy_list_item(item: rx.Var) -> rx.Component:
    return rx.box(
        rx.text(item["time"], class_name="cal-list-time"),
        rx.box(class_name="cal-dot cal-busy"),
        rx.text("Busy · " + item["who"], size="2", color=rx.color("gray", 11), class_name="truncate", flex="1"),
        class_name="cal-list-item cal-list-busy",
        aria_label=item["label"],
        data_testid="cal-busy",
    )


def _appointment_list_item(item: rx.Var) -> rx.Component:
    return rx.el.button(
        rx.text(item["time"], class_name="cal-list-time"),
        rx.box(class_name="cal-dot cal-" + item["status"]),
        rx.vstack(
            rx.text(item["title"], size="2", weight="medium", class_name="truncate"),
            rx.cond(item["who"] != "", rx.text(item["who"], size="1", color=rx.color("gray", 10),
                                               class_name="truncate")),
            spacing="0", align="start", min_width="0", flex="1",
        ),
        _status_badge(item),
        class_name="cal-list-item",
        aria_label=item["label"],
        data_testid="cal-list-item",
        on_click=CalendarState.open_appointment(item["id"]),
        type="button",
    )


def _week_on_phone() -> rx.Component:
    """The week at phone width: day by day, each with its appointments in time order."""
    return rx.vstack(
        rx.foreach(CalendarState.columns, lambda col, i: rx.box(
            rx.hstack(
                rx.text(CalendarState.days[i]["label"], size="2", weight="bold"),
                rx.cond(CalendarState.days[i]["today"] == "1", rx.badge("Today", size="1", variant="soft")),
                rx.spacer(),
                rx.button("Day view", size="1", variant="ghost",
                          on_click=CalendarState.open_day(CalendarState.days[i]["key"])),
                align="center", width="100%",
            ),
            rx.cond(col.length() > 0,
                    rx.vstack(rx.foreach(col, _list_item), spacing="1", width="100%"),
                    rx.text("Nothing booked", size="1", color=rx.color("gray", 9))),
            class_name="cal-phone-day",
        )),
        spacing="2",
        width="100%",
        class_name="cal-week-phone",
    )


def _list_view() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            *[rx.button(label, size="1", radius="full",
                        variant=rx.cond(CalendarState.status_filter == key, "solid", "soft"),
                        color_scheme=rx.cond(CalendarState.status_filter == key, "indigo", "gray"),
                        on_click=CalendarState.set_status_filter(key)) for key, label in FILTERS],
            spacing="1", wrap="wrap", role="group", aria_label="Which appointments",
        ),
        rx.cond(
            CalendarState.groups.length() > 0,
            rx.vstack(
                rx.foreach(CalendarState.groups, lambda g, i: rx.box(
                    rx.text(g["label"], size="2", weight="bold", class_name="cal-group-head"),
                    rx.vstack(rx.foreach(CalendarState.group_items[i], _list_item), spacing="1", width="100%"),
                    width="100%",
                )),
                spacing="4",
                width="100%",
            ),
            _no_appointments(),
        ),
        spacing="3",
        width="100%",
    )


def _no_appointments() -> rx.Component:
    return rx.vstack(
        rx.center(rx.icon("calendar_x", size=24, color=rx.color("indigo", 10)), class_name="empty-icon"),
        rx.text("No appointments in this range", size="3", weight="bold"),
        rx.text("Customers book in the chat within your opening hours; you can add one yourself too.",
                size="2", color=rx.color("gray", 10), text_align="center"),
        rx.button(rx.icon("plus", size=14), "New booking", variant="soft", on_click=CalendarState.open_booking),
        align="center",
        spacing="2",
        padding_y="2rem",
        width="100%",
    )


def _toolbar() -> rx.Component:
    return rx.flex(
        rx.hstack(
            rx.icon_button(rx.icon("chevron_left", size=16), variant="soft", color_scheme="gray",
                           aria_label="Previous", on_click=CalendarState.step(-1)),
            rx.button("Today", variant="soft", color_scheme="gray", on_click=CalendarState.go_today),
            rx.icon_button(rx.icon("chevron_right", size=16), variant="soft", color_scheme="gray",
                           aria_label="Next", on_click=CalendarState.step(1)),
            rx.vstack(
                rx.heading(CalendarState.range_title, size="4", as_="h2", data_testid="cal-range-title"),
                rx.text("Times in ", CalendarState.tz_name, rx.cond(CalendarState.tz_abbr != "",
                                                                   " (" + CalendarState.tz_abbr + ")", ""),
                        size="1", color=rx.color("gray", 10)),
                spacing="0",
                margin_left="0.5rem",
            ),
            align="center",
            spacing="2",
        ),
        rx.hstack(
            *[rx.button(label, size="2",
                        variant=rx.cond(CalendarState.view == key, "solid", "soft"),
                        color_scheme=rx.cond(CalendarState.view == key, "indigo", "gray"),
                        aria_pressed=rx.cond(CalendarState.view == key, "true", "false"),
                        on_click=CalendarState.set_view(key)) for key, label in VIEWS],
            spacing="1", role="group", aria_label="View",
        ),
        justify="between",
        align=rx.breakpoints(initial="start", sm="center"),
        direction=rx.breakpoints(initial="column", sm="row"),
        gap="3",
        width="100%",
    )


def _schedule_tab() -> rx.Component:
    return rx.cond(
        ~CalendarState.loaded,
        rx.center(rx.spinner(size="3"), padding="3rem", width="100%"),
        rx.cond(
            CalendarState.services.length() == 0,
            empty_state("calendar_plus", "Add a service to start taking bookings",
                        "Tell your assistant what customers can book, how long it takes and when you are open. "
                        "Then customers book in the chat and their appointments appear here.",
                        rx.button("Open Setup", on_click=CalendarState.set_tab("setup")),
                        rx.button(rx.icon("ban", size=14), "Block time", variant="soft", color_scheme="gray",
                                  on_click=CalendarState.open_block)),
            rx.card(
                rx.vstack(
                    _toolbar(),
                    form_alert(CalendarState.load_error),
                    rx.cond(
                        CalendarState.view == "list",
                        _list_view(),
                        rx.fragment(
                            rx.cond(CalendarState.in_range == 0,
                                    rx.callout("No appointments in this range.", icon="calendar", size="1",
                                               color_scheme="gray", width="100%")),
                            rx.box(_time_grid(), width="100%",
                                   class_name=rx.cond(CalendarState.view == "week", "cal-week-desktop", "")),
                            rx.cond(CalendarState.view == "week", _week_on_phone()),
                            rx.hstack(*[rx.hstack(rx.box(class_name=f"cal-dot cal-{key}"),
                                                  rx.text(label, size="1", color=rx.color("gray", 10)),
                                                  spacing="1", align="center")
                                        for key, label in [*STATUS_LABELS.items(), ("blocked", "Blocked"),
                                                           ("busy", "Busy in a synced calendar")]
                                        if key != "cancelled"],
                                      spacing="3", wrap="wrap"),
                        ),
                    ),
                    spacing="4",
                    width="100%",
                ),
                width="100%",
                size="2",
            ),
        ),
    )


def _detail_row(icon: str, *children) -> rx.Component:
    return rx.hstack(rx.icon(icon, size=16, color=rx.color("gray", 10), flex_shrink="0", margin_top="2px"),
                     rx.box(*children, min_width="0"), spacing="3", align="start", width="100%")


def _slot_picker(slots: rx.Var, chosen: rx.Var, on_pick, note: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.cond(slots.length() > 0,
                rx.flex(rx.foreach(slots, lambda s: rx.button(
                    s["time"], size="1", type="button",
                    variant=rx.cond(chosen == s["time"], "solid", "outline"),
                    color_scheme=rx.cond(chosen == s["time"], "indigo", "gray"),
                    aria_label="Free time " + s["label"], on_click=on_pick(s["time"]))),
                    wrap="wrap", gap="1", class_name="cal-slots", role="group", aria_label="Free times"),
                rx.cond(note != "", rx.text(note, size="1", color=rx.color("gray", 10)))),
        spacing="1",
        width="100%",
    )


def _reschedule_panel() -> rx.Component:
    s = CalendarState
    return rx.vstack(
        rx.heading("Move to", size="2", as_="h3"),
        rx.flex(
            rx.vstack(rx.el.label("New date", html_for="move-date", class_name="field-label"),
                      rx.input(id="move-date", type="date", value=s.move_date, on_change=s.set_move_date,
                               width="100%"),
                      spacing="1", flex="1", min_width="150px"),
            rx.vstack(rx.el.label("New time", html_for="move-time", class_name="field-label"),
                      rx.input(id="move-time", type="time", value=s.move_time, on_change=s.set_move_time,
                               width="100%"),
                      spacing="1", flex="1", min_width="120px"),
            gap="3", wrap="wrap", width="100%",
        ),
        rx.text("Free times for this service that day:", size="1", color=rx.color("gray", 10)),
        _slot_picker(s.move_slots, s.move_time, s.set_move_time, s.move_slots_note),
        rx.hstack(
            rx.button("Back", variant="soft", color_scheme="gray", on_click=s.stop_reschedule, type="button"),
            rx.button("Move appointment", on_click=s.confirm_reschedule, type="button"),
            spacing="2", justify="end", width="100%",
        ),
        spacing="2",
        width="100%",
        class_name="cal-panel",
    )


def _cancel_dialog() -> rx.Component:
    s = CalendarState
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(rx.button(rx.icon("x", size=14), "Cancel appointment", variant="soft",
                                          color_scheme="red", type="button")),
        rx.alert_dialog.content(
            rx.alert_dialog.title("Cancel this appointment?"),
            rx.alert_dialog.description("The time becomes free again and the customer is told.", size="2"),
            rx.vstack(
                rx.el.label("Reason (optional, the customer sees it)", html_for="cancel-reason",
                            class_name="field-label"),
                rx.input(id="cancel-reason", value=s.cancel_reason, on_change=s.set_cancel_reason,
                         placeholder="e.g. The dentist is ill", width="100%"),
                spacing="1", width="100%", margin_top="0.75rem",
            ),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Keep it", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(rx.button("Cancel appointment", color_scheme="red",
                                                 on_click=s.cancel_selected)),
                spacing="3", justify="end", margin_top="1rem",
            ),
        ),
    )


def _detail_dialog() -> rx.Component:
    s = CalendarState
    a = s.selected
    return rx.dialog.root(
        rx.dialog.content(
            rx.hstack(
                rx.dialog.title(a["title"], margin="0"),
                rx.badge(a["status_label"], color_scheme=a["color"], variant="soft", data_testid="detail-status"),
                rx.spacer(),
                rx.dialog.close(rx.icon_button(rx.icon("x", size=16), variant="ghost", color_scheme="gray",
                                               aria_label="Close")),
                align="center", width="100%", spacing="2",
            ),
            rx.dialog.description(a["when"] + " (" + s.tz_name + ")", size="2", color=rx.color("gray", 11),
                                  margin_top="0.25rem", data_testid="detail-when"),
            rx.vstack(
                rx.cond(a["is_block"] != "1",
                        _detail_row("user", rx.cond(
                            a["contact_id"] != "",
                            rx.link(a["contact_name"], href="/dashboard/contacts/" + a["contact_id"], size="2",
                                    weight="medium"),
                            rx.text("No customer on file", size="2", color=rx.color("gray", 10))))),
                rx.cond(a["service"] != "", _detail_row("briefcase", rx.text(a["service"], size="2"))),
                _detail_row("info", rx.text(a["source"], size="2")),
                rx.cond(a["conversation_id"] != "",
                        _detail_row("messages_square",
                                    rx.link("Open the conversation behind it",
                                            href="/dashboard/inbox?c=" + a["conversation_id"], size="2"))),
                rx.cond(a["notes"] != "",
                        _detail_row("sticky_note", rx.text(a["notes"], size="2", white_space="pre-wrap"))),
                rx.cond(a["cancelled"] != "",
                        _detail_row("circle_x", rx.text(a["cancelled"], size="2", color=rx.color("red", 11)))),
                spacing="3", width="100%", margin_top="1rem",
            ),
            rx.box(form_alert(s.detail_error), margin_top="1rem", width="100%"),
            rx.cond(
                s.rescheduling,
                rx.box(_reschedule_panel(), margin_top="1rem"),
                rx.el.div(
                    rx.cond(a["can_confirm"] == "1",
                            rx.button(rx.icon("check", size=14), "Confirm", color_scheme="green",
                                      on_click=s.set_status("confirmed"))),
                    rx.cond(a["can_complete"] == "1",
                            rx.button(rx.icon("circle_check", size=14), "Mark completed", variant="soft",
                                      color_scheme="green", on_click=s.set_status("completed"))),
                    rx.cond(a["can_no_show"] == "1",
                            rx.button(rx.icon("user_x", size=14), "No-show", variant="soft", color_scheme="orange",
                                      on_click=s.set_status("no_show"))),
                    rx.cond(a["can_move"] == "1",
                            rx.button(rx.icon("calendar_clock", size=14), "Reschedule", variant="soft",
                                      on_click=s.start_reschedule)),
                    rx.cond(a["can_cancel"] == "1", _cancel_dialog()),
                    rx.cond(a["can_remove"] == "1",
                            rx.button(rx.icon("trash_2", size=14), "Remove block", variant="soft", color_scheme="red",
                                      on_click=s.cancel_selected)),
                    class_name="cal-actions",
                ),
            ),
            max_width="520px",
        ),
        open=s.detail_open,
        on_open_change=s.set_detail_open,
    )


def _customer_picker() -> rx.Component:
    s = CalendarState
    return rx.vstack(
        rx.text("Customer", class_name="field-label"),
        rx.cond(
            s.b_contact_id != "",
            rx.hstack(rx.icon("user_check", size=16, color=rx.color("green", 10)),
                      rx.text(s.b_contact_label, size="2", weight="medium", data_testid="picked-customer"),
                      rx.spacer(),
                      rx.button("Change", size="1", variant="ghost", on_click=s.clear_contact, type="button"),
                      align="center", width="100%", class_name="cal-panel"),
            rx.cond(
                s.b_new_customer,
                rx.vstack(
                    rx.input(value=s.b_phone, on_change=s.set_b_phone, placeholder="Phone", type="tel",
                             aria_label="Customer phone", width="100%"),
                    rx.flex(
                        rx.input(value=s.b_first, on_change=s.set_b_first, placeholder="First name",
                                 aria_label="First name", flex="1", min_width="120px"),
                        rx.input(value=s.b_last, on_change=s.set_b_last, placeholder="Last name",
                                 aria_label="Last name", flex="1", min_width="120px"),
                        gap="2", width="100%", wrap="wrap",
                    ),
                    rx.button("Search my contacts instead", size="1", variant="ghost", type="button",
                              on_click=s.set_new_customer(False)),
                    spacing="2", width="100%", align="start",
                ),
                rx.vstack(
                    rx.input(value=s.b_query, on_change=s.set_b_query.debounce(250), placeholder="Name or phone",
                             aria_label="Find customer", width="100%"),
                    rx.cond(s.b_matches.length() > 0,
                            rx.vstack(rx.foreach(s.b_matches, lambda c: rx.el.button(
                                rx.text(c["name"], size="2", weight="medium"),
                                rx.text(c["phone"], size="1", color=rx.color("gray", 10)),
                                class_name="cal-contact-option", type="button",
                                aria_label="Choose " + c["name"],
                                on_click=s.pick_contact(c["id"], c["name"] + " · " + c["phone"]))),
                                spacing="1", width="100%"),
                            rx.cond(s.b_searched, rx.text("No contact matches.", size="1",
                                                          color=rx.color("gray", 10)))),
                    rx.button(rx.icon("user_plus", size=14), "New customer", size="1", variant="soft",
                              type="button", on_click=s.set_new_customer(True)),
                    spacing="2", width="100%", align="start",
                ),
            ),
        ),
        rx.cond(s.booking_field == "customer", field_error(s.booking_error)),
        rx.cond(s.booking_field == "phone", field_error(s.booking_error)),
        spacing="1", width="100%", align="start",
    )


def _booking_dialog() -> rx.Component:
    s = CalendarState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("New booking"),
            rx.dialog.description("For a walk-in or a phone call. You may book outside your opening hours.",
                                  size="2", color=rx.color("gray", 11)),
            rx.vstack(
                rx.vstack(
                    rx.el.label("Service", html_for="booking-service", class_name="field-label"),
                    rx.select.root(
                        rx.select.trigger(id="booking-service", placeholder="Choose a service", width="100%",
                                          aria_label="Service"),
                        rx.select.content(rx.foreach(s.services, lambda sv: rx.select.item(
                            sv["name"] + " · " + sv["duration"] + " min", value=sv["id"]))),
                        value=s.b_service, on_change=s.set_b_service,
                    ),
                    rx.cond(s.booking_field == "service", field_error(s.booking_error)),
                    spacing="1", width="100%", align="start",
                ),
                _customer_picker(),
                rx.flex(
                    rx.vstack(rx.el.label("Date", html_for="booking-date", class_name="field-label"),
                              rx.input(id="booking-date", type="date", value=s.b_date, on_change=s.set_b_date,
                                       width="100%"),
                              spacing="1", flex="1", min_width="150px"),
                    rx.vstack(rx.el.label("Time", html_for="booking-time", class_name="field-label"),
                              rx.input(id="booking-time", type="time", value=s.b_time, on_change=s.set_b_time,
                                       width="100%"),
                              spacing="1", flex="1", min_width="120px"),
                    gap="3", wrap="wrap", width="100%",
                ),
                _slot_picker(s.b_slots, s.b_time, s.set_b_time, s.b_slots_note),
                rx.cond((s.booking_field == "time") | (s.booking_field == "date"), field_error(s.booking_error)),
                rx.vstack(
                    rx.el.label("Notes", html_for="booking-notes", class_name="field-label"),
                    rx.text_area(id="booking-notes", value=s.b_notes, on_change=s.set_b_notes, rows="2",
                                 placeholder="Anything to remember", width="100%"),
                    spacing="1", width="100%", align="start",
                ),
                rx.cond((s.booking_error != "") & ~rx.Var.create(["service", "customer", "phone", "time", "date"])
                        .contains(s.booking_field), form_alert(s.booking_error)),
                rx.hstack(
                    rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray", type="button")),
                    rx.button("Book", on_click=s.submit_booking, type="button"),
                    spacing="2", justify="end", width="100%",
                ),
                spacing="3", width="100%", margin_top="1rem",
            ),
            max_width="520px",
        ),
        open=s.booking_open,
        on_open_change=s.set_booking_open,
    )


def _block_dialog() -> rx.Component:
    s = CalendarState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Block time"),
            rx.dialog.description("Keep time free of bookings: a break, an errand, a day off.", size="2",
                                  color=rx.color("gray", 11)),
            rx.vstack(
                rx.vstack(rx.el.label("Date", html_for="block-date", class_name="field-label"),
                          rx.input(id="block-date", type="date", value=s.k_date, on_change=s.set_k_date,
                                   width="100%"),
                          spacing="1", width="100%"),
                rx.flex(
                    rx.vstack(rx.el.label("From", html_for="block-from", class_name="field-label"),
                              rx.input(id="block-from", type="time", value=s.k_from, on_change=s.set_k_from,
                                       width="100%"),
                              spacing="1", flex="1", min_width="120px"),
                    rx.vstack(rx.el.label("To", html_for="block-to", class_name="field-label"),
                              rx.input(id="block-to", type="time", value=s.k_to, on_change=s.set_k_to,
                                       width="100%"),
                              spacing="1", flex="1", min_width="120px"),
                    gap="3", wrap="wrap", width="100%",
                ),
                rx.vstack(rx.el.label("Title", html_for="block-title", class_name="field-label"),
                          rx.input(id="block-title", value=s.k_title, on_change=s.set_k_title,
                                   placeholder="Lunch", width="100%"),
                          spacing="1", width="100%"),
                form_alert(s.block_error),
                rx.hstack(
                    rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray", type="button")),
                    rx.button("Block", on_click=s.submit_block, type="button"),
                    spacing="2", justify="end", width="100%",
                ),
                spacing="3", width="100%", margin_top="1rem",
            ),
            max_width="440px",
        ),
        open=s.block_open,
        on_open_change=s.set_block_open,
    )


def calendar_page() -> rx.Component:
    s = CalendarState
    return dashboard_shell(
        "calendar",
        page_header(
            "Calendar", "Your appointments, opening hours and connected calendars.",
            rx.cond((s.tab == "schedule") & (s.services.length() > 0),
                    rx.hstack(
                        rx.button(rx.icon("ban", size=14), "Block time", variant="soft", color_scheme="gray",
                                  on_click=s.open_block),
                        rx.button(rx.icon("plus", size=14), "New booking", on_click=s.open_booking),
                        spacing="2",
                    )),
        ),
        tab_bar(s.tab, TABS, s.set_tab),
        rx.match(s.tab, ("setup", booking_setup_panel()), ("sync", calendar_sync_panel()), _schedule_tab()),
        _detail_dialog(),
        _booking_dialog(),
        _block_dialog(),
    )
