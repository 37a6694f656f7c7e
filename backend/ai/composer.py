"""The embedded composer: a reply without a language model, from templates and the knowledge passages.

    reply = compose_reply(ComposeRequest(message="How much is whitening?", persona=persona, intent=intent,
                                         passages=passages))
    reply.text, reply.confidence, reply.citations, reply.answered, reply.kind

Questions (intents "question", "other", "opening_hours", "pricing", custom intents) are answered EXTRACTIVELY: the
passages are cut into units (sentences of a paragraph, lines of a list or table, the answer of a "Q: … A: …" pair),
every unit is scored against the question, and the 1–3 best units that belong together are said in the
personality's voice, with a citation per passage used (Citation.quote = the units used). No sentence of fact is
ever written by the composer: every fact comes from a passage, or from a line the owner wrote in the custom
instructions. Other intents have templates: greeting, thanks, goodbye, human / complaint (kind "handoff"), book /
reschedule / cancel (kind "clarify": asks for what is missing, or repeats the date and time back).

Scoring one unit u against the question q (every vector from the same embedder, L2-normalised):
    cos(u)      = max(cos(q, u), cos(q, context: u))   context = section heading, or the FAQ question it answers
    overlap(u)  = share of the question's content words (stop words dropped, stemmed, synonyms folded: "dog" →
                  "pet", "cost" → "price"; numbers count double, names written capitalised mid-sentence triple)
                  found in the unit or its context
    type(u)     = 1 if the unit holds what the question asks for (a price for "how much", a time or day for "when
                  are you open", a duration for "how long", a phone number, an address …), else 0
    base(u)     = 0.70·cos + 0.20·overlap + 0.10·type        (cos and overlap only, 7:2, when the question asks
                                                              for no particular kind of answer)
    S(u)        = base(u) × (0.6 + 0.4·min(1, overlap / 0.5))  a unit that shares no word with the question keeps
                                                              60%: MiniLM finds "whitening $350" close to "dental
                                                              implants?", the words tell them apart
    P           = cos(q, heading + passage) of the best unit's passage (re-scored here: Passage.score comes from
                  retrieval, whose scale depends on the search mode)
Confidence:
    raw         = 0.90·S(best) + 0.10·P
    confidence  = 1 / (1 + exp(−(raw − 0.42) / 0.05))        0.5 at ANSWER_RAW_THRESHOLD
`answered` ⇔ confidence ≥ 0.5 (raw ≥ 0.42). On the labelled set of tests/unit/test_ai_composer.py (51 questions
over 6 businesses, each with its 4 closest passages, MiniLM): unanswerable questions score raw 0.06–0.39 (none
answered), answerable ones 0.40–0.91 (median 0.71; 29 of 31 answered, the 2 misses are paraphrases MiniLM does not
see — "dog" vs "pets", "meet over video" — and fall back to the team). RECOMMENDED_AUTO_SEND = 0.75 (raw ≈ 0.475,
0.09 above the best unanswerable question): 26 of the 31 answers go out, the 3 lukewarm ones are drafted.

Everything is deterministic: variants are chosen by a stable hash of the message (persona.pick), never at random.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Sequence

import numpy as np

from backend.ai.persona import (
    Instructions,
    Role,
    Voice,
    content_words,
    expand_contractions,
    get_role,
    get_voice,
    parse_instructions,
    pick,
    role_caveats,
    stem,
)
from backend.ai.types import Citation, ComposedReply, ComposeRequest, Entity, Passage
from backend.providers.embeddings import EmbeddingError, embed_cached

log = logging.getLogger(__name__)

# --- thresholds (see the module docstring) --------------------------------------------------------------------------

ANSWER_RAW_THRESHOLD = 0.42  # raw score at which the passages are taken to answer the question
CONFIDENCE_SPREAD = 0.05  # how fast confidence rises around the threshold
ANSWERED_CONFIDENCE = 0.5  # the confidence at ANSWER_RAW_THRESHOLD
RECOMMENDED_AUTO_SEND = 0.75  # confidence (raw ≈ 0.475) at which an embedded answer can go out unreviewed
FALLBACK_CONFIDENCE_CAP = 0.2  # a "I'll check with the team" reply is never sure of anything
MAX_CHARS = 600

W_COS, W_OVERLAP, W_TYPE = 0.70, 0.20, 0.10
EVIDENCE_FLOOR, EVIDENCE_FULL = 0.6, 0.5  # a unit sharing no word with the question keeps 60% of its score
W_SENTENCE, W_PASSAGE = 0.90, 0.10
SAME_PASSAGE_MARGIN = 0.07  # a second unit of the best passage is said when it scores this close to the best
ADJACENT_MARGIN = 0.12  # … or this close when it follows the best unit directly
OTHER_PASSAGE_MARGIN = 0.03  # a unit of another passage: only when nearly as good and it covers new words
WHOLE_LIST_CHARS = 420  # a list whose items all answer ("when are you open?") is said whole up to this size

GREETING_INTENTS = frozenset({"greeting", "hello", "welcome"})
THANKS_INTENTS = frozenset({"thanks", "thank_you", "acknowledgement", "ack"})
GOODBYE_INTENTS = frozenset({"goodbye", "bye", "farewell"})
HANDOFF_INTENTS = frozenset({"human", "complaint", "handoff", "agent"})
BOOKING_INTENTS = frozenset({"book", "booking", "reschedule", "cancel", "cancellation"})

# --- public API -----------------------------------------------------------------------------------------------------


def compose_reply(request: ComposeRequest, *, embedder: Any = None) -> ComposedReply:
    """One reply to `request.message`, in the persona's voice; `embedder` defaults to the configured one."""
    ctx = _Context(request)
    name = (request.intent.name or "other").strip().lower()
    if _ACK.match(request.message.strip()) and name not in HANDOFF_INTENTS | BOOKING_INTENTS:
        return _thanks(ctx, ack=True)
    if name in GREETING_INTENTS:
        if "?" in request.message and request.passages:  # "Hi! How much is a cleaning?"
            reply = _answer(ctx, embedder)
            if reply.answered:
                return reply
        return _greeting(ctx)
    if name in THANKS_INTENTS:
        return _thanks(ctx)
    if name in GOODBYE_INTENTS:
        return _goodbye(ctx)
    if name in HANDOFF_INTENTS:
        return _handoff(ctx, complaint=name == "complaint")
    if name in BOOKING_INTENTS:
        return _clarify(ctx, name)
    return _answer(ctx, embedder)


