"""Page frames: the centered card of the sign-in pages and the dashboard shell with its navigation."""

from __future__ import annotations

import reflex as rx

from assistant.state.auth import AuthState
from assistant.state.deletion import DeletionState
from assistant.state.nav import NavState

NAV_ITEMS: list[tuple[str, str, str]] = [
    ("overview", "Overview", "layout_dashboard"),
    ("inbox", "Inbox", "inbox"),
    ("drafts", "Drafts", "file_pen_line"),
    ("contacts", "Contacts", "users"),
    ("knowledge", "Knowledge", "book_open"),
    ("assistant", "Assistant", "bot"),
    ("calendar", "Calendar", "calendar_days"),
    ("context", "Context", "list_checks"),
    ("rules", "Rules", "workflow"),
    ("analytics", "Analytics", "chart_line"),
    ("activity", "Activity", "history"),
    ("settings", "Settings", "settings"),
]


def nav_href(key: str) -> str:
    return "/dashboard" if key == "overview" else f"/dashboard/{key}"


def brand(size: str = "4") -> rx.Component:
    return rx.hstack(
        rx.center(rx.icon("message_circle_heart", size=18, color="white"), class_name="brand-mark"),
        rx.heading("Front Desk", size=size, weight="bold"),
        spacing="2",
        align="center",
    )


def auth_layout(title: str, subtitle: str, *children: rx.Component) -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.link(brand("5"), href="/", underline="none", color="inherit"),
            rx.card(
                rx.vstack(
                    rx.heading(title, size="6", as_="h1"),
                    rx.text(subtitle, color=rx.color("gray", 11), size="2"),
                    *children,
                    spacing="4",
                    width="100%",
                ),
                size="4",
                width="100%",
            ),
            spacing="5",
            align="center",
            width="100%",
            max_width="440px",
        ),
        min_height="100vh",
        padding="1.5rem",
        class_name="auth-bg",
    )


def _nav_link(key: str, label: str, icon: str, active: str) -> rx.Component:
    is_active = key == active
    return rx.link(
        rx.hstack(
            rx.icon(icon, size=18),
            rx.text(label, size="2", weight="medium"),
            rx.spacer(),
            rx.cond(NavState.unread_conversations > 0,
                    rx.badge(NavState.unread_conversations, color_scheme="indigo", variant="solid", radius="full",
                             aria_label="unread conversations"))
            if key == "inbox" else rx.fragment(),
            rx.cond(NavState.pending_drafts > 0,
                    rx.badge(NavState.pending_drafts, color_scheme="violet", variant="solid", radius="full",
                             aria_label="drafts to review"))
            if key == "drafts" else rx.fragment(),
            spacing="3",
            align="center",
            class_name="nav-item nav-item-active" if is_active else "nav-item",
        ),
        href=nav_href(key),
        underline="none",
        color="inherit",
        aria_current="page" if is_active else None,
        width="100%",
    )


def _nav(active: str) -> rx.Component:
    return rx.vstack(
        *[_nav_link(key, label, icon, active) for key, label, icon in NAV_ITEMS],
        spacing="1",
        width="100%",
    )


def _user_menu() -> rx.Component:
    return rx.hstack(
        rx.avatar(fallback=AuthState.initials, size="2", radius="full", color_scheme="indigo"),
        rx.vstack(
            rx.text(AuthState.user_name, size="2", weight="medium", class_name="truncate"),
            rx.text(AuthState.user_email, size="1", color=rx.color("gray", 10), class_name="truncate"),
            spacing="1",
            min_width="0",
            flex="1",
        ),
        rx.tooltip(
            rx.icon_button(rx.icon("log_out", size=16), variant="ghost", color_scheme="gray",
                           on_click=AuthState.log_out, aria_label="Log out"),
            content="Log out",
        ),
        align="center",
        width="100%",
        spacing="3",
    )


