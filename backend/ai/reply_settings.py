"""How the assistant replies in a workspace: the policy and threshold the owner sets, and which engines answer."""

from __future__ import annotations

from urllib.parse import urlparse

from backend.ai.replies.persona import describe_instructions, parse_instructions
from backend.ai.replies.policy import HANDOFF_BELOW
from backend.db import session_scope
from backend.errors import NotFound, ServiceError
from backend.models import AuditEvent, Workspace
from backend.models.enums import ReplyPolicy
from backend.models.types import utcnow
from backend.settings import get_settings

POLICY_LABELS = {
    ReplyPolicy.ALWAYS_DRAFT.value: "Draft every reply for me to review",
    ReplyPolicy.AUTO_ABOVE_THRESHOLD.value: "Send when confident, draft otherwise",
    ReplyPolicy.ALWAYS_SEND.value: "Send every reply",
}


def get_reply_settings(workspace_id: int) -> dict:
    with session_scope() as session:
        ws = session.get(Workspace, workspace_id)
        if ws is None:
            raise NotFound("This workspace no longer exists.")
        policy, threshold, instructions = ws.reply_policy, float(ws.auto_send_threshold), ws.custom_instructions
        enabled = ws.ai_enabled
    s = get_settings()
    return {
        "ai_enabled": enabled,
        "reply_policy": policy,
        "auto_send_threshold": threshold,
        "llm": f"{s.llm_model} at {urlparse(s.llm_base_url).netloc or s.llm_base_url}" if s.llm_base_url else "",
        "speech": "OpenAI-compatible transcription" if s.stt_provider == "openai" else "Whisper tiny.en (built in)",
        "instructions_understood": _understood(instructions),
    }


def _understood(instructions: str) -> str:

    return describe_instructions(parse_instructions(instructions)) if instructions.strip() else ""


def update_reply_settings(workspace_id: int, *, reply_policy: str, auto_send_threshold: float | str,
                          ai_enabled: bool | None = None, user_id: int | None = None) -> dict:
    """`ai_enabled` False: the assistant neither answers nor drafts; customer messages wait for a person."""
    if reply_policy not in POLICY_LABELS:
        raise ServiceError("Choose how the assistant replies.", field="reply_policy")
    try:
        threshold = float(auto_send_threshold)
    except (TypeError, ValueError):
        raise ServiceError("The threshold is a number from 0 to 100 %.", field="auto_send_threshold") from None
    if threshold > 1:  # given as a percentage
        threshold /= 100
    if not HANDOFF_BELOW <= threshold <= 1:
        floor = f"{HANDOFF_BELOW:.0%}"
        raise ServiceError(f"Pick a threshold between {floor} and 100 %: under {floor} the assistant hands off "
                           "anyway.", field="auto_send_threshold")
    with session_scope() as session:
        ws = session.get(Workspace, workspace_id)
        if ws is None:
            raise NotFound("This workspace no longer exists.")
        ws.reply_policy, ws.auto_send_threshold, ws.updated_at = reply_policy, round(threshold, 2), utcnow()
        if ai_enabled is not None:
            ws.ai_enabled = bool(ai_enabled)
        session.add(AuditEvent(workspace_id=workspace_id, user_id=user_id, action="reply_policy.updated",
                               detail=f"{reply_policy} at {threshold:.0%}, "
                                      f"assistant {'on' if ws.ai_enabled else 'off'}"))
    return get_reply_settings(workspace_id)
