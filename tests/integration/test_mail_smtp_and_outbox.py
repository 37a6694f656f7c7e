"""Mail goes through the outbox: stored first, delivered by the embedded outbox or a real SMTP server (aiosmtpd),
recorded honestly when delivery fails, and never sent twice."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import select

from backend.db import session_scope
from backend.models import OutboxMessage, Workspace
from backend.notifications import deliver_outbox_message, list_outbox, queue_email, requeue_stale_outbox
from backend.providers import background
from backend.providers.background import run_inline, wait_until_idle
from backend.providers.mail import MailError, OutboxMail, SmtpMail, get_mail_provider
from backend.providers.storage import get_storage
from tests.integration.helpers import free_ports, wait_until

pytestmark = pytest.mark.integration


def _subject(label: str) -> str:
    return f"{label} {uuid.uuid4().hex[:8]}"


def _row(outbox_id: int) -> OutboxMessage:
    with session_scope() as session:
        return session.get(OutboxMessage, outbox_id)


def _use_smtp(configure, server) -> None:
    configure(smtp_host=server.host, smtp_port=server.port, smtp_starttls="false",
              mail_from="Front Desk <desk@frontdesk.example>")


@pytest.fixture
def quick_retries(monkeypatch):
    monkeypatch.setattr(background, "RETRY_DELAYS_SECONDS", (0.05, 0.05, 0.05))


def test_smtp_mail_delivers_subject_body_and_attachment(smtp_server):
    subject = _subject("Your booking")
    provider = SmtpMail(smtp_server.host, smtp_server.port, starttls=False, mail_from="Desk <desk@frontdesk.example>")
    assert provider.validate_config() == []

    provider.send("customer@example.com", subject, "See you Tuesday at 10:00.\n",
                  [("booking.ics", "text/calendar", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")])

    received = smtp_server.handler.wait_for_subject(subject)
    assert received.rcpt_tos == ["customer@example.com"]
    assert received.mail_from == "desk@frontdesk.example"
    message = received.message
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == "See you Tuesday at 10:00.\n"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "booking.ics"
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_payload(decode=True) == b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"


def test_smtp_errors_become_mail_errors(smtp_server):
    (closed_port,) = free_ports(1)
    with pytest.raises(MailError, match=f"127.0.0.1:{closed_port}"):
        SmtpMail("127.0.0.1", closed_port, starttls=False, timeout=3).send("a@example.com", "Hi", "Body")
    # aiosmtpd offers no STARTTLS; sending in clear text when TLS was asked for would be worse than failing.
    with pytest.raises(MailError, match="STARTTLS"):
        SmtpMail(smtp_server.host, smtp_server.port, starttls=True).send("a@example.com", "Hi", "Body")
    with pytest.raises(MailError, match="single line"):
        SmtpMail(smtp_server.host, smtp_server.port, starttls=False).send("a@example.com", "Hi\r\nBcc: x@y.z", "B")


def test_smtp_config_problems_are_listed():
    errors = SmtpMail("", 0, username="me", password="", mail_from="nobody").validate_config()
    assert len(errors) == 4
    assert OutboxMail().validate_config() == []


def test_queued_email_is_delivered_over_smtp_with_attachment(db, configure, smtp_server):
    _use_smtp(configure, smtp_server)
    assert get_mail_provider().name == "smtp"
    subject = _subject("Receipt")

    outbox_id = queue_email("customer@example.com", subject, "Thanks for your visit.",
                            attachments=[("receipt.pdf", "application/pdf", b"%PDF-1.7 receipt")])

    row = wait_until(lambda: (r := _row(outbox_id)).status == "sent" and r, timeout=10, what="the row to be sent")
    assert (row.provider, row.attempts, row.error) == ("smtp", 1, "")
    assert row.sent_at is not None
    assert row.attachments[0]["filename"] == "receipt.pdf"
    assert get_storage().get(row.attachments[0]["storage_key"]) == b"%PDF-1.7 receipt"

    message = smtp_server.handler.wait_for_subject(subject).message
    assert message.get_body(("plain",)).get_content().strip() == "Thanks for your visit."
    [attachment] = list(message.iter_attachments())
    assert (attachment.get_filename(), attachment.get_payload(decode=True)) == ("receipt.pdf", b"%PDF-1.7 receipt")


def test_a_sent_message_is_never_sent_twice(db, configure, smtp_server):
    _use_smtp(configure, smtp_server)
    subject = _subject("Once only")
    outbox_id = queue_email("customer@example.com", subject, "Body")
    smtp_server.handler.wait_for_subject(subject)
    assert wait_until_idle(10)

    assert run_inline("deliver_outbox_message", outbox_id=outbox_id) == "sent"
    assert deliver_outbox_message(outbox_id) == "sent"
    assert len(smtp_server.handler.with_subject(subject)) == 1
    assert _row(outbox_id).attempts == 1


def test_unreachable_smtp_marks_the_row_failed_and_keeps_the_message(db, configure, smtp_server, quick_retries):
    (closed_port,) = free_ports(1)
    configure(smtp_host="127.0.0.1", smtp_port=closed_port, smtp_starttls="false")
    subject = _subject("Reminder")

    outbox_id = queue_email("customer@example.com", subject, "Your appointment is tomorrow.")
    assert wait_until_idle(15)

    row = _row(outbox_id)
    assert row.status == "failed"
    assert row.provider == "smtp"
    assert row.attempts == 4  # the first try and three in-process retries
    assert f"127.0.0.1:{closed_port}" in row.error
    assert row.sent_at is None

    with pytest.raises(MailError):
        run_inline("deliver_outbox_message", outbox_id=outbox_id)
    assert _row(outbox_id).attempts == 5

    # The server comes back: the same stored message goes out.
    _use_smtp(configure, smtp_server)
    assert run_inline("deliver_outbox_message", outbox_id=outbox_id) == "sent"
    row = _row(outbox_id)
    assert (row.status, row.attempts, row.error) == ("sent", 6, "")
    assert smtp_server.handler.wait_for_subject(subject).message.get_body(("plain",)).get_content().strip() == (
        "Your appointment is tomorrow."
    )


def test_without_smtp_the_outbox_row_is_the_delivery(db, configure):
    configure(smtp_host=None)
    outbox_id = queue_email("customer@example.com", "Kept here", "Nothing leaves the machine.")
    assert wait_until_idle(10)
    row = _row(outbox_id)
    assert (row.status, row.provider, row.attempts) == ("sent", "outbox", 1)


def test_bad_input_is_refused_and_stores_nothing(db):
    attempts = [
        dict(to="not-an-address", subject="Hi", body=""),
        dict(to="", subject="Hi", body=""),
        dict(to="a@example.com", subject="Hi\nBcc: everyone@example.com", body=""),
        dict(to="a@example.com", subject="x" * 301, body=""),
        dict(to="a@example.com", subject="Hi", body="", attachments=[("a.txt", "not a type", b"x")]),
        dict(to="a@example.com", subject="Hi", body="", attachments=[("a.txt", "text/plain", "not bytes")]),
        dict(to="a@example.com", subject="Hi", body="", attachments=[("", "text/plain", b"x")]),
    ]
    for kwargs in attempts:
        with pytest.raises(ValueError):
            queue_email(**kwargs)
    with session_scope() as session:
        assert session.exec(select(OutboxMessage)).all() == []


def test_list_outbox_is_newest_first_and_scoped_to_a_workspace(db):
    with session_scope() as session:
        alpha, beta = Workspace(name="Alpha", slug="alpha"), Workspace(name="Beta", slug="beta")
        session.add_all([alpha, beta])
        session.flush()
        alpha_id, beta_id = alpha.id, beta.id

    first = queue_email("one@example.com", "First", "", workspace_id=alpha_id)
    second = queue_email("two@example.com", "Second", "", workspace_id=alpha_id)
    other = queue_email("three@example.com", "Other", "", workspace_id=beta_id)
    system = queue_email("four@example.com", "System", "")
    assert wait_until_idle(10)

    assert [m.id for m in list_outbox(alpha_id)] == [second, first]
    assert [m.id for m in list_outbox(beta_id)] == [other]
    assert [m.id for m in list_outbox(limit=2)] == [system, other]
    assert {m.id for m in list_outbox()} == {first, second, other, system}


def test_a_broker_outage_leaves_the_message_queued_until_requeued(db, configure):
    (dead_port,) = free_ports(1)
    configure(celery_broker_url=f"redis://127.0.0.1:{dead_port}/0", smtp_host=None)
    outbox_id = queue_email("customer@example.com", "While the broker is down", "Body")
    assert _row(outbox_id).status == "queued"

    configure(celery_broker_url=None)
    assert requeue_stale_outbox(older_than_seconds=0) == 1
    assert wait_until_idle(10)
    assert _row(outbox_id).status == "sent"
