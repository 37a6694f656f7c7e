"""The Calendar page's open appointment (or block): its details, and what the owner does with it (confirm, mark
completed or a no-show, move to another time, cancel with a reason, remove a block). A substate of CalendarState
(calendar_state.py); the dialog is calendar_dialogs.detail_dialog."""

from __future__ import annotations

from datetime import datetime

import reflex as rx

from assistant.live import registry
from assistant.pages.dashboard import calendar_layout as layout
from assistant.pages.dashboard.calendar_state import UTC, CalendarState
from assistant.state.handlers import service_event
from backend.calendar import booking
from backend.calendar.slots import BLOCK_SOURCE
from backend.core.live_events import APPOINTMENT_UPDATED, workspace_channel
from backend.errors import ServiceError

SOURCE_LABELS = {"chat": "Booked by the customer in the chat", "owner": "Booked by you",
                 "api": "Booked through the API", BLOCK_SOURCE: "Time you blocked"}


def _flags(a: booking.AppointmentView, now: datetime) -> dict[str, str]:
    """Which actions the dialog offers: a block is only removed; completed and no-show only once it started."""
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


class AppointmentState(CalendarState):
    selected: dict[str, str] = {}
    detail_error: str = ""
    rescheduling: bool = False
    move_date: str = ""
    move_time: str = ""
    move_slots: list[dict[str, str]] = []
    move_slots_note: str = ""
    cancel_reason: str = ""

    _selected_dirty: bool = False

    def _select(self, appointment_id: int) -> None:
        a = booking.get_appointment(self._workspace_id, appointment_id)
        tz = self._zone()
        start, end = a.starts_at.astimezone(tz), a.ends_at.astimezone(tz)
        cancelled = ""
        if a.status == "cancelled":
            who = {"owner": "you", "customer": "the customer"}.get(a.cancelled_by, a.cancelled_by or "someone")
            cancelled = f"Cancelled by {who}" + (f": “{a.cancel_reason}”" if a.cancel_reason else ".")
        self.selected = {
            **layout.summary(a, tz), **_flags(a, datetime.now(UTC)),
            "when": f"{layout.long_day(start.date())}, {layout.hhmm(start)}–{layout.hhmm(end)}"
                    if start.date() == end.date() else
                    f"{a.label} – {layout.short_day(end.date())}, {layout.hhmm(end)}",
            "service": a.service_name, "service_id": str(a.service_id or ""),
            "contact_id": str(a.contact_id or ""), "contact_name": a.contact_name,
            "conversation_id": str(a.conversation_id or ""), "notes": a.notes,
            "source": SOURCE_LABELS.get(a.source, a.source), "cancelled": cancelled,
            "date": start.date().isoformat(), "start_time": layout.hhmm(start),
        }

    @service_event
    def load_linked(self):
        """on_load, after CalendarState.load: follow live changes to the appointment that will be open, and open
        the one a link from the inbox names (?appointment=<id>)."""
        registry.watch(self.router.session.client_token, AppointmentState, [workspace_channel(self._workspace_id)])
        wanted = self.router.url.query_parameters.get("appointment", "")
        if wanted.isdigit():
            return AppointmentState.open_appointment(wanted)

    @service_event
    def open_appointment(self, appointment_id: str):
        try:
            self._owner()
            self._select(int(appointment_id))
        except (ServiceError, ValueError):
            self._guarded_reload()
            return rx.toast.error("That appointment no longer exists.")
        self.detail_error, self.rescheduling, self.cancel_reason = "", False, ""
        self._show_dialog("appointment", True)

    @rx.event
    def set_detail_open(self, value: bool):
        self._show_dialog("appointment", value)
        if not value:
            self.rescheduling = False

    # --- live updates: the grid reloads in CalendarState's own; these replace its hooks for this substate ---
    def on_live_event(self, channel: str, event: dict) -> None:
        if (event.get("type") == APPOINTMENT_UPDATED and self.dialog == "appointment"
                and str(event.get("appointment_id")) == self.selected.get("id")):
            self._selected_dirty = True

    def on_resync(self) -> None:
        # Events may have been lost while the bus was away: the open appointment reloads too.
        if self.dialog == "appointment":
            self._selected_dirty = True

    def after_live_events(self) -> None:
        if self._selected_dirty:
            self._selected_dirty = False
            try:
                self._select(int(self.selected.get("id", "0")))
            except ServiceError:
                self._show_dialog("appointment", False)

    # --- actions ---
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
            self._show_dialog("appointment", False)
        return result

    # --- moving it ---
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
