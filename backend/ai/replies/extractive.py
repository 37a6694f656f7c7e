"""Choosing what answers the question: every unit of the passages scored against it, the best ones that belong
together picked, with a confidence.

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
0.09 above the best unanswerable question): 26 of the 31 answers go out, the 3 lukewarm ones are drafted."""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from typing import Any, Sequence

from backend.ai.replies.passages import Unit, _units_of
from backend.ai.replies.persona import Instructions, content_words, stem
from backend.ai.types import Passage
from backend.providers.embeddings import EmbeddingError, embed_cached

log = logging.getLogger(__name__)


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
