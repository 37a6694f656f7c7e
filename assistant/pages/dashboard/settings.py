"""Settings: the business profile, the assistant, the portal link, notifications, privacy and security, mail sent
by the system, API tokens, and deleting the workspace."""

from __future__ import annotations

import reflex as rx

from assistant.components.layout import dashboard_shell, page_header
from assistant.components.profile_form import portal_link_card, profile_form
from assistant.pages.dashboard.api_tokens import api_tokens_card
from assistant.pages.dashboard.notification_prefs import notification_prefs_card
from assistant.pages.dashboard.outbox import outbox_card
from assistant.pages.dashboard.privacy import delete_workspace_card, privacy_card, security_card


def settings_page() -> rx.Component:
    return dashboard_shell(
        "settings",
        page_header("Settings", "Your business, your assistant, your portal and your data."),
        portal_link_card(),
        profile_form("Save changes", show_policy=True),
        notification_prefs_card(),
        privacy_card(),
        security_card(),
        outbox_card(),
        api_tokens_card(),
        delete_workspace_card(),
    )
