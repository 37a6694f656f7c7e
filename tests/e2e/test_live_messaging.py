"""Customer and owner talk live, in two real browsers against the production build: text, files, a voice
message recorded through the microphone (a fake device playing an espeak-ng clip), typing, read receipts.
A second customer and a second business see none of it."""

from __future__ import annotations

import re
import subprocess
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.steps import browser_from, identify, make_business, open_inbox, send

pytestmark = pytest.mark.e2e

MINIMAL_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
               b"trailer<</Root 1 0 R>>\n%%EOF\n")


@pytest.fixture(scope="module")
def voice_clip(tmp_path_factory) -> Path:
    raw = tmp_path_factory.mktemp("audio") / "raw.wav"
    clip = raw.with_name("clip.wav")
    subprocess.run(["espeak-ng", "-w", str(raw), "Hello, I would like to book a haircut on Friday."], check=True)
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", str(clip)], check=True)
    return clip


@pytest.fixture
def microphone_browser(playwright_instance, voice_clip):
    """A Chromium whose microphone plays the espeak-ng clip."""
    instance = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + [
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={voice_clip}",
    ])
    yield instance
    instance.close()


def test_customer_and_owner_talk_live_and_nobody_else_sees_it(browser, microphone_browser, live_app, app_db,
                                                              tmp_path):
    base = live_app[0]
    email, slug, _ = make_business("Velvet Salon")
    other_email, other_slug, _ = make_business("Other Salon")

    owner = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    owner.set_default_timeout(15000)
    open_inbox(owner, base, email)
    expect(owner.get_by_text("No conversations here yet")).to_be_visible()

    customer_ctx = microphone_browser.new_context(viewport={"width": 390, "height": 844},
                                                  permissions=["microphone"])
    customer = customer_ctx.new_page()
    customer.set_default_timeout(15000)
    identify(customer, base, slug, "(212) 555-0147", "Jordan")
    send(customer, "Hi! Do you have parking nearby?")
    expect(customer.get_by_text("Hi! Do you have parking nearby?")).to_be_visible()

    # The conversation appears in the owner's inbox without a reload, with its unread count.
    item = owner.get_by_role("button", name="Conversation with Jordan")
    expect(item).to_be_visible()
    expect(item).to_contain_text("1")
    # It reached the owner's open dashboard: delivered, not yet read.
    expect(customer.get_by_label("Delivered").first).to_be_visible()
    item.click()
    expect(owner.locator("#chat-scroller").get_by_text("Hi! Do you have parking nearby?")).to_be_visible()
    # The owner has read it: the customer's tick turns to "Read" live.
    expect(customer.get_by_label("Read").first).to_be_visible()

    # Typing shows on the other side.
    customer.get_by_label("Message", exact=True).press_sequentially("And is the parking free on weekends too?",
                                                                    delay=80)
    expect(owner.get_by_text("Customer is typing…")).to_be_visible()
    customer.get_by_label("Message", exact=True).fill("")

    send(owner, "Yes! Free parking behind the building.", box="Reply")
    expect(customer.get_by_text("Yes! Free parking behind the building.")).to_be_visible()
    expect(customer.get_by_text("Rosa Diaz")).to_be_visible()

    # HTML is shown as text, never run.
    send(customer, "<b>bold</b><img src=x onerror=\"window.__pwned=1\">")
    expect(owner.locator("#chat-scroller").get_by_text("<b>bold</b><img src=x onerror=\"window.__pwned=1\">")
           ).to_be_visible()
    assert owner.evaluate("window.__pwned") is None

    # A file, checked by content: a PDF goes through, a PNG named .pdf is refused where the customer is.
    pdf = tmp_path / "price-list.pdf"
    pdf.write_bytes(MINIMAL_PDF)
    customer.locator("#portal-upload input[type=file]").set_input_files(str(pdf))
    expect(owner.get_by_role("link", name=re.compile("price-list.pdf"))).to_be_visible()
    href = owner.get_by_role("link", name=re.compile("price-list.pdf")).get_attribute("href")
    with urllib.request.urlopen(href.replace("localhost", "127.0.0.1")) as resp:
        assert resp.read() == MINIMAL_PDF
    fake = tmp_path / "invoice.pdf"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    customer.locator("#portal-upload input[type=file]").set_input_files(str(fake))
    expect(customer.get_by_role("alert")).to_contain_text("does not match")

    # A voice message recorded through the microphone reaches the owner as audio with a player.
    customer.get_by_role("button", name="Record a voice message").click()
    expect(customer.get_by_text("Recording… speak now")).to_be_visible()
    customer.wait_for_timeout(2500)
    customer.get_by_role("button", name="Send voice message").click()
    expect(owner.get_by_label("Voice message", exact=True)).to_have_count(1)
    expect(customer.get_by_label("Voice message", exact=True)).to_have_count(1)

    # A second customer of the same business sees none of it.
    second = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    identify(second, base, slug, "+1 646 555 0199", "Priya")
    expect(second.get_by_label("Message", exact=True)).to_be_visible()
    expect(second.get_by_text("Do you have parking")).to_have_count(0)
    expect(second.get_by_text("Free parking")).to_have_count(0)

    # The owner of another business sees nothing either, even asking for the conversation by id.
    from backend.db import session_scope
    from backend.models import Conversation, Workspace

    with session_scope() as s:
        ws_id = s.exec(select(Workspace.id).where(Workspace.slug == slug)).one()
        convo_id = s.exec(select(Conversation.id).where(Conversation.workspace_id == ws_id)).first()
    intruder = browser.new_context().new_page()
    open_inbox(intruder, base, other_email)
    expect(intruder.get_by_text("No conversations here yet")).to_be_visible()
    intruder.goto(f"{base}/dashboard/inbox?c={convo_id}")
    expect(intruder.get_by_role("heading", name="Pick a conversation")).to_be_visible()
    expect(intruder.get_by_text("Do you have parking")).to_have_count(0)

    for ctx in (owner.context, customer_ctx, second.context, intruder.context):
        ctx.close()


