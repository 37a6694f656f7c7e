"""Who is looking at the dashboard. The browser keeps only an opaque token; the server decides."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Callable

import reflex as rx

from assistant.state.client import client_address
from assistant.state.handlers import service_event
from backend.accounts import service as accounts
from backend.errors import AuthenticationError, ServiceError, SessionExpired

# The session this handler's thread already validated: (token, context). Set per event by OwnerState._guard.
_checked_session: ContextVar[tuple[str, accounts.OwnerContext] | None] = ContextVar("checked_session", default=None)


@dataclass
class Outcome:
    """What an owner action came to: its value, or the event the handler returns instead (to the login page,
    or a toast); None when the error went into a field of the page."""

    ok: bool
    value: Any = None
    event: Any = None


class AuthState(rx.State):
    session_token: str = rx.LocalStorage("", name="frontdesk_session", sync=True)

    is_authenticated: bool = False
    signed_out: bool = False  # the session ended while a dashboard tab was open (seen on a live update)
    user_name: str = ""
    user_email: str = ""
    workspace_name: str = ""
    workspace_slug: str = ""
    onboarded: bool = False
    deletion_due: str = ""  # the day the workspace is to be deleted, while that is scheduled: the banner shows it

    # Backend-only: never sent to the browser, never settable from it.
    _user_id: int = 0
    _workspace_id: int = 0

    @rx.var
    def initials(self) -> str:
        parts = [p for p in self.user_name.split() if p]
        return "".join(p[0] for p in parts[:2]).upper() or "?"

    def _apply(self, ctx: accounts.OwnerContext) -> None:
        self.is_authenticated = True
        self.signed_out = False
        self.user_name = ctx.full_name
        self.user_email = ctx.email
        self.workspace_name = ctx.workspace_name
        self.workspace_slug = ctx.workspace_slug
        self.onboarded = ctx.onboarded
        self.deletion_due = ctx.deletion_due
        self._user_id = ctx.user_id
        self._workspace_id = ctx.workspace_id

    def _clear(self) -> None:
        self.is_authenticated = False
        self.user_name = self.user_email = self.workspace_name = self.workspace_slug = ""
        self.onboarded = False
        self.deletion_due = ""
        self._user_id = self._workspace_id = 0

    def _owner(self) -> accounts.OwnerContext:
        """Re-checks the session on every action, so an expired or revoked one stops working at once (once per
        event: an OwnerState's guard already checked it moments ago on this thread)."""
        checked = _checked_session.get()
        if checked is not None and checked[0] == self.session_token:
            return checked[1]
        ctx = accounts.validate_session(self.session_token)
        self._apply(ctx)
        return ctx

    def _to_login(self, exc: AuthenticationError):
        self._clear()
        reason = "expired" if isinstance(exc, SessionExpired) else ""
        return rx.redirect(f"/login?reason={reason}" if reason else "/login")

    def _for_owner(self, action: Callable[[accounts.OwnerContext], Any], *, error_to: str = "") -> Outcome:
        """Run `action(ctx)` for the signed-in owner (the session re-checked first). A lapsed session leads to the
        login page; a refusal (ServiceError) is shown in the page's `error_to` field, or as a toast without one.

            done = self._for_owner(lambda ctx: service.delete(ctx.workspace_id, item_id))
            if not done.ok:
                return done.event
        """
        try:
            return Outcome(True, action(self._owner()))
        except AuthenticationError as exc:
            return Outcome(False, event=self._to_login(exc))
        except ServiceError as exc:
            if error_to:
                setattr(self, error_to, exc.message)
                return Outcome(False)
            return Outcome(False, event=rx.toast.error(exc.message))

    @service_event
    def require_owner(self):
        """on_load of every dashboard page."""
        try:
            ctx = self._owner()
        except AuthenticationError as exc:
            return self._to_login(exc)
        if not ctx.onboarded:
            return rx.redirect("/setup")

    @service_event
    def require_owner_for_setup(self):
        try:
            self._owner()
        except AuthenticationError as exc:
            return self._to_login(exc)

    @service_event
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

    @service_event
    def log_out(self):
        accounts.log_out(self.session_token, client_address=client_address(self))
        self.session_token = ""
        self._clear()
        return rx.redirect("/login?reason=logged_out")


class OwnerState(AuthState):
    """The state of a page only a signed-in owner sees. Every handler (through `@service_event`) and every live
    update re-checks the session first, so a tab left open after a log-out or a password reset stops at once:
    its next action leads to the login page and no live update reaches it."""

    def _guard(self):
        """None when the session still holds; otherwise the event to return instead of running the handler."""
        try:
            ctx = accounts.validate_session(self.session_token)
        except AuthenticationError as exc:
            return self._to_login(exc)
        self._apply(ctx)
        _checked_session.set((self.session_token, ctx))
        return None

    def _live_allowed(self) -> bool:
        try:
            self._apply(accounts.validate_session(self.session_token))
        except AuthenticationError:
            self._clear()
            self.signed_out = True
            return False
        return True
