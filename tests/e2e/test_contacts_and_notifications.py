"""The owner's contacts directory (search, edit, merge, erase) and the notification bell, in Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from tests.e2e.steps import log_in, make_business

pytestmark = pytest.mark.e2e



def _business_with_customers(name: str):
    from backend.ai.reply_settings import update_reply_settings
    from backend.messaging import portal

    email, slug, workspace_id = make_business(name, owner="Noor Haddad", role="real_estate",
                                              personality="professional", assistant_name="Sage",
                                              timezone="Europe/London")
    # These pages are about contacts and notices: the assistant's answers would only reorder the previews.
    update_reply_settings(workspace_id, reply_policy="auto_above_threshold", auto_send_threshold=0.75,
                          ai_enabled=False)
    customers = {}
    for phone, first in (("+44 20 7946 0011", "Olivia"), ("+44 20 7946 0022", "Liam"), ("+44 20 7946 0033", "")):
        identity = portal.identify_customer(slug, phone, first_name=first)
        portal.send_customer_message(identity.session_token, f"Hello from {first or 'someone'}")
        customers[first or phone] = identity
    return email, workspace_id, customers


def test_notification_bell_counts_lists_and_opens_the_conversation(page: Page, live_app, app_db):
    base = live_app[0]
    email, ws_id, _ = _business_with_customers("Bell Estates")
    log_in(page, base, email)
    expect(page.get_by_label("unread notifications").first).to_have_text("3")
    page.get_by_role("button", name="Notifications").first.click()
    expect(page.get_by_text("New conversation with Olivia")).to_be_visible()
    page.get_by_text("New conversation with Olivia").click()
    expect(page).to_have_url(re.compile(r"/dashboard/inbox\?c=\d+"))
    expect(page.locator("#chat-scroller").get_by_text("Hello from Olivia")).to_be_visible()
    expect(page.get_by_label("unread notifications").first).to_have_text("2")

    page.get_by_role("button", name="Notifications").first.click()
    page.get_by_role("button", name="Mark all read").click()
    expect(page.get_by_label("unread notifications")).to_have_count(0)

    # Preferences: e-mail for new messages, saved for this owner.
    page.goto(f"{base}/dashboard/settings")
    switch = page.get_by_role("switch", name=re.compile("writes in a conversation you had read by e-mail"))
    expect(switch).not_to_be_checked()
    switch.click()
    expect(switch).to_be_checked()
    from backend.db import session_scope
    from backend.models import NotificationPreference

    with session_scope() as s:
        pref = s.exec(select(NotificationPreference).where(NotificationPreference.workspace_id == ws_id,
                                                           NotificationPreference.kind == "new_message")).one()
        assert pref.email is True and pref.in_app is True


def test_contacts_search_edit_merge_and_erase(page: Page, live_app, app_db):
    from backend.db import session_scope
    from backend.models import Contact, Conversation, Message

    base = live_app[0]
    email, ws_id, customers = _business_with_customers("Directory Homes")
    log_in(page, base, email)
    page.get_by_role("link", name="Contacts", exact=True).first.click()
    expect(page.get_by_role("link", name="Olivia")).to_be_visible()
    expect(page.get_by_role("link", name="Liam")).to_be_visible()

    page.get_by_label("Search contacts").fill("liam")
    expect(page.get_by_role("link", name="Olivia")).to_have_count(0)
    expect(page.get_by_role("link", name="Liam")).to_be_visible()
    page.get_by_label("Search contacts").fill("0033")
    expect(page.get_by_role("link", name="+442079460033")).to_be_visible()
    page.get_by_label("Search contacts").fill("nobody-at-all")
    expect(page.get_by_text("No contact matches your search")).to_be_visible()

    page.get_by_label("Search contacts").fill("")
    page.get_by_role("link", name="Olivia").click()
    expect(page.get_by_role("heading", name="Olivia")).to_be_visible()
    page.get_by_label("Email").fill("not an email")
    page.get_by_role("button", name="Save contact").click()
    expect(page.get_by_role("alert")).to_be_visible()
    page.get_by_label("Last name").fill("Brown")
    page.get_by_label("Email").fill("olivia@example.co.uk")
    page.get_by_role("button", name="Save contact").click()
    expect(page.get_by_role("heading", name="Olivia Brown")).to_be_visible()

    # Merge the unnamed duplicate into Olivia: its conversation moves over.
    page.get_by_label("Find contact to merge").fill("0033")
    page.get_by_role("button", name="Merge", exact=True).click()
    page.get_by_role("button", name="Merge contacts").click()
    expect(page.get_by_text("Hello from someone")).to_be_visible()
    with session_scope() as s:
        contacts = s.exec(select(Contact).where(Contact.workspace_id == ws_id)).all()
        assert sorted(c.first_name for c in contacts) == ["Liam", "Olivia"]
        olivia = next(c for c in contacts if c.first_name == "Olivia")
        assert olivia.email == "olivia@example.co.uk"
        assert len(s.exec(select(Conversation).where(Conversation.contact_id == olivia.id)).all()) == 2

    # Erase her: confirm first, then everything she sent is gone.
    page.get_by_role("button", name="Delete contact and data").click()
    page.get_by_role("button", name="Delete for good").click()
    expect(page).to_have_url(re.compile(r"/dashboard/contacts$"))
    expect(page.get_by_role("link", name="Olivia Brown")).to_have_count(0)
    with session_scope() as s:
        assert s.get(Contact, olivia.id) is None
        assert s.exec(select(Message).where(Message.workspace_id == ws_id,
                                            Message.content.contains("Olivia"))).all() == []
        assert s.exec(select(Message).where(Message.workspace_id == ws_id,
                                            Message.content.contains("Liam"))).first() is not None

    # Another workspace's contact id shows a not-found page, not the contact.
    other_email, _, other_customers = _business_with_customers("Someone Else Ltd")
    page.goto(f"{base}/dashboard/contacts/{other_customers['Liam'].contact_id}")
    expect(page.get_by_role("heading", name="Contact not found")).to_be_visible()
