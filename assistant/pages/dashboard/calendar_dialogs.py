"""The Calendar page's dialogs: an appointment's details and actions (confirm, complete, no-show, move to a free
time, cancel with a reason), a manual booking (an existing customer or a walk-in) and a time block. Each reads its
own substate of CalendarState; which one is open is CalendarState.dialog."""

from __future__ import annotations

import reflex as rx

from assistant.components.forms import dialog_actions, field_error, form_alert
from assistant.pages.dashboard.calendar_appointment_state import AppointmentState
from assistant.pages.dashboard.calendar_forms_state import BlockFormState, BookingFormState
from assistant.pages.dashboard.calendar_state import CalendarState


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
    s = AppointmentState
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
    s = AppointmentState
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


def detail_dialog() -> rx.Component:
    s = AppointmentState
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
            rx.dialog.description(a["when"] + " (" + CalendarState.tz_name + ")", size="2",
                                  color=rx.color("gray", 11), margin_top="0.25rem", data_testid="detail-when"),
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
        open=CalendarState.dialog == "appointment",
        on_open_change=s.set_detail_open,
    )


def _customer_picker() -> rx.Component:
    s = BookingFormState
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


def booking_dialog() -> rx.Component:
    s = BookingFormState
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
                        rx.select.content(rx.foreach(CalendarState.services, lambda sv: rx.select.item(
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
                dialog_actions("Book", s.submit_booking),
                spacing="3", width="100%", margin_top="1rem",
            ),
            max_width="520px",
        ),
        open=CalendarState.dialog == "booking",
        on_open_change=s.set_booking_open,
    )


def block_dialog() -> rx.Component:
    s = BlockFormState
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
                dialog_actions("Block", s.submit_block),
                spacing="3", width="100%", margin_top="1rem",
            ),
            max_width="440px",
        ),
        open=CalendarState.dialog == "block",
        on_open_change=s.set_block_open,
    )
