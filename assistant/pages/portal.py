"""The customer's side: the business's portal at /portal/<slug>. Chat arrives with the messaging issue."""

from __future__ import annotations

import reflex as rx

from assistant.components.layout import brand
from backend.errors import NotFound
from backend.workspaces.service import get_public_workspace


class PortalState(rx.State):
    loaded: bool = False
    found: bool = False
    business_name: str = ""
    assistant_name: str = ""
    welcome_message: str = ""

    @rx.event
    def load(self):
        slug = self.router.url.path.rstrip("/").rsplit("/", 1)[-1]
        try:
            ws = get_public_workspace(slug)
        except NotFound:
            self.found = False
        else:
            self.found = True
            self.business_name = ws.name
            self.assistant_name = ws.assistant_name
            self.welcome_message = ws.welcome_message
        self.loaded = True


def _not_found() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.icon("store", size=36, color=rx.color("gray", 9)),
            rx.heading("We couldn't find this business", size="5", as_="h1"),
            rx.text("The link may be mistyped, or the business may have changed it. Ask them for their current "
                    "link.", size="2", color=rx.color("gray", 11), text_align="center"),
            align="center",
            spacing="3",
            padding="1.5rem",
        ),
        width="100%",
    )


def _welcome() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.avatar(fallback=PortalState.assistant_name.to(str)[0], size="4", radius="full",
                          color_scheme="indigo"),
                rx.vstack(
                    rx.heading(PortalState.business_name, size="5", as_="h1"),
                    rx.text(PortalState.assistant_name + " · AI assistant", size="2", color=rx.color("gray", 10)),
                    spacing="0",
                ),
                spacing="3",
                align="center",
            ),
            rx.box(rx.text(PortalState.welcome_message, size="3"), class_name="bubble bubble-assistant"),
            spacing="4",
            width="100%",
        ),
        size="3",
        width="100%",
    )


def portal_page() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.cond(
                PortalState.loaded,
                rx.cond(PortalState.found, _welcome(), _not_found()),
                rx.center(rx.spinner(size="3"), padding="3rem"),
            ),
            rx.hstack(rx.text("Powered by", size="1", color=rx.color("gray", 9)), brand("1"), spacing="1",
                      align="center"),
            spacing="4",
            align="center",
            width="100%",
            max_width="560px",
        ),
        min_height="100vh",
        padding="1rem",
        class_name="auth-bg",
    )