def test_returning_customer_on_a_new_browser_needs_the_texted_code(browser, live_app, app_db):
    from backend.db import session_scope
    from backend.models import OutboxMessage

    base = live_app[0]
    _, slug, ws_id = make_business("Codes Barbers")
    first = browser.new_context().new_page()
    identify(first, base, slug, "+1 917 555 0123", "Sam")
    send(first, "My first visit question")
    expect(first.get_by_text("My first visit question")).to_be_visible()
    # Reload keeps the session and the history in the same browser.
    first.reload()
    expect(first.get_by_text("My first visit question")).to_be_visible()
    first.context.close()

    fresh = browser.new_context().new_page()
    identify(fresh, base, slug, "917-555-0123")
    expect(fresh.get_by_role("heading", name="Welcome back")).to_be_visible()
    expect(fresh.get_by_text("My first visit question")).to_have_count(0)
    fresh.get_by_role("button", name="Text me a code").click()  # typing the number alone texts nothing
    expect(fresh.get_by_role("status")).to_contain_text("We texted a 6-digit code")
    fresh.get_by_label("Verification code").fill("000000")
    fresh.get_by_role("button", name="Verify").click()
    expect(fresh.get_by_role("alert")).to_contain_text("tries")

    with session_scope() as s:
        sms = s.exec(select(OutboxMessage).where(OutboxMessage.workspace_id == ws_id,
                                                 OutboxMessage.channel == "sms")).all()
    code = re.search(r"\b(\d{6})\b", sms[-1].body).group(1)
    fresh.get_by_label("Verification code").fill(code)
    fresh.get_by_role("button", name="Verify").click()
    expect(fresh.get_by_text("My first visit question")).to_be_visible()
    fresh.context.close()


def test_portal_refuses_bad_phone_and_empty_or_long_messages(page: Page, live_app, app_db):
    base = live_app[0]
    _, slug, _ = make_business("Checks Spa")
    identify(page, base, slug, "12")
    expect(page.get_by_role("alert")).to_contain_text("phone number")
    identify(page, base, slug, "+1 415 555 0100")
    page.get_by_label("Message", exact=True).fill("   ")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("alert")).to_be_visible()
    page.get_by_label("Message", exact=True).evaluate("(el) => el.removeAttribute('maxlength')")
    page.get_by_label("Message", exact=True).fill("x" * 4001)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("alert")).to_contain_text("4,000")


