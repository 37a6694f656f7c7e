"""Settings: the business profile, the assistant, the portal link, and mail sent by the system."""

from __future__ import annotations

import reflex as rx

from assistant.components.layout import dashboard_shell, page_header
from assistant.components.profile_form import portal_link_card, profile_form
from assistant.pages.dashboard.api_tokens import api_tokens_card
from assistant.pages.dashboard.notification_prefs import notification_prefs_card
from assistant.pages.dashboard.outbox import outbox_card


def settings_page() -> rx.Component:
    return dashboard_shell(
        "settings",
        page_header("Settings", "Your business, your assistant and your portal."),
        portal_link_card(),
        profile_form("Save changes", show_policy=True),
        notification_prefs_card(),
        outbox_card(),
        api_tokens_card(),
    )
