""""Try your assistant": what the AI would answer to a message, and why, without storing or sending anything.

Booking messages go through the same booking dialog as a real conversation, reading the real free times, as a
dry run: it offers times and asks what it would ask, but books, moves and cancels nothing (the result's
`booking_preview` says what it would have done). The dialog's memory between try-out turns is the
`assistant_state` the caller passes back in. With an LLM configured, a real conversation books through the
model's tool calls; the try-out shows the embedded dialog, which is also what answers when the model fails.
"""

from __future__ import annotations

from typing import Any, Sequence

from backend.ai.classifiers import classifier_for_workspace
from backend.ai.dialogs import booking as booking_dialog
from backend.ai.engine import respond
from backend.ai.pipeline import engine_config
from backend.ai.retrieval import retrieve
from backend.ai.types import Turn
from backend.db import session_scope
from backend.errors import NotFound, ServiceError
from backend.models import Workspace
from backend.models.types import utcnow

MAX_CHARS = 2000


def try_message(workspace_id: int, text: str, history: Sequence[dict] = (), *, use_llm: bool = True,
                assistant_state: dict[str, Any] | None = None) -> dict[str, Any]:
    """`history`: earlier playground turns [{"sender": "customer"|"assistant", "text"}], oldest first;
    `assistant_state`: what the previous try-out turn returned as such ({} to start)."""
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
    state = dict(assistant_state or {})
    now = utcnow()
    dialog_out: list[booking_dialog.DialogReply] = []

    def dialog(intent, entities):
        if not booking_dialog.wants_dialog(intent, state, text, now):
            return None
        # No customer behind a try-out, so nothing private to keep: it talks as to one who entered the code.
        ctx = booking_dialog.DialogContext(workspace_id, None, None, config.persona.timezone, now, dry_run=True,
                                           verified=True)
        dialog_out.append(booking_dialog.handle(ctx, text, intent, entities, state))
        return dialog_out[0].composed()

    result = respond(
        config, text, now=now, history=turns, requested=booking_dialog.requested_fields(state, now),
        classify=classifier_for_workspace(workspace_id).classify,
        retrieve=lambda q, intent: retrieve(workspace_id, q, intent),
        llm=get_llm() if use_llm else None, dialog=dialog,
    )
    out = result.as_dict()
    out["answer"] = result.answer.as_dict() if result.answer is not None else None
    out["text"] = text
    out["choices"] = list(result.reply.choices)
    out["booking_preview"] = dialog_out[0].preview if dialog_out else ""
    # Another kind of message leaves a booking in progress as it was, as in a real conversation.
    out["assistant_state"] = booking_dialog.stamp(dialog_out[0].state, now) if dialog_out else state
    return out
