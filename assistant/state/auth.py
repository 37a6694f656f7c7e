"""Who is looking at the dashboard. The browser keeps only an opaque token; the server decides."""

from __future__ import annotations

import reflex as rx

from backend.accounts import service as accounts
from backend.errors import AuthenticationError, SessionExpired


class AuthState(rx.State):
    session_token: str = rx.LocalStorage("", name="frontdesk_session", sync=True)

    is_authenticated: bool = False
    user_name: str = ""
    user_email: str = ""
    workspace_name: str = ""
    workspace_slug: str = ""
    onboarded: bool = False

    # Backend-only: never sent to the browser, never settable from it.
    _user_id: int = 0
    _workspace_id: int = 0

    @rx.var
    def initials(self) -> str:
        parts = [p for p in self.user_name.split() if p]
        return "".join(p[0] for p in parts[:2]).upper() or "?"

    def _apply(self, ctx: accounts.OwnerContext) -> None:
        self.is_authenticated = True
        self.user_name = ctx.full_name
        self.user_email = ctx.email
        self.workspace_name = ctx.workspace_name
        self.workspace_slug = ctx.workspace_slug
        self.onboarded = ctx.onboarded
        self._user_id = ctx.user_id
        self._workspace_id = ctx.workspace_id

    def _clear(self) -> None:
        self.is_authenticated = False
        self.user_name = self.user_email = self.workspace_name = self.workspace_slug = ""
        self.onboarded = False
        self._user_id = self._workspace_id = 0

    def _owner(self) -> accounts.OwnerContext:
        """Re-checks the session on every action, so an expired or revoked one stops working at once."""
        ctx = accounts.validate_session(self.session_token)
        self._apply(ctx)
        return ctx

    def _to_login(self, exc: AuthenticationError):
        self._clear()
        reason = "expired" if isinstance(exc, SessionExpired) else ""
        return rx.redirect(f"/login?reason={reason}" if reason else "/login")

    @rx.event
    def require_owner(self):
        """on_load of every dashboard page."""
        try:
            ctx = self._owner()
        except AuthenticationError as exc:
            return self._to_login(exc)
        if not ctx.onboarded:
            return rx.redirect("/setup")

    @rx.event
    def require_owner_for_setup(self):
        try:
            self._owner()
        except AuthenticationError as exc:
            return self._to_login(exc)

    @rx.event
    def redirect_if_logged_in(self):
        """on_load of the login and sign-up pages: a logged-in owner goes straight in."""
        if not self.session_token:
            return
        try:
            ctx = self._owner()
        except AuthenticationError:
            self._clear()
            return
        return rx.redirect("/dashboard" if ctx.onboarded else "/setup")

    @rx.event
    def log_out(self):
        accounts.log_out(self.session_token)
        self.session_token = ""
        self._clear()
        return rx.redirect("/login?reason=logged_out")
