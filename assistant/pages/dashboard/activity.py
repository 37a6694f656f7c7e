"""Activity: the workspace's log of who did what and when (sign-ins, exports, erasures, settings, API tokens…),
filtered by kind, person and days, a page at a time, and downloadable as CSV."""

from __future__ import annotations

import reflex as rx

from assistant.components.forms import form_alert
from assistant.components.layout import dashboard_shell, empty_state, page_header
from assistant.state.auth import OwnerState
from assistant.state.handlers import service_event
from backend.errors import AuthenticationError, ServiceError
from backend.privacy import audit

KINDS = [("", "All kinds")] + list(audit.CATEGORIES.items())
ICONS = {"sign_in": "log_in", "privacy": "shield_check", "settings": "settings", "api_tokens": "key_round",
         "contacts": "users", "conversations": "messages_square", "knowledge": "book_open", "assistant": "bot",
         "calendar": "calendar_days", "other": "circle_dot"}


def _row(row: audit.ActivityRow) -> dict[str, str]:
    who = row.who + (f" ({row.who_email})" if row.who_email and row.who_email != row.who else "")
    return {"id": str(row.id), "at": row.at, "at_iso": row.at_iso, "who": who, "summary": row.summary,
            "detail": row.detail, "address": row.address, "category": row.category,
            "kind": row.category_label}


class ActivityState(OwnerState):
    rows: list[dict[str, str]] = []
    total: int = 0
    page: int = 1
    pages: int = 1
    timezone: str = ""
    loaded: bool = False
    category: str = ""
    person: str = ""
    date_from: str = ""
    date_to: str = ""
    people: list[list[str]] = []
    filter_error: str = ""

    @rx.var
    def filtered(self) -> bool:
        return bool(self.category or self.person or self.date_from or self.date_to)

    def _filters(self) -> audit.Filters:
        return audit.Filters(category=self.category, person=self.person, date_from=self.date_from,
                             date_to=self.date_to)

    def _load(self, page: int = 1):
        self.filter_error = ""
        try:
            result = audit.list_activity(self._workspace_id, self._filters(), page=page)
        except ServiceError as exc:
            self.filter_error = exc.message
            return
        self.rows = [_row(r) for r in result.rows]
        self.total, self.page, self.pages, self.timezone = result.total, result.page, result.pages, result.timezone
        self.loaded = True

    @service_event
    def load(self):
        try:
            ctx = self._owner()
        except AuthenticationError as exc:
            return self._to_login(exc)
        self.people = [[value, label] for value, label in audit.activity_people(ctx.workspace_id)]
        self._load(self.page)

    @service_event
    def set_category(self, value: str):
        self.category = value if value in audit.CATEGORIES else ""
        self._load()

    @service_event
    def set_person(self, value: str):
        self.person = value[:20]
        self._load()

    @service_event
    def set_date_from(self, value: str):
        self.date_from = value[:10]
        self._load()

    @service_event
    def set_date_to(self, value: str):
        self.date_to = value[:10]
        self._load()

    @service_event
    def clear_filters(self):
        self.category = self.person = self.date_from = self.date_to = ""
        self._load()

    @service_event
    def next_page(self):
        self._load(self.page + 1)

    @service_event
    def previous_page(self):
        self._load(max(1, self.page - 1))

    @service_event
    def download_csv(self):
        done = self._for_owner(lambda ctx: audit.activity_csv(ctx.workspace_id, self._filters(),
                                                              user_id=ctx.user_id), error_to="filter_error")
        if not done.ok:
            return done.event
        return rx.download(data=done.value, filename="activity.csv", mime_type="text/csv")


