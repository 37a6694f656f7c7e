"""What the assistant does with a reply it wrote: send it, leave it as a draft for the owner, or hand off.

The order of the checks is the policy, read top to bottom:
1. the customer asked for a person, or complains → hand off (the owner is notified, the customer told a person
   will answer, and the assistant steps back in that conversation: it only drafts until the owner resumes it);
2. a person has taken over the conversation → draft only;
3. the documents did not answer, or the reply's confidence is under HANDOFF_BELOW → hand off this question (the
   owner is notified, the customer told a person will answer) while the assistant stays on for the next ones;
4. the workspace's reply policy: always draft; always send; or send at/above its threshold, else draft.
Under "always draft" even a hand-off is only drafted: the owner asked to see everything before it goes out.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.ai.types import ComposedReply, IntentResult
from backend.models.enums import ReplyPolicy

SEND, DRAFT, HANDOFF = "send", "draft", "handoff"
ACTIONS = (SEND, DRAFT, HANDOFF)
HANDOFF_INTENTS = {"human": "the customer asked for a person", "complaint": "the customer has a complaint"}
HANDOFF_BELOW = 0.3  # a reply this unsure is worse than "a person will answer"
# Intent confidence under which a hand-off intent is not trusted alone (a lukewarm "complaint" guess must not
# take the conversation away from the assistant).
HANDOFF_INTENT_MIN_CONFIDENCE = 0.5


@dataclass(frozen=True)
class Decision:
    action: str  # send | draft | handoff
    reason: str  # in words, for the owner: why this action
    deliver: bool  # the reply text goes to the customer now (send, or a hand-off notice not held as a draft)
    pause_ai: bool = False  # the conversation now waits for a person


def decide(*, intent: IntentResult, reply: ComposedReply, reply_policy: str, auto_send_threshold: float,
           ai_paused: bool = False) -> Decision:
    always_draft = reply_policy == ReplyPolicy.ALWAYS_DRAFT
    if intent.name in HANDOFF_INTENTS and intent.confidence >= HANDOFF_INTENT_MIN_CONFIDENCE and not ai_paused:
        return _handoff(HANDOFF_INTENTS[intent.name], always_draft, pause_ai=True)
    if ai_paused:
        return Decision(DRAFT, "a person has taken over this conversation", deliver=False)
    if not reply.answered:
        return _handoff("the documents do not answer this", always_draft)
    if reply.confidence < HANDOFF_BELOW:
        return _handoff(f"low confidence ({reply.confidence:.0%})", always_draft)
    if always_draft:
        return Decision(DRAFT, "the workspace reviews every reply", deliver=False)
    if reply_policy == ReplyPolicy.ALWAYS_SEND:
        return Decision(SEND, "the workspace sends every reply", deliver=True)
    if reply.kind == "booking" and reply.confidence >= auto_send_threshold:
        return Decision(SEND, "the booking dialog answered from the calendar", deliver=True)
    if reply.confidence >= auto_send_threshold:
        return Decision(SEND, f"confidence {reply.confidence:.0%} ≥ threshold {auto_send_threshold:.0%}",
                        deliver=True)
    return Decision(DRAFT, f"confidence {reply.confidence:.0%} < threshold {auto_send_threshold:.0%}",
                    deliver=False)


def may_send(*, intent: IntentResult, confidence_ceiling: float, reply_policy: str, auto_send_threshold: float,
             ai_paused: bool = False) -> bool:
    """Before the reply is written: could `decide` still send it? `confidence_ceiling` is the most confidence the
    reply can get from what it will be written from. Only then may the customer watch it being written (an LLM's
    streamed text): a reply that will be a draft or a hand-off must never show in their chat, even for a moment."""
    if ai_paused or reply_policy == ReplyPolicy.ALWAYS_DRAFT:
        return False
    if intent.name in HANDOFF_INTENTS and intent.confidence >= HANDOFF_INTENT_MIN_CONFIDENCE:
        return False
    if confidence_ceiling < HANDOFF_BELOW:
        return False
    return reply_policy == ReplyPolicy.ALWAYS_SEND or confidence_ceiling >= auto_send_threshold


def _handoff(reason: str, always_draft: bool, pause_ai: bool = False) -> Decision:
    return Decision(HANDOFF, reason, deliver=not always_draft, pause_ai=pause_ai)
