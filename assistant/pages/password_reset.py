"""Forgot password (ask for a link) and reset password (use it)."""

from __future__ import annotations

import reflex as rx

from assistant.components.forms import form_alert, labelled_input, submit_button
from assistant.components.layout import auth_layout
from assistant.state.auth import AuthState
from assistant.state.client import client_address
from assistant.state.handlers import service_event
from backend.accounts import service as accounts
from backend.errors import ServiceError


class ForgotState(rx.State):
    error: str = ""
    sent_to: str = ""
    loading: bool = False

    @rx.event
    def load(self):
        self.error = self.sent_to = ""

    @service_event
    def submit(self, form_data: dict):
        self.loading = True
        self.error = ""
        yield
        email = form_data.get("email", "")
        try:
            accounts.request_password_reset(email, client_address=client_address(self))
        except ServiceError as exc:
            self.error = exc.message
        else:
            self.sent_to = email.strip()
        self.loading = False


class ResetState(AuthState):
    error: str = ""
    link_error: str = ""
    email: str = ""
    loading: bool = False
    checked: bool = False

    def _token(self) -> str:
        return self.router.url.path.rstrip("/").rsplit("/", 1)[-1]

    @service_event
    def load(self):
        self.error = self.link_error = self.email = ""
        self.checked = False
        try:
            self.email = accounts.check_reset_token(self._token())
        except ServiceError as exc:
            self.link_error = exc.message
        self.checked = True

    @service_event
    def submit(self, form_data: dict):
        self.error = ""
        if form_data.get("password", "") != form_data.get("confirm", ""):
            self.error = "The two passwords are different."
            return
        self.loading = True
        yield
        try:
            accounts.reset_password(self._token(), form_data.get("password", ""),
                                    client_address=client_address(self))
        except ServiceError as exc:
            self.error = exc.message
            self.loading = False
            return
        self.loading = False
        self.session_token = ""
        yield rx.redirect("/login?reason=password_reset")


def forgot_page() -> rx.Component:
    return auth_layout(
        "Reset your password",
        "Enter the email of your account and we'll send you a link to choose a new password.",
        rx.cond(
            ForgotState.sent_to != "",
            rx.callout(
                "If an account exists for " + ForgotState.sent_to + ", a reset link is on its way. "
                "It works for one hour, and replaces any link sent before.",
                icon="mail_check",
                color_scheme="green",
                width="100%",
                role="status",
            ),
        ),
        form_alert(ForgotState.error),
        rx.form(
            rx.vstack(
                labelled_input("Email", "email", type="email", placeholder="you@business.com", required=True,
                               auto_complete="email"),
                submit_button("Send reset link", ForgotState.loading),
                spacing="4",
                width="100%",
            ),
            on_submit=ForgotState.submit,
            no_validate=True,
            width="100%",
        ),
        rx.text(rx.link("Back to log in", href="/login"), size="2", align="center", width="100%"),
    )


def reset_page() -> rx.Component:
    return auth_layout(
        "Choose a new password",
        "Every other browser will be logged out.",
        rx.cond(
            ~ResetState.checked,
            rx.center(rx.spinner(), width="100%", padding="1rem"),
            rx.cond(
                ResetState.link_error != "",
                rx.vstack(
                    rx.callout(ResetState.link_error, icon="link_2_off", color_scheme="red", width="100%",
                               role="alert"),
                    rx.link(rx.button("Ask for a new link", size="3", width="100%"), href="/forgot", width="100%"),
                    width="100%",
                    spacing="3",
                ),
                rx.form(
                    rx.vstack(
                        rx.text("Account: ", rx.text.strong(ResetState.email), size="2"),
                        form_alert(ResetState.error),
                        labelled_input("New password", "password", type="password", required=True,
                                       auto_complete="new-password"),
                        labelled_input("Repeat the new password", "confirm", type="password", required=True,
                                       auto_complete="new-password"),
                        submit_button("Save new password", ResetState.loading),
                        spacing="4",
                        width="100%",
                    ),
                    on_submit=ResetState.submit,
                    width="100%",
                ),
            ),
        ),
    )