def _filter_bar() -> rx.Component:
    def labelled(label: str, control: rx.Component) -> rx.Component:
        return rx.vstack(rx.text(label, size="1", weight="medium", color=rx.color("gray", 11)), control,
                         spacing="1", width="100%", min_width="0")

    return rx.card(
        rx.vstack(
            rx.grid(
                labelled("Kind", rx.el.select(*[rx.el.option(label, value=value) for value, label in KINDS],
                                              value=ActivityState.category, on_change=ActivityState.set_category,
                                              class_name="native-select", aria_label="Kind of activity")),
                labelled("Person", rx.el.select(
                    rx.el.option("Everyone", value=""),
                    rx.foreach(ActivityState.people, lambda p: rx.el.option(p[1], value=p[0])),
                    value=ActivityState.person, on_change=ActivityState.set_person, class_name="native-select",
                    aria_label="Person")),
                labelled("From", rx.input(type="date", value=ActivityState.date_from, size="3", width="100%",
                                          on_change=ActivityState.set_date_from, aria_label="From day",
                                          class_name="date-filter")),
                labelled("To", rx.input(type="date", value=ActivityState.date_to, size="3", width="100%",
                                        on_change=ActivityState.set_date_to, aria_label="To day",
                                        class_name="date-filter")),
                columns=rx.breakpoints(initial="2", md="4"),
                spacing="3",
                width="100%",
            ),
            form_alert(ActivityState.filter_error),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _entry(row: rx.Var) -> rx.Component:
    return rx.flex(
        rx.hstack(
            rx.center(rx.match(row["category"], *[(key, rx.icon(icon, size=16)) for key, icon in ICONS.items()],
                               rx.icon("circle_dot", size=16)),
                      class_name="activity-icon activity-icon-" + row["category"]),
            rx.vstack(
                rx.text(row["summary"], size="2", weight="medium"),
                rx.cond(row["detail"] != "",
                        rx.text(row["detail"], size="1", color=rx.color("gray", 11), word_break="break-word")),
                rx.text(row["who"], rx.cond(row["address"] != "", " · " + row["address"], ""), size="1",
                        color=rx.color("gray", 10)),
                spacing="1",
                min_width="0",
            ),
            spacing="3",
            align="start",
            min_width="0",
        ),
        rx.el.time(row["at"], date_time=row["at_iso"], class_name="activity-when",
                   style={"font-size": "var(--font-size-1)", "color": "var(--gray-10)"}),
        direction=rx.breakpoints(initial="column", sm="row"),
        justify="between",
        gap="0.25rem 1rem",
        width="100%",
        class_name="activity-row",
        role="listitem",
    )


def _pager() -> rx.Component:
    return rx.hstack(
        rx.text(ActivityState.total.to_string() + " event(s) · page " + ActivityState.page.to_string() + " of "
                + ActivityState.pages.to_string(), size="1", color=rx.color("gray", 10)),
        rx.spacer(),
        rx.button(rx.icon("chevron_left", size=14), "Newer", size="1", variant="soft",
                  disabled=ActivityState.page <= 1, on_click=ActivityState.previous_page),
        rx.button("Older", rx.icon("chevron_right", size=14), size="1", variant="soft",
                  disabled=ActivityState.page >= ActivityState.pages, on_click=ActivityState.next_page),
        width="100%",
        align="center",
        spacing="2",
    )


def activity_page() -> rx.Component:
    return dashboard_shell(
        "activity",
        page_header("Activity", "Who did what in your workspace: sign-ins, exports, erasures, settings and API "
                                "tokens.",
                    rx.button(rx.icon("download", size=14), "Download CSV", variant="soft",
                              on_click=ActivityState.download_csv, disabled=ActivityState.total == 0)),
        _filter_bar(),
        rx.cond(
            ~ActivityState.loaded,
            rx.center(rx.spinner(size="3"), padding="3rem", width="100%"),
            rx.cond(
                ActivityState.rows.length() > 0,
                rx.card(
                    rx.vstack(
                        rx.box(rx.foreach(ActivityState.rows, _entry), role="list", width="100%"),
                        rx.divider(),
                        _pager(),
                        rx.text("Times are in " + ActivityState.timezone + ".", size="1",
                                color=rx.color("gray", 9)),
                        spacing="3",
                        width="100%",
                    ),
                    size="2",
                    width="100%",
                ),
                rx.cond(
                    ActivityState.filtered,
                    empty_state("search_x", "Nothing matches these filters",
                                "Try another kind, person or range of days.",
                                rx.button("Clear filters", variant="soft", on_click=ActivityState.clear_filters)),
                    empty_state("history", "No activity yet",
                                "Sign-ins, exports, erasures and changes to your settings appear here as they "
                                "happen."),
                ),
            ),
        ),
    )
