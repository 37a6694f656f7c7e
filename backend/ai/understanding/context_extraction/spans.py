"""Free-text fields: the words of the message that are the field's value.

A text field says what it holds in its key and description, and the extractor reads it in three ways:
- places (a field about a city, area, location…): the name after "in", "near", "around" ("a flat in Santa
  Clara"), capitalised or at the end of the sentence ("a plumber in leeds");
- names (a "…_name" field, "name of the …"): the capitalised words after "called", "named", "at", "to", "with";
- descriptors (any other text field): the words right before one of the field's own nouns ("a Swedish
  massage", "deep tissue kind of treatment"), or after it ("treatment: reflexology"), and phrases close in
  meaning to the examples the owner gave in the description ("for example Mexican, Chinese").
When the assistant has just asked for the field, the answer itself is the value, less the conversational
wrapping ("I would like Freshwater fish, please" → "Freshwater fish").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from backend.ai.understanding.context_extraction.choices import Embed, phrases
from backend.ai.understanding.context_extraction.dialogue import sentences
from backend.ai.understanding.context_extraction.fields import ContextField
from backend.ai.understanding.context_extraction.typed import Found
from backend.ai.understanding.context_extraction.words import (
    STOP,
    field_examples,
    field_heads,
    field_words,
    stem,
    tokens,
)
from backend.ai.understanding.person_names import STOP_WORDS as NAME_STOP

_CAP = r"(?:[A-Z][\w'’.&-]*|[A-Z]{2,})"
_JOIN = r"(?:\s+(?:of|the|de|del|la|le|von|van|y|&|and)\s+|\s+)"
RE_CAP_RUN = re.compile(rf"{_CAP}(?:{_JOIN}{_CAP}){{0,4}}")
_PLACE_PREP = re.compile(r"(?:\b(?:in|near|around|within|from|nearby|close\s+to|located\s+in|based\s+in|"
                         r"search\s+in|look\s+in|somewhere\s+in|area\s+of|city\s+of|town\s+of)\s+(?:the\s+)?)$",
                         re.I)
_NAME_PREP = re.compile(r"(?:\b(?:called|named|at|to|with|for|from|visit|book|reserve|try|see|by|about|is)\s+"
                        r"(?:the\s+)?)$", re.I)
# Words that end a place or name run: "Fremont City", "San Jose area" keep only the name.
_TRAILING_GENERIC = frozenset(stem(w) for w in """
city town area region district county neighborhood neighbourhood place location downtown center centre
please thanks
""".split())
_NOT_VALUE = frozenset(w.lower() for w in """
I I'm I'd I'll Im Id Hi Hello Hey Thanks Thank Yes No Ok Okay Sure Please Can Could Would Will What Where When
Which Who How Is Are Do Does The A An My Our This That There It Let Lets Let's Find Search Look Show Tell Give
Book Reserve Make Also And But Or So Well Oh Great Good Nice Perfect Awesome Cool Actually Maybe Just Any Some
Today Tomorrow Tonight Yesterday Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March
April May June July August September October November December Mr Mrs Ms Dr
""".split())
_HEAD_FILLER = re.compile(
    r"^\s*(?:(?:yes|yeah|yep|no|nope|ok(?:ay)?|sure|so|well|oh|um+|uh+|hmm+|actually|maybe|probably|perhaps|"
    r"just|only|i\s+think|i\s+guess|i'?d\s+say|how\s+about|what\s+about|let'?s\s+(?:say|do|go\s+with|try)|"
    r"i\s+(?:would|'d)\s+(?:like|love|prefer|want)(?:\s+to\s+(?:have|get|go\s+(?:to|with)|try|eat|find|see))?|"
    r"i\s+(?:want|need|prefer|like|love|fancy)(?:\s+to\s+(?:have|get|go\s+(?:to|with)|try|eat|find|see))?|"
    r"i'?m\s+(?:in\s+the\s+mood\s+for|looking\s+for|thinking|craving|into)|we'?re\s+looking\s+for|"
    r"i\s+feel\s+like|i'?m\s+feeling|craving|i\s+(?:would|'d)\s+go\s+(?:for|with)|"
    r"i\s+am\s+(?:in\s+the\s+mood\s+for|looking\s+for|thinking|craving|into)|in\s+the\s+mood\s+for|"
    r"it'?s|it\s+is|it\s+should\s+be|it\s+would\s+be|that'?s|that\s+is|make\s+it|go\s+with|please|"
    r"some|something|somewhere|anything|a|an|the|any|in|at|for|to|near|around|from|with|on)\b[\s,.:!-]*)+",
    re.I)
_TAIL_FILLER = re.compile(
    r"(?:[\s,.;:!-]+(?:please|thanks|thank\s+you|thx|then|instead|if\s+possible|would\s+be\s+(?:great|good|nice|"
    r"perfect|fine|best|ideal|lovely)|(?:sounds|seems|looks)\s+(?:good|great|nice|perfect|fine|best)"
    r"(?:\s+right\s+now|\s+to\s+me)?|is\s+(?:the\s+best|good|fine|great|perfect|what\s+i\s+want)|"
    r"(?:is\s+)?(?:fine|great|good|perfect)|right\s+now|for\s+me|for\s+now|(?:kind|type|sort|style)\s+of\s+\w+|"
    r"will\s+do|works|will\s+work|if\s+you\s+can|for\s+(?:sure|today|tonight)))*[\s,.;:!?]*$", re.I)
_ANSWER_MAX_WORDS = 5
_MODIFIER_STOP = STOP | frozenset("""
some any good nice great best fun new other another different cheap kind type sort style particular specific
really very more less similar like such certain nearby local usual usually typical favourite favorite
""".split())


def _clean_run(message: str, s: int, e: int, f: ContextField) -> tuple[int, int] | None:
    """Trim a candidate run: generic trailing words ("Fremont City"), sentence-initial non-names, a possessive."""
    words = [(w, a, b) for w, a, b in tokens(message[s:e])]
    if words and re.search(r"['’]s$", words[-1][0]):
        w, a, b = words[-1]
        words[-1] = (w[:-2], a, b - 2)
    while words and (stem(words[-1][0].lower()) in _TRAILING_GENERIC or
                     stem(words[-1][0].lower()) in field_words(f)[0] or words[-1][0].lower() in NAME_STOP):
        words.pop()
    while words and (words[0][0].lower() in _NOT_VALUE or words[0][0].lower() in ("the", "of", "and", "&")):
        words.pop(0)
    if not words:
        return None
    return s + words[0][1], s + words[-1][2]


def _runs_after(message: str, prep: re.Pattern[str], allow_lower_at_end: bool, asked: bool = False
                ) -> list[tuple[int, int, float]]:
    out = []
    for m in RE_CAP_RUN.finditer(message):
        if prep.search(message[max(0, m.start() - 30):m.start()]):
            out.append((m.start(), m.end(), 0.85))
    # a lower-case name only from someone who writes without capitals, or who was just asked for it
    if allow_lower_at_end and (asked or not re.search(r"[A-Z]", message)):
        # "a plumber in leeds ?": a lower-case name closing its sentence
        for m in re.finditer(r"\b(?:in|near|around)\s+(?P<w>[a-z][a-z'-]{2,}(?:\s+[a-z][a-z'-]{2,})?)\s*"
                             r"(?=[.?!,]|$)", message):
            words = m.group("w").split()
            if all(w not in STOP and w not in NAME_STOP and w not in _NOT_VALUE for w in words):
                out.append((m.start("w"), m.end("w"), 0.6))
    return out


def answer_span(message: str) -> tuple[int, int] | None:
    """The answer inside a reply to a question: the message less its conversational wrapping."""
    head = _HEAD_FILLER.match(message)
    s = head.end() if head else 0
    tail = _TAIL_FILLER.search(message, s)
    e = tail.start() if tail else len(message)
    while e > s and message[e - 1] in " ,.;:!?'\"":
        e -= 1
    if e <= s:
        return None
    if len(message[s:e].split()) > _ANSWER_MAX_WORDS or re.search(r"[.?!]\s", message[s:e]):
        return None
    return s, e


def text_values(message: str, fields: Sequence[ContextField], kinds: dict[str, str], asked: Sequence[str],
                taken: list[Found], embed: Embed | None) -> list[Found]:
    """Candidates for every free-text field first, then the most confident take their words: "Swedish kind of
    massage in leeds" gives the treatment "Swedish" before the asked-for town can take the first capital."""
    spans = [(t.start, t.end) for t in taken]
    have = {t.key for t in taken}

    def free(s: int, e: int) -> bool:
        return not any(s < b and a < e for a, b in spans)

    def runs(f: ContextField, found: list[tuple[int, int, float]], penalty: float = 0.0) -> list[Found]:
        out = []
        for s, e, conf in found:
            cleaned = _clean_run(message, s, e, f)
            if cleaned and free(*cleaned):
                out.append(Found(f.key, message[cleaned[0]:cleaned[1]], conf - penalty, *cleaned))
        return out

    cands: list[Found] = []
    for f in fields:
        kind = kinds[f.key]
        is_asked = f.key in asked
        if kind in ("person_name", "first_name", "last_name"):
            # a name the entity extractor did not see: "send the money to Maria"
            if f.key not in have:
                cands += runs(f, _runs_after(message, _NAME_PREP, False, is_asked) +
                              (_first_run(message) if is_asked else []), 0.15)
            continue
        if kind not in ("location", "name", "text", "long_text", "tags"):
            continue
        if is_asked:
            cands += _asked_answer(message, f, kind, free)
        if kind == "location":
            cands += runs(f, _runs_after(message, _PLACE_PREP, True, is_asked) +
                          (_first_run(message) if is_asked else []))
        elif kind == "name":
            cands += runs(f, _runs_after(message, _NAME_PREP, False, is_asked), 0.15)
            for m in re.finditer(r"[\"“](?P<q>[^\"”]{2,60})[\"”]", message):
                cands.append(Found(f.key, m.group("q").strip(), 0.8, m.start("q"), m.end("q")))
        elif kind == "text":
            cands += _descriptor(message, f, free)
    out: list[Found] = []
    for c in sorted(cands, key=lambda x: (-x.confidence, x.start)):
        if c.key in {o.key for o in out} or not free(c.start, c.end):
            continue
        out.append(c)
        spans.append((c.start, c.end))
    out += _example_like(message, [f for f in fields if kinds[f.key] == "text" and f.key not in
                                   {o.key for o in out}], spans, embed)
    return out