def confidence_from_raw(raw: float) -> float:
    """The logistic map from the raw score (0.90·sentence + 0.10·passage) to a 0..1 confidence."""
    return 1.0 / (1.0 + math.exp(-(raw - ANSWER_RAW_THRESHOLD) / CONFIDENCE_SPREAD))


@dataclass(frozen=True)
class Extraction:
    """The extractive answer the passages give, before it is worded: what `compose_reply` and tests look at."""

    units: tuple["Unit", ...]  # the units to say, in the order they are said
    best: "Unit | None"
    sentence_score: float  # S(best)
    passage_score: float  # P of the best unit's passage
    raw: float
    confidence: float
    scored: tuple["Unit", ...] = ()  # every unit, best first

    @property
    def answered(self) -> bool:
        return self.best is not None and self.confidence >= ANSWERED_CONFIDENCE


def extract_answer(question: str, passages: Sequence[Passage], *, intent: str = "question", embedder: Any = None,
                   max_units: int = 3, forbidden: Instructions | None = None) -> Extraction:
    """Score every unit of `passages` against `question` and choose the ones to say (see the module docstring).

    With `forbidden`, units mentioning a never-mention term are dropped after choosing; when that drops the best
    unit, nothing is said (the extraction is unanswered)."""
    units, passage_texts = _units_of(passages)
    if not units or not question.strip():
        return Extraction((), None, 0.0, 0.0, 0.0, 0.0)
    embedder = embedder or _default_embedder()
    texts = [question] + passage_texts + [u.text for u in units]
    with_context = [i for i, u in enumerate(units) if u.context]
    texts += [f"{units[i].context}: {units[i].text}" for i in with_context]
    try:
        vectors = embed_cached(embedder, texts)
    except EmbeddingError as exc:  # no vectors, no grounds for an answer: the team is asked instead
        log.warning("the composer could not embed the passages, falling back: %s", exc)
        return Extraction((), None, 0.0, 0.0, 0.0, 0.0)
    sims = vectors @ vectors[0]
    n_p = len(passage_texts)
    passage_sims = [float(x) for x in sims[1:1 + n_p]]
    unit_sims = sims[1 + n_p:1 + n_p + len(units)]
    context_sims = dict(zip(with_context, (float(x) for x in sims[1 + n_p + len(units):])))

    expected = _expected_types(question, intent)
    q_terms = _question_terms(question)
    for i, u in enumerate(units):
        cos = float(unit_sims[i])
        if i in context_sims:
            cos = max(cos, context_sims[i])
        u.cos = max(0.0, cos)
        u.overlap = _overlap(q_terms, _terms(f"{u.context} {u.text}"))
        u.own_overlap = _overlap(q_terms, _terms(u.text)) if u.context else u.overlap
        if expected:
            u.type_match = 1.0 if any(_TYPE_PATTERNS[t].search(u.text) for t in expected) else 0.0
            base = W_COS * u.cos + W_OVERLAP * u.overlap + W_TYPE * u.type_match
        else:
            base = (W_COS * u.cos + W_OVERLAP * u.overlap) / (W_COS + W_OVERLAP)
        u.score = base * (EVIDENCE_FLOOR + (1 - EVIDENCE_FLOOR) * min(1.0, u.overlap / EVIDENCE_FULL))
    ranked = sorted(units, key=lambda u: (-u.score, u.passage, u.order))
    best = ranked[0]
    passage_score = max(0.0, passage_sims[best.passage])
    raw = W_SENTENCE * best.score + W_PASSAGE * passage_score
    confidence = confidence_from_raw(raw)
    chosen = _choose(best, ranked, units, q_terms, max_units)
    if forbidden is not None and forbidden.never_mention:
        if forbidden.forbidden_in(best.text):
            return Extraction((), None, best.score, passage_score, raw, min(confidence, FALLBACK_CONFIDENCE_CAP),
                              tuple(ranked))
        chosen = [u for u in chosen if not forbidden.forbidden_in(u.text)]
    return Extraction(tuple(chosen), best, best.score, passage_score, raw, confidence, tuple(ranked))


