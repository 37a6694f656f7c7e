"""Settings cards for privacy: how long conversations are kept, signing out other sessions, the activity log, and
deleting the workspace (with its grace period)."""

from __future__ import annotations

import reflex as rx

from assistant.components.forms import field_error, form_alert
from assistant.state.auth import AuthState, OwnerState
from assistant.state.client import client_address
from assistant.state.deletion import DeletionState
from assistant.state.handlers import service_event
from backend.accounts import service as accounts
from backend.errors import AuthenticationError
from backend.privacy import retention

RETENTION_OPTIONS = [(str(months), label) for months, label in retention.CHOICES.items()]


class PrivacyState(OwnerState):
    retention_months: str = "0"
    retention_explanation: str = ""
    privacy_loaded: bool = False
    signing_out: bool = False

    def _show(self, view: retention.RetentionView) -> None:
        self.retention_months = str(view.months)
        self.retention_explanation = view.explanation
        self.privacy_loaded = True

    @service_event
    def load_privacy(self):
        try:
            ctx = self._owner()
        except AuthenticationError:
            return
        self._show(retention.get_retention(ctx.workspace_id))

    @service_event
    def set_retention(self, value: str):
        done = self._for_owner(lambda ctx: retention.set_retention(ctx.workspace_id, value, user_id=ctx.user_id))
        if not done.ok:
            return done.event
        before = self.retention_months
        self._show(done.value)
        if before != self.retention_months:
            return rx.toast.success("Saved. " + ("Conversations are kept until you delete them."
                                                 if done.value.months == 0 else
                                                 f"Conversations resolved more than {done.value.label.lower()} "
                                                 "ago go tonight."))

    @service_event
    def sign_out_others(self):
        self.signing_out = True
        yield
        try:
            ended = accounts.sign_out_other_sessions(self.session_token, client_address=client_address(self))
        except AuthenticationError as exc:
            self.signing_out = False
            yield self._to_login(exc)
            return
        self.signing_out = False
        yield rx.toast.success("You were signed out everywhere else." if ended else
                               "You were not signed in anywhere else.")


def _card_heading(icon: str, title: str, color: str = "indigo") -> rx.Component:
    return rx.hstack(rx.icon(icon, size=18, color=rx.color(color, 10)), rx.heading(title, size="4", as_="h2"),
                     align="center", spacing="2")


def privacy_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            _card_heading("shield_check", "Privacy and data"),
            rx.text("Your customers can ask what you hold about them, or to be forgotten: open the contact, then "
                    "Download data or Delete contact and data.", size="2", color=rx.color("gray", 11)),
            rx.flex(
                rx.el.label("Keep conversations for", html_for="retention_months", class_name="field-label",
                            min_width="180px"),
                rx.el.select(*[rx.el.option(label, value=value) for value, label in RETENTION_OPTIONS],
                             id="retention_months", value=PrivacyState.retention_months,
                             on_change=PrivacyState.set_retention, class_name="native-select", max_width="220px",
                             disabled=~PrivacyState.privacy_loaded),
                gap="0.5rem 1rem", align=rx.breakpoints(initial="start", sm="center"),
                direction=rx.breakpoints(initial="column", sm="row"), width="100%",
            ),
            rx.cond(PrivacyState.privacy_loaded,
                    rx.callout(PrivacyState.retention_explanation, icon="info", size="1", color_scheme="gray",
                               width="100%", id="retention-explanation"),
                    rx.skeleton(rx.box(height="2.5rem"), width="100%")),
            spacing="3",
            width="100%",
        ),
        size="3",
        width="100%",
    )


def security_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            _card_heading("lock_keyhole", "Security"),
            rx.text("Signed in on a computer you no longer use, or lost a phone? End every other session: they "
                    "will have to log in again.", size="2", color=rx.color("gray", 11)),
            rx.flex(
                rx.button(rx.icon("log_out", size=14), "Sign out other sessions", variant="soft",
                          on_click=PrivacyState.sign_out_others, loading=PrivacyState.signing_out),
                rx.link(rx.button(rx.icon("history", size=14), "See the activity log", variant="ghost"),
                        href="/dashboard/activity"),
                gap="0.75rem", wrap="wrap", align="center",
            ),
            spacing="3",
            width="100%",
        ),
        size="3",
        width="100%",
    )


def _delete_dialog() -> rx.Component:
    name = AuthState.workspace_name
    return rx.dialog.root(
        rx.dialog.trigger(rx.button(rx.icon("trash_2", size=14), "Delete workspace…", color_scheme="red",
                                    variant="soft")),
        rx.dialog.content(
            rx.dialog.title("Delete " + name + "?"),
            rx.dialog.description(
                "Your customer portal closes now and your other sessions end. In "
                + DeletionState.grace_days.to_string() + " days everything is deleted for good: conversations, "
                "contacts, files, documents and settings, and your account unless you belong to another "
                "workspace. Until then you can log in and cancel.",
                size="2", margin_bottom="1rem"),
            rx.form(
                rx.vstack(
                    form_alert(DeletionState.form_error),
                    rx.vstack(
                        rx.el.label(rx.text("Type ", rx.text.strong(name), " to confirm"), html_for="confirm_name",
                                    class_name="field-label"),
                        rx.input(id="confirm_name", name="confirm_name", size="3", width="100%",
                                 auto_complete="off"),
                        field_error(DeletionState.confirm_name_error),
                        spacing="1", width="100%", align="start",
                    ),
                    rx.vstack(
                        rx.el.label("Your password", html_for="delete_password", class_name="field-label"),
                        rx.input(id="delete_password", name="password", type="password", size="3", width="100%",
                                 auto_complete="current-password"),
                        field_error(DeletionState.password_error),
                        spacing="1", width="100%", align="start",
                    ),
                    rx.hstack(
                        rx.dialog.close(rx.button("Keep my workspace", variant="soft", color_scheme="gray",
                                                  type="button")),
                        rx.button("Delete workspace", type="submit", color_scheme="red",
                                  loading=DeletionState.scheduling),
                        spacing="2", justify="end", width="100%", wrap="wrap",
                    ),
                    spacing="4",
                    width="100%",
                ),
                on_submit=DeletionState.schedule,
                no_validate=True,
            ),
            max_width="480px",
        ),
        open=DeletionState.dialog_open,
        on_open_change=DeletionState.set_dialog_open,
    )


def delete_workspace_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            _card_heading("triangle_alert", "Delete this workspace", color="red"),
            rx.cond(
                AuthState.deletion_due != "",
                rx.vstack(
                    rx.text("This workspace will be deleted on ", rx.text.strong(AuthState.deletion_due),
                            ". Your customer portal is closed until then. Changed your mind?", size="2",
                            color=rx.color("gray", 11)),
                    rx.button(rx.icon("undo_2", size=14), "Cancel deletion", on_click=DeletionState.cancel,
                              loading=DeletionState.cancelling),
                    spacing="3",
                ),
                rx.vstack(
                    rx.text("Deletes the business with everything in it, after "
                            + DeletionState.grace_days.to_string() + " days in which you can change your mind. "
                            "Download what you want to keep first.", size="2", color=rx.color("gray", 11)),
                    _delete_dialog(),
                    spacing="3",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        size="3",
        width="100%",
        class_name="danger-card",
    )