def _first_run(message: str) -> list[tuple[int, int, float]]:
    """The first capitalised run that is not just a sentence's first word: the place in "I think San Jose's a
    good area" after "What area?"."""
    for m in RE_CAP_RUN.finditer(message):
        words = m.group(0).split()
        if len(words) == 1 and (words[0].lower() in _NOT_VALUE or words[0].lower() in NAME_STOP):
            continue
        if all(w.lower() in _NOT_VALUE or w.lower() in NAME_STOP for w in words):
            continue
        return [(m.start(), m.end(), 0.65)]
    return []


def _asked_answer(message: str, f: ContextField, kind: str, free) -> list[Found]:
    if kind == "long_text":
        s = len(message) - len(message.lstrip())
        e = len(message.rstrip())
        return [Found(f.key, message[s:e], 0.75, s, e)] if e > s else []
    if kind == "tags":
        span = answer_span(message)
        s, e = span if span else (0, len(message.rstrip(" .!?")))
        items = [i.strip() for i in re.split(r"\s*(?:,|;|\band\b|&|/)\s*", message[s:e]) if i.strip()]
        return [Found(f.key, items, 0.7, s, e)] if items else []
    whole = answer_span(message)
    pieces = [(whole, 0.75)] if whole else []
    if whole is None:
        # "Lobster sounds great. Please search in San Mateo.": each sentence may be the answer
        for i, (text, at) in enumerate(sentences(message)):
            span = answer_span(text)
            if span:
                pieces.append(((at + span[0], at + span[1]), 0.7 - 0.02 * i))
    out = []
    for (s, e), conf in pieces:
        if kind in ("location", "name"):
            cleaned = _clean_run(message, s, e, f)
            if cleaned is None:
                continue
            s, e = cleaned
        value = message[s:e]
        if not free(s, e) or value.lower() in STOP or value.lower() in _NOT_VALUE:
            continue
        out.append(Found(f.key, value, conf, s, e))
    return out