# --- units: what a passage is cut into --------------------------------------------------------------------------


@dataclass(eq=False)
class Unit:
    passage: int  # index in the request's passages
    order: int  # position in the passage
    text: str  # as it will be said
    context: str = ""  # the heading it sits under, or the FAQ question it answers
    group: int = 0  # the block (paragraph, list, FAQ answer) it belongs to, unique within the passage
    item: bool = False  # a list line or table row (said on its own line)
    faq: bool = False
    cos: float = 0.0
    overlap: float = 0.0
    own_overlap: float = 0.0  # the overlap without the context: 0 when only the heading matches the question
    type_match: float = 0.0
    score: float = 0.0

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Unit(p{self.passage}#{self.order} {self.score:.3f} {self.text[:60]!r})"


_FAQ = re.compile(r"(?:^|\n)[ \t]*(?:Q|Question)[ \t]*[:.)\-–][ \t]*(?P<q>.+?)[ \t]*\n\s*(?:A|Answer)[ \t]*[:.)\-–]"
                  r"[ \t]*(?P<a>.+?)(?=\n\s*(?:Q|Question)[ \t]*[:.)\-–]|\Z)", re.S | re.I)
_BULLET = re.compile(r"^\s*(?:[-*•·▪◦–—]|\d{1,2}[.)]|[a-z][.)])\s+")
_LABEL = re.compile(r"^\s*([^:\n]{1,40}?)\s*:\s+\S")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"“'‘(\[]?[A-Z0-9$€£¥])")
_ABBREVIATIONS = re.compile(
    r"(?:\b(?:Dr|Mr|Mrs|Ms|Mx|Prof|St|Sr|Jr|Inc|Ltd|Co|Corp|No|Nos|vs|approx|est|Mt|Ave|Rd|Blvd|Dept|Fig|Jan|Feb|"
    r"Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|Mon|Tue|Tues|Wed|Thu|Thur|Thurs|Fri|Sat|Sun|etc|incl|min|max|tel|"
    r"ext)\.|\b(?:e\.g|i\.e|a\.m|p\.m|U\.S|U\.K)\.|\b[A-Z]\.)$")


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", " "))
    return re.sub(r"[ \t\u00a0]+", " ", text).strip()


def split_sentences(text: str) -> list[str]:
    """A paragraph's sentences; abbreviations ("Dr.", "e.g.", "9 a.m.") do not end one, and a very short
    sentence ("Yes.") stays with the next."""
    text = " ".join(text.split())
    if not text:
        return []
    pieces = _SENTENCE_END.split(text)
    merged: list[str] = []
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        if merged and (_ABBREVIATIONS.search(merged[-1]) or len(merged[-1].split()) <= 2):
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return merged


_RUNS_ON = re.compile(r"\b(?:and|or|the|a|an|of|to|in|on|at|for|with|including|from|by|is|are|your|our)$", re.I)


def _is_heading(line: str, heading: str, following: str = "") -> bool:
    """A short title line ("Opening hours"), not the first line of wrapped prose."""
    stripped = line.strip()
    if not stripped or _BULLET.match(stripped) or _LABEL.match(stripped):
        return False
    if heading and stripped.rstrip(":").strip().lower() == heading.strip().lower():
        return True
    if re.match(r"[a-z(]", following.strip()) or _RUNS_ON.search(stripped) or re.search(r"[.!?]\s", stripped):
        return False
    return len(stripped) <= 70 and not re.search(r"[.!?;,]$", stripped) and len(stripped.split()) <= 9