def notification_bell() -> rx.Component:
    return rx.popover.root(
        rx.popover.trigger(
            rx.box(
                rx.icon_button(rx.icon("bell", size=18), variant="ghost", color_scheme="gray",
                               aria_label="Notifications", on_click=NavState.load_notifications),
                rx.cond(NavState.unread_notifications > 0,
                        rx.badge(NavState.unread_notifications, color_scheme="red", variant="solid", radius="full",
                                 class_name="bell-badge", aria_label="unread notifications")),
                position="relative",
            ),
        ),
        rx.popover.content(
            rx.vstack(
                rx.hstack(rx.heading("Notifications", size="3"), rx.spacer(),
                          rx.button("Mark all read", size="1", variant="ghost", on_click=NavState.mark_all_read),
                          width="100%", align="center"),
                rx.cond(
                    NavState.notifications.length() > 0,
                    rx.vstack(
                        rx.foreach(
                            NavState.notifications,
                            lambda n: rx.box(
                                rx.text(n["title"], size="2", weight=rx.cond(n["read"] == "1", "regular", "bold")),
                                rx.text(n["body"], size="1", color=rx.color("gray", 10), class_name="truncate"),
                                rx.text(rx.moment(n["at"], from_now=True), size="1", color=rx.color("gray", 9)),
                                on_click=NavState.open_notification(n["id"], n["link"]),
                                class_name="notification-item",
                                width="100%",
                            ),
                        ),
                        spacing="1",
                        width="100%",
                        max_height="360px",
                        overflow_y="auto",
                    ),
                    rx.text("You're all caught up.", size="2", color=rx.color("gray", 10), padding_y="1rem"),
                ),
                spacing="2",
                width="320px",
                max_width="80vw",
            ),
            align="end",
        ),
    )


def _sidebar(active: str) -> rx.Component:
    return rx.vstack(
        rx.hstack(brand(), rx.spacer(), notification_bell(), width="100%", align="center"),
        rx.text(AuthState.workspace_name, size="1", color=rx.color("gray", 10), class_name="workspace-name"),
        rx.divider(),
        _nav(active),
        rx.spacer(),
        rx.divider(),
        _user_menu(),
        class_name="sidebar",
        spacing="3",
        padding="1.25rem",
        height="100vh",
        width="248px",
        position="sticky",
        top="0",
        display=["none", "none", "flex"],
    )


def _mobile_bar(active: str) -> rx.Component:
    return rx.hstack(
        brand("3"),
        rx.spacer(),
        notification_bell(),
        rx.drawer.root(
            rx.drawer.trigger(rx.icon_button(rx.icon("menu"), variant="ghost", aria_label="Open menu")),
            rx.drawer.overlay(z_index="50"),
            rx.drawer.portal(
                rx.drawer.content(
                    rx.vstack(
                        rx.hstack(
                            brand("3"),
                            rx.spacer(),
                            rx.drawer.close(rx.icon_button(rx.icon("x"), variant="ghost", aria_label="Close menu")),
                            width="100%",
                        ),
                        rx.divider(),
                        _nav(active),
                        rx.spacer(),
                        _user_menu(),
                        spacing="3",
                        height="100%",
                        padding="1.25rem",
                    ),
                    width="80%",
                    max_width="300px",
                    height="100%",
                    background_color=rx.color("gray", 1),
                    z_index="60",
                ),
            ),
            direction="left",
        ),
        class_name="mobile-bar",
        padding="0.75rem 1rem",
        width="100%",
        align="center",
        display=["flex", "flex", "none"],
    )


def page_header(title: str, description: str, *actions: rx.Component) -> rx.Component:
    return rx.flex(
        rx.vstack(
            rx.heading(title, size="7", as_="h1"),
            rx.text(description, color=rx.color("gray", 11), size="2"),
            spacing="1",
        ),
        rx.hstack(*actions, spacing="2"),
        justify="between",
        align="start",
        direction=rx.breakpoints(initial="column", sm="row"),
        gap="0.75rem",  # a CSS length: on phones the actions wrap under the description
        width="100%",
    )


def deletion_banner() -> rx.Component:
    """On every dashboard page while the workspace is due to be deleted: when, and the way back."""
    return rx.cond(
        AuthState.deletion_due != "",
        rx.flex(
            rx.hstack(
                rx.icon("triangle_alert", size=18, color=rx.color("red", 11), flex_shrink="0"),
                rx.text("This workspace will be deleted on ", rx.text.strong(AuthState.deletion_due),
                        ". Your customer portal is closed.", size="2", color=rx.color("red", 12)),
                align="center", spacing="2",
            ),
            rx.button(rx.icon("undo_2", size=14), "Cancel deletion", size="2", color_scheme="red",
                      on_click=DeletionState.cancel, loading=DeletionState.cancelling, flex_shrink="0"),
            justify="between", align="center", gap="0.75rem", wrap="wrap", width="100%",
            role="alert", class_name="deletion-banner",
        ),
    )


