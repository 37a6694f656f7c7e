"""Outgoing e-mail. By default the outbox table is the delivery (the owner reads it in the dashboard and
nothing leaves the machine); with `ASSISTANT_SMTP_HOST` set, mail goes out through that SMTP server.

Callers do not use a provider directly: they call `backend.notifications.queue_email`, which stores the
message first and delivers it in the background, so a mail server outage never loses a message.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from abc import ABC, abstractmethod
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from backend.providers.outbound import DeadlineExceeded, total_deadline
from backend.settings import Settings, get_settings

log = logging.getLogger(__name__)

Attachment = tuple[str, str, bytes]  # (filename, content_type, data)


class MailError(Exception):
    """The message was not delivered; the text says why (shown to the owner beside the outbox row)."""


def _check_header(label: str, value: str) -> None:
    if "\r" in value or "\n" in value:
        raise MailError(f"{label} must be a single line")


class MailProvider(ABC):
    name: str = ""

    @abstractmethod
    def send(self, to: str, subject: str, body: str, attachments: list[Attachment] | None = None) -> None:
        """Deliver one message or raise MailError."""

    def validate_config(self) -> list[str]:
        """Configuration problems as readable sentences; never raises."""
        return []


class OutboxMail(MailProvider):
    """The embedded default: the stored outbox row is the delivered message."""

    name = "outbox"

    def send(self, to: str, subject: str, body: str, attachments: list[Attachment] | None = None) -> None:
        _check_header("recipient", to)
        _check_header("subject", subject)
        log.info("mail to %s kept in the outbox (no SMTP server configured): %s", to, subject)


class SmtpMail(MailProvider):
    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int = 587,
        username: str = "",
        password: str = "",
        starttls: bool = True,
        mail_from: str = "Front Desk <no-reply@localhost>",
        timeout: float = 15.0,
    ):
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.starttls = starttls
        self.mail_from = mail_from
        self.timeout = timeout

    def build_message(
        self, to: str, subject: str, body: str, attachments: list[Attachment] | None = None
    ) -> EmailMessage:
        _check_header("recipient", to)
        _check_header("subject", subject)
        message = EmailMessage()
        message["From"] = self.mail_from
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False, usegmt=True)
        domain = parseaddr(self.mail_from)[1].rpartition("@")[2] or None
        message["Message-ID"] = make_msgid(domain=domain)
        message.set_content(body)
        for filename, content_type, data in attachments or []:
            maintype, _, subtype = (content_type or "application/octet-stream").partition("/")
            message.add_attachment(
                bytes(data), maintype=maintype or "application", subtype=subtype or "octet-stream", filename=filename
            )
        return message

    def _connect(self) -> smtplib.SMTP:
        # Port 465 speaks TLS from the first byte; every other port starts in clear text (STARTTLS optional).
        if self.port == 465:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=ssl.create_default_context())
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)

    def send(self, to: str, subject: str, body: str, attachments: list[Attachment] | None = None) -> None:
        try:
            message = self.build_message(to, subject, body, attachments)
        except MailError:
            raise
        except Exception as exc:  # the email package raises several types for a malformed header
            raise MailError(f"message cannot be built: {exc}") from exc
        try:
            # The timeout bounds each read; a server that trickles its replies is bounded by the total.
            with total_deadline(self.timeout * 4, f"SMTP server {self.host}:{self.port}"), self._connect() as smtp:
                smtp.ehlo()
                if self.starttls and self.port != 465:
                    if not smtp.has_extn("starttls"):
                        raise MailError(f"SMTP server {self.host}:{self.port} does not offer STARTTLS")
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(message)
        except MailError:
            raise
        except DeadlineExceeded as exc:
            raise MailError(exc.message) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise MailError(f"SMTP server refused the recipient {to}: {exc.recipients}") from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise MailError(f"SMTP login failed for {self.username}: {exc.smtp_code} {exc.smtp_error!r}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(f"SMTP delivery via {self.host}:{self.port} failed: {exc or type(exc).__name__}") from exc

    def validate_config(self) -> list[str]:
        errors = []
        if not self.host:
            errors.append("SMTP host is not set (ASSISTANT_SMTP_HOST)")
        if not (isinstance(self.port, int) and 0 < self.port < 65536):
            errors.append(f"SMTP port {self.port!r} is not a valid port")
        if self.username and not self.password:
            errors.append("SMTP username is set but the password is empty")
        sender = parseaddr(self.mail_from)[1]
        try:
            valid_sender = "@" in sender and bool(Address(addr_spec=sender).domain)
        except Exception:
            valid_sender = False
        if not valid_sender:
            errors.append(f"sender address {self.mail_from!r} is not a valid e-mail address")
        return errors


def mail_provider_from_settings(settings: Settings) -> MailProvider:
    if settings.smtp_host:
        return SmtpMail(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            mail_from=settings.mail_from,
        )
    return OutboxMail()


_cache: dict[tuple, MailProvider] = {}
_cache_lock = threading.Lock()


def get_mail_provider() -> MailProvider:
    """SMTP when a host is set, else the outbox. One instance per configuration."""
    s = get_settings()
    key = (s.smtp_host, s.smtp_port, s.smtp_username, s.smtp_password, s.smtp_starttls, s.mail_from)
    with _cache_lock:
        provider = _cache.get(key)
        if provider is None:
            provider = _cache[key] = mail_provider_from_settings(s)
        return provider