def _is_listish(lines: list[str]) -> bool:
    if len(lines) < 2:
        return False
    # Hard-wrapped prose (a text file at 72 columns): lines run on into a lowercase start. Not a list.
    runs_on = sum(1 for a, b in zip(lines, lines[1:])
                  if not re.search(r"[.!?:;]$", a.strip()) and re.match(r"[a-z(]", b.strip()) and not _BULLET.match(b))
    if runs_on >= max(1, (len(lines) - 1) / 2):
        return False
    listish = sum(1 for line in lines if _BULLET.match(line) or _LABEL.match(line)
                  or (len(line) <= 90 and not re.search(r"[.!?]$", line.strip())))
    return listish >= max(2, math.ceil(0.6 * len(lines)))


def _records(lines: list[str]) -> list[str]:
    """Table rows extracted as "column: value" lines: a label seen again starts the next row."""
    labels = [(_LABEL.match(line).group(1).strip().lower() if _LABEL.match(line) else None) for line in lines]
    if not all(labels) or len(set(labels)) == len(labels):
        return lines
    out: list[list[str]] = []
    seen: set[str] = set()
    for line, label in zip(lines, labels):
        if not out or label in seen:
            out.append([])
            seen = set()
        out[-1].append(line.strip())
        seen.add(label)  # type: ignore[arg-type]
    return ["; ".join(row) for row in out]


def passage_units(passage: Passage, index: int = 0) -> list[Unit]:
    """The units one passage is cut into, in reading order."""
    text = _clean(passage.text)
    if not text:
        return []
    units: list[Unit] = []
    group = 0

    def add(unit_text: str, context: str, *, item: bool = False, faq: bool = False) -> None:
        unit_text = unit_text.strip()
        if unit_text and re.search(r"\w", unit_text):
            units.append(Unit(index, len(units), unit_text, context, group, item, faq))

    faq_pairs = list(_FAQ.finditer(text))
    if faq_pairs:
        before = text[:faq_pairs[0].start()].strip()
        if before:
            units.extend(_block_units(before, passage.heading, index, len(units), group))
            group = max((u.group for u in units), default=0) + 1
        for m in faq_pairs:
            question = " ".join(m.group("q").split())
            answer = m.group("a").strip()
            lines = [line.strip() for line in answer.split("\n") if line.strip()]
            if _is_listish(lines):
                for line in _records(lines):
                    add(_BULLET.sub("", line), question, item=True, faq=True)
            else:
                for sentence in split_sentences(answer):
                    add(sentence, question, faq=True)
            group += 1
        return units
    return _block_units(text, passage.heading, index, 0, 0)


def _block_units(text: str, heading: str, index: int, start_order: int, start_group: int) -> list[Unit]:
    units: list[Unit] = []
    group = start_group
    context = heading.strip()
    blocks = [b for b in re.split(r"\n\s*\n", text) if b.strip()]
    for block_index, block in enumerate(blocks):
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        # Heading lines open a block (the chunker puts a section's headings first); a short question line is the
        # context of what follows it, like a FAQ without "Q:".
        # At most one title line besides the passage's own heading: "Monday to Friday 9 to 5" under "Opening
        # hours" looks like a title too, and must be said, not swallowed.
        titles = 0
        while lines and (len(lines) > 1 or block_index < len(blocks) - 1):
            first = lines[0].rstrip(":").strip()
            if heading and first.lower() == heading.strip().lower():
                pass
            elif titles == 0 and (_is_heading(lines[0], heading, lines[1] if len(lines) > 1 else "")
                                  or (lines[0].endswith("?") and len(lines[0]) <= 160)):
                titles += 1
            else:
                break
            context = first
            lines.pop(0)
        if not lines:
            continue
        if _is_listish(lines):
            lead = ""
            if lines[0].endswith(":") and not _BULLET.match(lines[0]):
                lead = lines.pop(0).rstrip(":").strip()
            for line in _records(lines):
                units.append(Unit(index, start_order + len(units), _BULLET.sub("", line).strip(),
                                  " — ".join(x for x in (context, lead) if x), group, item=True))
        else:
            for sentence in split_sentences(" ".join(lines)):
                units.append(Unit(index, start_order + len(units), sentence, context, group))
        group += 1
    return [u for u in units if re.search(r"\w", u.text)]


def _units_of(passages: Sequence[Passage]) -> tuple[list[Unit], list[str]]:
    """Every passage's units, duplicates (chunk overlaps) kept once, in the best passage; and each passage's text
    as the composer scores it."""
    seen: set[str] = set()
    units: list[Unit] = []
    texts: list[str] = []
    for index, passage in enumerate(passages):
        body = _clean(passage.text)
        heading = passage.heading.strip()
        texts.append(f"{heading}\n{body}" if heading and not body.startswith(heading) else body)
        for unit in passage_units(passage, index):
            key = re.sub(r"\W+", " ", unit.text.lower()).strip()
            if key in seen:
                continue
            seen.add(key)
            units.append(unit)
    return units, texts


