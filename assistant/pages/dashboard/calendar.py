"""Calendar: the owner's schedule (day and week time grids, an upcoming list), each appointment's details and
actions, manual bookings for walk-ins and phone calls, time blocks; beside it the Setup and Sync tabs.

State: calendar_state.py (the range in sight) and its substates calendar_appointment_state.py (the open
appointment) and calendar_forms_state.py (a new booking, a time block); layout: calendar_layout.py; dialogs:
calendar_dialogs.py."""

from __future__ import annotations

import reflex as rx

from assistant.components.forms import form_alert
from assistant.components.layout import dashboard_shell, empty_state, page_header, tab_bar
from assistant.pages.dashboard.booking_setup import booking_setup_panel
from assistant.pages.dashboard.calendar_appointment_state import AppointmentState
from assistant.pages.dashboard.calendar_dialogs import block_dialog, booking_dialog, detail_dialog
from assistant.pages.dashboard.calendar_forms_state import BlockFormState, BookingFormState
from assistant.pages.dashboard.calendar_layout import STATUS_LABELS
from assistant.pages.dashboard.calendar_state import FILTERS, TABS, VIEWS, CalendarState
from assistant.pages.dashboard.calendar_sync import calendar_sync_panel

__all__ = ["AppointmentState", "CalendarState", "calendar_page"]


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
        on_click=AppointmentState.open_appointment(item["id"]),
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
        on_click=AppointmentState.open_appointment(item["id"]),
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
        rx.button(rx.icon("plus", size=14), "New booking", variant="soft", on_click=BookingFormState.open_booking),
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
                                  on_click=BlockFormState.open_block)),
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


def calendar_page() -> rx.Component:
    s = CalendarState
    return dashboard_shell(
        "calendar",
        page_header(
            "Calendar", "Your appointments, opening hours and connected calendars.",
            rx.cond((s.tab == "schedule") & (s.services.length() > 0),
                    rx.hstack(
                        rx.button(rx.icon("ban", size=14), "Block time", variant="soft", color_scheme="gray",
                                  on_click=BlockFormState.open_block),
                        rx.button(rx.icon("plus", size=14), "New booking", on_click=BookingFormState.open_booking),
                        spacing="2",
                    )),
        ),
        tab_bar(s.tab, TABS, s.set_tab),
        rx.match(s.tab, ("setup", booking_setup_panel()), ("sync", calendar_sync_panel()), _schedule_tab()),
        detail_dialog(),
        booking_dialog(),
        block_dialog(),
    )
