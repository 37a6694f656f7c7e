"""Screenshots of the main pages at desktop and phone width, for looking at the UI as a user would.

Usage: python scripts/screenshots.py http://localhost:3000 [out_dir]   (logs in with the demo account)
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    base = sys.argv[1].rstrip("/")
    out = Path(sys.argv[2] if len(sys.argv) > 2 else "test-artifacts/screens")
    out.mkdir(parents=True, exist_ok=True)
    from backend.settings import get_settings

    settings = get_settings()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for label, viewport in (("desktop", {"width": 1366, "height": 900}), ("phone", {"width": 390, "height": 844})):
            page = browser.new_page(viewport=viewport)
            page.goto(f"{base}/signup")
            page.wait_for_selector("text=Create your account")
            page.screenshot(path=out / f"{label}-signup.png", full_page=True)
            page.goto(f"{base}/login")
            page.wait_for_selector("text=Welcome back")
            page.get_by_label("Email").fill(settings.demo_email)
            page.get_by_label("Password").fill(settings.demo_password)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url("**/dashboard**")
            page.wait_for_selector("text=Open conversations")
            page.wait_for_timeout(600)
            page.screenshot(path=out / f"{label}-overview.png", full_page=True)
            for area in ("settings", "inbox", "drafts", "assistant", "knowledge", "contacts", "activity"):
                page.goto(f"{base}/dashboard/{area}")
                page.wait_for_timeout(1200)
                page.screenshot(path=out / f"{label}-{area}.png", full_page=True)
            page.goto(f"{base}/portal/bright-smile-dental")
            page.wait_for_timeout(1200)
            page.screenshot(path=out / f"{label}-portal.png", full_page=True)
            page.goto(f"{base}/portal/no-such-business")
            page.wait_for_timeout(1200)
            page.screenshot(path=out / f"{label}-portal-404.png", full_page=True)
            page.close()
        browser.close()
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main()