# --- scoring --------------------------------------------------------------------------------------------------------

_TYPE_PATTERNS = {
    "money": re.compile(r"[$€£¥]\s?\d|\d(?:[\d,.]*\d)?\s?(?:[$€£]|dollars?\b|euros?\b|pounds?\b|usd\b|eur\b|gbp\b)|"
                        r"\bfree\b|\bno charge\b|\bcomplimentary\b|\bno (?:joining |extra |additional )?fee\b",
                        re.I),
    "time": re.compile(r"\b\d{1,2}(?::\d{2})?\s?(?:am|pm|a\.m\.|p\.m\.)|\b\d{1,2}[:.h]\d{2}\b|\bnoon\b|\bmidnight\b|"
                       r"\bclosed\b|24/7|\b(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?s?\b|"
                       r"\bweekdays?\b|\bweekends?\b|\bdaily\b|\bevery day\b|\bopen\b", re.I),
    "duration": re.compile(r"\b\d+(?:[.,]\d+)?\s?(?:-|–|to)?\s?\d*\s?(?:min(?:ute)?s?|hours?|hrs?|h\b|days?|weeks?|"
                           r"months?|years?)\b|\bhalf an hour\b|\ban hour\b", re.I),
    "phone": re.compile(r"\+?\(?\d[\d\s().-]{6,}\d|\bcall\b|\bphone\b", re.I),
    "email": re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+|\bemail\b|\be-mail\b", re.I),
    "place": re.compile(r"\b(?:street|st\.|avenue|ave\b|road|rd\b|boulevard|blvd|lane|floor|suite|located|address|"
                        r"parking|park\b|entrance|building|near|next to|opposite|corner|behind|downtown|"
                        r"square|plaza|mall|centre|center)\b|\b\d+\s+[A-Z][a-z]+\s+(?:Street|St|Avenue|Ave|Road|Rd)\b",
                        re.I),
}
_QUESTION_TYPES = [
    ("duration", re.compile(r"\bhow long\b|\bduration\b|\bhow many (?:minutes|hours|days|weeks)\b|"
                            r"\btakes? (?:long|time)\b|\bvalid\b|\bexpire", re.I)),
    ("money", re.compile(r"\bhow much\b|\bprices?\b|\bpricing\b|\bcosts?\b|\bfees?\b|\bcharges?\b|\brates?\b|"
                         r"\bexpensive\b|\bcheap\b|\bafford|\bpay\b|[$€£]|\bquote\b|\bdiscount", re.I)),
    ("time", re.compile(r"\bwhen\b|\bwhat time\b|\bopen(?:ing)?\b|\bclos(?:e|ing|ed)\b|\bhours\b|\btoday\b|"
                        r"\btomorrow\b|\bweekends?\b|\b(?:mon|tues|wednes|thurs|fri|satur|sun)days?\b|\bholidays?\b",
                        re.I)),
    ("phone", re.compile(r"\bphone\b|\bcall (?:you|the)\b|\bnumber\b|\bwhatsapp\b|\bcontact\b|\breach you\b", re.I)),
    ("email", re.compile(r"\be-?mail\b", re.I)),
    ("place", re.compile(r"\bwhere\b|\baddress\b|\blocated\b|\blocation\b|\bfind you\b|\bdirections\b|\bpark(?:ing)?\b|"
                         r"\bget there\b", re.I)),
]
_INTENT_TYPES = {"opening_hours": "time", "pricing": "money"}


def _expected_types(question: str, intent: str) -> tuple[str, ...]:
    found: list[str] = []
    for name, pattern in _QUESTION_TYPES:
        if pattern.search(question):
            found.append(name)
    if "duration" in found and "time" in found:  # "how many hours does it take" asks for a duration
        found.remove("time")
    hinted = _INTENT_TYPES.get(intent)
    if hinted and hinted not in found:
        found.append(hinted)
    return tuple(found)


_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?$")


def _terms(text: str) -> dict[str, float]:
    """Stemmed content words with their weights (numbers count double)."""
    out: dict[str, float] = {}
    for word in content_words(text):
        key = stem(word)
        if len(key) < 2 and not key.isdigit():
            continue
        out[key] = 2.0 if _NUMBER.match(word) else 1.0
    return out


_NAME_IN_TEXT = re.compile(r"(?<=[^.!?\s]\s)([A-Z][\w'’-]*[a-z][\w'’-]*)")


def _question_terms(question: str) -> dict[str, float]:
    """The question's terms, where a name the customer wrote ("Do you take Cigna?", "the Maple St office") counts
    triple: when the passage holds that exact name, it is almost surely what they ask about."""
    terms = _terms(question)
    for name in _NAME_IN_TEXT.findall(question):
        key = stem(name.lower())
        if key in terms:
            terms[key] = max(terms[key], 3.0)
    return terms


