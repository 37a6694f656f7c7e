"""Create an owner account and its business in one step."""

from __future__ import annotations

import reflex as rx

from assistant.components.forms import form_alert, labelled_input, submit_button
from assistant.components.layout import auth_layout
from assistant.state.auth import AuthState
from assistant.state.handlers import service_event
from backend.accounts import service as accounts
from backend.errors import ServiceError
from backend.settings import get_settings


class SignupState(AuthState):
    error_field: str = ""
    error_message: str = ""
    loading: bool = False

    @rx.event
    def load(self):
        self.error_field = self.error_message = ""
        return AuthState.redirect_if_logged_in

    @service_event
    def submit(self, form_data: dict):
        self.loading = True
        self.error_field = self.error_message = ""
        yield
        try:
            result = accounts.sign_up(
                email=form_data.get("email", ""),
                password=form_data.get("password", ""),
                full_name=form_data.get("full_name", ""),
                business_name=form_data.get("business_name", ""),
                user_agent=self.router.headers.user_agent,
            )
        except ServiceError as exc:
            self.error_field = exc.field or "form"
            self.error_message = exc.message
            self.loading = False
            return
        self.session_token = result.session_token
        self._owner()
        self.loading = False
        yield rx.redirect("/setup")


def _error(field: str) -> rx.Var:
    return rx.cond(SignupState.error_field == field, SignupState.error_message, "")


def signup_page() -> rx.Component:
    minimum = get_settings().min_password_length
    return auth_layout(
        "Create your account",
        "Set up an AI front desk for your business in a few minutes.",
        form_alert(_error("form")),
        rx.form(
            rx.vstack(
                labelled_input("Your name", "full_name", placeholder="Maya Chen", required=True,
                               auto_complete="name", error=_error("full_name")),
                labelled_input("Business name", "business_name", placeholder="Bright Smile Dental", required=True,
                               auto_complete="organization", error=_error("business_name")),
                labelled_input("Email", "email", type="email", placeholder="you@business.com", required=True,
                               auto_complete="email", error=_error("email")),
                labelled_input("Password", "password", type="password", required=True, auto_complete="new-password",
                               hint=f"At least {minimum} characters.", error=_error("password")),
                submit_button("Create account", SignupState.loading),
                spacing="4",
                width="100%",
            ),
            on_submit=SignupState.submit,
            no_validate=True,
            width="100%",
        ),
        rx.text("Already have an account? ", rx.link("Log in", href="/login"), size="2", align="center",
                width="100%"),
    )