def dashboard_shell(active: str, *children: rx.Component) -> rx.Component:
    """Shown only once the session is validated; until then a loading state, never a flash of content."""
    return rx.cond(
        AuthState.is_authenticated,
        rx.hstack(
            _sidebar(active),
            rx.vstack(
                _mobile_bar(active),
                rx.vstack(
                    deletion_banner(),
                    *children,
                    spacing="5",
                    width="100%",
                    max_width="1120px",
                    padding=["1rem", "1.25rem", "2rem"],
                ),
                width="100%",
                min_width="0",
                spacing="0",
                align="center",
            ),
            spacing="0",
            width="100%",
            align="start",
            class_name="app-bg",
            min_height="100vh",
        ),
        rx.cond(AuthState.signed_out, signed_out_screen(), loading_screen()),
    )


def signed_out_screen() -> rx.Component:
    """A tab left open after the session ended (logged out elsewhere, password changed): says so, shows nothing."""
    return rx.center(
        rx.card(
            rx.vstack(
                rx.center(rx.icon("log_out", size=28, color=rx.color("indigo", 10)), class_name="empty-icon"),
                rx.heading("You were signed out", size="4", as_="h1"),
                rx.text("Your session ended in another window, or your password was changed. Log in again to "
                        "continue.", color=rx.color("gray", 11), size="2", text_align="center", max_width="360px"),
                rx.link(rx.button("Log in again", size="3"), href="/login"),
                align="center",
                spacing="3",
            ),
            size="4",
        ),
        height="100vh",
        width="100%",
        padding="1rem",
        class_name="app-bg",
    )


def loading_screen() -> rx.Component:
    return rx.center(
        rx.vstack(rx.spinner(size="3"), rx.text("Loading…", color=rx.color("gray", 10), size="2"), align="center"),
        height="100vh",
        width="100%",
    )


def empty_state(icon: str, title: str, body: str, *actions: rx.Component) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.center(rx.icon(icon, size=28, color=rx.color("indigo", 10)), class_name="empty-icon"),
            rx.heading(title, size="4", as_="h2"),
            rx.text(body, color=rx.color("gray", 11), size="2", text_align="center", max_width="460px"),
            rx.hstack(*actions, spacing="2") if actions else rx.fragment(),
            align="center",
            spacing="3",
            padding_y="2.5rem",
            width="100%",
        ),
        width="100%",
    )


def tab_bar(current: rx.Var, tabs: list[tuple[str, str, str]], on_select) -> rx.Component:
    """Pill tabs of a page: `tabs` are (key, label, icon); `on_select(key)` is the page's event."""
    return rx.hstack(
        *[rx.button(rx.icon(icon, size=14), label, size="2", radius="full",
                    variant=rx.cond(current == key, "solid", "soft"),
                    color_scheme=rx.cond(current == key, "indigo", "gray"),
                    role="tab", aria_selected=rx.cond(current == key, "true", "false"),
                    on_click=on_select(key)) for key, label, icon in tabs],
        spacing="2", wrap="wrap", role="tablist",
    )


def card_heading(title: str, as_: str, new_label: str, on_new) -> rx.Component:
    """A card's heading with its "New …" button on the right."""
    return rx.hstack(rx.heading(title, size="3", as_=as_), rx.spacer(),
                     rx.button(rx.icon("plus", size=14), new_label, on_click=on_new),
                     width="100%", align="center")


def edit_delete_buttons(name: rx.Var, on_edit, on_delete) -> rx.Fragment:
    """The pencil and bin at the end of a row in a list card, named for screen readers."""
    return rx.fragment(
        rx.icon_button(rx.icon("pencil", size=14), variant="ghost", aria_label="Edit " + name, on_click=on_edit),
        rx.icon_button(rx.icon("trash_2", size=14), variant="ghost", color_scheme="red", aria_label="Delete " + name,
                       on_click=on_delete),
    )
