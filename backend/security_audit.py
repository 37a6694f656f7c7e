"""`python -m backend security-audit`: checks a deployment's configuration before real customers use it.

Each check says what it found and, when it is not right, what to do. FAIL is what exposes customers' data or
accounts (a weak secret, plain-HTTP links, the demo account, an open database or Redis); WARN is what a
careful operator changes (a generated secret key on one machine, generous limits). The command exits 1 when
anything fails, so a deploy script can stop on it.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

from backend.settings import Settings

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"
MIN_SECRET_CHARS = 32
WEAK_SECRETS = {"secret", "changeme", "change-me", "password", "development", "dev", "test", "frontdesk"}


@dataclass(frozen=True)
class Finding:
    level: str
    check: str
    detail: str

    def line(self) -> str:
        return f"[{self.level}] {self.check}: {self.detail}"


def _secret(settings: Settings) -> Finding:
    name = "secret key"
    if not settings.secret_key:
        return Finding(WARN, name, "ASSISTANT_SECRET_KEY is not set: a key generated into the data folder is used. "
                                   "Set your own (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`) "
                                   "so several machines share it and a lost disk does not change it.")
    key = settings.secret_key
    if len(key) < MIN_SECRET_CHARS or key.lower() in WEAK_SECRETS or len(set(key)) < 10:
        return Finding(FAIL, name, f"ASSISTANT_SECRET_KEY is weak: use at least {MIN_SECRET_CHARS} random characters.")
    return Finding(PASS, name, "set and long enough")


def _https(settings: Settings) -> Finding:
    url = settings.public_url
    host = urlsplit(url).hostname or ""
    if url.startswith("https://"):
        return Finding(PASS, "public address", f"{url} (HTTPS; browsers get HSTS)")
    if host in ("localhost", "127.0.0.1", "::1"):
        return Finding(WARN, "public address", f"{url} is a local address: fine for trying it out, not for customers.")
    return Finding(FAIL, "public address", f"{url} is not HTTPS: portal links, reset links and sign-ins would travel "
                                           "in clear text. Put TLS in front and set ASSISTANT_PUBLIC_URL=https://…")


def _debug(env: dict[str, str]) -> Finding:
    mode = env.get("REFLEX_ENV_MODE", "").lower()
    if mode in ("dev", "development"):
        return Finding(FAIL, "debug mode", "REFLEX_ENV_MODE=dev shows error details to visitors: run with --env prod.")
    return Finding(PASS, "debug mode", "off (production mode)")


def _cookies(settings: Settings) -> Finding:
    # The only cookie the app sets (Google sign-in's browser key) takes `secure` from the page's protocol.
    if settings.public_url.startswith("https://"):
        return Finding(PASS, "cookie flags", "Secure (HTTPS), SameSite=Lax, limited to the sign-in callback path")
    return Finding(WARN, "cookie flags", "cookies cannot be Secure until the public address is HTTPS")


def _demo(demo_exists: Callable[[], bool]) -> Finding:
    try:
        exists = demo_exists()
    except Exception as exc:  # no database yet: nothing to leak either
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        return Finding(WARN, "demo account", f"could not check ({type(exc).__name__}: {first_line[:120]}); "
                                             "run `python -m backend migrate` first")
    if exists:
        return Finding(FAIL, "demo account", "the demo owner (demo@frontdesk.example, a published password) exists: "
                                             "delete it before going live.")
    return Finding(PASS, "demo account", "absent")


def _limits(settings: Settings) -> list[Finding]:
    out = []
    if settings.max_upload_mb > 100:
        out.append(Finding(WARN, "upload limit",
                           f"{settings.max_upload_mb} MB per file is generous; 25 is the default."))
    else:
        out.append(Finding(PASS, "upload limit",
                           f"{settings.max_upload_mb} MB per file, bodies refused before reading"))
    if settings.max_api_body_kb > 10 * 1024:
        out.append(Finding(WARN, "request body limit",
                           f"{settings.max_api_body_kb} KB is generous; 1024 is the default."))
    if settings.allow_private_urls:
        out.append(Finding(FAIL, "private addresses",
                           "ASSISTANT_ALLOW_PRIVATE_URLS is on: owners' calendar and webhook "
                                                      "addresses may reach this machine's own services. Turn it off."))
    else:
        out.append(Finding(PASS, "private addresses", "owners' URLs may only reach public servers"))
    return out


def _database(settings: Settings) -> Finding:
    url = settings.effective_database_url
    if not settings.is_postgres:
        return Finding(WARN, "database", "SQLite in the data folder: fine for one machine; protect the folder's "
                                         "permissions and back it up.")
    parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://"))
    if parts.password:
        return Finding(PASS, "database", f"PostgreSQL at {parts.hostname} with a password")
    if parts.hostname in (None, "", "localhost", "127.0.0.1", "::1"):
        return Finding(WARN, "database", "PostgreSQL without a password on this machine (trust or peer auth): make "
                                         "sure it does not listen on other addresses.")
    return Finding(FAIL, "database", f"PostgreSQL at {parts.hostname} without a password in the URL.")


def redis_answers_without_password(url: str, timeout: float = 2.0) -> bool:
    """True when a Redis at `url` answers PING without AUTH (anyone who can reach it can read the queues)."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _redis(settings: Settings, probe: Callable[[str], bool]) -> list[Finding]:
    urls = {u for u in (settings.redis_url, settings.celery_broker_url, settings.celery_result_backend) if u}
    if not urls:
        return [Finding(PASS, "redis", "not used (in-process events and background work)")]
    out = []
    for url in sorted(urls):
        parts = urlsplit(url)
        shown = f"{parts.hostname}:{parts.port or 6379}"
        if parts.password or not probe(url):
            out.append(Finding(PASS, "redis", f"{shown} requires a password"))
        elif parts.hostname in ("localhost", "127.0.0.1", "::1"):
            out.append(Finding(WARN, "redis", f"{shown} answers without a password (local only: keep it bound to "
                                              "127.0.0.1, or set requirepass)."))
        else:
            out.append(Finding(FAIL, "redis", f"{shown} answers without a password: set requirepass and put it in "
                                              "the URL (redis://:password@host:6379/0)."))
    return out


def _mail(settings: Settings) -> Finding:
    if not settings.smtp_host:
        return Finding(WARN, "mail", "no SMTP server: e-mails stay in the outbox (owners won't get reset links).")
    if settings.smtp_port != 465 and not settings.smtp_starttls:
        return Finding(FAIL, "mail", "SMTP without TLS: set ASSISTANT_SMTP_STARTTLS=true or use port 465.")
    return Finding(PASS, "mail", f"SMTP at {settings.smtp_host}:{settings.smtp_port} with TLS")


def run_audit(settings: Settings, *, demo_exists: Callable[[], bool], env: dict[str, str] | None = None,
              redis_probe: Callable[[str], bool] = redis_answers_without_password) -> list[Finding]:
    env = dict(os.environ) if env is None else env
    return [_secret(settings), _https(settings), _debug(env), _cookies(settings), _demo(demo_exists),
            *_limits(settings), _database(settings), *_redis(settings, redis_probe), _mail(settings)]
