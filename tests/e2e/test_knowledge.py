"""The knowledge page in Chromium: upload several files at once (one bad), watch them become ready live,
test retrieval, read the passages, add a question and answer, delete."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.steps import log_in, make_business

pytestmark = pytest.mark.e2e

PRICES = """# Price list

## Haircuts
A classic haircut costs $35 and takes 30 minutes. Children under 12 pay $20.

## Colour
Full colour starts at $90. Highlights (code HL-204) cost $120.

## Policies
Cancel at least 24 hours ahead, otherwise we charge half the price.
"""


def _owner(page: Page, base: str) -> None:
    email, _, _ = make_business("Shear Joy", owner="Iris Kim", timezone="America/Chicago")
    log_in(page, base, email)
    page.get_by_role("link", name="Knowledge", exact=True).first.click()
    expect(page.get_by_role("heading", name="Add what you know")).to_be_visible()


def test_upload_process_search_and_delete(page: Page, live_app, app_db, tmp_path):
    base = live_app[0]
    _owner(page, base)
    prices = tmp_path / "prices.md"
    prices.write_text(PRICES)
    empty = tmp_path / "empty.txt"
    empty.write_text("   ")
    page.locator("#kb-upload input[type=file]").set_input_files([str(prices), str(empty)])

    # The bad file fails with its reason on its row; the good one goes through and becomes ready live.
    expect(page.get_by_label("status empty.txt")).to_have_text("failed", timeout=60000)
    expect(page.get_by_text("This document has no text to learn from.")).to_be_visible()
    expect(page.get_by_label("status prices.md")).to_have_text("ready", timeout=60000)

    # The same file again is recognised.
    page.locator("#kb-upload input[type=file]").set_input_files(str(prices))
    expect(page.get_by_role("alert").filter(has_text="already")).to_be_visible()

    page.get_by_label("Test question").fill("how much for highlights HL-204")
    page.get_by_role("button", name="Search").click()
    first = page.get_by_test_id("search-result").first
    expect(first).to_contain_text("$120")
    expect(first).to_contain_text("prices.md")

    page.get_by_role("row").filter(has_text="prices.md").get_by_role("button", name="Passages").click()
    expect(page.get_by_role("dialog").get_by_text("Children under 12 pay $20.")).to_be_visible()
    page.get_by_role("button", name="Close").click()

    page.get_by_label("Question", exact=True).fill("Do you take walk-ins?")
    page.get_by_label("Answer", exact=True).fill("Yes, on weekdays before 11am.")
    page.get_by_role("button", name="Add to knowledge").click()
    expect(page.get_by_label("status Do you take walk-ins?")).to_have_text("ready", timeout=60000)

    page.get_by_role("button", name="Delete prices.md").click()
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_label("status prices.md")).to_have_count(0)
    page.get_by_label("Test question").fill("highlights HL-204 price")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("search-result").filter(has_text="$120")).to_have_count(0)
