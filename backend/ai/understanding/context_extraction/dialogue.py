"""What the assistant's previous turn did, and how the customer answered it.

- `asked_fields`: the fields its questions asked for ("How many bedrooms do you need?" → the bedrooms field),
  read from the question's words against each field's key, label, description and options.
- `yes_no_question`: the last question when it is a yes/no one ("Shall I book the 10th?", "Do you need parking?").
- `reply_polarity`: whether the customer's message opens with a yes or a no, and the words that say it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from backend.ai.understanding.context_extraction.fields import ContextField
from backend.ai.understanding.context_extraction.words import content_stems, field_heads, field_words, stem, tokens

RE_SENTENCE = re.compile(r"[^.?!\n]+[.?!]*")
_ASK_OPENERS = re.compile(r"^\s*(?:please\s+)?(?:tell\s+me|let\s+me\s+know|say|give\s+me|provide|specify|confirm|"
                          r"choose|pick|select|enter)\b", re.I)
_YES_NO_OPENERS = re.compile(r"^\s*(?:(?:and|so|ok(?:ay)?|great|sure|also|then|alright|perfect|now)[,\s]+)*"
                             r"(?:do|does|did|is|are|was|were|will|would|shall|should|can|could|may|have|has|had|"
                             r"want|need|is\s+that|are\s+you|please\s+confirm|just\s+to\s+confirm|to\s+confirm|"
                             r"confirm(?:ing)?)\b", re.I)
_CONFIRM = re.compile(r"\b(?:confirm|correct|right\?|is\s+that\s+(?:ok|okay|alright|fine|good)|shall\s+i|should\s+i|"
                      r"do\s+you\s+want\s+me\s+to|would\s+you\s+like\s+(?:me\s+to|to\s+(?:book|reserve|schedule|"
                      r"make|go|proceed|set))|how\s+about|what\s+about|does\s+that\s+(?:work|suit)|works?\s+for\s+you|"
                      r"want\s+(?:that|this|it)|is\s+that\s+what)\b", re.I)
# The kind of answer a wh-question expects: fields of that kind are the likely ones.
_EXPECTS = (
    (re.compile(r"\bhow\s+many\b", re.I), {"number", "count", "choice_number"}),
    (re.compile(r"\bhow\s+much\b|\bbudget\b|\bprice\b", re.I), {"money", "number"}),
    (re.compile(r"\bwhat\s+time\b|\bwhen\b|\bwhat\s+hour\b", re.I), {"time", "datetime", "date"}),
    (re.compile(r"\bwhat\s+(?:day|date)\b|\bwhich\s+(?:day|date)\b|\bwhen\b", re.I), {"date", "datetime"}),
    (re.compile(r"\bwhere\b|\bwhich\s+(?:city|area|town|neighbou?rhood|location)\b", re.I), {"location"}),
    (re.compile(r"\bwho\b|\bwhom\b|\bwhose\b|\bname\b", re.I), {"person_name", "first_name", "last_name", "name"}),
    (re.compile(r"\be-?mail\b", re.I), {"email"}),
    (re.compile(r"\bphone\b|\bnumber\s+to\s+reach\b|\bcall\s+you\b", re.I), {"phone"}),
    (re.compile(r"\bhow\s+long\b", re.I), {"duration"}),
)

YES_WORDS = (r"yes|yeah|yea|yep|yup|ya|sure|certainly|absolutely|definitely|of\s+course|correct|right|exactly|"
             r"ok(?:ay)?|alright|all\s+right|fine|perfect|great|sounds\s+(?:good|great|fine|perfect)|that\s+works|"
             r"works\s+for\s+me|please\s+do|go\s+ahead|do\s+it|confirmed?|affirmative|that'?s\s+(?:right|correct|"
             r"fine|good|great|perfect)|that\s+is\s+(?:right|correct|fine|good)|i\s+do|i\s+would|it\s+is|"
             r"yes\s+please|please|i\s+(?:want|need)\s+(?:it|that|one)|(?:that\s+)?suits(?:\s+me)?|"
             r"(?:that|it)\s+(?:would|will|'d|'ll)\s+(?:be\s+(?:great|good|fine|perfect|nice)|work|do)|"
             r"that'?s\s+(?:all\s+)?(?:right|ok(?:ay)?|it)|nice|cool|awesome|excellent|wonderful|lovely|good|"
             r"make\s+it\s+so|let'?s\s+do\s+(?:it|that)|book\s+it|do\s+that|i\s+agree|agreed|exactly\s+right")
NO_WORDS = (r"no|nope|nah|not\s+really|not\s+at\s+all|negative|i\s+don'?t|i\s+do\s+not|don'?t|we\s+don'?t|"
            r"no\s+thanks?|no\s+thank\s+you|not\s+necessary|not\s+needed|no\s+need|never\s+mind|that'?s\s+wrong|"
            r"that\s+is\s+wrong|incorrect|wrong|i\s+won'?t|we\s+won'?t|not\s+(?:that|this)")
RE_YES = re.compile(rf"^\s*(?P<w>(?:{YES_WORDS})\b(?:[\s,]+(?:{YES_WORDS})\b)*)(?!\s+(?:but|though)\b)", re.I)
RE_NO = re.compile(rf"^\s*(?P<w>(?:{NO_WORDS})\b)", re.I)


def sentences(text: str) -> list[tuple[str, int]]:
    return [(m.group(0), m.start()) for m in RE_SENTENCE.finditer(text or "") if m.group(0).strip()]


def questions(text: str) -> list[str]:
    """The sentences of the assistant's turn that ask something."""
    out = []
    for s, _start in sentences(text):
        st = s.strip()
        if st.endswith("?") or _ASK_OPENERS.match(st) or _CONFIRM.search(st):
            out.append(st)
    return out


