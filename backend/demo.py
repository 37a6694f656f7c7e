"""A realistic demo business so a newcomer sees a working product on first run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta

from sqlmodel import select

from backend.accounts.service import sign_up
from backend.ai.custom_intents import save_custom_intent
from backend.calendar.booking import book_appointment
from backend.db import session_scope
from backend.kb.documents import add_faq
from backend.models import (
    AvailabilitySlot,
    BusinessRule,
    Contact,
    ContextField,
    ContextSchema,
    Conversation,
    Membership,
    Message,
    Notification,
    Service,
    User,
    Workspace,
)
from backend.models.types import utcnow
from backend.settings import get_settings
from backend.workspaces.service import update_profile

DEMO_SLUG = "bright-smile-dental"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    portal_url: str
    created: bool


def demo_login() -> DemoLogin | None:
    """The demo owner's login and current portal link, if the demo business exists."""
    settings = get_settings()
    with session_scope() as session:
        user = session.exec(select(User).where(User.email == settings.demo_email)).first()
        if user is None:
            return None
        membership = session.exec(select(Membership).where(Membership.user_id == user.id)).first()
        ws = session.get(Workspace, membership.workspace_id) if membership else None
        slug = ws.slug if ws else DEMO_SLUG
        return DemoLogin(settings.demo_email, settings.demo_password, settings.portal_url(slug), False)


def seed_demo() -> DemoLogin:
    """Idempotent: a second run finds the demo owner and only reports the login."""
    settings = get_settings()
    existing = demo_login()
    if existing is not None:
        return existing

    result = sign_up(
        email=settings.demo_email,
        password=settings.demo_password,
        full_name="Maya Chen",
        business_name="Bright Smile Dental",
    )
    profile = update_profile(
        result.workspace_id,
        name="Bright Smile Dental",
        industry="Healthcare",
        occupation="Dentist",
        ai_role="medical",
        ai_personality="friendly",
        assistant_name="Ava",
        custom_instructions=(
            "Greet patients warmly. Never give a diagnosis or medical advice in the chat: offer a visit instead. "
            "For tooth pain with swelling or fever, tell them to call us at (555) 010-2030 right away."
        ),
        timezone="America/New_York",
        welcome_message="Hi! I'm Ava from Bright Smile Dental. Ask me anything or book a visit.",
        user_id=result.user_id,
    )
    _seed_business(result.workspace_id, result.user_id)
    _seed_knowledge(result.workspace_id, result.user_id)
    _seed_appointments(result.workspace_id)
    return DemoLogin(settings.demo_email, settings.demo_password, profile.portal_url, True)


def _seed_business(workspace_id: int, user_id: int) -> None:
    now = utcnow()
    with session_scope() as s:
        for name, minutes, price, description in [
            ("Check-up & cleaning", 45, 12000, "Exam, x-rays when due, scale and polish."),
            ("Teeth whitening", 60, 35000, "In-office whitening, one session."),
            ("Emergency visit", 30, 9000, "Same-day visit for pain or a broken tooth."),
        ]:
            s.add(Service(workspace_id=workspace_id, name=name, duration_minutes=minutes, price_cents=price,
                          description=description, buffer_after_minutes=10))
        for weekday in range(5):
            s.add(AvailabilitySlot(workspace_id=workspace_id, weekday=weekday, start_time=time(9), end_time=time(12)))
            s.add(AvailabilitySlot(workspace_id=workspace_id, weekday=weekday, start_time=time(13), end_time=time(18)))
        s.add(AvailabilitySlot(workspace_id=workspace_id, weekday=5, start_time=time(9), end_time=time(13)))

        schema = ContextSchema(
            workspace_id=workspace_id,
            name="Patient intake",
            statuses=[
                {"key": "new", "label": "New", "terminal": False},
                {"key": "qualified", "label": "Qualified", "terminal": False},
                {"key": "booked", "label": "Booked", "terminal": False},
                {"key": "closed", "label": "Closed", "terminal": True},
            ],
            transitions={"new": ["qualified", "closed"], "qualified": ["booked", "closed"], "booked": ["closed"]},
        )
        s.add(schema)
        s.flush()
        for ordinal, (key, label, ftype, desc) in enumerate([
            ("reason", "Reason for visit", "text", "Why the patient wants to come in"),
            ("insurance", "Insurance provider", "text", "The patient's dental insurance, if any"),
            ("preferred_date", "Preferred date", "date", "When the patient would like to come"),
            ("new_patient", "New patient", "boolean", "Whether they have visited before"),
        ]):
            s.add(ContextField(workspace_id=workspace_id, schema_id=schema.id, key=key, label=label,
                               field_type=ftype, description=desc, ordinal=ordinal))
        s.add(BusinessRule(
            workspace_id=workspace_id,
            name="Urgent pain goes to a person",
            description="When a patient mentions swelling or severe pain, hand off and notify the owner.",
            trigger="message_received",
            conditions={"or": [{"field": "message.text", "op": "contains", "value": "swelling"},
                               {"field": "message.text", "op": "contains", "value": "severe pain"}]},
            actions=[{"type": "handoff"}, {"type": "notify", "title": "Urgent patient message"}],
        ))

        conversations = [
            ("+12125550147", "Jordan", "Reyes", [
                ("customer", "Hi, do you take Delta Dental insurance?", 50),
                ("assistant", "Hi Jordan! Yes, we're in network with Delta Dental PPO. Would you like to book a "
                              "check-up?", 49),
                ("customer", "Yes please, next Tuesday morning if possible.", 47),
            ], "open", "Insurance question and check-up"),
            ("+12125550199", "Priya", "Natarajan", [
                ("customer", "How much is teeth whitening?", 300),
                ("assistant", "In-office whitening is $350 for one session of about an hour. Want me to find a "
                              "time for you?", 299),
                ("customer", "Thanks, I'll think about it!", 290),
            ], "resolved", "Whitening price"),
            ("+16465550123", "Sam", "O'Connor", [
                ("customer", "My crown came off last night, can someone see me today?", 12),
            ], "pending", "Crown came off"),
        ]
        for phone, first, last, messages, status, title in conversations:
            contact = Contact(workspace_id=workspace_id, phone=phone, first_name=first, last_name=last,
                              last_seen_at=now - timedelta(minutes=messages[-1][2]))
            s.add(contact)
            s.flush()
            convo = Conversation(workspace_id=workspace_id, contact_id=contact.id, status=status, title=title,
                                 created_at=now - timedelta(minutes=messages[0][2]))
            s.add(convo)
            s.flush()
            for sender, text, minutes_ago in messages:
                s.add(Message(workspace_id=workspace_id, conversation_id=convo.id, sender=sender, content=text,
                              ai_generated=sender == "assistant", status="read",
                              created_at=now - timedelta(minutes=minutes_ago)))
            convo.last_message_at = now - timedelta(minutes=messages[-1][2])
            convo.last_message_preview = messages[-1][1][:200]
            convo.unread_for_owner = 1 if messages[-1][0] == "customer" and status != "resolved" else 0
            if status == "resolved":
                convo.resolved_at = convo.last_message_at
            if status == "pending":
                s.add(Notification(workspace_id=workspace_id, user_id=user_id, kind="handoff",
                                   title=f"{first} asked for a person", body=messages[-1][1][:200],
                                   conversation_id=convo.id, link=f"/dashboard/inbox?c={convo.id}"))


