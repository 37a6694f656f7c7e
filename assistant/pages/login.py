"""Log in, with the reason the person landed here (expired session, logged out)."""

from __future__ import annotations

import reflex as rx

from assistant.components.forms import form_alert, labelled_input, submit_button
from assistant.components.layout import auth_layout
from assistant.state.auth import AuthState
from assistant.state.client import client_address
from assistant.state.handlers import service_event
from backend.accounts import service as accounts
from backend.errors import ServiceError

_NOTICES = {
    "expired": ("Your session expired. Please log in again.", "amber"),
    "logged_out": ("You are logged out.", "blue"),
    "password_reset": ("Your password was changed. Log in with the new one.", "green"),
}


class LoginState(AuthState):
    error: str = ""
    notice: str = ""
    notice_color: str = "blue"
    loading: bool = False

    @rx.event
    def load(self):
        self.error = ""
        reason = self.router.url.query_parameters.get("reason", "")
        self.notice, self.notice_color = _NOTICES.get(reason, ("", "blue"))
        return AuthState.redirect_if_logged_in

    @service_event
    def submit(self, form_data: dict):
        self.loading = True
        self.error = ""
        yield
        try:
            token = accounts.log_in(
                form_data.get("email", ""),
                form_data.get("password", ""),
                user_agent=self.router.headers.user_agent,
                client_address=client_address(self),
            )
        except ServiceError as exc:
            self.error = exc.message
            self.loading = False
            return
        self.session_token = token
        ctx = self._owner()
        self.loading = False
        yield rx.redirect("/dashboard" if ctx.onboarded else "/setup")


def login_page() -> rx.Component:
    return auth_layout(
        "Welcome back",
        "Log in to answer your customers and manage your assistant.",
        rx.cond(
            LoginState.notice != "",
            rx.callout(LoginState.notice, icon="info", color_scheme=LoginState.notice_color, width="100%"),
        ),
        form_alert(LoginState.error),
        rx.form(
            rx.vstack(
                labelled_input("Email", "email", type="email", placeholder="you@business.com", required=True,
                               auto_complete="email"),
                labelled_input("Password", "password", type="password", required=True,
                               auto_complete="current-password"),
                rx.hstack(
                    rx.spacer(),
                    rx.link("Forgot password?", href="/forgot", size="2"),
                    width="100%",
                ),
                submit_button("Log in", LoginState.loading),
                spacing="4",
                width="100%",
            ),
            on_submit=LoginState.submit,
            no_validate=True,
            width="100%",
        ),
        rx.text("New here? ", rx.link("Create an account", href="/signup"), size="2", align="center", width="100%"),
    )