def kind_group(kind: str, f: ContextField) -> set[str]:
    """The answer kinds a field takes, as `_EXPECTS` names them."""
    out = {kind}
    if kind in ("choice",) and f.options and all(re.fullmatch(r"\d+", o) for o in f.options):
        out.add("choice_number")
    if kind in ("first_name", "last_name", "person_name", "name"):
        out.add("person_name")
    return out


def asked_fields(previous_turn: str, fields: Sequence[ContextField], kinds: dict[str, str]) -> list[str]:
    """Keys of the fields the assistant's previous turn asked for, best first."""
    scores: dict[str, float] = {}
    groups: dict[str, int] = {}
    for f in fields:
        for g in kind_group(kinds.get(f.key, "text"), f):
            groups[g] = groups.get(g, 0) + 1
    for q in questions(previous_turn):
        q_stems = set(content_stems(q))
        q_lower = q.lower()
        expected: set[str] = set()
        for rx, group in _EXPECTS:
            if rx.search(q):
                expected |= group
        wh = bool(re.match(r"\s*(?:\w+[,\s]+)?(?:what|which|where|when|who|whom|how)\b", q, re.I))
        for f in fields:
            core, described = field_words(f)
            heads = field_heads(f) - core
            score = 1.0 * len(core & q_stems) + 0.75 * len(heads & q_stems) + 0.25 * len(described - heads & q_stems)
            if wh and (core | heads) & q_stems:
                score += 0.25  # "What kind of food …?" asks for the field whose noun it names
            if f.options:
                named = sum(1 for o in f.options if re.search(rf"\b{re.escape(o.lower())}\b", q_lower))
                if named >= 2 or (named == 1 and " or " in q_lower):
                    score += 1.5
            kind = kinds.get(f.key, "text")
            matched = expected & kind_group(kind, f)
            if matched:
                # "To whom?" with one name field in the schema: that field
                only = any(groups.get(g, 0) == 1 for g in matched)
                score += 0.75 if score else (1.0 if only else 0.5)
            if score >= 1.0:
                scores[f.key] = max(scores.get(f.key, 0.0), score)
    return sorted(scores, key=lambda k: -scores[k])


def yes_no_question(previous_turn: str) -> str:
    """The assistant's last question when it can be answered with a yes or a no ("" otherwise)."""
    qs = questions(previous_turn)
    if not qs:
        return ""
    last = qs[-1]
    if _YES_NO_OPENERS.match(last) or _CONFIRM.search(last):
        if re.search(r"\bor\b", last) and not re.search(r"\bor\s+not\b", last, re.I) and not _CONFIRM.search(last):
            return ""  # "Cash or card?" is a choice, not a yes/no
        return last
    return ""


def is_confirmation(question: str) -> bool:
    """The question offers or restates values for the customer to accept ("Shall I book the 10th?")."""
    return bool(_CONFIRM.search(question))


def reply_polarity(message: str) -> tuple[bool | None, int, int]:
    """(True for a yes, False for a no, None otherwise) and the span of the words that say it."""
    m = RE_NO.match(message)
    if m:
        return False, m.start("w"), m.end("w")
    m = RE_YES.match(message)
    if m:
        return True, m.start("w"), m.end("w")
    return None, 0, 0


def topic_overlap(f: ContextField, text: str) -> float:
    """How much of what the field is about the text mentions (0..1)."""
    core, described = field_words(f)
    if not core and not described:
        return 0.0
    t = {stem(w.lower()) for w, _s, _e in tokens(text)}
    hit = len(core & t) + 0.5 * len(described & t)
    return min(1.0, hit / max(1.0, min(2.0, len(core) or 1.0)))