DEMO_FAQ = [
    ("What are your opening hours?",
     "We are open Monday to Friday 9am to 12pm and 1pm to 6pm, and Saturday 9am to 1pm. We are closed on Sundays."),
    ("Which insurance do you accept?",
     "We are in network with Delta Dental PPO, Cigna and Aetna. We also accept most other PPO plans as out of "
     "network. Bring your insurance card to every visit."),
    ("How much is a check-up and cleaning?",
     "A check-up with cleaning costs $120 without insurance and takes about 45 minutes."),
    ("How much is teeth whitening?", "In-office teeth whitening is $350 for one session of about an hour."),
    ("Where can I park?", "Free parking is behind the building; the entrance is on Maple Street."),
    ("What is your cancellation policy?",
     "Please cancel or reschedule at least 24 hours ahead. Late cancellations are charged $40."),
    ("Do you see children?", "Yes, we see children from age 3. A child's check-up costs $80."),
]
DEMO_INTENTS = [
    ("insurance_question", "Questions about dental insurance coverage", [
        "Do you take my insurance?", "Is Delta Dental accepted?", "Are you in network with Cigna?",
        "Will my insurance cover a cleaning?", "Do you accept Aetna PPO?",
    ]),
]


def _seed_knowledge(workspace_id: int, user_id: int) -> None:
    """Questions and answers the demo assistant answers from, and one intent of the practice's own. The
    documents are processed in the background; the CLI waits for them before it exits."""

    for question, answer in DEMO_FAQ:
        add_faq(workspace_id, question, answer, user_id=user_id)
    for name, description, examples in DEMO_INTENTS:
        save_custom_intent(workspace_id, name=name, examples=examples, description=description)


def _seed_appointments(workspace_id: int) -> None:
    """A few bookings on the coming weekdays, so the calendar shows a working week."""
    from datetime import datetime
    from zoneinfo import ZoneInfo


    with session_scope() as s:
        services = {sv.name: sv.id for sv in s.exec(select(Service).where(Service.workspace_id == workspace_id))}
        contacts = {c.first_name: c.id for c in s.exec(select(Contact).where(Contact.workspace_id == workspace_id))}
    zone = ZoneInfo("America/New_York")
    day = utcnow().astimezone(zone).date()
    plans = [(1, 10, "Check-up & cleaning", "Jordan"), (2, 14, "Teeth whitening", "Priya"),
             (3, 9, "Emergency visit", "Sam")]
    for offset, hour, service, first_name in plans:
        when = day + timedelta(days=offset)
        while when.weekday() > 4:  # the demo practice books on weekdays
            when += timedelta(days=1)
        book_appointment(workspace_id, service_id=services[service], contact_id=contacts.get(first_name),
                         starts_at=datetime.combine(when, time(hour), tzinfo=zone), source="owner")
