"""The business profile, its assistant settings and its portal link."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlmodel import select

from backend.core.names import clean_name
from backend.db import session_scope
from backend.errors import NotFound, ServiceError
from backend.models import AuditEvent, Workspace
from backend.models.enums import AI_PERSONALITY_LABELS, AI_ROLE_LABELS, ReplyPolicy
from backend.models.types import utcnow
from backend.settings import get_settings
from backend.workspaces.portal import check_portal_open
from backend.workspaces.slugs import random_slug


@dataclass(frozen=True)
class WorkspaceProfile:
    id: int
    name: str
    slug: str
    industry: str
    occupation: str
    ai_role: str
    ai_personality: str
    assistant_name: str
    custom_instructions: str
    timezone: str
    reply_policy: str
    welcome_message: str
    portal_url: str
    onboarded: bool

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class PublicWorkspace:
    """What a customer may see of a business on its portal."""

    name: str
    slug: str
    assistant_name: str
    welcome_message: str
    timezone: str


def _profile(ws: Workspace) -> WorkspaceProfile:
    return WorkspaceProfile(
        id=ws.id,
        name=ws.name,
        slug=ws.slug,
        industry=ws.industry,
        occupation=ws.occupation,
        ai_role=ws.ai_role,
        ai_personality=ws.ai_personality,
        assistant_name=ws.assistant_name,
        custom_instructions=ws.custom_instructions,
        timezone=ws.timezone,
        reply_policy=ws.reply_policy,
        welcome_message=ws.welcome_message,
        portal_url=get_settings().portal_url(ws.slug),
        onboarded=ws.onboarded_at is not None,
    )


def common_timezones() -> list[str]:
    return sorted(tz for tz in available_timezones() if "/" in tz and not tz.startswith(("Etc/", "SystemV/")))


def get_profile(workspace_id: int) -> WorkspaceProfile:
    with session_scope() as session:
        ws = session.get(Workspace, workspace_id)
        if ws is None:
            raise NotFound("This workspace no longer exists.")
        return _profile(ws)


def _check_choice(value: str, choices: dict[str, str], label: str, field: str) -> str:
    if value not in choices:
        raise ServiceError(f"Choose a {label} from the list.", field=field)
    return value


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ServiceError("Choose a valid time zone, e.g. Europe/Paris.", field="timezone") from None
    return value


def update_profile(
    workspace_id: int,
    *,
    name: str,
    industry: str = "",
    occupation: str = "",
    ai_role: str,
    ai_personality: str,
    assistant_name: str,
    custom_instructions: str = "",
    timezone: str,
    welcome_message: str = "",
    reply_policy: str | None = None,
    user_id: int | None = None,
) -> WorkspaceProfile:
    """Validate everything first, then write once: a bad field changes nothing."""
    cleaned = {
        "name": clean_name(name, "your business name", "name", 120),
        "industry": clean_name(industry, "the industry", "industry", 80, required=False),
        "occupation": clean_name(occupation, "your occupation", "occupation", 80, required=False),
        "ai_role": _check_choice(ai_role, AI_ROLE_LABELS, "role", "ai_role"),
        "ai_personality": _check_choice(ai_personality, AI_PERSONALITY_LABELS, "personality", "ai_personality"),
        "assistant_name": clean_name(assistant_name, "a name for your assistant", "assistant_name", 60),
        "timezone": _check_timezone(timezone),
    }
    instructions = (custom_instructions or "").strip()
    if len(instructions) > 4000:
        raise ServiceError("Custom instructions can be at most 4,000 characters.", field="custom_instructions")
    welcome = (welcome_message or "").strip()
    if len(welcome) > 500:
        raise ServiceError("The welcome line can be at most 500 characters.", field="welcome_message")
    if reply_policy is not None and reply_policy not in {p.value for p in ReplyPolicy}:
        raise ServiceError("Choose a reply policy from the list.", field="reply_policy")

    with session_scope() as session:
        ws = session.get(Workspace, workspace_id)
        if ws is None:
            raise NotFound("This workspace no longer exists.")
        for key, value in cleaned.items():
            setattr(ws, key, value)
        ws.custom_instructions = instructions
        ws.welcome_message = welcome
        if reply_policy is not None:
            ws.reply_policy = reply_policy
        ws.updated_at = utcnow()
        if ws.onboarded_at is None:
            ws.onboarded_at = ws.updated_at
        session.add(AuditEvent(workspace_id=ws.id, user_id=user_id, action="profile.updated"))
        session.flush()
        return _profile(ws)


def regenerate_slug(workspace_id: int, user_id: int | None = None) -> WorkspaceProfile:
    """A new portal link; the old one stops working at once (e.g. after it leaked)."""
    with session_scope() as session:
        ws = session.get(Workspace, workspace_id)
        if ws is None:
            raise NotFound("This workspace no longer exists.")
        old = ws.slug
        ws.slug = random_slug(session, ws.name)
        ws.updated_at = utcnow()
        session.add(AuditEvent(workspace_id=ws.id, user_id=user_id, action="portal.slug_regenerated", detail=old))
        session.flush()
        return _profile(ws)


def get_public_workspace(slug: str) -> PublicWorkspace:
    slug = (slug or "").strip().lower()
    with session_scope() as session:
        ws = session.exec(select(Workspace).where(Workspace.slug == slug)).first() if slug else None
        check_portal_open(ws)
        return PublicWorkspace(
            name=ws.name,
            slug=ws.slug,
            assistant_name=ws.assistant_name,
            welcome_message=ws.welcome_message
            or f"Hi! I'm {ws.assistant_name}, {ws.name}'s assistant. How can I help you today?",
            timezone=ws.timezone,
        )
