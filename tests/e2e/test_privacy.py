"""Privacy in Chromium on the production build: a contact's data downloaded from their page and opened; the
workspace scheduled for deletion (portal closed, other browsers signed out, the banner) and cancelled; how long
conversations are kept; and the activity log with a sign-in, filters and its CSV."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.steps import PASSWORD, browser_from, log_in, make_business

pytestmark = pytest.mark.e2e

SHOTS = ARTIFACTS / "privacy"
PHONE_VIEWPORT = {"width": 390, "height": 844}


def _shoot(page: Page, name: str) -> None:
    """Desktop and phone screenshots of what the page shows now, to look at (test-artifacts/privacy/)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(400)
    page.screenshot(path=str(SHOTS / f"desktop-{name}.png"), full_page=True)
    size = page.viewport_size
    page.set_viewport_size(PHONE_VIEWPORT)
    page.wait_for_timeout(400)
    page.screenshot(path=str(SHOTS / f"phone-{name}.png"), full_page=True)
    page.set_viewport_size(size)


def _customer(slug: str, phone: str, name: str, text: str):
    from backend.messaging import portal

    me = portal.identify_customer(slug, phone, first_name=name)
    portal.send_customer_message(me.session_token, text)
    return me


def test_a_contacts_data_is_downloaded_from_their_page_as_a_zip(page: Page, live_app, app_db, tmp_path):
    from tests.unit.messaging_helpers import SAMPLES

    base = live_app[0]
    email, slug, _ = make_business("Zip Dental")
    me = _customer(slug, "+12125550147", "Olivia", "Can I get my x-rays? My email is olivia@example.com")
    # Through the app's own upload route, so the file lands in the app's storage.
    sent = httpx.post(f"{base}/api/portal/v1/files", headers={"Authorization": f"Bearer {me.session_token}"},
                      files={"file": ("xray.png", SAMPLES["png"][1], "image/png")}, timeout=30)
    assert sent.status_code == 201, sent.text
    _customer(slug, "+12125550199", "Liam", "Liam's private question")

    log_in(page, base, email, then=f"/dashboard/contacts/{me.contact_id}")
    expect(page.get_by_role("heading", name="Olivia")).to_be_visible()
    _shoot(page, "contact")
    with page.expect_download() as caught:
        page.get_by_role("button", name="Download data").click()
    download = caught.value
    assert re.fullmatch(rf"contact-{me.contact_id}-olivia-\d{{4}}-\d{{2}}-\d{{2}}\.zip", download.suggested_filename)
    saved = tmp_path / "export.zip"
    download.save_as(saved)
    archive = zipfile.ZipFile(io.BytesIO(saved.read_bytes()))
    data = json.loads(archive.read("contact.json"))
    assert data["contact"]["first_name"] == "Olivia"
    texts = [m["text"] for m in data["conversations"][0]["messages"]]
    assert "Can I get my x-rays? My email is olivia@example.com" in texts
    photo = next(m["file"] for m in data["conversations"][0]["messages"] if m["file"])
    assert archive.read(photo["path"]) == SAMPLES["png"][1]
    assert "Liam" not in json.dumps(data)

    page.get_by_role("link", name="Activity", exact=True).first.click()
    expect(page.get_by_text("Downloaded a contact's data")).to_be_visible()


