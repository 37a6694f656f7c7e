"""Calendar → Setup: services, weekly opening hours, closed days and special hours, booking rules."""

from __future__ import annotations

from datetime import datetime, timedelta

import reflex as rx

from assistant.components.forms import dialog_actions, form_alert
from assistant.components.layout import card_heading, edit_delete_buttons
from assistant.state.auth import OwnerState
from assistant.state.handlers import service_event
from backend.calendar import availability
from backend.calendar.slots import get_zone
from backend.errors import ServiceError

OVERRIDE_FORM = "override-form"
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _price(cents: int | None, currency: str) -> str:
    return "" if cents is None else f"{cents / 100:,.2f} {currency}"


def _override_rows(overrides) -> list[dict[str, str]]:
    """Upcoming overrides for the list: consecutive closed days with the same note make one row ("a week away")."""
    rows: list[dict] = []
    for o in overrides:
        last = rows[-1] if rows else None
        if last and o.closed and last["closed"] and o.note == last["note"] and o.day == last["_last"] + timedelta(1):
            last["_last"], last["ids"] = o.day, f"{last['ids']},{o.id}"
            continue
        rows.append({"ids": str(o.id), "_first": o.day, "_last": o.day, "closed": o.closed, "note": o.note,
                     "hours": "" if o.closed else f"Open {o.start}-{o.end}"})
    out = []
    for r in rows:
        first, last = r["_first"], r["_last"]
        days = (last - first).days + 1
        label = first.strftime("%a %d %b %Y") if days == 1 else \
            f"{first.strftime('%a %d %b')} – {last.strftime('%a %d %b %Y')}"
        what = r["hours"] or ("Closed" if days == 1 else f"Closed · {days} days")
        out.append({"id": r["ids"], "label": label, "what": what, "note": r["note"]})
    return out


def _windows_text(windows) -> str:
    return ", ".join(f"{a}-{'24:00' if b == '00:00' and a != '00:00' else b}" for a, b in windows)


def _parse_windows(text: str) -> list[tuple[str, str]]:
    """ "9:00-12:00, 13:00-18:00" → [("9:00", "12:00"), ("13:00", "18:00")]; blank → closed."""
    out = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if "-" not in part:
            raise ServiceError(f"“{part}” should look like 09:00-12:00.", field="hours")
        start, end = (p.strip() for p in part.split("-", 1))
        out.append((start, end))
    return out