def _last_code(workspace_id: int) -> str:
    from backend.db import session_scope
    from backend.models import OutboxMessage

    with session_scope() as s:
        sms = s.exec(select(OutboxMessage).where(OutboxMessage.workspace_id == workspace_id,
                                                 OutboxMessage.channel == "sms",
                                                 OutboxMessage.body.contains("verification code"))
                     .order_by(OutboxMessage.id)).all()
    return re.search(r"\b(\d{6})\b", sms[-1].body).group(1)


def test_a_stranger_on_a_customers_number_never_reads_what_the_customer_writes_after_the_code(
        browser, live_app, app_db):
    """Issue 15, finding 2: two phones on one number. The stranger skips the code and opens a conversation; the
    real customer enters the code on their own phone and writes: it goes elsewhere, and the stranger's open page
    never shows it. The owner's inbox marks the stranger's thread."""
    from backend.messaging import portal

    base = live_app[0]
    email, slug, ws_id = make_business("Planted Dental")
    # The customer's earlier conversation, from a phone that entered the code.
    earlier = portal.identify_customer(slug, "+1 917 555 0188", "Jordan")
    portal.send_verification_code(earlier.session_token)
    portal.verify_code(earlier.session_token, _last_code(ws_id))
    portal.send_customer_message(earlier.session_token, "Question about my crown")

    stranger = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    stranger.set_default_timeout(30000)
    identify(stranger, base, slug, "917-555-0188")
    expect(stranger.get_by_role("heading", name="Welcome back")).to_be_visible()
    stranger.get_by_role("button", name="Skip: start a new conversation").click()
    send(stranger, "Hi, it's me on my new phone")
    expect(stranger.get_by_text("Hi, it's me on my new phone")).to_be_visible()

    customer = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    customer.set_default_timeout(30000)
    identify(customer, base, slug, "(917) 555-0188")
    customer.get_by_role("button", name="Text me a code").click()
    expect(customer.get_by_role("status")).to_contain_text("We texted a 6-digit code")
    customer.get_by_label("Verification code").fill(_last_code(ws_id))
    customer.get_by_role("button", name="Verify").click()
    expect(customer.get_by_text("Question about my crown")).to_be_visible()
    send(customer, "Here are my test results, private")
    expect(customer.get_by_text("Here are my test results, private")).to_be_visible()

    # Live events had time to arrive (the customer's own page already has the message); then a reload.
    stranger.wait_for_timeout(3000)
    expect(stranger.get_by_text("Here are my test results, private")).to_have_count(0)
    stranger.reload()
    stranger.get_by_role("button", name="Not now: back to the chat").click()  # the code is asked again
    expect(stranger.get_by_text("Hi, it's me on my new phone")).to_be_visible()
    expect(stranger.get_by_text("Here are my test results, private")).to_have_count(0)
    expect(stranger.get_by_text("Question about my crown")).to_have_count(0)

    owner = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    owner.set_default_timeout(30000)
    open_inbox(owner, base, email)
    threads = owner.get_by_role("button", name="Conversation with Jordan")
    expect(threads).to_have_count(2)
    expect(owner.get_by_text("Unverified number")).to_have_count(1)
    owner.get_by_role("button", name="Conversation with Jordan").filter(has_text="Unverified number").click()
    expect(owner.locator("#chat-scroller").get_by_text("Hi, it's me on my new phone")).to_be_visible()
    expect(owner.locator("#chat-scroller").get_by_text("Here are my test results, private")).to_have_count(0)
    expect(owner.locator(".conversation-header").get_by_text("Unverified number")).to_be_visible()
    for page in (stranger, customer, owner):
        page.context.close()


