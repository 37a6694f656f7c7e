"""Telling the customer about their appointment: a notice when it is booked, requested, confirmed, moved or
cancelled, and one reminder `reminder_lead_minutes` before it starts.

Where it goes:
- the conversation the booking came from (chat bookings): a message with sender "system". It is a statement of
  fact written by the booking service, not words of the AI: it is shown whatever the reply policy (never
  drafted or held for approval), it does not wake the AI pipeline (which answers customer messages only), and it
  reads the same whether the assistant or a person made the booking. It is added in the booking's own
  transaction, so it exists exactly when the booking does.
- e-mail, when the contact has an address, with the appointment as an .ics attachment (METHOD:REQUEST, or
  CANCEL) made by backend.calendar.ics with the same UID the calendar sync uses, so a calendar shows it once;
- a text, when the contact has a phone number. Both go through the outbox after the commit (never lost, retried).

Reminders: `send_due_reminders` (the background task of the same name, every minute from Celery beat or the
in-process scheduler) sends each due reminder once: it claims the appointment with a conditional UPDATE of
`reminder_sent_at` (only the worker whose UPDATE changed the row sends), so two runners never double-send.
Only confirmed appointments are reminded (a pending request may still be declined); cancelled ones never. A
booking made inside the lead time gets no separate reminder: its confirmation is one (`reminder_sent_at` is set
at booking). A lead time of 0 turns reminders off.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from backend.calendar.ics import event_ics
from backend.calendar.slots import BLOCK_SOURCE, get_zone, label_of
from backend.core.live_events import PendingEvents
from backend.db import session_scope
from backend.messaging.messages import add_message, record_in_conversation
from backend.models import Appointment, Contact, Conversation, Service, Workspace
from backend.models.enums import AppointmentStatus, Sender
from backend.models.types import utcnow
from backend.notifications.outbox import queue_email
from backend.notifications.sms import queue_sms
from backend.providers.background import background_task

log = logging.getLogger(__name__)

MAX_LEAD_MINUTES = 7 * 24 * 60  # matches availability.MAX_REMINDER_LEAD_MINUTES
ICS_FILENAME = "appointment.ics"
KINDS = ("booked", "requested", "confirmed", "rescheduled", "cancelled", "reminder")


@dataclass(frozen=True)
class Notice:
    """What goes out through the outbox once the transaction that produced it has committed."""

    workspace_id: int
    appointment_id: int
    kind: str
    email: str
    phone: str
    subject: str
    body: str
    sms: str
    ics: str


def _sentences(kind: str, what: str, when: str, business: str) -> tuple[str, str]:
    """(subject, sentence) of a notice."""
    if kind == "booked":
        return f"Booked: {what}, {when}", f"Your appointment is booked: {what} at {business}, {when}."
    if kind == "requested":
        return (f"Requested: {what}, {when}",
                f"We have your request for {what} at {business}, {when}. We'll confirm it shortly.")
    if kind == "confirmed":
        return f"Confirmed: {what}, {when}", f"Your appointment is confirmed: {what} at {business}, {when}."
    if kind == "rescheduled":
        return f"Moved: {what}, {when}", f"Your appointment has moved: {what} at {business} is now {when}."
    if kind == "cancelled":
        return f"Cancelled: {what}, {when}", f"Your appointment for {what} at {business}, {when}, is cancelled."
    if kind == "reminder":
        return f"Reminder: {what}, {when}", f"Reminder: your appointment for {what} at {business} is {when}."
    raise ValueError(f"unknown notice kind {kind!r}")


def _ics(session: Session, appt: Appointment, summary: str, description: str, cancelled: bool) -> str:
    try:  # the calendar sync's UID and sequence, so the mailed event and the synced one are the same event
        from backend.calendar.sync.common import appointment_event

        event = appointment_event(session, appt)
        uid, sequence = event.uid, event.sequence
    except Exception:  # pragma: no cover - sync module missing or broken: a stable UID of our own
        uid, sequence = f"appointment-{appt.id}@frontdesk.appointments", 0
    status = "CANCELLED" if cancelled else ("TENTATIVE" if appt.status == AppointmentStatus.PENDING else "CONFIRMED")
    return event_ics(uid=uid, summary=summary, starts_at=appt.starts_at, ends_at=appt.ends_at,
                     description=description, status=status, sequence=sequence,
                     method="CANCEL" if cancelled else "REQUEST")


def stage_notice(session: Session, appt: Appointment, kind: str, events: PendingEvents, *,
                 workspace: Workspace | None = None, service: Service | None = None, contact: Contact | None = None
                 ) -> Notice | None:
    """Within the caller's transaction: add the conversation message, and return what to send by mail/text
    afterwards (None when the contact has neither). Call `dispatch_notice` after the commit."""
    if appt.source == BLOCK_SOURCE:
        return None
    workspace = workspace or session.get(Workspace, appt.workspace_id)
    if service is None and appt.service_id:
        service = session.get(Service, appt.service_id)
    if contact is None and appt.contact_id:
        contact = session.get(Contact, appt.contact_id)
    what = (service.name if service else "") or appt.title or "your appointment"
    when = label_of(appt.starts_at.astimezone(get_zone(workspace.timezone)))
    subject, sentence = _sentences(kind, what, when, workspace.name)

    if appt.conversation_id is not None:
        conversation = session.get(Conversation, appt.conversation_id)
        if conversation is not None and conversation.workspace_id == appt.workspace_id:
            message = add_message(session, conversation, Sender.SYSTEM, content=sentence,
                                  meta={"appointment_id": appt.id, "appointment_notice": kind})
            record_in_conversation(session, conversation, message)
            events.message_created(appt.workspace_id, conversation.id, message.id, Sender.SYSTEM)

    email = (contact.email or "").strip() if contact else ""
    phone = (contact.phone or "").strip() if contact else ""
    if not email and not phone:
        return None
    ics = ""
    if email:
        description = f"{what} at {workspace.name}"
        ics = _ics(session, appt, f"{what} at {workspace.name}", description, cancelled=kind == "cancelled")
    greeting = f"Hello {contact.first_name}," if contact and contact.first_name else "Hello,"
    body = f"{greeting}\n\n{sentence}\n\n{workspace.name}\n"
    return Notice(appt.workspace_id, appt.id, kind, email, phone, f"{subject} ({workspace.name})"[:300], body,
                  f"{workspace.name}: {sentence}", ics)


def dispatch_notice(notice: Notice | None) -> None:
    """After the commit: queue the e-mail (with the .ics) and the text. Never raises into the caller."""
    if notice is None:
        return

    if notice.email:
        try:
            queue_email(notice.email, notice.subject, notice.body, workspace_id=notice.workspace_id,
                        attachments=[(ICS_FILENAME, "text/calendar", notice.ics.encode("utf-8"))])
        except Exception:
            log.warning("appointment %s: could not queue the %s e-mail to %s", notice.appointment_id, notice.kind,
                        notice.email, exc_info=True)
    if notice.phone:
        try:
            queue_sms(notice.phone, notice.sms, workspace_id=notice.workspace_id, subject=notice.subject)
        except Exception:
            log.warning("appointment %s: could not queue the %s text", notice.appointment_id, notice.kind,
                        exc_info=True)


def due_reminder_ids(session: Session, now: datetime, limit: int = 500) -> list[int]:
    rows = session.exec(
        select(Appointment.id, Appointment.starts_at, Workspace.reminder_lead_minutes)
        .join(Workspace, Workspace.id == Appointment.workspace_id)
        .where(Appointment.status == AppointmentStatus.CONFIRMED, Appointment.source != BLOCK_SOURCE,
               Appointment.reminder_sent_at.is_(None), Appointment.starts_at > now,
               Appointment.starts_at <= now + timedelta(minutes=MAX_LEAD_MINUTES),
               Workspace.reminder_lead_minutes > 0)
        .order_by(Appointment.starts_at)
        .limit(limit)
    ).all()
    return [appt_id for appt_id, starts_at, lead in rows if starts_at - timedelta(minutes=lead) <= now]


def send_reminder(appointment_id: int, now: datetime | None = None) -> bool:
    """Claim and send one reminder; False when someone else already did (or it no longer qualifies)."""
    now = now or utcnow()
    events = PendingEvents()
    with session_scope() as session:
        claimed = session.execute(
            update(Appointment)
            .where(Appointment.id == appointment_id, Appointment.reminder_sent_at.is_(None),
                   Appointment.status == AppointmentStatus.CONFIRMED, Appointment.starts_at > now)
            .values(reminder_sent_at=now),
            execution_options={"synchronize_session": False},
        ).rowcount
        if claimed != 1:
            return False
        appt = session.get(Appointment, appointment_id)
        notice = stage_notice(session, appt, "reminder", events)
    events.publish()
    dispatch_notice(notice)
    return True


@background_task("send_due_reminders")
def send_due_reminders(now: str | None = None, limit: int = 500) -> int:
    """Send every reminder that is due; returns how many this run sent. `now` (ISO) is for tests."""
    moment = datetime.fromisoformat(now) if isinstance(now, str) else (now or utcnow())
    with session_scope() as session:
        ids = due_reminder_ids(session, moment, limit)
    sent = 0
    for appointment_id in ids:
        try:
            sent += send_reminder(appointment_id, moment)
        except Exception:  # one bad row must not hold up the others; it is retried next minute only if unclaimed
            log.exception("reminder for appointment %s failed", appointment_id)
    return sent
