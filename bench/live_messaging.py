"""Live delivery latency between customers and the owner, through the real app in real browsers.

For each event bus (in-process, Redis) and each number of concurrent customer sessions, the bench starts the
production build, opens that many portal pages plus one owner inbox in headless Chromium, and measures:
- customer → owner: from the customer pressing Enter to the text appearing in the owner's inbox;
- owner → customer: from the owner's reply being posted (REST API, inside the app process) to the text
  appearing in that customer's chat.
Arrival is stamped in each page by a MutationObserver (Date.now()); the machine has one clock.

Customers write `--pace-ms` apart (default 100 ms: with 50 sessions, every customer writes every 5 s, ten
messages a second in all); `--pace-ms 0` is the worst case where all of them press Enter at the same instant.

Usage: python bench/live_messaging.py [--sessions 1 50] [--rounds 3] [--buses in_process redis] [--pace-ms 100]
The last line printed is a JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import _env  # noqa: F401 - the environment make gives the app (bench/_env.py)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OBSERVER = """
() => {
  window.__arrivals = {};
  const scan = (node) => {
    const text = node.textContent || "";
    for (const m of text.matchAll(/\\[\\[(\\w+)\\]\\]/g))
      if (!(m[1] in window.__arrivals)) window.__arrivals[m[1]] = Date.now();
  };
  new MutationObserver((records) => records.forEach((r) => {
    r.addedNodes.forEach(scan);
    if (r.type === "characterData") scan(r.target);
  })).observe(document.body, {childList: true, subtree: true, characterData: true});
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return round(ordered[index], 1)


class App:
    """The production build on its own port, database and (optionally) Redis."""

    def __init__(self, redis_url: str):
        self.dir = Path(tempfile.mkdtemp(prefix="bench-live-"))
        self.port = _free_port()
        self.env = dict(os.environ)
        self.env.update(
            ASSISTANT_DATA_DIR=str(self.dir),
            ASSISTANT_DATABASE_URL=f"sqlite:///{self.dir / 'bench.db'}",
            ASSISTANT_PUBLIC_URL=f"http://localhost:{self.port}",
            ASSISTANT_CUSTOMER_MESSAGES_PER_MINUTE="1000",
        )
        if redis_url:
            self.env["ASSISTANT_REDIS_URL"] = redis_url
        else:
            self.env.pop("ASSISTANT_REDIS_URL", None)
        self.base = f"http://localhost:{self.port}"

    def __enter__(self) -> "App":
        log = open(self.dir / "app.log", "w")
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv/bin/reflex"), "run", "--env", "prod", "--single-port", "--frontend-port",
             str(self.port), "--backend-port", str(self.port), "--backend-host", "127.0.0.1"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/health", timeout=2)
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/login", timeout=2)
                return self
            except Exception:
                if self.proc.poll() is not None:
                    raise RuntimeError((self.dir / "app.log").read_text()[-3000:]) from None
                time.sleep(0.5)
        raise RuntimeError("the app did not start")

    def __exit__(self, *exc) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except Exception:
            os.killpg(self.proc.pid, signal.SIGKILL)


def _use_app_database(app: App) -> None:
    os.environ["ASSISTANT_DATA_DIR"] = app.env["ASSISTANT_DATA_DIR"]
    os.environ["ASSISTANT_DATABASE_URL"] = app.env["ASSISTANT_DATABASE_URL"]
    os.environ.pop("ASSISTANT_REDIS_URL", None)
    from backend.db import dispose_engines
    from backend.settings import reset_settings_cache

    reset_settings_cache()
    dispose_engines()


def _setup_business(app: App, sessions: int):
    """A workspace, its owner, an API token, and one identified customer (with a first message) per session."""
    _use_app_database(app)
    from backend.accounts.api_tokens import create_api_token
    from backend.accounts.service import sign_up
    from backend.ai.reply_settings import update_reply_settings
    from backend.messaging import portal
    from backend.workspaces.service import update_profile

    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    result = sign_up(email, "bench-password-123", "Bench Owner", "Bench Clinic")
    profile = update_profile(result.workspace_id, name="Bench Clinic", ai_role="medical",
                             ai_personality="professional", assistant_name="Ava", timezone="UTC")
    # The assistant stays out: its replies would replace a customer's message as the inbox preview before the owner's
    # page shows it, and the bench would count a delivered message as lost.
    update_reply_settings(result.workspace_id, reply_policy="always_draft", auto_send_threshold=0.75, ai_enabled=False)
    _, secret = create_api_token(result.workspace_id, "bench")
    customers = []
    for i in range(sessions):
        identity = portal.identify_customer(profile.slug, f"+1 212 555 {1000 + i:04d}", first_name=f"C{i}")
        view = portal.send_customer_message(identity.session_token, "hello")
        customers.append((identity.session_token, view.conversation_id))
    return email, profile.slug, secret, customers


def _post_reply(base: str, secret: str, conversation_id: int, text: str) -> None:
    request = urllib.request.Request(
        f"{base.replace('localhost', '127.0.0.1')}/api/v1/conversations/{conversation_id}/messages",
        data=json.dumps({"text": text}).encode(), method="POST",
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        resp.read()


def _wait_arrivals(page, markers: list[str], timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    arrivals = {}
    while time.monotonic() < deadline:
        arrivals = page.evaluate("() => window.__arrivals")
        if all(m in arrivals for m in markers):
            break
        time.sleep(0.05)
    return arrivals


def run_case(bus: str, sessions: int, rounds: int, browser, pace_ms: int) -> dict:
    redis_url = "redis://127.0.0.1:6379/13" if bus == "redis" else ""
    with App(redis_url) as app:
        email, slug, secret, customers = _setup_business(app, sessions)
        owner = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        owner.goto(f"{app.base}/login")
        owner.get_by_label("Email").fill(email)
        owner.get_by_label("Password").fill("bench-password-123")
        owner.get_by_role("button", name="Log in").click()
        owner.wait_for_url("**/dashboard")
        owner.goto(f"{app.base}/dashboard/inbox")
        owner.get_by_text("hello").first.wait_for()
        owner.evaluate(OBSERVER)

        pages = []
        for token, conversation_id in customers:
            ctx = browser.new_context(viewport={"width": 390, "height": 700})
            stored_tokens = json.dumps(json.dumps({slug: token}))
            ctx.add_init_script(f"localStorage.setItem('frontdesk_portal_sessions', {stored_tokens})")
            page = ctx.new_page()
            page.goto(f"{app.base}/portal/{slug}")
            page.get_by_label("Message", exact=True).wait_for()
            page.evaluate(OBSERVER)
            pages.append((page, conversation_id))
        time.sleep(1.0)

        c2o, o2c = [], []
        for round_no in range(rounds):
            sent = {}
            for i, (page, _) in enumerate(pages):
                marker = f"c{round_no}x{i}x{uuid.uuid4().hex[:6]}"
                box = page.get_by_label("Message", exact=True)
                box.fill(f"question [[{marker}]]")
                sent[marker] = time.time() * 1000
                box.press("Enter")
                if pace_ms:
                    time.sleep(pace_ms / 1000)
            arrivals = _wait_arrivals(owner, list(sent))
            c2o += [arrivals[m] - t for m, t in sent.items() if m in arrivals]

            replies = {}
            for i, (page, conversation_id) in enumerate(pages):
                marker = f"o{round_no}x{i}x{uuid.uuid4().hex[:6]}"
                replies[marker] = (page, time.time() * 1000)
                _post_reply(app.base, secret, conversation_id, f"answer [[{marker}]]")
                if pace_ms:
                    time.sleep(pace_ms / 1000)
            for marker, (page, t0) in replies.items():
                arrival = _wait_arrivals(page, [marker]).get(marker)
                if arrival is not None:
                    o2c.append(arrival - t0)
            time.sleep(0.5)
        for page, _ in pages:
            page.context.close()
        owner.context.close()
    expected = sessions * rounds
    return {
        "bus": bus, "sessions": sessions, "pace_ms": pace_ms, "deliveries_each_way": expected,
        "customer_to_owner_p50_ms": _percentile(c2o, 0.5), "customer_to_owner_p95_ms": _percentile(c2o, 0.95),
        "owner_to_customer_p50_ms": _percentile(o2c, 0.5), "owner_to_customer_p95_ms": _percentile(o2c, 0.95),
        "lost": (expected - len(c2o)) + (expected - len(o2c)),
        "lost_customer_to_owner": expected - len(c2o), "lost_owner_to_customer": expected - len(o2c),
        "mean_ms": round(statistics.fmean(c2o + o2c), 1) if c2o + o2c else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 50])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--buses", nargs="+", default=["in_process", "redis"], choices=["in_process", "redis"])
    parser.add_argument("--pace-ms", type=int, default=100, help="time between two customers' messages")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for bus in args.buses:
            for sessions in args.sessions:
                rounds = max(args.rounds, 20) if sessions == 1 else args.rounds
                result = run_case(bus, sessions, rounds, browser, args.pace_ms)
                print(f"{bus:>10} bus, {sessions:>3} sessions: customer→owner p50 {result['customer_to_owner_p50_ms']} "
                      f"ms, p95 {result['customer_to_owner_p95_ms']} ms; owner→customer p50 "
                      f"{result['owner_to_customer_p50_ms']} ms, p95 {result['owner_to_customer_p95_ms']} ms; "
                      f"lost {result['lost']}", flush=True)
                results.append(result)
        browser.close()
    worst = max((max(r["customer_to_owner_p95_ms"], r["owner_to_customer_p95_ms"]) for r in results), default=None)
    print(json.dumps({"bench": "live_messaging", "results": results, "worst_p95_ms": worst}))


if __name__ == "__main__":
    from backend.startup import load_domains

    load_domains()  # background tasks and hooks, as the app wires them
    main()
