"""`python -m backend security-audit` names what is unsafe in a deployment and exits 1 on a failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from backend.accounts.service import sign_up
from backend.security_audit import FAIL, PASS, WARN, run_audit
from backend.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parents[3]


def _audit(**env: str) -> tuple[int, list[str], dict]:
    full = {**os.environ, **env}
    done = subprocess.run([sys.executable, "-m", "backend", "security-audit"], cwd=ROOT, env=full,
                          capture_output=True, text=True, timeout=120)
    lines = done.stdout.strip().splitlines()
    return done.returncode, lines[:-1], json.loads(lines[-1])


def test_an_unsafe_deployment_fails_with_every_problem_named(db):
    sign_up(get_settings().demo_email, "demo-password-2026", "Demo Owner", "Bright Smile Dental")
    code, lines, summary = _audit(ASSISTANT_PUBLIC_URL="http://frontdesk.example", ASSISTANT_SECRET_KEY="changeme",
                                  REFLEX_ENV_MODE="dev", ASSISTANT_ALLOW_PRIVATE_URLS="true",
                                  ASSISTANT_SMTP_HOST="mail.example", ASSISTANT_SMTP_PORT="587",
                                  ASSISTANT_SMTP_STARTTLS="false")
    assert code == 1
    assert set(summary["failed"]) == {"secret key", "public address", "debug mode", "demo account",
                                      "private addresses", "mail"}
    assert any(line.startswith("[FAIL] demo account") for line in lines)


def test_a_careful_deployment_passes(db):
    code, lines, summary = _audit(ASSISTANT_PUBLIC_URL="https://desk.example.com",
                                  ASSISTANT_SECRET_KEY="k3Yq-9vT2mLx8RfB0sW4nZpD6hJcG1aE7uQ5",
                                  REFLEX_ENV_MODE="prod", ASSISTANT_ALLOW_PRIVATE_URLS="false")
    assert code == 0, lines
    assert summary["fail"] == 0
    assert any(line.startswith("[PASS] public address") for line in lines)


def test_redis_reachable_without_a_password_fails_unless_it_is_local():
    settings = Settings(redis_url="redis://cache.internal:6379/0", secret_key="x" * 40)
    findings = {f.check: f for f in run_audit(settings, demo_exists=lambda: False, env={},
                                               redis_probe=lambda url: True)}
    assert findings["redis"].level == FAIL
    local = Settings(redis_url="redis://127.0.0.1:6379/0", secret_key="x" * 40)
    findings = {f.check: f for f in run_audit(local, demo_exists=lambda: False, env={},
                                               redis_probe=lambda url: True)}
    assert findings["redis"].level == WARN
    guarded = Settings(redis_url="redis://:s3cret@cache.internal:6379/0", secret_key="x" * 40)
    findings = {f.check: f for f in run_audit(guarded, demo_exists=lambda: False, env={},
                                               redis_probe=lambda url: True)}
    assert findings["redis"].level == PASS


def test_the_redis_probe_talks_to_a_real_server():
    from backend.security_audit import redis_answers_without_password

    assert redis_answers_without_password("redis://127.0.0.1:6379/0")  # the test machine's own, no password
    assert not redis_answers_without_password("redis://127.0.0.1:9/0", timeout=0.5)  # nothing listens there
