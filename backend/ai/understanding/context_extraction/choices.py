"""Choice, multi-choice and yes/no fields, read through their options and the field's own words.

- An option named in the message fills the field ("a deep tissue massage" → "Deep tissue"); when two
  fields share the options (a shipment's pick-up and drop-off depot), words of direction ("to", "from") and
  the fields' descriptions decide which one the mention fills.
- A yes/no field is about a few words of its key and description ("needs_parking": parking); a mention of them is
  a yes ("with parking"), a mention under a negation a no ("no parking", "doesn't need to be wheelchair accessible").
- With no option named, phrases of the message are compared with the options by meaning (the packaged MiniLM
  embeddings): "a divorce" is Family law, "my nails" a Manicure. Only a clear winner counts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from backend.ai.understanding.context_extraction.fields import ContextField
from backend.ai.understanding.context_extraction.typed import Found
from backend.ai.understanding.context_extraction.words import STOP, field_words, stem, tokens

Embed = Callable[[Sequence[str]], Any]  # texts → L2-normalised rows (numpy)

# Words that say how a yes/no field behaves rather than what it is about.
_GENERIC = frozenset(stem(w) for w in """
has have had offer offers offered serve serves served allow allows allowed include includes included need needs
want wants accept accepts accepted provide provides provided require requires required support supports is are
can do does available availability flag boolean indicating indicate whether if property place option options
service services thing item feature features facility facilities amenity amenities access the a an any with
""".split())
RE_NEGATION = re.compile(r"\b(?:no|not|without|never|nor|none|n't|dont|don't|doesn't|doesnt|isn't|isnt|aren't|"
                         r"arent|won't|wont|can't|cant|cannot|nothing|neither|excluding|except|minus|zero)\b|n't\b",
                         re.I)
_DESTINATION = re.compile(r"\b(?:recipient|destination|receiv\w*|payee|beneficiary|target|to\s+whom|deliver\w*\s+to|"
                          r"arrival|drop[\s-]?off)\b", re.I)
_ORIGIN = re.compile(r"\b(?:source|origin|sender|send\w*\s+from|departure|pick[\s-]?up|from\s+which)\b", re.I)
_TO_CUE = re.compile(r"\b(?:to|into|towards|for)\b", re.I)
_FROM_CUE = re.compile(r"\b(?:from|out\s+of|off)\b", re.I)

# below these, a meaning match is a guess the extractor keeps to itself
MEANING_MIN = 0.6
MEANING_MARGIN = 0.1
MAX_PHRASES = 6


@lru_cache(maxsize=2048)
def option_pattern(option: str) -> re.Pattern[str] | None:
    words = re.findall(r"[A-Za-z0-9]+", option)
    if not words:
        return None
    body = r"[\s\-_/]*".join(re.escape(w) for w in words)
    flags = 0 if len(option.strip()) <= 2 else re.I
    return re.compile(rf"(?<![\w-]){body}(?:s|es)?(?![\w-])", flags)


def topic_stems(f: ContextField) -> tuple[frozenset[str], frozenset[str]]:
    core, described = field_words(f)
    return frozenset(core - _GENERIC), frozenset(described - _GENERIC)


def _direction(f: ContextField) -> str:
    text = f"{f.key.replace('_', ' ')} {f.label} {f.description}"
    if _DESTINATION.search(text):
        return "to"
    if _ORIGIN.search(text):
        return "from"
    return ""


def _cue_before(message: str, start: int) -> str:
    window = message[max(0, start - 30):start]
    # the nearest cue word wins: "from the Leeds depot to the York depot"
    best, where = "", -1
    for rx, name in ((_TO_CUE, "to"), (_FROM_CUE, "from")):
        for m in rx.finditer(window):
            if m.start() > where:
                best, where = name, m.start()
    return best


def option_mentions(message: str, f: ContextField) -> list[tuple[int, int, str]]:
    """(start, end, option) for every option named in the message, longest first where they overlap."""
    found: list[tuple[int, int, str]] = []
    for option in f.options:
        rx = option_pattern(option)
        if rx is None:
            continue
        for m in rx.finditer(message):
            found.append((m.start(), m.end(), option))
    found.sort(key=lambda x: (x[0], -(x[1] - x[0])))
    out: list[tuple[int, int, str]] = []
    for s, e, o in sorted(found, key=lambda x: -(x[1] - x[0])):
        if not any(s < b and a < e for a, b, _ in out):
            out.append((s, e, o))
    return sorted(out)


def choice_values(message: str, fields: Sequence[ContextField], kinds: dict[str, str]) -> list[Found]:
    """Options named in the message, for choice and multi-choice fields."""
    choice_fields = [f for f in fields if kinds[f.key] in ("choice", "multi_choice")]
    out: list[Found] = []
    mentions: dict[tuple[int, int, str], list[ContextField]] = {}
    for f in choice_fields:
        for s, e, o in option_mentions(message, f):
            mentions.setdefault((s, e, o.casefold()), []).append(f)
    per_field: dict[str, list[tuple[int, int, str]]] = {}
    for (s, e, _o), owners in sorted(mentions.items()):
        owner = owners[0]
        if len(owners) > 1:
            cue = _cue_before(message, s)
            directed = [f for f in owners if _direction(f) == cue and cue]
            plain = [f for f in owners if not _direction(f)]
            owner = (directed or plain or owners)[0]
        option = next(o for o in owner.options if o.casefold() == _o)
        per_field.setdefault(owner.key, []).append((s, e, option))
    by_key = {f.key: f for f in choice_fields}
    for key, hits in per_field.items():
        f = by_key[key]
        if kinds[key] == "multi_choice":
            values = [o for o in f.options if any(h[2] == o for h in hits)]
            out.append(Found(key, values, 0.9, hits[0][0], hits[-1][1]))
        else:
            for s, e, option in hits:
                out.append(Found(key, option, 0.9, s, e))
    return out


def _yes_option(f: ContextField, value: bool) -> Any:
    if f.value_type == "boolean":
        return value
    wanted = ("true", "yes", "y") if value else ("false", "no", "n")
    return next((o for o in f.options if o.strip().lower() in wanted), None)


def as_yes_no(f: ContextField, value: bool) -> Any:
    """The field's value for a yes or a no: True/False, or its yes-like / no-like option."""
    return _yes_option(f, value)


