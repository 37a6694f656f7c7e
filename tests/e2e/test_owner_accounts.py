"""An owner's first day, in a real Chromium against the production build: sign up, set up the business,
use the dashboard, log out and back in, and every way it can go wrong on the way."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from tests.e2e.steps import PASSWORD, browser_from, make_business, new_email, submit_login

pytestmark = pytest.mark.e2e



def _sign_up(page: Page, base: str, email: str, business: str = "Harbor Law Group", name: str = "Lena Ortiz"):
    page.goto(f"{base}/signup")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Business name").fill(business)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()


def test_sign_up_set_up_use_dashboard_log_out_and_in(page: Page, live_app, app_db):
    base = live_app[0]
    email = new_email()
    _sign_up(page, base, email)

    expect(page).to_have_url(re.compile(r"/setup$"))
    expect(page.get_by_role("heading", name="Tell us about your business")).to_be_visible()
    expect(page.get_by_label("Business name")).to_have_value("Harbor Law Group")
    page.get_by_label("Industry").fill("Legal services")
    page.get_by_label("Occupation").fill("Attorney")
    page.get_by_label("Time zone").select_option("Europe/Lisbon")
    page.get_by_label("Assistant's name").fill("Iris")
    page.get_by_label("Role").select_option("legal")
    page.get_by_label("Personality").select_option("empathetic")
    page.get_by_label("Custom instructions").fill("Never give legal advice in the chat; offer a consultation.")
    page.get_by_role("button", name="Save and open my dashboard").click()

    expect(page).to_have_url(re.compile(r"/dashboard\?welcome=1$"))
    expect(page.get_by_role("heading", name="Hello, Lena")).to_be_visible()
    expect(page.get_by_text("Your business is set up")).to_be_visible()
    portal_link = page.get_by_label("Portal link", exact=True)
    expect(portal_link).to_have_value(re.compile(r"/portal/harbor-law-group"))

    nav = page.get_by_role("link", name="Inbox")
    for label in ("Inbox", "Contacts", "Knowledge", "Calendar", "Context", "Rules", "Analytics", "Settings"):
        expect(page.get_by_role("link", name=label, exact=True).first).to_be_visible()
    nav.first.click()
    expect(page).to_have_url(re.compile(r"/dashboard/inbox$"))
    expect(page.get_by_text("No conversations here yet")).to_be_visible()

    page.get_by_role("link", name="Settings", exact=True).first.click()
    expect(page.get_by_label("Assistant's name")).to_have_value("Iris")
    expect(page.get_by_label("Role")).to_have_value("legal")
    expect(page.get_by_label("Personality")).to_have_value("empathetic")
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Lisbon")

    from backend.db import session_scope
    from backend.models import Workspace

    with session_scope() as s:
        ws = s.exec(select(Workspace).where(Workspace.slug == "harbor-law-group")).one()
        assert (ws.ai_role, ws.ai_personality, ws.assistant_name, ws.timezone) == (
            "legal", "empathetic", "Iris", "Europe/Lisbon")
        assert ws.onboarded_at is not None

    page.get_by_role("button", name="Log out").first.click()
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    page.goto(f"{base}/dashboard")
    expect(page).to_have_url(re.compile(r"/login"))

    submit_login(page, base, email)
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("heading", name="Hello, Lena")).to_be_visible()


def test_sign_up_refuses_bad_input_and_writes_nothing(page: Page, live_app, app_db):
    from backend.db import session_scope
    from backend.models import User, Workspace

    base = live_app[0]
    with session_scope() as s:
        users_before = len(s.exec(select(User)).all())
        workspaces_before = len(s.exec(select(Workspace)).all())

    page.goto(f"{base}/signup")
    page.get_by_label("Your name").fill("Sam Lee")
    page.get_by_label("Business name").fill("Lee Realty")
    page.get_by_label("Email").fill("sam@example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_contain_text("email address is not valid")

    page.get_by_label("Email").fill("sam@leerealty.com")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_contain_text("at least 10 characters")

    page.get_by_label("Password").fill("password123")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_contain_text("too common")

    with session_scope() as s:
        assert len(s.exec(select(User)).all()) == users_before
        assert len(s.exec(select(Workspace)).all()) == workspaces_before

    email = new_email()
    _sign_up(page, base, email, business="First Co")
    expect(page).to_have_url(re.compile(r"/setup$"))
    page.context.clear_cookies()
    page.evaluate("window.localStorage.clear()")
    _sign_up(page, base, email.upper(), business="Second Co")
    expect(page.get_by_role("alert")).to_contain_text("already exists")
    with session_scope() as s:
        assert s.exec(select(Workspace).where(Workspace.name == "Second Co")).first() is None


def test_setup_refuses_bad_profile_and_keeps_it_unchanged(page: Page, live_app, app_db):
    base = live_app[0]
    _sign_up(page, base, new_email(), business="Pine Bakery")
    expect(page).to_have_url(re.compile(r"/setup$"))
    page.get_by_label("Business name").fill("   ")
    page.get_by_role("button", name="Save and open my dashboard").click()
    expect(page.get_by_role("alert")).to_contain_text("Enter your business name")
    expect(page).to_have_url(re.compile(r"/setup$"))
    page.get_by_label("Business name").fill("Pine Bakery")
    page.get_by_label("Assistant's name").fill("")
    page.get_by_role("button", name="Save and open my dashboard").click()
    expect(page.get_by_role("alert")).to_contain_text("Enter a name for your assistant")

    from backend.db import session_scope
    from backend.models import Workspace

    with session_scope() as s:
        ws = s.exec(select(Workspace).where(Workspace.name == "Pine Bakery")).one()
        assert ws.onboarded_at is None
    # Not onboarded yet: the dashboard sends the owner back to setup.
    page.goto(f"{base}/dashboard")
    expect(page).to_have_url(re.compile(r"/setup$"))


def test_a_strangers_wrong_passwords_do_not_lock_the_owner_out(browser, live_app, app_db):
    """Issue 15, finding 10: five wrong passwords from anywhere used to lock the account for 15 minutes."""
    base = live_app[0]
    email, _, _ = make_business("Lockout Test Co")
    stranger = browser_from(browser, "203.0.113.66")
    for _ in range(5):
        submit_login(stranger, base, email, "not-the-password")
        expect(stranger.get_by_role("alert")).to_contain_text("Wrong email or password")
    submit_login(stranger, base, email, PASSWORD)  # even the right password waits, from that address
    refusal = stranger.get_by_role("alert")
    expect(refusal).to_contain_text("Too many failed attempts")
    expect(stranger).to_have_url(re.compile(r"/login"))

    owner = browser_from(browser, "198.51.100.20")
    submit_login(owner, base, email, PASSWORD)
    expect(owner).to_have_url(re.compile(r"/dashboard$"))
    # The stranger is told how long to wait (the wait grows with each failure), not that the account is locked.
    expect(refusal).to_contain_text(re.compile(r"Try again in \d+ seconds"))
    for page in (stranger, owner):
        page.context.close()


def test_expired_session_sends_back_to_login_with_reason(page: Page, live_app, app_db):
    from backend.db import session_scope
    from backend.models import OwnerSession, User
    from backend.models.types import utcnow

    base = live_app[0]
    email = new_email()
    _sign_up(page, base, email, business="Expiry Dental")
    expect(page).to_have_url(re.compile(r"/setup$"))
    with session_scope() as s:
        user = s.exec(select(User).where(User.email == email)).one()
        for row in s.exec(select(OwnerSession).where(OwnerSession.user_id == user.id)):
            row.expires_at = utcnow() - timedelta(minutes=1)
    page.goto(f"{base}/setup")
    expect(page).to_have_url(re.compile(r"/login\?reason=expired"))
    expect(page.get_by_text("Your session expired. Please log in again.")).to_be_visible()


def test_password_reset_through_the_outbox(page: Page, live_app, app_db):
    from backend.db import session_scope
    from backend.models import OutboxMessage

    base = live_app[0]
    email = new_email()
    _sign_up(page, base, email, business="Reset Salon")
    expect(page).to_have_url(re.compile(r"/setup$"))
    page.get_by_role("button", name="Log out").click()

    for _ in range(2):  # asked twice: only the newer link works
        page.goto(f"{base}/forgot")
        page.get_by_label("Email").fill(email)
        page.get_by_role("button", name="Send reset link").click()
        expect(page.get_by_role("status")).to_contain_text("a reset link is on its way")

    with session_scope() as s:
        mails = s.exec(select(OutboxMessage).where(OutboxMessage.to_address == email)
                       .order_by(OutboxMessage.id)).all()
    older, link = [re.search(r"http://\S+/reset/\S+", mail.body).group(0) for mail in mails]
    assert link.startswith(base)
    page.goto(older)
    expect(page.get_by_role("alert")).to_contain_text("a newer one replaced it")

    page.goto(link)
    expect(page.get_by_text(email)).to_be_visible()
    page.get_by_label("New password", exact=True).fill("a-brand-new-passphrase")
    page.get_by_label("Repeat the new password").fill("something-else-entirely")
    page.get_by_role("button", name="Save new password").click()
    expect(page.get_by_role("alert")).to_contain_text("different")
    page.get_by_label("New password", exact=True).fill("a-brand-new-passphrase")
    page.get_by_label("Repeat the new password").fill("a-brand-new-passphrase")
    page.get_by_role("button", name="Save new password").click()
    expect(page).to_have_url(re.compile(r"/login\?reason=password_reset"))

    page.goto(link)
    expect(page.get_by_role("alert")).to_contain_text("not valid any more")

    submit_login(page, base, email, PASSWORD)
    expect(page.get_by_role("alert")).to_contain_text("Wrong email or password")
    submit_login(page, base, email, "a-brand-new-passphrase")
    expect(page).to_have_url(re.compile(r"/setup$"))


def test_portal_link_known_unknown_and_regenerated(page: Page, live_app, app_db, browser):
    base = live_app[0]
    _sign_up(page, base, new_email(), business="Summit Fitness")
    expect(page).to_have_url(re.compile(r"/setup$"))
    page.get_by_label("Assistant's name").fill("Coach Kai")
    page.get_by_role("button", name="Save and open my dashboard").click()
    expect(page).to_have_url(re.compile(r"/dashboard"))
    old_link = page.get_by_label("Portal link", exact=True).input_value()
    assert old_link.endswith("/portal/summit-fitness")

    customer = browser.new_context().new_page()
    customer.goto(old_link)
    expect(customer.get_by_role("heading", name="Summit Fitness")).to_be_visible()
    expect(customer.get_by_text("Coach Kai · AI assistant")).to_be_visible()
    customer.goto(f"{base}/portal/no-such-business-here")
    expect(customer.get_by_role("heading", name="We couldn't find this business")).to_be_visible()

    page.get_by_role("button", name="Regenerate link").click()
    page.get_by_role("button", name="Create new link").click()
    expect(page.get_by_label("Portal link", exact=True)).not_to_have_value(old_link)
    new_link = page.get_by_label("Portal link", exact=True).input_value()
    assert re.search(r"/portal/summit-fitness-[0-9a-f]{8}$", new_link)

    customer.goto(old_link)
    expect(customer.get_by_role("heading", name="We couldn't find this business")).to_be_visible()
    customer.goto(new_link)
    expect(customer.get_by_role("heading", name="Summit Fitness")).to_be_visible()
    customer.context.close()


def test_dashboard_requires_login_and_demo_login_works(page: Page, live_app, app_db):
    from backend.demo import seed_demo

    base = live_app[0]
    page.goto(f"{base}/dashboard/settings")
    expect(page).to_have_url(re.compile(r"/login"))

    login = seed_demo()
    submit_login(page, base, login.email, login.password)
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("heading", name="Hello, Maya")).to_be_visible()
    expect(page.get_by_text("Open conversations")).to_be_visible()

    # With no mail server the owner reads system mail in Settings.
    from backend.accounts.service import request_password_reset

    request_password_reset(login.email)
    page.get_by_role("link", name="Settings", exact=True).first.click()
    expect(page.get_by_role("heading", name="E-mails and texts sent by the system")).to_be_visible()
    expect(page.get_by_text("No mail server is configured")).to_be_visible()
    expect(page.get_by_role("cell", name="Reset your Front Desk password")).to_be_visible()
