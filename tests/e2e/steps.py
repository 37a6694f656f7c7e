"""Steps the browser tests share: a business made through the services, an owner logged in, a customer identified
on the portal, a message sent. Elements are found by label, role and text, as a person would."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Browser, Page, expect

PASSWORD = "correct-horse-battery-9"


def new_email() -> str:
    return f"owner-{uuid.uuid4().hex[:8]}@example.com"


def make_business(name: str, *, owner: str = "Rosa Diaz", role: str = "salon", personality: str = "friendly",
                  assistant_name: str = "Mia", timezone: str = "America/New_York", **profile) -> tuple[str, str, int]:
    """An onboarded workspace. Returns (owner e-mail, portal slug, workspace id)."""
    from backend.accounts.service import sign_up
    from backend.workspaces.service import update_profile

    email = new_email()
    result = sign_up(email, PASSWORD, owner, name)
    made = update_profile(result.workspace_id, name=name, ai_role=role, ai_personality=personality,
                          assistant_name=assistant_name, timezone=timezone, **profile)
    return email, made.slug, result.workspace_id


def submit_login(page: Page, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def log_in(page: Page, base: str, email: str, then: str = "") -> None:
    """Log in as an onboarded owner (lands on the overview), then go to `then` if given."""
    submit_login(page, base, email)
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    if then:
        page.goto(f"{base}{then}")


def open_inbox(page: Page, base: str, email: str) -> None:
    """Log in and open the inbox the way an owner does, from the navigation."""
    log_in(page, base, email)
    page.get_by_role("link", name=re.compile("^Inbox")).first.click()
    expect(page).to_have_url(re.compile(r"/dashboard/inbox"))


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