class BookingSetupState(OwnerState):
    loaded: bool = False
    timezone: str = ""
    services: list[dict[str, str]] = []
    service_dialog_open: bool = False
    editing_service: dict[str, str] = {}
    service_error: str = ""
    hours: list[dict[str, str]] = []  # [{"day", "label", "windows"}]
    hours_error: str = ""
    overrides: list[dict[str, str]] = []
    override_error: str = ""
    override_closed: bool = True
    policy: dict[str, str] = {}
    policy_error: str = ""

    def _load(self) -> None:
        ws = self._workspace_id
        self.services = [
            {"id": str(s.id), "name": s.name, "description": s.description, "duration": str(s.duration_minutes),
             "before": str(s.buffer_before_minutes), "after": str(s.buffer_after_minutes),
             "price": "" if s.price_cents is None else f"{s.price_cents / 100:.2f}", "currency": s.currency,
             "price_label": _price(s.price_cents, s.currency), "active": "1" if s.active else ""}
            for s in availability.list_services(ws)
        ]
        week = availability.get_weekly_hours(ws)
        self.hours = [{"day": str(d), "label": WEEKDAYS[d], "windows": _windows_text(week.get(d, []))}
                      for d in range(7)]
        p = availability.get_booking_policy(ws)
        self.timezone = p.timezone
        today = datetime.now(get_zone(p.timezone)).date()
        self.overrides = _override_rows(availability.list_overrides(ws, start=today))
        self.policy = {"min_notice": str(p.min_notice_minutes), "max_advance": str(p.max_advance_days),
                       "per_day": "" if p.max_bookings_per_day is None else str(p.max_bookings_per_day),
                       "confirm": "1" if p.require_confirmation else "",
                       "reminder": str(p.reminder_lead_minutes)}
        self.loaded = True

    @service_event
    def load(self):
        self.service_error = self.hours_error = self.override_error = self.policy_error = ""
        self._load()

    # --- services ---
    @rx.event
    def new_service(self):
        self.editing_service = {"id": "", "name": "", "description": "", "duration": "30", "before": "0",
                                "after": "0", "price": "", "currency": "USD"}
        self.service_error = ""
        self.service_dialog_open = True

    @rx.event
    def edit_service(self, service_id: str):
        self.editing_service = next((dict(s) for s in self.services if s["id"] == service_id), {})
        self.service_error = ""
        self.service_dialog_open = bool(self.editing_service)

    @rx.event
    def set_service_dialog_open(self, value: bool):
        self.service_dialog_open = value

    @service_event
    def save_service(self, form: dict):
        self.service_error = ""
        try:
            ctx = self._owner()
            price = str(form.get("price", "")).strip().replace(",", "")
            try:
                cents = None if price == "" else round(float(price) * 100)
            except ValueError:
                raise ServiceError("The price is a number such as 45 or 45.50.", field="price_cents") from None
            availability.save_service(
                ctx.workspace_id, name=form.get("name", ""), duration_minutes=form.get("duration") or 0,
                buffer_before_minutes=form.get("before") or 0, buffer_after_minutes=form.get("after") or 0,
                price_cents=cents, currency=(form.get("currency") or "USD").upper(),
                description=form.get("description", ""),
                service_id=int(self.editing_service["id"]) if self.editing_service.get("id") else None)
        except ServiceError as exc:
            self.service_error = exc.message
            self.editing_service = {**self.editing_service, **{k: str(v) for k, v in form.items()}}
            return
        self.service_dialog_open = False
        self._load()
        return rx.toast.success("Service saved.")

    @service_event
    def delete_service(self, service_id: str):
        done = self._for_owner(lambda ctx: availability.delete_service(ctx.workspace_id, int(service_id)))
        if not done.ok:
            return done.event
        self._load()
        return rx.toast.success("Service deleted." if done.value else
                                "The service has bookings, so it was switched off instead of deleted.")

    # --- weekly hours ---
    @service_event
    def save_hours(self, form: dict):
        self.hours_error = ""

        def act(ctx):
            week = {}
            for day in range(7):
                try:
                    week[day] = _parse_windows(str(form.get(f"day{day}", "")))
                except ServiceError as exc:
                    raise ServiceError(f"{WEEKDAYS[day]}: {exc.message}", field="hours") from None
            availability.set_weekly_hours(ctx.workspace_id, week)

        done = self._for_owner(act, error_to="hours_error")
        if not done.ok:
            return done.event
        self._load()
        return rx.toast.success("Opening hours saved.")

    # --- date overrides ---
    @rx.event
    def set_override_closed(self, value: bool):
        self.override_closed = value

    @service_event
    def save_override(self, form: dict):
        self.override_error = ""
        until = str(form.get("until") or "").strip() if self.override_closed else ""

        def act(ctx):
            if until:
                return availability.close_days(ctx.workspace_id, form.get("day", ""), until, note=form.get("note", ""))
            return availability.save_override(
                ctx.workspace_id, form.get("day", ""), closed=self.override_closed, start=form.get("start") or None,
                end=form.get("end") or None, note=form.get("note", ""))

        done = self._for_owner(act, error_to="override_error")
        if not done.ok:
            return done.event
        self._load()
        # The form is emptied only once saved: a refused date stays there to be corrected.
        return [rx.toast.success("Days saved." if until else "Date saved."),
                rx.call_script(f"document.getElementById('{OVERRIDE_FORM}').reset()")]

    @service_event
    def delete_override(self, override_ids: str):
        ids = [int(i) for i in override_ids.split(",") if i.strip().isdigit()]
        done = self._for_owner(lambda ctx: availability.delete_overrides(ctx.workspace_id, ids))
        if not done.ok:
            return done.event
        self._load()

    # --- booking rules ---
    @service_event
    def save_policy(self, form: dict):
        self.policy_error = ""

        def act(ctx):
            per_day = str(form.get("per_day", "")).strip()
            availability.update_booking_policy(
                ctx.workspace_id, min_notice_minutes=form.get("min_notice") or 0,
                max_advance_days=form.get("max_advance") or 0,
                max_bookings_per_day=int(per_day) if per_day.isdigit() else (None if per_day == "" else per_day),
                require_confirmation=form.get("confirm") == "on",
                reminder_lead_minutes=form.get("reminder") or 0)

        done = self._for_owner(act, error_to="policy_error")
        if not done.ok:
            return done.event
        self._load()
        return rx.toast.success("Booking rules saved.")