def _overlap(question: dict[str, float], unit: dict[str, float]) -> float:
    total = sum(question.values())
    if not total:
        return 0.0
    return sum(w for term, w in question.items() if term in unit or _prefix_match(term, unit)) / total


def _prefix_match(term: str, words: dict[str, float]) -> bool:
    """"colour" ~ "coloring", "clean" ~ "cleaning": a shared start of 5+ letters."""
    if len(term) < 5 or term.isdigit():
        return False
    head = term[:5]
    return any(len(w) >= 5 and w[:5] == head for w in words)


def _default_embedder() -> Any:
    from backend.providers.embeddings import get_embedder

    return get_embedder()


def _choose(best: Unit, ranked: list[Unit], units: list[Unit], q_terms: dict[str, float], max_units: int
            ) -> list[Unit]:
    """The units to say: the best, the units of its passage that answer nearly as well (or follow it directly),
    a whole list when all of it answers, and, rarely, a unit of another passage that covers what the others do
    not. In the passages' order."""
    max_units = max(1, max_units)
    if best.faq:
        answer = [u for u in units if u.passage == best.passage and u.group == best.group]
        if len(answer) <= max_units:
            return answer
        keep = sorted(answer, key=lambda u: -u.score)[:max_units]
        return sorted(keep, key=lambda u: u.order)
    if best.item:
        group = [u for u in units if u.passage == best.passage and u.group == best.group]
        close = [u for u in group if u.score >= best.score - SAME_PASSAGE_MARGIN / 2]
        # The question names the list ("what are your opening hours?": only the heading matches), or many items
        # answer alike: the whole list, when it is short enough to say.
        names_the_list = best.overlap > 0 and best.own_overlap == 0
        if (names_the_list or len(close) > max_units) and sum(len(u.text) for u in group) <= WHOLE_LIST_CHARS:
            return group
        keep = sorted(close, key=lambda u: -u.score)[:max_units]
        return sorted(keep, key=lambda u: u.order)
    chosen = [best]
    for u in ranked[1:]:
        if len(chosen) >= max_units:
            break
        if u.passage != best.passage or u.item:
            continue
        adjacent = any(u.group == c.group and abs(u.order - c.order) == 1 for c in chosen)
        if u.score >= best.score - SAME_PASSAGE_MARGIN or (adjacent and u.score >= best.score - ADJACENT_MARGIN):
            chosen.append(u)
    if len(chosen) < max_units:
        covered = set().union(*(_terms(f"{c.context} {c.text}") for c in chosen))
        missing = {t for t in q_terms if t not in covered}
        for u in ranked[1:]:
            if u.passage == best.passage or u.score < best.score - OTHER_PASSAGE_MARGIN:
                continue
            if missing & set(_terms(f"{u.context} {u.text}")):
                chosen.append(u)
                break
    return sorted(chosen, key=lambda u: (u.passage, u.order))


# --- wording ------------------------------------------------------------------------------------------------------

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


# --- intents ------------------------------------------------------------------------------------------------------


def _answer(ctx: _Context, embedder: Any) -> ComposedReply:
    request = ctx.request
    extraction = extract_answer(request.message, request.passages, intent=request.intent.name,
                                embedder=embedder, max_units=ctx.max_units, forbidden=ctx.rules)
    if not extraction.answered or not extraction.units:
        return _fallback(ctx, extraction.confidence)
    units = list(extraction.units)
    lead, extra = _extras(ctx, always=True)
    items = all(u.item for u in units) and len(units) > 1
    draft = _Draft(kind="answer", lead=lead, body=[u.text for u in units], items=items, extra=extra)
    contexts = {u.context for u in units}
    if items and len(contexts) == 1 and next(iter(contexts)):
        draft.list_title = next(iter(contexts)).split(" — ")[-1]  # "Opening hours:" above the lines
    draft.greeting = _first_greeting(ctx)
    # No cheerful opener after an emergency line or before "Yes, …" ("Sure! Yes." reads oddly); no offer of more
    # help when caveats or the owner's lines already follow the answer.
    if not draft.greeting and not lead and not ctx.rules.brief and not re.match(r"(?:yes|no)\b", draft.body[0], re.I):
        draft.opener = ctx.pick(ctx.voice.openers, "opener")
    if not ctx.rules.brief and not extra:
        draft.closer = ctx.pick(ctx.voice.closers, "closer")
    citations = _citations(request.passages, units)
    return _reply(ctx, draft, extraction.confidence, citations=citations)


