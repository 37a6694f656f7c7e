"""The Reflex app: pages, the HTTP API mounted beside them, and the live-update listener."""

from __future__ import annotations

import asyncio
import contextlib

import reflex as rx

from assistant.live import live_listener
from assistant.pages.dashboard.activity import ActivityState, activity_page
from assistant.pages.dashboard.ai_assistant import AssistantState, assistant_page
from assistant.pages.dashboard.api_tokens import ApiTokensState
from assistant.pages.dashboard.areas import AREAS, area_page
from assistant.pages.dashboard.booking_setup import BookingSetupState
from assistant.pages.dashboard.calendar import AppointmentState, CalendarState, calendar_page
from assistant.pages.dashboard.calendar_sync import CalendarSyncState
from assistant.pages.dashboard.contacts import ContactDetailState, ContactsState, contact_detail_page, contacts_page
from assistant.pages.dashboard.drafts import DraftsState, drafts_page
from assistant.pages.dashboard.inbox import InboxState, inbox_page
from assistant.pages.dashboard.knowledge import KnowledgeState, knowledge_page
from assistant.pages.dashboard.knowledge_gaps import GapsState
from assistant.pages.dashboard.notification_prefs import NotificationPrefsState
from assistant.pages.dashboard.outbox import OutboxState
from assistant.pages.dashboard.overview import OverviewState, overview_page
from assistant.pages.dashboard.privacy import PrivacyState
from assistant.pages.dashboard.settings import settings_page
from assistant.pages.login import LoginState, login_page
from assistant.pages.password_reset import ForgotState, ResetState, forgot_page, reset_page
from assistant.pages.portal import PortalState, portal_page
from assistant.pages.setup import setup_page
from assistant.pages.signup import SignupState, signup_page
from assistant.state.auth import AuthState
from assistant.state.handlers import report_unexpected_error
from assistant.state.nav import NavState
from assistant.state.profile import ProfileState
from backend.api.app import create_api, limit_bodies, secure_headers
from backend.startup import start_app, stop_app


@contextlib.asynccontextmanager
async def backend_lifespan():
    """Before the app serves: migrations, work a previous run left half-done, the scheduler (backend/startup.py).
    Not at import: compiling the pages imports this module too."""
    await asyncio.to_thread(start_app)
    yield
    stop_app()


class HomeState(AuthState):
    @rx.event
    def route(self):
        if not self.session_token:
            return rx.redirect("/login")
        return AuthState.redirect_if_logged_in


def index() -> rx.Component:
    return rx.center(rx.spinner(size="3"), height="100vh")


app = rx.App(
    stylesheets=["/styles.css"],
    head_components=[rx.el.meta(name="theme-color", content="#4f46e5"), rx.script(src="/portal.js")],
    # The size limit wraps everything, Reflex's upload route included, so it is checked before any body is read.
    api_transformer=[create_api(), limit_bodies, secure_headers],
    backend_exception_handler=report_unexpected_error,
)
app.register_lifespan_task(backend_lifespan)
app.register_lifespan_task(live_listener)


def _dashboard(*events):
    """Every dashboard page: check the session, fill the navigation badges, then the page's own data."""
    return [AuthState.require_owner, NavState.load_nav, *events]


app.add_page(index, route="/", title="Front Desk", on_load=[HomeState.route, AuthState.require_owner])
app.add_page(login_page, route="/login", title="Log in · Front Desk", on_load=LoginState.load)
app.add_page(signup_page, route="/signup", title="Sign up · Front Desk", on_load=SignupState.load)
app.add_page(forgot_page, route="/forgot", title="Reset password · Front Desk", on_load=ForgotState.load)
app.add_page(reset_page, route="/reset/[token]", title="Choose a new password · Front Desk", on_load=ResetState.load)
app.add_page(setup_page, route="/setup", title="Set up your business · Front Desk", on_load=ProfileState.load)
app.add_page(overview_page, route="/dashboard", title="Overview · Front Desk",
             on_load=_dashboard(ProfileState.load, OverviewState.load_overview))
app.add_page(inbox_page, route="/dashboard/inbox", title="Inbox · Front Desk", on_load=_dashboard(InboxState.load))
app.add_page(contacts_page, route="/dashboard/contacts", title="Contacts · Front Desk",
             on_load=_dashboard(ContactsState.load))
app.add_page(contact_detail_page, route="/dashboard/contacts/[contact_id]", title="Contact · Front Desk",
             on_load=_dashboard(ContactDetailState.load))
app.add_page(knowledge_page, route="/dashboard/knowledge", title="Knowledge · Front Desk",
             on_load=_dashboard(KnowledgeState.load, GapsState.load))
app.add_page(drafts_page, route="/dashboard/drafts", title="Drafts · Front Desk", on_load=_dashboard(DraftsState.load))
app.add_page(assistant_page, route="/dashboard/assistant", title="Assistant · Front Desk",
             on_load=_dashboard(AssistantState.load))
app.add_page(calendar_page, route="/dashboard/calendar", title="Calendar · Front Desk",
             on_load=_dashboard(CalendarState.load, AppointmentState.load_linked, BookingSetupState.load,
                                CalendarSyncState.load))
for _key, (_title, *_rest) in AREAS.items():
    app.add_page(area_page(_key), route=f"/dashboard/{_key}", title=f"{_title} · Front Desk",
                 on_load=_dashboard())
app.add_page(settings_page, route="/dashboard/settings", title="Settings · Front Desk",
             on_load=_dashboard(ProfileState.load, NotificationPrefsState.load_prefs, PrivacyState.load_privacy,
                                OutboxState.load_outbox, ApiTokensState.load_tokens))
app.add_page(activity_page, route="/dashboard/activity", title="Activity · Front Desk",
             on_load=_dashboard(ActivityState.load))
app.add_page(portal_page, route="/portal/[slug]", title="Chat with us", on_load=PortalState.load)
