"""Steps several browser tests take: a business made through the services, an owner logged in, a customer
identified on the portal, a message sent. Elements are found by label, role and text, as a person would."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Browser, Page, expect

PASSWORD = "correct-horse-battery-9"


def make_business(name: str, *, role: str = "salon", timezone: str = "America/New_York") -> tuple[str, str, int]:
    """An onboarded workspace. Returns (owner e-mail, portal slug, workspace id)."""
    from backend.accounts.service import sign_up
    from backend.workspaces.service import update_profile

    email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
    result = sign_up(email, PASSWORD, "Rosa Diaz", name)
    profile = update_profile(result.workspace_id, name=name, ai_role=role, ai_personality="friendly",
                             assistant_name="Mia", timezone=timezone)
    return email, profile.slug, result.workspace_id


def log_in(page: Page, base: str, email: str, then: str = "") -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    if then:
        page.goto(f"{base}{then}")


def identify(page: Page, base: str, slug: str, phone: str, name: str = "") -> None:
    page.goto(f"{base}/portal/{slug}")
    page.get_by_label("Phone number").fill(phone)
    if name:
        page.get_by_label("First name (optional)").fill(name)
    page.get_by_role("button", name="Start chatting").click()


def send(page: Page, text: str, box: str = "Message") -> None:
    page.get_by_label(box, exact=True).fill(text)
    page.get_by_label(box, exact=True).press("Enter")


def browser_from(browser: Browser, address: str, **context_options) -> Page:
    """A page of a new browser connecting from `address`, as the app's trusted proxy reports it (the live app
    trusts 127.0.0.1, see tests/e2e/conftest.py). The header reaches the page loads and the event websocket."""
    context = browser.new_context(extra_http_headers={"X-Forwarded-For": address}, **context_options)
    context.set_default_timeout(15000)
    return context.new_page()
