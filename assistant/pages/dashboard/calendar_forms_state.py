"""The Calendar page's two forms that add to the schedule: a manual booking (a walk-in or a caller: a customer from
the contacts or a new one, booked in one transaction) and a time block. Substates of CalendarState
(calendar_state.py); the dialogs are calendar_dialogs.booking_dialog and block_dialog."""

from __future__ import annotations

import reflex as rx

from assistant.pages.dashboard.calendar_state import CalendarState
from assistant.state.handlers import service_event
from backend.calendar import booking
from backend.errors import ServiceError
from backend.messaging.contacts import list_contacts
from backend.messaging.phones import display_phone

# Which field of the form shows a refusal, by the field the service names.
_BOOKING_FIELDS = {"starts_at": "time", "first_name": "phone", "last_name": "phone", "contact_id": "customer",
                   "service_id": "service"}


class BookingFormState(CalendarState):
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

    @service_event
    def open_booking(self):
        self._show_dialog("booking", True)
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
        self._show_dialog("booking", value)

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

    # --- the customer: one from the contacts, or a new one ---
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
            self.booking_field = _BOOKING_FIELDS.get(exc.field or "", exc.field or "")
            return
        self._show_dialog("booking", False)
        self.anchor = view.local_start[:10]
        if self.view == "list":
            self.status_filter = "active"
        self._load()
        return rx.toast.success(f"Booked: {view.service_name} with {view.contact_name}, {view.label}.")


class BlockFormState(CalendarState):
    k_date: str = ""
    k_from: str = "12:00"
    k_to: str = "13:00"
    k_title: str = ""
    block_error: str = ""

    @rx.event
    def open_block(self):
        self._show_dialog("block", True)
        self.block_error = ""
        self.k_date = self.anchor if self.anchor >= self.today else self.today
        self.k_from, self.k_to, self.k_title = "12:00", "13:00", ""

    @rx.event
    def set_block_open(self, value: bool):
        self._show_dialog("block", value)

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
        self._show_dialog("block", False)
        self.anchor = view.local_start[:10]
        self._load()
        return rx.toast.success(f"Blocked {view.label}–{self.k_to}.")