def _descriptor(message: str, f: ContextField, free) -> list[Found]:
    """Words that qualify one of the field's own nouns: "Swedish massage", "Swedish lessons" is not (lessons
    is not the field's noun)."""
    heads = field_heads(f)
    toks = tokens(message)
    out: list[Found] = []
    for i, (w, _s, e) in enumerate(toks):
        if stem(w.lower()) not in heads:
            continue
        # "<X> (kind|type|sort|style) of <head>" / "<X> <head>"
        j = i - 1
        if j >= 1 and toks[j][0].lower() == "of" and toks[j - 1][0].lower() in ("kind", "type", "sort", "style",
                                                                               "kinds", "types"):
            j -= 2
        mods = []
        while j >= 0 and len(mods) < 3:
            word = toks[j][0]
            low = word.lower()
            if low in _MODIFIER_STOP or low in _NOT_VALUE or stem(low) in heads or word.isdigit() or \
                    low.endswith("ly") or re.search(r"[.,;!?]", message[toks[j][2]:toks[j + 1][1]
                                                    if j + 1 < len(toks) else toks[j][2]]):
                break
            if not word[0].isupper() and mods and mods[0][0][0].isupper():
                break
            mods.insert(0, toks[j])
            j -= 1
        if mods and not mods[0][0][0].isupper() and (len(mods) > 2 or j < 0 or toks[j][0].lower() not in _DETERMINERS):
            mods = []
        if mods and free(mods[0][1], mods[-1][2]):
            out.append(Found(f.key, message[mods[0][1]:mods[-1][2]], 0.7, mods[0][1], mods[-1][2]))
            continue
        # "<head> (is|:|like|such as) <X>"
        m = re.match(r"\s*(?:is|:|-|like|such\s+as|would\s+be|should\s+be)\s+"
                     r"(?P<x>[A-Za-z][\w'-]*(?:\s+[A-Z][\w'-]*)?)", message[e:])
        if m and m.group("x").lower() not in _MODIFIER_STOP:
            s2, e2 = e + m.start("x"), e + m.end("x")
            if free(s2, e2):
                out.append(Found(f.key, message[s2:e2], 0.65, s2, e2))
    return out


_DETERMINERS = frozenset("a an some any the for like want prefer love into of serves serving with".split())
def _example_like(message: str, fields: list[ContextField], spans: list[tuple[int, int]], embed: Embed | None
                  ) -> list[Found]:
    """Phrases close in meaning to the owner's examples of a text field."""
    todo = [(f, field_examples(f)) for f in fields]
    todo = [(f, ex) for f, ex in todo if len(ex) >= 2]
    if not todo or embed is None:
        return []
    cands = phrases(message, spans)
    if not cands:
        return []
    out = []
    try:
        vecs = embed([c[0] for c in cands])
        for f, examples in todo:
            ex = embed(list(examples))
            sims = (vecs @ ex.T).max(axis=1)
            p = int(sims.argmax())
            if float(sims[p]) >= 0.6:
                _t, s, e = cands[p]
                out.append(Found(f.key, message[s:e], round(0.3 + 0.5 * float(sims[p]), 4), s, e,
                                 meta={"by": "examples"}))
    except Exception:  # noqa: BLE001 - meaning is a bonus: without embeddings the lexical reading stands
        return out
    return out