# --- view ----------------------------------------------------------------------------------------------------------


def _field(label: str, control: rx.Component) -> rx.Component:
    return rx.vstack(rx.text(label, size="2", weight="medium"), control, spacing="1", width="100%")


def _service_dialog() -> rx.Component:
    s = BookingSetupState.editing_service
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(s["id"] != "", "Edit service", "New service")),
            rx.form(
                rx.vstack(
                    _field("Name", rx.input(name="name", default_value=s["name"], key=s["id"] + "n",
                                            aria_label="Service name", width="100%")),
                    _field("Description (optional)", rx.text_area(name="description", default_value=s["description"],
                                                                  key=s["id"] + "d", rows="2", width="100%",
                                                                  aria_label="Service description")),
                    rx.grid(
                        _field("Minutes", rx.input(name="duration", type="number", default_value=s["duration"],
                                                   key=s["id"] + "m", aria_label="Duration in minutes")),
                        _field("Buffer before", rx.input(name="before", type="number", default_value=s["before"],
                                                         key=s["id"] + "b", aria_label="Buffer before")),
                        _field("Buffer after", rx.input(name="after", type="number", default_value=s["after"],
                                                        key=s["id"] + "a", aria_label="Buffer after")),
                        columns="3", spacing="2", width="100%",
                    ),
                    rx.grid(
                        _field("Price (optional)", rx.input(name="price", default_value=s["price"], key=s["id"] + "p",
                                                            aria_label="Price", placeholder="45.00")),
                        _field("Currency", rx.input(name="currency", default_value=s["currency"], key=s["id"] + "c",
                                                    aria_label="Currency", max_length=3)),
                        columns="2", spacing="2", width="100%",
                    ),
                    form_alert(BookingSetupState.service_error),
                    dialog_actions("Save service"),
                    spacing="3", width="100%",
                ),
                on_submit=BookingSetupState.save_service,
            ),
            max_width="520px",
        ),
        open=BookingSetupState.service_dialog_open,
        on_open_change=BookingSetupState.set_service_dialog_open,
    )


def _services_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            card_heading("Services", "h2", "New service", BookingSetupState.new_service),
            rx.cond(
                BookingSetupState.services.length() > 0,
                rx.vstack(rx.foreach(BookingSetupState.services, lambda s: rx.hstack(
                    rx.vstack(
                        rx.hstack(rx.text(s["name"], size="2", weight="bold"),
                                  rx.badge(s["duration"] + " min", variant="soft", size="1"),
                                  rx.cond(s["price_label"] != "", rx.badge(s["price_label"], variant="soft",
                                                                           color_scheme="green", size="1")),
                                  rx.cond(s["active"] != "1", rx.badge("off", color_scheme="gray", size="1")),
                                  spacing="2", align="center", wrap="wrap"),
                        rx.cond(s["description"] != "", rx.text(s["description"], size="1",
                                                                 color=rx.color("gray", 10))),
                        spacing="1", min_width="0", flex="1",
                    ),
                    edit_delete_buttons(s["name"], BookingSetupState.edit_service(s["id"]),
                                        BookingSetupState.delete_service(s["id"])),
                    width="100%", align="center", class_name="gap-card", data_testid="service")),
                    spacing="2", width="100%"),
                rx.text("No services yet. Add what customers can book, such as “Check-up, 45 minutes”.", size="2",
                        color=rx.color("gray", 10)),
            ),
            _service_dialog(),
            spacing="3", width="100%",
        ),
        width="100%",
    )


def _hours_card() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("Weekly opening hours", size="3", as_="h2"),
                rx.text("Times in ", BookingSetupState.timezone, ". Several windows per day: 09:00-12:00, "
                        "13:00-18:00. Late hours can run past midnight: 18:00-02:00. Leave a day empty when you "
                        "are closed.", size="1", color=rx.color("gray", 10)),
                rx.foreach(BookingSetupState.hours, lambda h: rx.hstack(
                    rx.text(h["label"], size="2", width="110px", flex_shrink="0"),
                    rx.input(name="day" + h["day"], default_value=h["windows"], key=h["day"] + h["windows"],
                             placeholder="Closed", aria_label="Hours on " + h["label"], width="100%"),
                    align="center", width="100%")),
                form_alert(BookingSetupState.hours_error),
                rx.button("Save opening hours", type="submit"),
                spacing="2", width="100%", align="start",
            ),
            on_submit=BookingSetupState.save_hours,
        ),
        width="100%",
    )