def test_deleting_the_workspace_closes_the_portal_and_can_be_cancelled(page: Page, browser, live_app, app_db):
    from backend.db import session_scope
    from backend.models import OutboxMessage, Workspace

    base = live_app[0]
    email, slug, workspace_id = make_business("Gone Fishing Tours")
    elsewhere = browser_from(browser, "198.51.100.20")
    log_in(elsewhere, base, email)
    log_in(page, base, email, then="/dashboard/settings")

    expect(page.get_by_role("heading", name="Delete this workspace")).to_be_visible()
    page.get_by_role("button", name="Delete workspace…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Delete Gone Fishing Tours?")).to_be_visible()
    dialog.get_by_label("Type Gone Fishing Tours to confirm").fill("gone fishing")
    dialog.get_by_label("Your password").fill(PASSWORD)
    dialog.get_by_role("button", name="Delete workspace").click()
    expect(dialog.get_by_text("Type the business name exactly as shown")).to_be_visible()
    dialog.get_by_label("Type Gone Fishing Tours to confirm").fill("Gone Fishing Tours")
    dialog.get_by_label("Your password").fill("not-my-password")
    dialog.get_by_role("button", name="Delete workspace").click()
    expect(dialog.get_by_text("That password is not right.")).to_be_visible()
    with session_scope() as s:
        assert s.get(Workspace, workspace_id).deletion_due_at is None  # refusals changed nothing
    _shoot(page, "delete-dialog-error")

    dialog.get_by_label("Your password").fill(PASSWORD)
    dialog.get_by_role("button", name="Delete workspace").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    banner = page.get_by_role("alert").filter(has_text="This workspace will be deleted on")
    expect(banner).to_be_visible()
    with session_scope() as s:
        due = s.get(Workspace, workspace_id).deletion_due_at
        mail = s.exec(select(OutboxMessage).where(OutboxMessage.workspace_id == workspace_id,
                                                  OutboxMessage.to_address == email)).all()
    assert due is not None
    local = due.astimezone(ZoneInfo("America/New_York"))  # the business's day, not the server's
    day = f"{local:%A} {local.day} {local:%B %Y}"
    expect(banner).to_contain_text(day)
    assert any("will be deleted on" in m.subject for m in mail)
    _shoot(page, "deletion-scheduled")

    # The portal stops taking messages at once.
    customer = page.context.browser.new_page()
    customer.goto(f"{base}/portal/{slug}")
    expect(customer.get_by_role("heading", name="This business is no longer taking messages")).to_be_visible()
    _shoot(customer, "portal-closed")

    # The other browser was signed out; the banner follows the owner to every page.
    elsewhere.goto(f"{base}/dashboard/inbox")
    expect(elsewhere).to_have_url(re.compile(r"/login"))
    page.get_by_role("link", name="Inbox", exact=True).first.click()
    expect(page.get_by_role("alert").filter(has_text="This workspace will be deleted on")).to_be_visible()

    page.get_by_role("button", name="Cancel deletion").first.click()
    expect(page.get_by_text("Deletion cancelled")).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text="This workspace will be deleted on")).to_have_count(0)
    with session_scope() as s:
        assert s.get(Workspace, workspace_id).deletion_due_at is None
    customer.goto(f"{base}/portal/{slug}")
    expect(customer.get_by_label("Phone number")).to_be_visible()
    customer.close()
    elsewhere.context.close()


def test_how_long_conversations_are_kept_is_set_in_settings(page: Page, live_app, app_db):
    from backend.db import session_scope
    from backend.models import Workspace

    base = live_app[0]
    email, _, workspace_id = make_business("Keep It Short Spa")
    log_in(page, base, email, then="/dashboard/settings")
    setting = page.get_by_label("Keep conversations for")
    expect(setting).to_have_value("0")
    expect(page.get_by_text("Conversations are kept until you delete them")).to_be_visible()
    setting.select_option(label="6 months")
    expect(page.get_by_text("Conversations resolved more than 6 months ago are deleted every night")).to_be_visible()
    with session_scope() as s:
        assert s.get(Workspace, workspace_id).retention_months == 6
    page.reload()
    expect(page.get_by_label("Keep conversations for")).to_have_value("6")
    page.get_by_role("heading", name="Privacy and data").scroll_into_view_if_needed()
    _shoot(page, "settings-privacy")

    page.goto(f"{base}/dashboard/activity")
    expect(page.get_by_text("Changed how long conversations are kept")).to_be_visible()
    expect(page.get_by_text("Forever → 6 months")).to_be_visible()


def test_the_activity_log_shows_sign_ins_filters_and_downloads(page: Page, live_app, app_db, tmp_path):
    base = live_app[0]
    email, _, _ = make_business("Audit Bakery")
    other_email, _, _ = make_business("Someone Else's Bakery")
    from backend.accounts.service import log_in as sign_in

    sign_in(other_email, PASSWORD, user_agent="Firefox/128.0")  # the other business's sign-in must not show
    log_in(page, base, email)
    page.get_by_role("link", name="Activity", exact=True).first.click()
    expect(page).to_have_url(re.compile(r"/dashboard/activity$"))
    entries = page.get_by_role("listitem")
    expect(entries.filter(has_text="Signed in")).to_have_count(1)
    expect(entries.filter(has_text="Signed in").first).to_contain_text("Rosa Diaz")
    expect(entries.filter(has_text="Signed in").first).to_contain_text("Chrome on Linux")
    expect(page.get_by_text("Created the account")).to_be_visible()
    expect(page.get_by_text("Times are in America/New_York.")).to_be_visible()
    _shoot(page, "activity")

    page.get_by_label("Kind of activity").select_option(label="API tokens")
    expect(page.get_by_text("Nothing matches these filters")).to_be_visible()
    _shoot(page, "activity-empty-filter")
    page.get_by_role("button", name="Clear filters").click()
    expect(entries.filter(has_text="Signed in")).to_have_count(1)

    page.get_by_label("From day").fill("2001-01-02")
    page.get_by_label("To day").fill("2001-01-01")
    expect(page.get_by_text("The first day must come before the last.")).to_be_visible()
    page.get_by_label("To day").fill("")
    expect(entries.filter(has_text="Signed in")).to_have_count(1)

    with page.expect_download() as caught:
        page.get_by_role("button", name="Download CSV").click()
    saved = Path(tmp_path / "activity.csv")
    caught.value.save_as(saved)
    text = saved.read_text()
    assert text.startswith("time,person,email,kind,what,detail,address,code")
    assert "Signed in" in text and "Someone Else" not in text and other_email not in text
