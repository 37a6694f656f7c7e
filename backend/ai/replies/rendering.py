"""Saying it: a reply's pieces (opener, answer, caveats, the owner's lines, sign-off) joined in the personality's
voice, with at most one emoji and within the length the voice allows."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from backend.ai.replies.extractive import MAX_CHARS
from backend.ai.replies.persona import (
    Instructions,
    Role,
    Voice,
    expand_contractions,
    get_role,
    get_voice,
    parse_instructions,
    pick,
    role_caveats,
)
from backend.ai.types import Citation, ComposedReply, ComposeRequest

_ACK = re.compile(r"^(?:ok(?:ay)?|k|kk|cool|great|perfect|sure|alright|all right|got it|sounds good|fine|nice|"
                  r"awesome|noted|understood|👍|🙂|😊|👌)[.!\s]*$", re.I)
_ASKS_FOR_PERSON = re.compile(r"\b(?:human|person|someone|somebody|agent|staff|representative|operator|manager|"
                              r"owner|talk to|speak (?:to|with)|call me|call back|phone me|ring me)\b", re.I)


class _Context:
    def __init__(self, request: ComposeRequest) -> None:
        self.request = request
        self.persona = request.persona
        self.voice: Voice = get_voice(request.persona.personality)
        self.role: Role = get_role(request.persona.role)
        self.rules: Instructions = parse_instructions(request.persona.custom_instructions or "")
        self.key = " ".join(request.message.lower().split())
        name = (request.persona.assistant_name or "").strip() or "Ava"
        business = (request.persona.business_name or "").strip() or "our business"
        self.values = {"name": name, "business": business, "team": self.role.team, "help": self.role.help,
                       "booking": self.role.booking, "a_booking": self.role.a_booking,
                       "customers": self.role.customers}
        said = " ".join(t.text for t in request.history if t.sender in ("assistant", "owner"))
        self.said = _norm(said)

    @property
    def max_units(self) -> int:
        return min(self.voice.max_sentences, 2) if self.rules.brief else self.voice.max_sentences

    @property
    def max_chars(self) -> int:
        limit = min(self.voice.max_chars, MAX_CHARS)
        return min(limit, 360) if self.rules.brief else limit

    def say(self, template: str) -> str:
        return self.voice.say(template, **self.values).strip() if template else ""

    def voiced(self, text: str) -> str:
        """Text built around entity values, in the voice (no placeholders filled: values may hold braces)."""
        return text if self.voice.contractions else expand_contractions(text)

    def pick(self, options: Sequence[str], what: str) -> str:
        options = [o for o in options if not self.rules.forbidden_in(self.say(o))] or list(options)
        return self.say(pick(options, self.key, what, self.voice.key))

    def new(self, line: str) -> bool:
        """The line was not said earlier in the conversation."""
        return bool(line) and _norm(line) not in self.said


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


@dataclass
class _Draft:
    kind: str
    lead: list[str] = field(default_factory=list)  # urgent caveats: always first, never dropped
    greeting: str = ""  # the first reply's greeting (droppable)
    opener: str = ""  # droppable
    body: list[str] = field(default_factory=list)  # the answer, or the template
    items: bool = False  # body lines are list items, said one a line
    list_title: str = ""  # the heading said above list items ("Opening hours:")
    extra: list[str] = field(default_factory=list)  # caveats, conditional and always-add lines
    closer: str = ""  # droppable


def _render(ctx: _Context, draft: _Draft) -> str:
    limit = ctx.max_chars
    body = list(draft.body)
    greeting, opener, closer = draft.greeting, draft.opener, draft.closer
    extra = list(draft.extra)
    while True:
        text = _join(ctx, draft, greeting, opener, body, extra, closer)
        if len(text) <= limit:
            return text
        if closer:
            closer = ""
        elif opener:
            opener = ""
        elif greeting:
            greeting = ""
        elif len(body) > 1:
            body.pop()
        elif extra:
            extra.pop()
        else:
            return _truncate(text, limit)


def _join(ctx: _Context, draft: _Draft, greeting: str, opener: str, body: list[str], extra: list[str],
          closer: str) -> str:
    head = " ".join(p for p in [*draft.lead, greeting, opener] if p)
    if draft.items and len(body) > 1:
        title = f"{draft.list_title.rstrip(':')}:" if draft.list_title else ""
        main = "\n".join(p for p in [head, title] if p)
        main = (main + "\n" if main else "") + "\n".join(f"• {line}" for line in body)
        tail = " ".join(p for p in [*extra, closer] if p)
        text = main + ("\n" + tail if tail else "")
    else:
        text = " ".join(p for p in [head, *[_full_stop(b) for b in body], *extra, closer] if p)
    text = _finish_emoji(ctx, draft.kind, text)
    sign = _signature(ctx, text)
    if sign:
        text = f"{text}\n{sign}"
    return re.sub(r"[ \t]+", " ", text).strip()


def _full_stop(text: str) -> str:
    text = text.strip()
    bare = text.replace("{emoji}", "").strip()
    return text if not bare or re.search(r"[.!?…:][\"'”’)\]]*$", bare) else text + "."


def _finish_emoji(ctx: _Context, kind: str, text: str) -> str:
    emoji = ctx.voice.emoji
    allowed = bool(emoji) and kind in ctx.voice.emoji_kinds
    if ctx.rules.emoji is False:
        allowed = False
    elif ctx.rules.emoji is True and kind not in ("handoff", "fallback"):
        allowed, emoji = True, emoji or "🙂"
    if allowed and "{emoji}" in text:
        text = text.replace("{emoji}", " " + emoji, 1)
    return text.replace("{emoji}", "")


def _signature(ctx: _Context, text: str) -> str:
    if ctx.rules.sign_off:
        return "" if _norm(ctx.rules.sign_off) in _norm(text) else ctx.rules.sign_off
    name = ctx.values["name"]
    if ctx.voice.sign_with_name and not re.search(rf"\b{re.escape(name)}\b", text):
        return f"— {name}"
    return ""


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    for mark in (". ", "; ", ", ", " "):
        at = cut.rfind(mark)
        if at > limit // 2:
            return cut[:at].rstrip(",;") + ("." if mark == ". " else "…")
    return cut + "…"


def _first_greeting(ctx: _Context) -> str:
    """What the first reply opens with: the owner's greeting, else the voice's own (none for "concise")."""
    if not ctx.request.first_reply:
        return ""
    if ctx.rules.greeting:
        return ctx.rules.greeting
    return ctx.say(ctx.voice.first_line)


def _extras(ctx: _Context, *, always: bool) -> tuple[list[str], list[str]]:
    """(urgent caveats, other lines): role caveats, the owner's conditional lines and, with `always`, the
    always-add lines; each said once per conversation."""
    caveats = role_caveats(ctx.role, ctx.request.message, timezone=ctx.persona.timezone)
    urgent_texts = {c.text.format(emergency="") for c in ctx.role.caveats if c.urgent}
    lead, extra = [], []
    for line in caveats:
        is_urgent = any(_norm(line).startswith(_norm(u)[:30]) for u in urgent_texts)
        if is_urgent:
            lead.append(line)  # an emergency line is said every time it applies
        elif ctx.new(line):
            extra.append(line)
    for cond in ctx.rules.conditional:
        if cond.applies(ctx.request.message) and ctx.new(cond.line):
            extra.append(cond.line)
    if always:
        extra.extend(line for line in ctx.rules.always_add if ctx.new(line))
    return lead, list(dict.fromkeys(extra))


def _reply(ctx: _Context, draft: _Draft, confidence: float, *, citations: Sequence[Citation] = (),
           answered: bool = True) -> ComposedReply:
    return ComposedReply(text=_render(ctx, draft), confidence=round(max(0.0, min(1.0, confidence)), 4),
                         citations=tuple(citations), answered=answered, kind=draft.kind, provider="embedded")


def _template_confidence(ctx: _Context) -> float:
    """A template says nothing that could be wrong; how sure it is depends on the intent being right."""
    return min(0.98, 0.5 + 0.5 * max(0.0, min(1.0, ctx.request.intent.confidence)))