def test_a_stranger_typing_a_customers_number_cannot_use_up_their_codes(browser, live_app, app_db):
    """Issue 15, finding 10: the three codes an hour were counted per number, so a stranger could ask for them all
    and spend the last one's tries; the customer then got no working code for an hour."""
    from backend.messaging import portal

    base = live_app[0]
    _, slug, ws_id = make_business("Quota Dental")
    earlier = portal.identify_customer(slug, "+1 917 555 0166", "Jordan")
    portal.send_customer_message(earlier.session_token, "Question about my bridge")

    stranger = browser_from(browser, "203.0.113.66", viewport={"width": 390, "height": 844})
    identify(stranger, base, slug, "917-555-0166")
    stranger.get_by_role("button", name="Text me a code").click()
    expect(stranger.get_by_role("status")).to_contain_text("We texted a 6-digit code")
    for _ in range(2):
        stranger.get_by_role("button", name="Send a new code").click()
        expect(stranger.get_by_role("status")).to_contain_text("We sent a new code")
    stranger.get_by_role("button", name="Send a new code").click()
    expect(stranger.get_by_text(re.compile("already sent 3 codes to this number"))).to_be_visible()
    wrong = f"{(int(_last_code(ws_id)) + 1) % 1_000_000:06d}"
    for _ in range(5):
        stranger.get_by_label("Verification code").fill(wrong)
        stranger.get_by_role("button", name="Verify").click()
    expect(stranger.get_by_text(re.compile("can't be used any more"))).to_be_visible()

    customer = browser_from(browser, "198.51.100.20", viewport={"width": 390, "height": 844})
    identify(customer, base, slug, "(917) 555-0166")
    customer.get_by_role("button", name="Text me a code").click()
    expect(customer.get_by_role("status")).to_contain_text("We texted a 6-digit code")
    customer.get_by_label("Verification code").fill(_last_code(ws_id))
    customer.get_by_role("button", name="Verify").click()
    expect(customer.get_by_text("Question about my bridge")).to_be_visible()
    for page in (stranger, customer):
        page.context.close()


def test_a_browser_without_the_code_is_not_told_the_appointment_and_the_offered_code_unlocks_it(
        browser, live_app, app_db):
    """Issue 15, finding 1: someone types a customer's number (nothing to hide in the chat, so no code is asked)
    and asks for the appointment the owner booked for them. The assistant offers the code instead; entering it
    through the offered button answers the same question."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from backend.calendar.availability import save_service, set_weekly_hours, update_booking_policy
    from backend.calendar.booking import book_appointment
    from backend.messaging import portal
    from backend.models.types import utcnow

    base = live_app[0]
    _, slug, ws_id = make_business("Private Dental")
    set_weekly_hours(ws_id, {day: [("08:00", "20:00")] for day in range(7)})
    update_booking_policy(ws_id, min_notice_minutes=0, max_advance_days=30, max_bookings_per_day=None,
                          require_confirmation=False, reminder_lead_minutes=0)
    service = save_service(ws_id, name="Root canal", duration_minutes=60)
    contact_id = portal.identify_customer(slug, "+1 646 555 0177", "Jordan").contact_id
    tomorrow = (utcnow().astimezone(ZoneInfo("America/New_York")) + timedelta(days=1)).replace(
        hour=10, minute=0, second=0, microsecond=0)
    book_appointment(ws_id, service_id=service.id, starts_at=tomorrow, contact_id=contact_id, source="owner")

    stranger = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    stranger.set_default_timeout(30000)
    identify(stranger, base, slug, "646 555 0177")
    send(stranger, "When is my appointment?")
    code_button = stranger.get_by_test_id("quick-reply").filter(has_text="Send me a code")
    expect(code_button).to_be_visible()
    expect(stranger.get_by_text("Root canal")).to_have_count(0)
    expect(stranger.get_by_text(re.compile("10:00"))).to_have_count(0)
    expect(stranger.get_by_text("Jordan")).to_have_count(0)

    code_button.click()
    expect(stranger.get_by_role("heading", name="Confirm your number")).to_be_visible()
    stranger.get_by_label("Verification code").fill(_last_code(ws_id))
    stranger.get_by_role("button", name="Verify").click()
    expect(stranger.get_by_test_id("quick-reply")).to_have_count(0)  # the offer is spent
    send(stranger, "When is my appointment?")
    expect(stranger.get_by_text(re.compile(r"You're booked for Root canal on .*10:00"))).to_be_visible()
    stranger.context.close()
