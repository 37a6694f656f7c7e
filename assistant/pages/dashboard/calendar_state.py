"""The Calendar page's state: the visible range and what is in it (appointments, blocks, busy time from synced
calendars, laid out for the time grid or grouped for the list), the open appointment and its actions, manual
bookings and time blocks. The components are in calendar.py and calendar_dialogs.py."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import reflex as rx

from assistant.live import registry
from assistant.state.auth import OwnerState
from assistant.state.handlers import service_event
from backend.calendar import booking
from backend.calendar.availability import get_booking_policy, get_weekly_hours, list_services
from backend.calendar.slots import BLOCK_SOURCE, available_slots, get_zone, wall_to_utc
from backend.core.live_events import APPOINTMENT_UPDATED, workspace_channel
from backend.errors import ServiceError
from backend.messaging.contacts import list_contacts
from backend.messaging.phones import display_phone

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

    @service_event
    def load(self):
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
            self._load()
        except ServiceError as exc:
            self.load_error = exc.message

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
            first, last = self._range()
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
        days = {"day": 1, "week": 7}.get(self.view, LIST_DAYS)
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

    # --- live updates ---
    def on_live_event(self, channel: str, event: dict) -> None:
        if event.get("type") != APPOINTMENT_UPDATED:
            return
        self._dirty = True
        if self.detail_open and str(event.get("appointment_id")) == self.selected.get("id"):
            self._selected_dirty = True

    def on_resync(self) -> None:
        self._dirty = True

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

    @service_event
    def open_appointment(self, appointment_id: str):
        try:
            self._owner()
            self._select(int(appointment_id))
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

    @service_event
    def set_status(self, status: str):
        appointment_id = int(self.selected.get("id", "0"))
        done = {"confirmed": "Appointment confirmed.", "completed": "Marked completed.",
                "no_show": "Marked as a no-show."}.get(status, "Saved.")
        return self._act(lambda: booking.set_appointment_status(self._workspace_id, appointment_id, status), done)

    @rx.event
    def set_cancel_reason(self, value: str):
        self.cancel_reason = value[:300]

    @service_event
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

    @service_event
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

    @service_event
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

    @service_event
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
    @service_event
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

    @service_event
    def set_b_service(self, value: str):
        self.b_service = value
        self.b_time = ""
        self._refresh_booking_slots()

    @service_event
    def set_b_date(self, value: str):
        self.b_date = value
        self.b_time = ""
        self._refresh_booking_slots()

    @rx.event
    def set_b_time(self, value: str):
        self.b_time = value

    @service_event
    def set_b_query(self, value: str):
        self.b_query = value[:80]
        if not self.b_query.strip():
            self.b_matches, self.b_searched = [], False
            return
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

    @service_event
    def submit_booking(self):
        self.booking_error = self.booking_field = ""
        ctx = self._owner()
        try:
            if not self.b_service:
                raise ServiceError("Pick a service.", field="service")
            if not self.b_contact_id and not self.b_new_customer:
                raise ServiceError("Pick a customer from your contacts, or add a new one.", field="customer")
            starts_at = self._local(self.b_date, self.b_time)
            who = {"new_contact": booking.NewContact(self.b_phone, self.b_first, self.b_last)} \
                if self.b_new_customer else {"contact_id": int(self.b_contact_id)}
            view = booking.book_appointment(ctx.workspace_id, service_id=int(self.b_service), starts_at=starts_at,
                                            source="owner", notes=self.b_notes, **who)
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

    @service_event
    def submit_block(self):
        self.block_error = ""
        ctx = self._owner()
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
