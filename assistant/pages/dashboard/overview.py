"""The dashboard's first page: what needs attention, and what to set up next."""

from __future__ import annotations

import reflex as rx

from assistant.components.layout import dashboard_shell, page_header
from assistant.components.profile_form import portal_link_card
from assistant.state.handlers import service_event
from assistant.state.profile import ProfileState
from backend.workspaces.overview import workspace_overview


class OverviewState(ProfileState):
    open_conversations: int = 0
    unread_messages: int = 0
    pending_drafts: int = 0
    upcoming_appointments: int = 0
    knowledge_documents: int = 0
    opening_windows: int = 0
    unread_notifications: int = 0
    custom_intents: int = 0
    welcome: bool = False
    stats_loaded: bool = False

    @service_event
    def load_overview(self):
        if not self.is_authenticated or not self.onboarded:
            return
        self.welcome = self.router.url.query_parameters.get("welcome", "") == "1"
        figures = workspace_overview(self._workspace_id, self._user_id)
        for key, value in vars(figures).items():
            setattr(self, key, value)
        self.stats_loaded = True

    @rx.var
    def first_name(self) -> str:
        return (self.user_name.split() or [""])[0]


def _stat(label: str, value: rx.Var, icon: str, href: str, color: str) -> rx.Component:
    return rx.link(
        rx.card(
            rx.hstack(
                rx.center(rx.icon(icon, size=20), class_name=f"stat-icon stat-{color}"),
                rx.vstack(
                    rx.text(label, size="2", color=rx.color("gray", 11)),
                    rx.cond(OverviewState.stats_loaded, rx.heading(value, size="6"),
                            rx.skeleton(rx.heading("00", size="6"))),
                    spacing="1",
                ),
                spacing="3",
                align="center",
            ),
            class_name="stat-card",
            width="100%",
        ),
        href=href,
        underline="none",
        color="inherit",
        width="100%",
    )


def _checklist_item(done: rx.Var, title: str, body: str, href: str) -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.cond(done, rx.icon("circle_check", color=rx.color("green", 10), size=20, flex_shrink="0"),
                    rx.icon("circle", color=rx.color("gray", 8), size=20, flex_shrink="0")),
            rx.vstack(rx.text(title, size="2", weight="medium"), rx.text(body, size="1", color=rx.color("gray", 10)),
                      spacing="0"),
            rx.spacer(),
            rx.icon("chevron_right", size=16, color=rx.color("gray", 9), flex_shrink="0"),
            align="center",
            spacing="3",
            width="100%",
            class_name="check-item",
        ),
        href=href,
        underline="none",
        color="inherit",
        width="100%",
    )


def overview_page() -> rx.Component:
    return dashboard_shell(
        "overview",
        page_header("Hello, " + OverviewState.first_name, "Here is what is happening at " +
                    OverviewState.workspace_name + " today."),
        rx.cond(
            OverviewState.welcome,
            rx.callout("Your business is set up. Share your portal link below and your assistant starts answering.",
                       icon="party_popper", color_scheme="green", width="100%"),
        ),
        rx.grid(
            _stat("Open conversations", OverviewState.open_conversations, "messages_square", "/dashboard/inbox",
                  "indigo"),
            _stat("Unread messages", OverviewState.unread_messages, "mail", "/dashboard/inbox", "amber"),
            _stat("Drafts to review", OverviewState.pending_drafts, "file_pen_line", "/dashboard/drafts", "violet"),
            _stat("Upcoming appointments", OverviewState.upcoming_appointments, "calendar_check",
                  "/dashboard/calendar", "green"),
            columns=rx.breakpoints(initial="1", xs="2", md="4"),
            spacing="4",
            width="100%",
        ),
        rx.grid(
            portal_link_card(),
            rx.card(
                rx.vstack(
                    rx.heading("Get your assistant ready", size="4", as_="h2"),
                    _checklist_item(OverviewState.onboarded, "Describe your business",
                                    "Name, time zone, role and personality.", "/dashboard/settings"),
                    _checklist_item(OverviewState.knowledge_documents > 0, "Add your documents",
                                    "Price lists, FAQs, policies: what the assistant answers from.",
                                    "/dashboard/knowledge"),
                    _checklist_item(OverviewState.opening_windows > 0, "Set your opening hours",
                                    "So customers can book in the chat.", "/dashboard/calendar"),
                    _checklist_item(OverviewState.open_conversations > 0, "Share your portal link",
                                    "Your first conversation shows up in the Inbox.", "/dashboard/inbox"),
                    _checklist_item(OverviewState.custom_intents > 0, "Try your assistant",
                                    "See what it would answer, teach it your customers' questions, set when it "
                                    "replies on its own.", "/dashboard/assistant"),
                    spacing="3",
                    width="100%",
                ),
                size="3",
                width="100%",
            ),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="4",
            width="100%",
        ),
    )
