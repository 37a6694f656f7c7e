"""One customer message → the context fields it fills, each with a typed value, a confidence and its evidence.

    extract_context("Actually, make it three bedrooms", fields, now=now, timezone="America/Los_Angeles",
                    previous_turn="How many bedrooms do you need?")
    → [ExtractedValue(key="bedrooms", value=3, confidence=0.9, evidence="three bedrooms", start=18, end=32,
                      corrects=True)]

The order of reading: typed values (the entity extractor, then percent / duration / rating / address), options
named in the message, yes/no topics, numbers named by a field's words, the answer to what the assistant just
asked, a yes or no to its question (a "yes" to "Shall I book the 10th?" confirms the 10th: the value comes from
the assistant's words, the evidence is the customer's "yes"), options close in meaning, and free text. Then:
- a value inside a question about the thing on offer ("Is the rent $3,000?", "Do they allow dogs?") is the
  customer asking, not stating, and is dropped;
- one value per field: the most confident, the later one on a tie (people correct themselves as they go);
- `corrects` is set when the sentence carries a correction ("actually", "make it", "instead", "no, …", "not X")
  and the value differs from what was known.
Every value passes `fields.check_value`, as an LLM's would. Pure: no I/O but the embedder, which is injectable.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backend.ai.understanding.context_extraction import choices, spans, typed
from backend.ai.understanding.context_extraction.dialogue import (
    asked_fields,
    is_confirmation,
    questions,
    reply_polarity,
    sentences,
    yes_no_question,
)
from backend.ai.understanding.context_extraction.fields import ContextField, check_value
from backend.ai.understanding.context_extraction.typed import Found
from backend.ai.understanding.context_extraction.words import content_stems

log = logging.getLogger(__name__)

# Kinds whose value in a question about the offer is the customer asking, not stating.
_ASKING_KINDS = frozenset({"money", "boolean", "boolean_choice", "choice", "choice_number", "number", "count",
                           "rating", "percent", "multi_choice"})
# "Is the rent $3,000?", "Are dogs allowed?", "Does it come with parking?": asking about the offer. "Can you find…",
# "Is there one with…", "Do you have…" are requests, and what they name is wanted.
RE_INFO_QUESTION = re.compile(
    r"^\s*(?:and\s+)?(?:(?:and|so|also|ok(?:ay)?|great|thanks|nice|cool|hmm+|oh)[,.!\s]+)*(?:how\s+much|"
    r"how\s+\w+\s+(?:is|are|was|were|does|do)\b|"
    r"what(?:'s|\s+is|\s+are|\s+was)\s+(?:the|its|their)|"
    r"(?:is|are|was|were|does|do|did|has|have|will|would|can|could|should)\s+"
    r"(?!you\b|there\b|i\b|we\b|anyone\b|anything\b|any\b|someone\b|something\b|somebody\b|u\b|ya\b))", re.I)
RE_ASKING_SUBJECT = re.compile(r"\s*(?:and\s+)?(?:is|are|does|do|did|has|have|will|can)\s+(?:it|they|the|that|this|"
                               r"those|these)\b", re.I)
RE_ASKING_IF = re.compile(r"\b(?:tell\s+me|let\s+me\s+know|know|wonder(?:ing)?|check|find\s+out|ask|see)\s+"
                          r"(?:if|whether)\b", re.I)
RE_CORRECTION = re.compile(
    r"\b(?:actually|sorry|i\s+meant|i\s+mean|make\s+(?:it|that)|change\s+(?:it|that|this)?\s*to|instead|rather|"
    r"correction|on\s+second\s+thought|scratch\s+that|wait|i\s+said|let'?s\s+(?:make|change)|switch\s+(?:it\s+)?to|"
    r"not\s+\w+(?:\s+\w+)?\s*,?\s*but|changed?\s+my\s+mind)\b|^\s*no\s*[,.!]", re.I)
RE_DENIAL_BEFORE = re.compile(r"\b(?:not|n't|instead\s+of|rather\s+than)\s+(?:the\s+|a\s+|an\s+)?$", re.I)
CONFIRMED_CONFIDENCE = 0.85
YES_NO_CONFIDENCE = 0.85


@dataclass(frozen=True)
class ExtractedValue:
    key: str
    value: Any  # canonical JSON for the field's type (fields.check_value)
    confidence: float  # 0..1
    evidence: str  # message[start:end], exactly
    start: int
    end: int
    corrects: bool = False  # the customer corrects an earlier statement
    source: str = "rules"  # rules | confirmed (a yes to the assistant's proposal) | llm

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "value": self.value, "confidence": round(self.confidence, 4),
                "evidence": self.evidence, "start": self.start, "end": self.end, "corrects": self.corrects,
                "source": self.source}


def default_embed():
    """The packaged embedder through the shared vector cache, or None when it cannot load."""
    try:
        from backend.providers.embeddings import embed_cached, get_embedder

        embedder = get_embedder()
    except Exception:  # noqa: BLE001 - extraction works lexically without embeddings
        log.warning("context extraction runs without embeddings", exc_info=True)
        return None
    return lambda texts: embed_cached(embedder, list(texts))


_DEFAULT = object()


def extract_context(message: str, fields: Sequence[ContextField], *, now: datetime, timezone: str = "UTC",
                    phone_region: str = "US", requested: Sequence[str] = (), previous_turn: str = "",
                    known: dict[str, Any] | None = None, embed: Any = _DEFAULT) -> list[ExtractedValue]:
    """The values `message` gives for the AI-extractable `fields`, in the order of the fields.

    `now` is the message's moment (aware), `timezone` the business's zone; `requested` the keys the assistant
    just asked for (when empty, read from `previous_turn`, the assistant's last words); `known` the values the
    context already holds, to tell a correction from a first statement; `embed` texts → normalised vectors
    (default: the packaged MiniLM; None: lexical only)."""
    message = message or ""
    fields = [f for f in fields if f.ai_extract]
    if not message.strip() or not fields:
        return []
    if embed is _DEFAULT:
        embed = default_embed()
    kinds = {f.key: typed.kind_of(f) for f in fields}
    by_key = {f.key: f for f in fields}
    asked = [r for r in dict.fromkeys(requested) if r in by_key]
    if previous_turn:
        asked += [k for k in asked_fields(previous_turn, fields, kinds) if k not in asked]

    found = _read(message, fields, kinds, asked, now=now, timezone=timezone, phone_region=phone_region,
                  embed=embed)
    found += _answers_to_question(message, previous_turn, fields, kinds, {f.key for f in found}, asked,
                                  now=now, timezone=timezone, phone_region=phone_region, embed=embed)
    found = _drop_asked_about(message, found, kinds)
    return _one_per_field(message, found, by_key, known)


def _read(message: str, fields: list[ContextField], kinds: dict[str, str], asked: Sequence[str], *,
          now: datetime, timezone: str, phone_region: str, embed: Any, meaning: bool = True) -> list[Found]:
    found = typed.entity_values(message, fields, kinds, now=now, timezone=timezone, phone_region=phone_region,
                                asked=asked, embed=embed)
    found = [f for f in found if not RE_DENIAL_BEFORE.search(message[max(0, f.start - 16):f.start])]
    found += typed.other_typed_values(message, fields, kinds, asked)
    found += choices.choice_values(message, fields, kinds)
    found += choices.boolean_values(message, fields, kinds)
    numbered = typed.numbered_values(message, fields, kinds, [f for f in found if kinds[f.key] not in
                                                              ("count", "choice_number", "number")], asked)
    # the reading that names the field's words ("3 bedrooms") replaces the entity extractor's bare number
    mine = {(n.key, n.start) for n in numbered if kinds[n.key] != "money"} | \
        {(n.key, n.end) for n in numbered if kinds[n.key] != "money"}
    found = [f for f in found if (f.key, f.start) not in mine and (f.key, f.end) not in mine] + numbered
    answers = [n for n in numbered if n.meta.get("answer")]
    found = [f for f in found if f.meta.get("answer") or f.key in asked or
             not any(a.start < f.end and f.start < a.end for a in answers)]
    taken_spans = [(f.start, f.end) for f in found]
    filled = {f.key for f in found}
    found += choices.meaning_values(message, fields, kinds, filled, taken_spans, embed if meaning else None)
    found += spans.text_values(message, fields, kinds, asked, found, embed if meaning else None)
    return found


def _answers_to_question(message: str, previous_turn: str, fields: list[ContextField], kinds: dict[str, str],
                         filled: set[str], asked: Sequence[str], *, now: datetime, timezone: str,
                         phone_region: str, embed: Any) -> list[Found]:
    """A yes or a no to the assistant's yes/no question: yes/no fields it was about, and the values it proposed."""
    question = yes_no_question(previous_turn)
    if not question:
        return []
    polarity, ys, ye = reply_polarity(message)
    if polarity is None:
        return []
    out: list[Found] = []
    q_stems = set(content_stems(question))
    for f in fields:
        if kinds[f.key] not in ("boolean", "boolean_choice") or f.key in filled:
            continue
        core, described = choices.topic_stems(f)
        if (core or described) & q_stems or f.key in asked:
            value = choices.as_yes_no(f, polarity)
            if value is not None:
                out.append(Found(f.key, value, YES_NO_CONFIDENCE, ys, ye))
    if polarity and is_confirmation(question):
        proposal = _proposal(previous_turn, question, fields, kinds, now=now, timezone=timezone,
                             phone_region=phone_region, embed=embed)
        for p in proposal:
            if p.key in filled or kinds[p.key] in ("boolean", "boolean_choice"):
                continue
            out.append(Found(p.key, p.value, CONFIRMED_CONFIDENCE, ys, ye, source="confirmed"))
    return out


def _proposal(previous_turn: str, question: str, fields: list[ContextField], kinds: dict[str, str], *,
              now: datetime, timezone: str, phone_region: str, embed: Any) -> list[Found]:
    """The values the assistant's question proposed; a bare "Is that right?" confirms the whole turn."""
    at = previous_turn.find(question)
    for text in ((previous_turn[at:] if at >= 0 else question), previous_turn):
        found = _read(text, fields, kinds, (), now=now, timezone=timezone, phone_region=phone_region, embed=embed,
                      meaning=False)
        best: dict[str, Found] = {}
        for f in found:
            if f.key not in best or f.confidence > best[f.key].confidence:
                best[f.key] = f
        if best:
            return list(best.values())
    return []


def _drop_asked_about(message: str, found: list[Found], kinds: dict[str, str]) -> list[Found]:
    asking = []
    for text, s in sentences(message):
        # "Do you have their number and is there a lift?": each clause is asked on its own
        for clause in re.finditer(r"[^,;]+?(?=\s+and\s+(?=is|are|does|do|can|will|has)\b|[,;]|$)", text):
            c = clause.group(0)
            if RE_ASKING_IF.search(c) or (RE_INFO_QUESTION.match(c) and (
                    text.strip().endswith("?") or RE_ASKING_SUBJECT.match(c))):
                asking.append((s + clause.start(), s + clause.end()))
    if not asking:
        return found
    return [f for f in found if f.source != "rules" or kinds[f.key] not in _ASKING_KINDS or
            not any(a <= f.start < b for a, b in asking)]


def _one_per_field(message: str, found: list[Found], by_key: dict[str, ContextField],
                   known: dict[str, Any] | None) -> list[ExtractedValue]:
    corrections = [m.start() for m in RE_CORRECTION.finditer(message)]
    sentence_starts = [s for _t, s in sentences(message)] or [0]
    best: dict[str, Found] = {}
    for f in found:
        # a value after a correction cue in its sentence outranks the one it corrects
        sentence = max(s for s in sentence_starts if s <= f.start) if f.start >= sentence_starts[0] else 0
        cued = any(sentence <= c <= f.start for c in corrections)
        f.meta["cued"] = cued
        rank = (f.confidence + (0.05 if cued else 0.0), f.start)
        current = best.get(f.key)
        if current is None or rank >= (current.confidence + (0.05 if current.meta.get("cued") else 0.0),
                                       current.start):
            best[f.key] = f
    out: list[ExtractedValue] = []
    for key, f in best.items():
        spec = by_key[key]
        value, problem = check_value(spec, f.value)
        if problem:
            log.debug("dropped %s: %s", key, problem)
            continue
        corrects = bool(f.meta.get("cued")) or f.source == "confirmed"
        if known is not None:
            corrects = corrects and key in known and known[key] != value
        elif f.source == "confirmed":
            corrects = False
        out.append(ExtractedValue(key, value, round(max(0.0, min(1.0, f.confidence)), 4), message[f.start:f.end],
                                  f.start, f.end, corrects, f.source))
    order = {k: i for i, k in enumerate(by_key)}
    out.sort(key=lambda v: order[v.key])
    return out


__all__ = ["ExtractedValue", "extract_context", "questions"]
