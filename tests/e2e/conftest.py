"""Boots the production build (`reflex run --env prod`) once per session on its own port and database,
and drives it with a real Chromium through Playwright."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
GOOGLE_CONSENT_PATH = "/e2e-google-consent"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited while starting:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status < 500:
                    return
        except Exception:
            time.sleep(0.5)
    raise RuntimeError(f"the app did not answer at {url} within {timeout}s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    """The built app on a free port. Yields (base_url, database_url)."""
    data_dir = tmp_path_factory.mktemp("e2e-data")
    port = _free_port()
    database_url = f"sqlite:///{data_dir / 'e2e.db'}"
    env = dict(os.environ)
    env.update(
        ASSISTANT_DATA_DIR=str(data_dir),
        ASSISTANT_DATABASE_URL=database_url,
        ASSISTANT_PUBLIC_URL=f"http://localhost:{port}",
        REFLEX_FRONTEND_PORT=str(port),
        REFLEX_BACKEND_PORT=str(port),
        # Google's consent screen is a path the browser test answers itself (page.route); the token endpoint
        # refuses connections: the sign-in's own checks run for real, up to the token exchange.
        ASSISTANT_GOOGLE_CLIENT_ID="e2e-client.apps.googleusercontent.com",
        ASSISTANT_GOOGLE_CLIENT_SECRET="e2e-client-secret",
        ASSISTANT_GOOGLE_AUTH_URI=f"http://localhost:{port}{GOOGLE_CONSENT_PATH}",
        ASSISTANT_GOOGLE_TOKEN_URI="http://127.0.0.1:9/token",
        OAUTHLIB_INSECURE_TRANSPORT="1",
        # A slow outside server is given up on after this long (tests/e2e/test_security.py waits for it).
        ASSISTANT_OUTSIDE_CALL_SECONDS="12",
        # As if a reverse proxy on this machine forwarded every request: a browser made by `browser_from`
        # (tests/e2e/steps.py) comes from the address its X-Forwarded-For names, the others from 127.0.0.1.
        ASSISTANT_TRUSTED_PROXIES="127.0.0.1",
    )
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / "e2e-app.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(ROOT / ".venv/bin/reflex"), "run", "--env", "prod", "--single-port", "--frontend-port", str(port),
             "--backend-port", str(port), "--backend-host", "127.0.0.1", "--loglevel", "info"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        _wait_http(f"http://127.0.0.1:{port}/api/v1/health", proc, log, timeout=300)
        _wait_http(f"http://127.0.0.1:{port}/login", proc, log, timeout=120)
        yield f"http://localhost:{port}", database_url
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture(scope="session")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance):
    instance = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield instance
    instance.close()


@pytest.fixture
def app_db(live_app):
    """Points this test process at the app's own database, to arrange or check what the UI cannot show."""
    from tests.conftest import _use_database

    _use_database(live_app[1])
    yield live_app[1]
    _use_database(None)


@pytest.fixture
def page(browser, live_app, request):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15000)
    pg = context.new_page()
    yield pg
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
