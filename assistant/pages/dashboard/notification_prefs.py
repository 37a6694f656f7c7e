"""Settings card: which notifications each owner gets, in the app and by e-mail."""

from __future__ import annotations

import reflex as rx

from assistant.state.auth import OwnerState
from assistant.state.handlers import service_event
from backend.errors import ServiceError
from backend.notifications import service as notifications


class NotificationPrefsState(OwnerState):
    prefs: list[dict[str, str]] = []

    def _load(self, workspace_id: int, user_id: int) -> None:
        self.prefs = [
            {"kind": p["kind"], "label": p["label"], "in_app": "1" if p["in_app"] else "",
             "email": "1" if p["email"] else ""}
            for p in notifications.get_notification_preferences(workspace_id, user_id)
        ]

    @service_event
    def load_prefs(self):
        ctx = self._owner()
        self._load(ctx.workspace_id, ctx.user_id)

    @service_event
    def toggle(self, kind: str, channel: str, value: bool):
        ctx = self._owner()
        current = next((p for p in self.prefs if p["kind"] == kind), None)
        if current is None:
            return
        in_app = value if channel == "in_app" else current["in_app"] == "1"
        email = value if channel == "email" else current["email"] == "1"
        try:
            notifications.set_notification_preference(ctx.workspace_id, ctx.user_id, kind, in_app, email)
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._load(ctx.workspace_id, ctx.user_id)


def notification_prefs_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(rx.icon("bell", size=18, color=rx.color("indigo", 10)),
                      rx.heading("Notifications", size="4", as_="h2"), align="center", spacing="2"),
            rx.text("Choose what reaches you in the dashboard and by e-mail.", size="2", color=rx.color("gray", 11)),
            rx.table.root(
                rx.table.header(rx.table.row(rx.table.column_header_cell("When"),
                                             rx.table.column_header_cell("In the app"),
                                             rx.table.column_header_cell("By e-mail"))),
                rx.table.body(rx.foreach(NotificationPrefsState.prefs, lambda p: rx.table.row(
                    rx.table.row_header_cell(p["label"]),
                    rx.table.cell(rx.switch(checked=p["in_app"] == "1", aria_label=p["label"] + " in the app",
                                            on_change=lambda v: NotificationPrefsState.toggle(p["kind"], "in_app", v))),
                    rx.table.cell(rx.switch(checked=p["email"] == "1", aria_label=p["label"] + " by e-mail",
                                            on_change=lambda v: NotificationPrefsState.toggle(p["kind"], "email", v))),
                ))),
                width="100%",
            ),
            spacing="3",
            width="100%",
        ),
        size="3",
        width="100%",
    )