def _overrides_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Closed days and special hours", size="3", as_="h2"),
            rx.form(
                rx.vstack(
                    rx.hstack(
                        rx.input(name="day", type="date", aria_label="Date", required=True),
                        rx.hstack(rx.switch(checked=BookingSetupState.override_closed,
                                            on_change=BookingSetupState.set_override_closed,
                                            aria_label="Closed all day"),
                                  rx.text("Closed all day", size="2"), align="center", spacing="2"),
                        wrap="wrap", spacing="3", align="center",
                    ),
                    rx.cond(~BookingSetupState.override_closed,
                            rx.hstack(rx.input(name="start", type="time", aria_label="Opens at"),
                                      rx.text("to", size="2"),
                                      rx.input(name="end", type="time", aria_label="Closes at"),
                                      align="center", spacing="2"),
                            rx.hstack(rx.text("through", size="2"),
                                      rx.input(name="until", type="date", aria_label="Closed through (optional)"),
                                      rx.text("(optional, for several days)", size="1", color=rx.color("gray", 10)),
                                      align="center", spacing="2", wrap="wrap")),
                    rx.input(name="note", placeholder="Note (e.g. Public holiday)", aria_label="Note", width="100%"),
                    form_alert(BookingSetupState.override_error),
                    rx.button("Add date", type="submit", variant="soft"),
                    spacing="2", width="100%", align="start",
                ),
                on_submit=BookingSetupState.save_override,
                id=OVERRIDE_FORM,
                width="100%",
            ),
            rx.foreach(BookingSetupState.overrides, lambda o: rx.hstack(
                rx.text(o["label"], size="2", weight="medium"), rx.badge(o["what"], variant="soft"),
                rx.text(o["note"], size="1", color=rx.color("gray", 10)), rx.spacer(),
                rx.icon_button(rx.icon("trash_2", size=14), variant="ghost", color_scheme="red",
                               aria_label="Remove " + o["label"], on_click=BookingSetupState.delete_override(o["id"])),
                width="100%", align="center", data_testid="override")),
            spacing="3", width="100%",
        ),
        width="100%",
    )


def _policy_card() -> rx.Component:
    p = BookingSetupState.policy
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("Booking rules", size="3", as_="h2"),
                rx.grid(
                    _field("Minimum notice (minutes)", rx.input(name="min_notice", type="number",
                                                                default_value=p["min_notice"], key=p["min_notice"],
                                                                aria_label="Minimum notice")),
                    _field("Book up to (days ahead)", rx.input(name="max_advance", type="number",
                                                               default_value=p["max_advance"], key=p["max_advance"],
                                                               aria_label="Days ahead")),
                    _field("Bookings per day (empty: no limit)", rx.input(name="per_day", type="number",
                                                                          default_value=p["per_day"],
                                                                          key=p["per_day"] + "pd",
                                                                          aria_label="Bookings per day")),
                    _field("Reminder before (minutes, 0: none)", rx.input(name="reminder", type="number",
                                                                          default_value=p["reminder"],
                                                                          key=p["reminder"] + "r",
                                                                          aria_label="Reminder lead time")),
                    columns=rx.breakpoints(initial="1", sm="2"), spacing="3", width="100%",
                ),
                rx.hstack(rx.checkbox(name="confirm", default_checked=p["confirm"] == "1", key=p["confirm"] + "c"),
                          rx.text("I confirm each booking myself (customers see it as requested)", size="2"),
                          align="center", spacing="2"),
                form_alert(BookingSetupState.policy_error),
                rx.button("Save booking rules", type="submit"),
                spacing="3", width="100%", align="start",
            ),
            on_submit=BookingSetupState.save_policy,
        ),
        width="100%",
    )


def booking_setup_panel() -> rx.Component:
    return rx.cond(
        BookingSetupState.loaded,
        rx.grid(
            rx.vstack(_services_card(), _policy_card(), spacing="4", width="100%"),
            rx.vstack(_hours_card(), _overrides_card(), spacing="4", width="100%"),
            columns=rx.breakpoints(initial="1", lg="2"), spacing="4", width="100%",
        ),
        rx.center(rx.spinner(), padding="3rem", width="100%"),
    )
