""""Try your assistant": what the AI would answer to a message, and why, without storing or sending anything."""

from __future__ import annotations

from typing import Any, Sequence

from backend.ai.engine import respond
from backend.ai.pipeline import engine_config
from backend.ai.types import Turn
from backend.errors import NotFound, ServiceError
from backend.db import session_scope
from backend.models import Workspace
from backend.models.types import utcnow

MAX_CHARS = 2000


def try_message(workspace_id: int, text: str, history: Sequence[dict] = (), *, use_llm: bool = True
                ) -> dict[str, Any]:
    """`history`: earlier playground turns [{"sender": "customer"|"assistant", "text"}], oldest first."""
    from backend.ai.intents import classifier_for_workspace
    from backend.ai.retrieval import retrieve
    from backend.providers.llm import get_llm

    text = " ".join((text or "").replace("\x00", " ").split(" ")).strip()
    if not text:
        raise ServiceError("Type a message a customer might send.", field="message")
    if len(text) > MAX_CHARS:
        raise ServiceError(f"Keep the message under {MAX_CHARS:,} characters.", field="message")
    with session_scope() as session:
        workspace = session.get(Workspace, workspace_id)
        if workspace is None:
            raise NotFound("This workspace no longer exists.")
        config = engine_config(workspace)
    turns = [Turn(sender=str(t.get("sender", "customer")), text=str(t.get("text", ""))) for t in history
             if str(t.get("text", "")).strip()]
    result = respond(
        config, text, now=utcnow(), history=turns,
        classify=classifier_for_workspace(workspace_id).classify,
        retrieve=lambda q, intent: retrieve(workspace_id, q, intent),
        llm=get_llm() if use_llm else None,
    )
    out = result.as_dict()
    out["answer"] = result.answer.as_dict() if result.answer is not None else None
    out["text"] = text
    return out
