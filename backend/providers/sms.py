"""Outgoing text messages (portal verification codes, later reminders).

By default the outbox table is the delivery: the owner reads each text in the dashboard and nothing leaves the
machine. With `ASSISTANT_SMS_PROVIDER=twilio` and the Twilio account settings, texts go out through Twilio's
REST API.

Callers do not use a provider directly: they call `backend.notifications.sms.queue_sms`, which stores the text
first and delivers it in the background, so a provider outage delays a text but never loses it.
"""

from __future__ import annotations

import logging
import re
import threading
from abc import ABC, abstractmethod

import httpx

from backend.providers.outbound import DeadlineExceeded, total_deadline
from backend.settings import Settings, get_settings

log = logging.getLogger(__name__)

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MAX_BODY_CHARS = 1600  # Twilio's limit for one message (it splits it into segments itself)


class SmsError(Exception):
    """The text was not delivered; the message says why (shown to the owner beside the outbox row)."""


def check_sms(to_e164: str, body: str) -> None:
    if not isinstance(to_e164, str) or not E164.match(to_e164):
        raise SmsError(f"{to_e164!r} is not a phone number in international format (+15551234567)")
    if not body or not body.strip():
        raise SmsError("the text message is empty")
    if len(body) > MAX_BODY_CHARS:
        raise SmsError(f"the text message is longer than {MAX_BODY_CHARS} characters")


class SmsProvider(ABC):
    name: str = ""

    @abstractmethod
    def send(self, to_e164: str, body: str) -> None:
        """Deliver one text or raise SmsError."""

    def validate_config(self) -> list[str]:
        """Configuration problems as readable sentences; never raises."""
        return []


class OutboxSms(SmsProvider):
    """The embedded default: the stored outbox row (channel "sms") is the delivered text."""

    name = "outbox"

    def send(self, to_e164: str, body: str) -> None:
        check_sms(to_e164, body)
        log.info("text to %s kept in the outbox (no SMS provider configured)", to_e164)


class TwilioSms(SmsProvider):
    """Twilio's Programmable Messaging REST API (`POST /2010-04-01/Accounts/{sid}/Messages.json`)."""

    name = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        base_url: str = "https://api.twilio.com",
        timeout: float = 15.0,
    ):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = from_number
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    @property
    def messages_url(self) -> str:
        return f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    def _sender_fields(self) -> dict[str, str]:
        # A Messaging Service SID ("MG…") lets Twilio pick the sending number from a pool.
        if self.from_number.startswith("MG"):
            return {"MessagingServiceSid": self.from_number}
        return {"From": self.from_number}

    def send(self, to_e164: str, body: str) -> None:
        check_sms(to_e164, body)
        problems = self.validate_config()
        if problems:
            raise SmsError("Twilio is not configured: " + "; ".join(problems))
        form = {"To": to_e164, "Body": body, **self._sender_fields()}
        try:
            with total_deadline(self.timeout * 2, "Twilio"):
                response = httpx.post(
                    self.messages_url, data=form, auth=(self.account_sid, self.auth_token), timeout=self.timeout
                )
        except DeadlineExceeded as exc:
            raise SmsError(exc.message) from exc
        except httpx.HTTPError as exc:
            raise SmsError(f"Twilio could not be reached at {self.base_url}: {exc or type(exc).__name__}") from exc
        if response.status_code >= 400:
            raise SmsError(self._error_text(response))
        log.info("text to %s accepted by Twilio", to_e164)

    @staticmethod
    def _error_text(response: httpx.Response) -> str:
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        message = payload.get("message") if isinstance(payload, dict) else None
        code = payload.get("code") if isinstance(payload, dict) else None
        detail = message or response.text.strip()[:300] or response.reason_phrase
        suffix = f", error {code}" if code else ""
        return f"Twilio refused the text (HTTP {response.status_code}{suffix}): {detail}"

    def validate_config(self) -> list[str]:
        errors = []
        if not self.account_sid:
            errors.append("Twilio account SID is not set (ASSISTANT_TWILIO_ACCOUNT_SID)")
        elif not self.account_sid.startswith("AC"):
            errors.append("Twilio account SID should start with 'AC'")
        if not self.auth_token:
            errors.append("Twilio auth token is not set (ASSISTANT_TWILIO_AUTH_TOKEN)")
        if not self.from_number:
            errors.append("Twilio sender is not set (ASSISTANT_TWILIO_FROM_NUMBER)")
        elif not (E164.match(self.from_number) or self.from_number.startswith("MG")):
            errors.append("Twilio sender must be a phone number like +15551234567 or a Messaging Service SID (MG…)")
        if not self.base_url.startswith(("http://", "https://")):
            errors.append(f"Twilio base URL must start with http:// or https://, got {self.base_url!r}")
        return errors


class UnknownSmsProvider(SmsProvider):
    """A misspelt provider name: every send fails with the reason, so the owner sees it on the outbox row."""

    name = "unknown"

    def __init__(self, configured: str):
        self.configured = configured

    def send(self, to_e164: str, body: str) -> None:
        raise SmsError(self.validate_config()[0])

    def validate_config(self) -> list[str]:
        return [f"unknown SMS provider {self.configured!r} (ASSISTANT_SMS_PROVIDER): use '' (outbox) or 'twilio'"]


def sms_provider_from_settings(settings: Settings) -> SmsProvider:
    choice = (settings.sms_provider or "").strip().lower()
    if choice in ("", "outbox"):
        return OutboxSms()
    if choice == "twilio":
        return TwilioSms(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            from_number=settings.twilio_from_number,
            base_url=settings.twilio_base_url,
        )
    return UnknownSmsProvider(choice)


_cache: dict[tuple, SmsProvider] = {}
_cache_lock = threading.Lock()


def get_sms_provider() -> SmsProvider:
    """Twilio when configured, else the outbox. One instance per configuration."""
    s = get_settings()
    key = (s.sms_provider, s.twilio_account_sid, s.twilio_auth_token, s.twilio_from_number, s.twilio_base_url)
    with _cache_lock:
        provider = _cache.get(key)
        if provider is None:
            provider = _cache[key] = sms_provider_from_settings(s)
        return provider
