"""Onboarding: the owner describes the business and the assistant before the dashboard opens."""

from __future__ import annotations

import reflex as rx

from assistant.components.layout import brand
from assistant.components.profile_form import portal_link_card, profile_form
from assistant.state.auth import AuthState
from assistant.state.profile import ProfileState


def setup_page() -> rx.Component:
    return rx.box(
        rx.vstack(
            rx.hstack(
                brand(),
                rx.spacer(),
                rx.button("Log out", variant="ghost", color_scheme="gray", on_click=AuthState.log_out),
                width="100%",
                align="center",
            ),
            rx.vstack(
                rx.badge("Step 1 of 1 · Set up your business", color_scheme="indigo", size="2"),
                rx.heading("Tell us about your business", size="8", as_="h1"),
                rx.text("Your assistant uses this to greet customers, answer in the right tone and book in your "
                        "time zone. You can change everything later in Settings.",
                        color=rx.color("gray", 11), size="3"),
                spacing="2",
                width="100%",
            ),
            profile_form("Save and open my dashboard"),
            rx.cond(ProfileState.loaded, portal_link_card()),
            spacing="6",
            width="100%",
            max_width="880px",
            padding=["1rem", "1.5rem", "2.5rem"],
            margin="0 auto",
        ),
        class_name="app-bg",
        min_height="100vh",
    )
