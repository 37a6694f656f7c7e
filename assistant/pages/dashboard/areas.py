"""The dashboard areas whose full tools are being built: each explains what it will hold and what to do now."""

from __future__ import annotations

import reflex as rx

from assistant.components.layout import dashboard_shell, empty_state, page_header

AREAS: dict[str, tuple[str, str, str, str, str]] = {
    # key: (title, description, icon, empty title, empty body)
    "context": ("Context", "What your assistant tracks in each conversation.", "list_checks",
                "Decide what to track", "Define fields such as reason for visit or budget, and a status workflow; "
                "the assistant fills them in as customers talk."),
    "rules": ("Rules", "When this happens, do that.", "workflow", "No rules yet",
              "Build rules such as: when a message mentions a refund and the customer is new, hand off to a "
              "person and notify me."),
    "analytics": ("Analytics", "How your front desk is doing.", "chart_line", "Not enough data yet",
                  "Response times, answer rates, bookings and the questions your documents don't answer yet "
                  "appear here once customers start talking."),
}


def area_page(key: str):
    title, description, icon, empty_title, empty_body = AREAS[key]

    def render() -> rx.Component:
        return dashboard_shell(
            key,
            page_header(title, description),
            empty_state(icon, empty_title, empty_body,
                        rx.link(rx.button("Back to overview", variant="soft"), href="/dashboard")),
        )

    render.__name__ = f"{key}_page"
    return render