def boolean_values(message: str, fields: Sequence[ContextField], kinds: dict[str, str]) -> list[Found]:
    """Yes/no fields whose topic the message mentions: a yes, or a no under a negation."""
    out: list[Found] = []
    toks = tokens(message)
    stems = [stem(t[0].lower()) for t in toks]
    for f in fields:
        if kinds[f.key] not in ("boolean", "boolean_choice"):
            continue
        core, described = topic_stems(f)
        topic = core or described
        if not topic:
            continue
        hits = [i for i, st in enumerate(stems) if st in topic]
        if not hits:
            continue
        if len(topic) > 1 and len({stems[i] for i in hits}) < 2 and not _alone_enough(f, stems[hits[0]], topic):
            continue
        first, last = hits[0], hits[-1]
        start, end = toks[first][1], toks[last][2]
        clause_start = max((m.end() for m in re.finditer(r"[.,;!?]|\bbut\b|\band\b", message[:start])), default=0)
        before = message[max(clause_start, start - 40):start]
        after = message[end:end + 25].split(".")[0]
        negated = bool(RE_NEGATION.search(before)) or bool(re.match(r"\s*(?:\w+\s+){0,2}(?:not|n't|never)\b",
                                                                      after, re.I))
        value = _yes_option(f, not negated)
        if value is None:
            continue
        conf = 0.85 if core else 0.7
        out.append(Found(f.key, value, conf, start, end))
    return out


def _alone_enough(f: ContextField, st: str, topic: frozenset[str]) -> bool:
    """One word of a two-word topic is enough when it is the topic's last word ("parking" for "street parking")."""
    words = [stem(w.lower()) for w, _s, _e in tokens(f.key.replace("_", " ") + " " + f.label)]
    words = [w for w in words if w in topic]
    return bool(words) and st == words[-1]


# ---------------------------------------------------------------- by meaning

_PHRASE_STOP = STOP | frozenset("""
yes no ok okay thanks thank hi hello hey sure great good nice fine also really just actually maybe something
anything someone somewhere place thing things one ones them it this that here there today tomorrow tonight
would could should can will may might must shall go going make made see help know think love like prefer
""".split())


def phrases(message: str, skip: list[tuple[int, int]]) -> list[tuple[str, int, int]]:
    """Runs of content words (at most 3), outside the spans other values took."""
    out: list[tuple[str, int, int]] = []
    run: list[tuple[str, int, int]] = []

    def flush() -> None:
        if run:
            out.append((message[run[0][1]:run[-1][2]], run[0][1], run[-1][2]))
            run.clear()

    for word, s, e in tokens(message):
        low = word.lower()
        if low in _PHRASE_STOP or word.isdigit() or any(s < b and a < e for a, b in skip):
            flush()
            continue
        if run and (len(run) == 3 or re.search(r"[.,;!?]", message[run[-1][2]:s])):
            flush()
        run.append((word, s, e))
    flush()
    return out[:MAX_PHRASES]


def meaning_values(message: str, fields: Sequence[ContextField], kinds: dict[str, str], filled: set[str],
                   skip: list[tuple[int, int]], embed: Embed | None) -> list[Found]:
    """Choice fields with no option named: the phrase closest in meaning to one option, when it is clear."""
    todo = [f for f in fields if kinds[f.key] == "choice" and f.key not in filled and len(f.options) >= 2]
    if not todo or embed is None:
        return []
    cands = phrases(message, skip)
    if not cands:
        return []
    option_texts = sorted({o for f in todo for o in f.options})
    try:
        vectors = embed([c[0] for c in cands] + option_texts)
    except Exception:  # noqa: BLE001 - meaning is a bonus: without embeddings the lexical reading stands
        return []
    phrase_vecs, option_vecs = vectors[: len(cands)], vectors[len(cands):]
    index = {o: i for i, o in enumerate(option_texts)}
    out: list[Found] = []
    for f in todo:
        rows = option_vecs[[index[o] for o in f.options]]
        sims = phrase_vecs @ rows.T  # phrases × options
        best: tuple[float, int, int] | None = None
        for p in range(len(cands)):
            word = stem(cands[p][0].lower())
            if any(stem(o.lower()).startswith(word) or word.startswith(stem(o.lower())) for o in f.options):
                continue  # "I'll book it" is not the option "booking": the same word in another sense
            order = sims[p].argsort()[::-1]
            top, second = float(sims[p][order[0]]), float(sims[p][order[1]])
            clear = (top >= MEANING_MIN and top - second >= MEANING_MARGIN) or \
                (top >= MEANING_MIN - 0.1 and top - second >= 1.5 * MEANING_MARGIN)
            if clear and (best is None or top > best[0]):
                best = (top, p, int(order[0]))
        if best is not None:
            top, p, o = best
            _text, s, e = cands[p]
            out.append(Found(f.key, f.options[o], round(min(0.8, 0.2 + top * 0.7), 4), s, e,
                             meta={"by": "meaning"}))
    return out
