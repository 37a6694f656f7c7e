"""Confirmation before anything that cannot be undone."""

from __future__ import annotations

import reflex as rx


def confirm_dialog(trigger: rx.Component, title, description: str, confirm_label: str, on_confirm,
                   color: str = "red") -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(trigger),
        rx.alert_dialog.content(
            rx.alert_dialog.title(title),
            rx.alert_dialog.description(description),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(rx.button(confirm_label, color_scheme=color, on_click=on_confirm)),
                spacing="3",
                justify="end",
                margin_top="1rem",
            ),
        ),
    )
