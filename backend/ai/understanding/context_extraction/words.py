"""Words as the extractor compares them: tokens with spans, a light stemmer, the vocabulary of a field (its key,
label and description, with the owner's examples), and numbers written in words up to the millions."""

from __future__ import annotations

import re
from functools import lru_cache

from backend.ai.understanding.context_extraction.fields import ContextField
from backend.ai.understanding.numwords import TEENS, TENS, UNITS

RE_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ]+(?:['’][A-Za-z]+|-[A-Za-zÀ-ÖØ-öø-ÿ]+)*|\d+(?:[.,]\d+)*")

# Words that carry no topic: what is left of a field's description tells what the field is about.
STOP = frozenset("""
a about above after again all also am an and any are as at be because been before being below between both but by
can could did do does doing down during each few for from further had has have having he her here hers him his how
i if in into is it its itself just me more most my no nor not now of off on once only or other our out over own
same she should so some such than that the their them then there these they this those through to too under until
up very was we were what when where which while who whom why will with would you your yours yourself please
want wanted need needs needed like would looking look find get got give let lets i'd i'm i'll it's that's
many much
""".split())
# Words of descriptions that say how a field is stored, not what it is about.
FIELD_FILLER = frozenset("""
boolean flag indicating indicates whether name names number numbers amount value type kind field customer
user users client clients given provided specified preferred preference desired requested required optional
e g eg example examples such one either
""".split())
SPLIT_EXAMPLES = re.compile(r"\b(?:e\.?\s?g\.?|for\s+example|for\s+instance|such\s+as|like)\b[:,]?\s*", re.I)


def tokens(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(0), m.start(), m.end()) for m in RE_WORD.finditer(text)]


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    """Plural and verb endings off, enough to match "bedrooms" with "bedroom", "allowed" with "allows" and
    "priced" with "price"."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) <= 3:
        return w
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif re.search(r"(?:ss|x|ch|sh|z)es$", w):
        w = w[:-2]
    elif w.endswith("s") and not re.search(r"(?:ss|us|is)$", w):
        w = w[:-1]
    elif w.endswith("ing") and len(w) >= 6:
        w = w[:-3]
    elif w.endswith("ed") and len(w) >= 5:
        w = w[:-2]
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]
    return w


def content_stems(text: str, extra_stop: frozenset[str] = frozenset()) -> list[str]:
    out = []
    for tok, _s, _e in tokens(text):
        low = tok.lower()
        if low in STOP or low in extra_stop or low.isdigit() or len(low) < 2:
            continue
        out.append(stem(low))
    return out


@lru_cache(maxsize=1024)
def _field_vocabulary(key: str, label: str, description: str) -> tuple[frozenset[str], frozenset[str]]:
    key_words = key.replace("_", " ").replace("-", " ")
    # a key that is only a filler word ("amount", "type") is still what the field is about
    core = set(content_stems(f"{key_words} {label}", FIELD_FILLER)) or set(content_stems(f"{key_words} {label}"))
    described = set(content_stems(SPLIT_EXAMPLES.split(description)[0], FIELD_FILLER))
    # "bed rooms" in a description is "bedrooms" in a message
    for text in (key_words, label, description):
        words = [w.lower() for w, _s, _e in tokens(text)]
        for a, b in zip(words, words[1:]):
            if a not in STOP and b not in STOP and a.isalpha() and b.isalpha():
                (core if text is not description else described).add(stem(a + b))
    return frozenset(core), frozenset(described - core)


def field_words(f: ContextField) -> tuple[frozenset[str], frozenset[str]]:
    """(stems of the key and label, further stems of the description): what the field is about."""
    return _field_vocabulary(f.key, f.label, f.description)


_CLAUSE_END = re.compile(r"\b(?:in|on|at|for|per|to|from|with|by|where|which|that|who|when|whose|served|located|"
                         r"is|are|held|offered|used|scheduled|happening|either)\b|[,;:(]", re.I)


def field_heads(f: ContextField) -> frozenset[str]:
    """The nouns the field is about: its key and label, and the description's first phrase ("Treatment of the
    body offered in …" → treatment, body; "Town where the job is" → town)."""
    core, _described = field_words(f)
    first = _CLAUSE_END.split(f.description, maxsplit=1)[0]
    return frozenset(core | set(content_stems(first, FIELD_FILLER)))


def field_examples(f: ContextField) -> tuple[str, ...]:
    """The owner's examples in the description: "Treatment (for example Swedish, Thai)" → Swedish, Thai."""
    parts = SPLIT_EXAMPLES.split(f.description, maxsplit=1)
    if len(parts) < 2:
        return ()
    tail = re.split(r"[)\].;]", parts[1])[0]
    items = re.split(r"\s*(?:,|/|\bor\b|\band\b)\s*", tail)
    return tuple(i.strip(" '\"") for i in items if i.strip(" '\"") and len(i) <= 40)


# ---------------------------------------------------------------- numbers written in words

_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "grand": 1000}
_SMALL = {**UNITS, **TEENS, **TENS, "zero": 0, "a": 1, "an": 1}
NUMBER_WORD = _NUMBER_WORD = "|".join(sorted({*UNITS, *TEENS, *TENS, "zero", "hundred", "thousand", "million"}, key=len,
                               reverse=True))
RE_WORD_NUMBER = re.compile(rf"\b(?:(?:a|an)\s+(?=hundred|thousand|million))?(?:{_NUMBER_WORD})"
                            rf"(?:(?:\s+and\s+|[\s-]+)(?:{_NUMBER_WORD}))*\b", re.I)
RE_DIGITS = re.compile(r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w,]|\.\d)|(?<![\w.,])\d+(?:\.\d+)?(?![\w]|[.,]\d)")


def words_to_number(text: str) -> int | None:
    """"eight hundred and ten" → 810, "two thousand five hundred" → 2500, "a hundred" → 100."""
    parts = [p for p in re.split(r"[\s-]+", text.lower().strip()) if p and p != "and"]
    if not parts:
        return None
    total, current, seen = 0, 0, False
    for i, p in enumerate(parts):
        if p in _SMALL:
            if p in ("a", "an") and (seen or i + 1 >= len(parts) or parts[i + 1] not in _SCALES):
                return None
            current += _SMALL[p]
        elif p in _SCALES:
            scale = _SCALES[p]
            current = max(current, 1) * scale
            if scale >= 1000:
                total, current = total + current, 0
        else:
            return None
        seen = True
    value = total + current
    if parts[0] in ("a", "an") and len(parts) == 1:
        return None
    return value


def find_numbers(text: str) -> list[tuple[int, int, float | int]]:
    """Every number in the text with its span: digits ("1,780", "2.5") and words ("eight hundred and ten")."""
    out: list[tuple[int, int, float | int]] = []
    for m in RE_DIGITS.finditer(text):
        raw = m.group(0).replace(",", "")
        value: float | int = float(raw) if "." in raw else int(raw)
        out.append((m.start(), m.end(), value))
    for m in RE_WORD_NUMBER.finditer(text):
        value = words_to_number(m.group(0))
        if value is not None:
            out.append((m.start(), m.end(), value))
    out.sort()
    return out
