"""The outbox card on Settings: what the system sent (or, with no mail server, holds for the owner)."""

from __future__ import annotations

import reflex as rx

from assistant.state.auth import OwnerState
from assistant.state.handlers import service_event
from backend.notifications.outbox import list_owner_outbox
from backend.settings import get_settings

_STATUS_COLORS = {"sent": "green", "queued": "amber", "failed": "red"}


class OutboxState(OwnerState):
    rows: list[dict[str, str]] = []
    outbox_loaded: bool = False
    smtp_configured: bool = False

    @service_event
    def load_outbox(self):
        ctx = self._owner()
        self.smtp_configured = bool(get_settings().smtp_host)
        self.rows = [
            {
                "id": str(row.id),
                "when": row.created_at.strftime("%b %d, %H:%M UTC"),
                "to": row.to_address,
                "subject": row.subject,
                "status": row.status,
                "color": _STATUS_COLORS.get(row.status, "gray"),
                "error": row.error,
                "body": row.body,
            }
            for row in list_owner_outbox(ctx.workspace_id, ctx.email)
        ]
        self.outbox_loaded = True


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row["when"], white_space="nowrap"),
        rx.table.cell(row["to"]),
        rx.table.cell(
            rx.popover.root(
                rx.popover.trigger(rx.link(row["subject"], href="#", size="2")),
                rx.popover.content(rx.text(row["body"], size="2", white_space="pre-wrap"), max_width="480px"),
            )
        ),
        rx.table.cell(rx.badge(row["status"], color_scheme=row["color"], title=row["error"])),
    )


def outbox_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(rx.icon("mail", size=18, color=rx.color("indigo", 10)),
                      rx.heading("E-mails and texts sent by the system", size="4",
                                 as_="h2"), align="center", spacing="2"),
            rx.cond(
                OutboxState.smtp_configured,
                rx.text("Mail goes out through your SMTP server. Failed messages are retried.", size="2",
                        color=rx.color("gray", 11)),
                rx.text("No mail server is configured, so e-mails are kept here instead of being sent "
                        "(set ASSISTANT_SMTP_HOST to deliver them). Texts go out through the SMS provider when one is "
                        "set.", size="2", color=rx.color("gray", 11)),
            ),
            rx.cond(
                ~OutboxState.outbox_loaded,
                rx.center(rx.spinner(), padding="1rem", width="100%"),
                rx.cond(
                    OutboxState.rows.length() > 0,
                    rx.box(
                        rx.table.root(
                            rx.table.header(rx.table.row(
                                rx.table.column_header_cell("When"), rx.table.column_header_cell("To"),
                                rx.table.column_header_cell("Subject"), rx.table.column_header_cell("Status"))),
                            rx.table.body(rx.foreach(OutboxState.rows, _row)),
                            size="1",
                            width="100%",
                        ),
                        overflow_x="auto",
                        width="100%",
                    ),
                    rx.text("Nothing sent yet.", size="2", color=rx.color("gray", 10)),
                ),
            ),
            spacing="3",
            width="100%",
        ),
        size="3",
        width="100%",
    )
