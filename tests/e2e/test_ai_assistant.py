"""The AI engine through the pages, in Chromium against the production build: the customer gets a cited answer
live, the owner sees what the assistant understood, switches to drafting, edits a draft and sends it; the
playground explains an answer; intents, the reply policy and configuration files; knowledge gaps."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.steps import identify, log_in, make_business, send

pytestmark = pytest.mark.e2e

FAQ = [
    ("How much does a cleaning cost?", "A standard cleaning costs $95 and takes about 45 minutes."),
    ("Where can I park?", "Free parking is behind the building, entrance on Oak Street."),
]


def _business(name: str) -> tuple[str, str, int]:
    """A medical practice whose assistant answers from two FAQ entries and sends what it is sure of."""
    from backend.kb.documents import add_faq
    from backend.providers.background import wait_until_idle

    email, slug, workspace_id = make_business(name, owner="Noor Haddad", role="medical", assistant_name="Ava",
                                              reply_policy="always_send")
    for question, answer in FAQ:
        add_faq(workspace_id, question, answer)
    assert wait_until_idle(120)
    return email, slug, workspace_id


def test_answers_drafts_and_edits_live(browser, live_app, app_db):
    base = live_app[0]
    email, slug, _ = _business("Oak Dental")

    customer = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    customer.set_default_timeout(30000)
    identify(customer, base, slug, "(212) 555-0188", "Lena")
    send(customer, "How much is a cleaning?")

    # The assistant answers in the portal from the document, and says where the answer came from.
    reply = customer.get_by_test_id("message").filter(has_text="$95")
    expect(reply).to_be_visible(timeout=30000)
    expect(reply).to_contain_text("Sources:")

    owner = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    owner.set_default_timeout(30000)
    log_in(owner, base, email, then="/dashboard/assistant?tab=policy")
    owner.get_by_text("Draft every reply for me to review").click()
    owner.get_by_role("button", name="Save reply policy").click()
    expect(owner.get_by_text("Reply policy saved.")).to_be_visible()

    owner.goto(f"{base}/dashboard/inbox")
    owner.get_by_role("button", name="Conversation with Lena").click()
    # What the assistant made of the customer's message, beside it.
    expect(owner.get_by_test_id("ai-note").first).to_contain_text("sent")

    send(customer, "Where can I park?")
    draft = owner.get_by_test_id("draft")
    expect(draft).to_be_visible(timeout=30000)  # live, without a reload
    expect(draft.get_by_label("Draft reply")).to_have_value(re.compile("parking", re.I))
    expect(owner.get_by_label("drafts to review")).to_have_text("1")
    # The customer does not see a draft.
    expect(customer.get_by_text("Oak Street")).to_have_count(0)

    draft.get_by_label("Draft reply").fill("Free parking is right behind the building. See you soon, Lena!")
    draft.get_by_role("button", name="Send").click()
    expect(customer.get_by_text("See you soon, Lena!")).to_be_visible(timeout=15000)
    expect(owner.get_by_test_id("draft")).to_have_count(0)
    expect(owner.get_by_label("drafts to review")).to_have_count(0)

    owner.goto(f"{base}/dashboard/drafts")
    owner.get_by_role("button", name="Sent", exact=True).click()
    expect(owner.get_by_test_id("reviewed-draft").first).to_contain_text("See you soon, Lena!")
    expect(owner.get_by_test_id("reviewed-draft").first).to_contain_text("edited")


def test_playground_intents_policy_and_configuration(page: Page, live_app, app_db, tmp_path):
    base = live_app[0]
    from backend.calendar.availability import save_service, set_weekly_hours, update_booking_policy
    from backend.calendar.booking import list_appointments
    from backend.models.types import utcnow

    email, _, workspace_id = _business("Birch Dental")
    set_weekly_hours(workspace_id, {day: [("08:00", "20:00")] for day in range(7)})
    update_booking_policy(workspace_id, min_notice_minutes=0, max_advance_days=30, max_bookings_per_day=None,
                          require_confirmation=False, reminder_lead_minutes=0)
    save_service(workspace_id, name="Cleaning", duration_minutes=45)
    log_in(page, base, email, then="/dashboard/assistant")

    page.get_by_label("Customer message").fill("Can I come for a cleaning the day after tomorrow at 9:45?")
    page.get_by_role("button", name="Try", exact=True).click()
    expect(page.get_by_test_id("try-turn")).to_have_count(2, timeout=30000)
    entities = page.get_by_test_id("try-entity")
    expect(entities.filter(has_text="9:45")).to_have_count(1)
    expect(entities.filter(has_text="09:45")).to_have_count(1)
    expect(page.get_by_test_id("try-reason")).not_to_be_empty()
    # The booking dialog answers as in a real chat, from the real free times; a click on its button goes on.
    expect(page.get_by_test_id("try-turn").last).to_contain_text("is free for Cleaning")
    page.get_by_test_id("quick-reply").filter(has_text="Yes, book it").click()
    expect(page.get_by_test_id("try-turn")).to_have_count(4, timeout=30000)
    expect(page.get_by_test_id("try-turn").last).to_contain_text("booked")
    expect(page.get_by_test_id("try-booking-preview")).to_contain_text("Would book Cleaning")
    expect(page.get_by_test_id("quick-reply")).to_have_count(0)
    assert list_appointments(workspace_id, utcnow(), utcnow() + timedelta(days=5)) == []  # only a try-out

    page.get_by_label("Customer message").fill("How much does a cleaning cost?")
    page.get_by_role("button", name="Try", exact=True).click()
    expect(page.get_by_test_id("try-turn").last).to_contain_text("$95")
    expect(page.get_by_text("How much does a cleaning cost?").last).to_be_visible()

    page.get_by_role("tab", name="Intents").click()
    expect(page.get_by_text("No intents of your own yet.")).to_be_visible()
    page.get_by_role("button", name="New intent").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Intent name").fill("Insurance question")
    dialog.get_by_label("Examples").fill("Do you take Cigna?\nIs Delta Dental accepted?")
    dialog.get_by_role("button", name="Save intent").click()
    expect(dialog.get_by_role("alert")).to_contain_text("3")
    dialog.get_by_label("Examples").fill("Do you take Cigna?\nIs Delta Dental accepted?\nWill insurance cover it?")
    dialog.get_by_role("button", name="Save intent").click()
    expect(page.get_by_test_id("custom-intent")).to_contain_text("insurance question")

    page.get_by_role("tab", name="Import / export").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Export", exact=True).click()
    exported = json.loads(open(download.value.path()).read())
    assert exported["intents"][0]["name"] == "insurance_question"
    assert exported["ai_role"] == "medical"

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "X", "timezone": "Mars/Olympus", "intents": "nope"}))
    page.locator("#config-upload input[type=file]").set_input_files(str(bad))
    expect(page.get_by_role("alert")).to_contain_text("Nothing was changed")
    expect(page.get_by_role("alert")).to_contain_text("timezone")

    exported["ai_personality"] = "concise"
    exported["intents"].append({"name": "parking", "examples": ["Where do I park?", "Is there parking?",
                                                                 "Can I leave my car nearby?"]})
    good = tmp_path / "good.json"
    good.write_text(json.dumps(exported))
    page.locator("#config-upload input[type=file]").set_input_files(str(good))
    expect(page.get_by_text("Configuration imported.")).to_be_visible()
    page.get_by_role("tab", name="Intents").click()
    expect(page.get_by_test_id("custom-intent")).to_have_count(2)


def test_knowledge_gaps_show_unanswered_questions(page: Page, live_app, app_db):
    from backend.messaging import portal
    from backend.providers.background import wait_until_idle

    base = live_app[0]
    email, slug, _ = _business("Cedar Dental")
    for phone, question in [("+12025550111", "Do you do laser hair removal?"),
                            ("+12025550112", "Can you do laser hair removal on my legs?")]:
        token = portal.identify_customer(slug, phone).session_token
        portal.send_customer_message(token, question)
    assert wait_until_idle(120)

    log_in(page, base, email, then="/dashboard/knowledge")
    gap = page.get_by_test_id("knowledge-gap").first
    expect(gap).to_contain_text("laser hair removal")
    expect(gap).to_contain_text("asked 2×")
    gap.get_by_role("button", name="Add answer").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Answer").fill("We don't offer laser hair removal; we are a dental practice.")
    dialog.get_by_role("button", name="Save answer").click()
    expect(page.get_by_text("Answer added to your knowledge.")).to_be_visible()
    expect(page.get_by_label(re.compile(r"^status .*laser hair removal"))).to_have_text("ready", timeout=60000)


def test_a_customer_books_in_the_chat_with_the_offered_times(browser, live_app, app_db):
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from backend.calendar.availability import save_service, set_weekly_hours, update_booking_policy
    from backend.calendar.booking import list_appointments
    from backend.models.types import utcnow

    base = live_app[0]
    _, slug, workspace_id = _business("Elm Dental")
    set_weekly_hours(workspace_id, {day: [("08:00", "20:00")] for day in range(7)})
    update_booking_policy(workspace_id, min_notice_minutes=60, max_advance_days=30, max_bookings_per_day=None,
                          require_confirmation=False, reminder_lead_minutes=0)
    save_service(workspace_id, name="Check-up", duration_minutes=30)

    # The customer's phone is set to London time; the business is in New York.
    customer = browser.new_context(viewport={"width": 390, "height": 844}, timezone_id="Europe/London").new_page()
    customer.set_default_timeout(30000)
    identify(customer, base, slug, "(212) 555-0190", "Kai")
    send(customer, "I'd like to book an appointment")
    offered = customer.get_by_test_id("quick-reply")
    expect(offered).to_have_count(4, timeout=30000)
    label = offered.nth(1).inner_text()
    offered.nth(1).click()
    expect(customer.get_by_text("You're booked")).to_be_visible(timeout=30000)
    expect(customer.get_by_test_id("quick-reply")).to_have_count(0)
    (appointment,) = list_appointments(workspace_id, utcnow(), utcnow() + timedelta(days=31))
    london = appointment.starts_at.astimezone(ZoneInfo("Europe/London"))
    assert label.startswith(appointment.label) and f"{london:%H:%M} your time" in label
    assert appointment.contact_name == "Kai"
    # The owner sees the booking beside the conversation, and it opens in the calendar.
    owner = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    owner.set_default_timeout(30000)

    log_in(owner, base, _owner_email(workspace_id), then="/dashboard/inbox")
    owner.get_by_role("button", name="Conversation with Kai").click()
    owner.get_by_test_id("contact-bookings").get_by_text(appointment.label).click()
    expect(owner.get_by_role("dialog")).to_contain_text("Check-up")


def _owner_email(workspace_id: int) -> str:
    from sqlmodel import select

    from backend.db import session_scope
    from backend.models import Membership, User

    with session_scope() as s:
        return s.exec(select(User.email).join(Membership, Membership.user_id == User.id)
                      .where(Membership.workspace_id == workspace_id)).first()