def _citations(passages: Sequence[Passage], units: Sequence[Unit]) -> list[Citation]:
    out = []
    for index in sorted({u.passage for u in units}):
        p = passages[index]
        used = [u for u in units if u.passage == index]
        joiner = "\n" if all(u.item for u in used) and len(used) > 1 else " "
        out.append(Citation(document_id=p.document_id, document_title=p.document_title, chunk_id=p.chunk_id,
                            page=p.page, heading=p.heading, quote=joiner.join(u.text for u in used)))
    return out


def _fallback(ctx: _Context, confidence: float) -> ComposedReply:
    lead, extra = _extras(ctx, always=False)
    draft = _Draft(kind="fallback", lead=lead, greeting=_first_greeting(ctx),
                   body=[ctx.pick(ctx.voice.fallback, "fallback")], extra=extra)
    return _reply(ctx, draft, min(confidence, FALLBACK_CONFIDENCE_CAP), answered=False)


def _greeting(ctx: _Context) -> ComposedReply:
    voice = ctx.voice
    lead, _ = _extras(ctx, always=False)
    if ctx.request.first_reply:
        hello = ctx.rules.greeting or ctx.say(voice.hello)
        greeting_text = _norm(hello)
        name, business = ctx.values["name"], ctx.values["business"]
        if _norm(name) in greeting_text.split():
            intro = ""
        elif _norm(business) in greeting_text or _norm(business.split()[0]) in greeting_text.split():
            intro = ctx.say(voice.self_intro_short)
        else:
            intro = ctx.say(voice.self_intro)
        parts = [hello, intro, ctx.say(voice.offer), ctx.say(voice.ask)]
        body = [" ".join(p for p in parts if p)]
    elif ctx.rules.greeting:
        body = [f"{ctx.rules.greeting} {ctx.say(voice.ask)}"]
    else:
        body = [ctx.pick(voice.regreet, "regreet")]
    return _reply(ctx, _Draft(kind="greeting", lead=lead, body=body), _template_confidence(ctx))


def _thanks(ctx: _Context, *, ack: bool = False) -> ComposedReply:
    options = ctx.voice.thanks
    if ack:  # "ok" / "great": no thanks to answer, just stay available
        options = tuple(o for o in ctx.voice.closers if o) or options
    draft = _Draft(kind="thanks", body=[ctx.pick(options, "thanks")])
    return _reply(ctx, draft, _template_confidence(ctx) if not ack else 0.9)


def _goodbye(ctx: _Context) -> ComposedReply:
    return _reply(ctx, _Draft(kind="thanks", body=[ctx.pick(ctx.voice.goodbye, "bye")]), _template_confidence(ctx))


def _handoff(ctx: _Context, *, complaint: bool) -> ComposedReply:
    voice = ctx.voice
    if complaint:
        options = voice.handoff_complaint
    elif _ASKS_FOR_PERSON.search(ctx.request.message):
        options = voice.handoff_human
    else:  # the engine hands an unsure answer over: the customer did not ask for a person
        options = voice.handoff_notice
    lead, extra = _extras(ctx, always=False)  # "call us right away if…" matters most while waiting for a person
    greeting = ctx.rules.greeting if ctx.request.first_reply and not complaint else ""
    draft = _Draft(kind="handoff", lead=lead, greeting=greeting, body=[ctx.pick(options, "handoff")], extra=extra)
    # The words promise a person: only as sure as the intent (a lukewarm "complaint" guess is drafted, not sent).
    return _reply(ctx, draft, _template_confidence(ctx))


# --- booking: clarify -------------------------------------------------------------------------------------------

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def say_date(value: Any) -> str:
    """"2026-12-01" → "Tuesday 1 December"; anything unreadable is returned as text."""
    day = _as_date(value)
    if day is None:
        return str(value)
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]}"


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def say_time(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%H:%M")
    text = str(value)
    m = re.match(r"^(\d{1,2}):(\d{2})", text)
    return f"{int(m.group(1)):02d}:{m.group(2)}" if m else text


@dataclass
class _Slots:
    service: Entity | None = None
    date: Entity | None = None
    time: Entity | None = None
    party: Entity | None = None


def _slots(entities: Sequence[Entity]) -> _Slots:
    slots = _Slots()
    for e in sorted(entities, key=lambda e: -e.confidence):
        key, kind = (e.field or "").lower(), (e.type or "").lower()
        if kind == "datetime" or key == "datetime":
            text = e.value.isoformat() if isinstance(e.value, datetime) else str(e.value)
            if slots.date is None and _as_date(text) is not None:
                slots.date = Entity(e.field, text[:10], e.text, e.start, e.end, e.confidence, "date",
                                    tuple(str(a)[:10] for a in e.alternatives))
            if slots.time is None and re.search(r"[T ]\d{1,2}:\d{2}", text):
                slots.time = Entity(e.field, re.split(r"[T ]", text, maxsplit=1)[1][:5], e.text, e.start, e.end,
                                    e.confidence, "time")
        elif (kind == "date" or key in ("date", "preferred_date", "day")) and slots.date is None:
            slots.date = e
        elif (kind == "time" or key in ("time", "preferred_time")) and slots.time is None:
            slots.time = e
        elif key in ("service", "service_name", "treatment", "reason") and slots.service is None:
            slots.service = e
        elif (key in ("party_size", "guests", "people", "party", "count") or kind == "count") and slots.party is None:
            slots.party = e
    return slots


def _clarify(ctx: _Context, intent: str) -> ComposedReply:
    role, voice = ctx.role, ctx.voice
    slots = _slots(ctx.request.entities)
    team = ctx.values["team"]
    Team = team[0].upper() + team[1:]
    booking = ctx.values["booking"]

    if intent in ("cancel", "cancellation"):
        ack = ctx.pick(voice.cancel_ack, "ack")
    elif intent == "reschedule":
        ack = ctx.pick(voice.reschedule_ack, "ack")
    else:
        ack = ctx.pick(voice.book_ack, "ack")

    # Ambiguous readings are offered back, never guessed.
    for slot, say in ((slots.date, say_date), (slots.time, say_time)):
        if slot is not None and slot.alternatives:
            options = list(dict.fromkeys([say(slot.value), *(say(a) for a in slot.alternatives)]))
            question = f"Did you mean {', '.join(options[:-1])} or {options[-1]}?"
            return _clarify_reply(ctx, [ack, question])

    when = ""
    if slots.date is not None:
        when = say_date(slots.date.value)
    if slots.time is not None:
        when = f"{when} at {say_time(slots.time.value)}" if when else say_time(slots.time.value)
    service = str(slots.service.value).strip() if slots.service is not None else ""
    party = ""
    if slots.party is not None:
        try:
            count = int(slots.party.value)
            party = f"{count} {'person' if count == 1 else 'people'}"
        except (TypeError, ValueError):
            party = str(slots.party.value)

    sentences: list[str] = [ack]
    if intent in ("cancel", "cancellation"):
        if when:
            sentences.append(f"I've noted that you'd like to cancel your {booking} on {when}.")
            sentences.append(f"{Team} will confirm the cancellation shortly.")
        else:
            sentences.append(f"Could you tell me the day and time of the {booking} you'd like to cancel?")
        return _clarify_reply(ctx, sentences)

    if intent == "reschedule":
        if slots.date is not None and slots.time is not None:
            sentences.append(f"I've noted {when} as your new preferred time.")
            sentences.append(f"{Team} will confirm shortly.")
        elif slots.date is not None:
            sentences.append(f"I've noted {when}. What time would suit you?")
        elif slots.time is not None:
            sentences.append(f"I've noted {when}. Which day would suit you?")
        else:
            sentences.append("What day and time would suit you instead?")
        return _clarify_reply(ctx, sentences)

    # book
    asks_party = role.ask_party_size and not party
    what = f" for {service}" if service else ""
    who = f" for {party}" if party else ""
    if slots.date is not None and slots.time is not None:
        sentences.append(f"I've noted {when}{what}{who}.")
        sentences.append(f"{Team} will confirm your {booking} shortly.")
        if asks_party:
            sentences.append("How many people will be joining?")
        elif not service and role.service_question:
            sentences.append(f"{role.service_question}?")
        return _clarify_reply(ctx, sentences)
    if slots.date is not None or slots.time is not None:
        missing = "What time" if slots.time is None else "Which day"
        sentences.append(f"I've noted {when}{what}{who}. {missing} would suit you?")
    else:
        need = "what day and time would suit you?"
        if asks_party:
            sentences.append(f"How many people will be joining, and {need}")
        elif not service and role.service_question:
            sentences.append(f"{role.service_question}, and {need}")
        else:
            sentences.append(f"{'Noted' + what + who + '. ' if what or who else ''}{need[0].upper()}{need[1:]}")
    if asks_party and (slots.date is not None or slots.time is not None):
        sentences.append("How many people will be joining?")
    return _clarify_reply(ctx, sentences)


def _clarify_reply(ctx: _Context, sentences: list[str]) -> ComposedReply:
    lead, extra = _extras(ctx, always=True)
    body = [ctx.voiced(s) for s in sentences if s]
    draft = _Draft(kind="clarify", lead=lead, greeting=_first_greeting(ctx), body=body, extra=extra)
    return _reply(ctx, draft, _template_confidence(ctx))


__all__ = [
    "ANSWER_RAW_THRESHOLD", "ANSWERED_CONFIDENCE", "RECOMMENDED_AUTO_SEND", "Extraction", "Unit", "compose_reply",
    "confidence_from_raw", "extract_answer", "passage_units", "say_date", "say_time", "split_sentences",
]
