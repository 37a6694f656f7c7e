"""People's names in messages, without a name list: context ("my name is …", "under the name …", "this is …",
"I'm …", "for John Smith", "… here", signatures), capitalisation, and a stop-word list that keeps sentence-initial
words ("Thanks", "Hello", "Can") and places ("Crystal Palace") out. When the assistant has just asked for a name,
the bare answer ("John Smith", "smith") is the name.

`find_names` returns `Candidate`s of kinds "first_name", "last_name" and "person_name" (the whole name).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from backend.ai.understanding.candidates import Candidate

_I = re.I

_STOP_WORDS = """
a about above actually after afternoon again ago all almost also am an and another any anybody anyone anything
anyway are around as ask asked at available away back be because been before being best better between big both
bring bringing but by call calling came can cancel cancelled canceling cancelling cannot cant change changed
changing check coming confirm could couldnt day days dear did didnt do does dont done down during each early
either else even evening ever every everyone everything excuse fine first for from get gets getting give glad go
going gone good got great guess had has hasnt have having he hello help her here hers hey hi him his hope hoping
how however i id ill im in indeed instead interested into is isnt it its itself ive just kind know last late
later let lets like likely little look looking lot lunch made make making many may maybe me mine more morning
most much must my myself name named names need needed needs new next nice night no nobody none nope not nothing
now of off oh ok okay on once one only or other our ours out over party people perhaps person please plus
possible pretty probably quite rather re really regarding reservation reserve reserved right running said same
saw say see seems set several shall she should since so some someone something sometime sorry still such sure
table tables than thank thanks thanx thx that thats the their them then there these they thing think this those
though thought through till time to today together tomorrow tonight too trying under until up upon us very via
want wanted wanting was wasnt way we well were what whatever when where whether which while who whom whose why
will wish with within without would wouldnt yeah yes yep yet you your yours yourself booking booked book books
dinner breakfast brunch lunch meal table guest guests cheers regards sincerely best wishes hiya howdy greetings
morning afternoon evening tonight tomorrow today yesterday monday tuesday wednesday thursday friday saturday
sunday mon tue tues wed thu thur thurs fri sat sun january february march april may june july august september
october november december jan feb mar apr jun jul aug sep sept oct nov dec weekend week month year
mr mrs ms miss mx dr sir madam madame mister prof
halal kosher vegetarian vegan gluten dairy allergic allergy outside inside outdoor indoor
restaurant restaurants cafe bar pub grill kitchen bistro brasserie menu food cuisine
bye goodbye cya ciao called incorrect wrong right crazy correct yes no nah please cancel confirm thankyou
fuck fucking fucker shit idiot stupid damn crap cunt bitch bastard asshole moron dumb lol lmao omg wtf
sunday's friday's saturday's booking's table's
confirmed confirmation correct great perfect awesome excellent wonderful lovely fantastic cool alright
hmm um uh er ah well wow oops
""".split()
STOP_WORDS = frozenset(_STOP_WORDS)
# Capitalised words that are not names when nothing says a name follows ("Polish food", "Indian").
_ADJECTIVES = frozenset("""
english british polish french italian chinese indian thai japanese mexican spanish greek turkish korean
vietnamese american european asian african lebanese moroccan german russian portuguese brazilian irish scottish
welsh caribbean persian malaysian indonesian nepalese peruvian cuban jamaican ethiopian modern traditional
""".split())
_MONTH_DAY_WORDS = frozenset("""january february march april may june july august september october november
december monday tuesday wednesday thursday friday saturday sunday""".split())

# Words that make a pair of capitalised words a place or a business, not a person.
_PLACE_WORDS = frozenset("""
street st road rd avenue ave square sq palace park garden gardens bridge station market hall hill lane place
court centre center central city town village east west north south restaurant cafe café bar grill kitchen
bistro brasserie pizzeria tavern pub inn hotel house lounge diner steakhouse club co ltd inc llc bank hospital
school university college airport mall plaza fish chips super grand royal cross common green heath vale fields
borough island islands beach bay harbour harbor terrace row walk way tower towers theatre theater museum church
cathedral abbey castle market quarter district county state province valley mountain lake river point
""".split())

PARTICLES = frozenset({"van", "von", "de", "da", "di", "del", "della", "la", "le", "du", "dos", "das", "der",
                       "den", "ter", "bin", "ibn", "al", "el", "st", "st.", "mac", "mc"})
TITLES = r"(?:mr|mrs|ms|miss|mx|dr|sir|madam|madame|mister|prof|professor|mrs)\.?"

CAP_TOKEN = r"(?:[A-Z]['’])?[A-Z][a-z]+(?:[A-Z][a-z]+)?(?:-[A-Z][a-z]+)?"
RE_TOKEN = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ]+(?:['’-][A-Za-zÀ-ÖØ-öø-ÿ]+)*")

_FIRST_NAMES_FILE = Path(__file__).with_name("first_names.txt")


@lru_cache(maxsize=1)
def common_first_names() -> frozenset[str]:
    """A small list of common first names we wrote ourselves (package data); lower case."""
    try:
        words = _FIRST_NAMES_FILE.read_text(encoding="utf-8").split()
    except OSError:
        return frozenset()
    return frozenset(w.strip().lower() for w in words if w.strip() and not w.startswith("#"))


# Triggers: the name follows. "strong" ones allow a lower-case name ("my name is john smith").
_STRONG = (r"my\s+(?:full\s+)?names?\s*(?:is|'s|’s|are|:|=)?|"
           r"(?:(?:under|in|on|by|for|with|use)\s+)?the\s+name(?:\s+of)?(?:\s*(?:is|:|=|will\s+be|should\s+be))?|"
           r"(?:full\s+)?name\s*(?:is|'s|’s|:|=)|my\s+names|on\s+name|"
           r"under\s+name|with\s+the\s+name|call\s+me|call\s+be|i\s+go\s+by|known\s+as|"
           r"(?:i\s+am|i'm|i’m|im)\s+called|named\s+me|my\s+parents\s+named\s+me|listed\s+as|"
           r"reservation\s+name\s*(?:is|:)?|booking\s+name\s*(?:is|:)?|under\s+my\s+name,?")
_FIRST = r"(?:my\s+)?(?:first|given|christian)\s+name\s*(?:is|'s|’s|:|=)?"
_LAST = r"(?:my\s+)?(?:last|family|sur|second)\s*name\s*(?:is|'s|’s|:|=)?|(?:my\s+)?surname\s*(?:is|'s|’s|:|=)?"
_MEDIUM = (r"under|this\s+is|it'?s|it’s|its|it\s+is|i\s*'?m|i’m|i\s+am|i\s+am\s+with|i'm\s+with|for|by|"
           r"(?:hello|hi|hey|dear)\s*,?|from|with|signed|regards,?|cheers,?|thanks,?|thank\s+you,?|"
           r"sincerely,?|best,?|probably|think|reservation\s+of|booking\s+of")

RE_STRONG = re.compile(rf"\b(?P<trig>{_STRONG})\s*[\"'“‘]?\s*", _I)
RE_FIRST = re.compile(rf"\b(?P<trig>{_FIRST})\s*[\"'“‘]?\s*", _I)
RE_LAST = re.compile(rf"\b(?P<trig>{_LAST})\s*[\"'“‘]?\s*", _I)
RE_MEDIUM = re.compile(rf"(?:^|(?<=[\s,.;:!?(]))(?P<trig>{_MEDIUM})\s+[\"'“‘]?", _I)
RE_TITLE = re.compile(rf"\b(?P<title>{TITLES})\s+(?=[A-Z])", _I)
RE_IS_MY_NAME = re.compile(r"^\s*(?:(?:is|'s|’s)\s+(?:my|the)\s+(?P<which>first|last|family|sur|given|full)?\s*"
                           r"(?:name|names)\b|here\b|speaking\b|(?:has|had|made)\s+(?:a|the|an)\s+"
                           r"(?:booking|reservation|table)|booking\b|reservation\b)", _I)
RE_SIGNOFF = re.compile(r"(?:^|\n|[.!]\s+)(?:thanks|thank\s+you|many\s+thanks|regards|kind\s+regards|best\s+regards|"
                        r"best|cheers|sincerely|yours|warm\s+regards|best\s+wishes|ta)\s*[,!.]?\s*(?:\n|\s)\s*"
                        r"(?:[-–—~]\s*)?(?=\S)", _I)
RE_DASH_SIGN = re.compile(r"(?:\n|\s)[-–—~]\s*(?=[A-Z][a-z]+\s*(?:[A-Z][a-z]+)?\s*$)")

_FILLER_HEAD = re.compile(
    r"^\s*(?:(?:yes|yeah|yep|yup|sure|ok|okay|of\s+course|certainly|absolutely|no|nope|sorry|oh|so|well|"
    r"hi|hello|hey|it\s+should\s+be\s+under|should\s+be|it\s+will\s+be|it'll\s+be|it'?s|it’s|it\s+is|its|"
    r"that'?s|that\s+is|that\s+would\s+be|that'll\s+be|my\s+(?:full\s+)?name\s+is|my\s+name'?s|name'?s|name\s+is|"
    r"the\s+name\s+is|i'?m|i\s+am|this\s+is|under|put\s+it\s+under|book\s+it\s+under|use|you\s+can\s+use|"
    r"call\s+me|please\s+call\s+me|you\s+can\s+call\s+me|just|the\s+name|name|please)\b[\s,.:!-]*)+", _I)
_FILLER_TAIL = re.compile(r"(?:[\s,.;:!-]+(?:please|thanks|thank\s+you|thx|here|is\s+my\s+name|is\s+the\s+name|"
                          r"speaking|cheers|ty))*[\s,.;:!?]*$", _I)


def _is_cap(tok: str) -> bool:
    return bool(re.fullmatch(CAP_TOKEN, tok)) or (tok.isupper() and len(tok) > 1 and tok.isalpha())


def _name_ok(tok: str, allow_lower: bool) -> bool:
    low = tok.lower().strip("'’")
    if low in STOP_WORDS or len(low) < 2 or not re.search(r"[a-z]", low):
        return False
    if re.search(r"\d", tok):
        return False
    if _is_cap(tok):
        return True
    return allow_lower and tok.islower()


def _collect(text: str, pos: int, allow_lower: bool, max_tokens: int = 3, allow_comma: bool = False
             ) -> list[tuple[int, int]]:
    """Name tokens starting at `pos` (after a trigger): [(start, end), ...]."""
    out: list[tuple[int, int]] = []
    i = pos
    m = RE_TITLE.match(text, i)
    if m:
        i = m.end()
    while len(out) < max_tokens:
        ws = re.match(r"[ \t]*(?:,[ \t]*)?" if (allow_comma and out) else r"[ \t]*", text[i:])
        j = i + (ws.end() if ws else 0)
        if out and ws and "," in ws.group(0) and not allow_comma:
            break
        tm = RE_TOKEN.match(text, j)
        if not tm:
            break
        tok = tm.group(0)
        low = tok.lower()
        if out and low in PARTICLES and len(out) < max_tokens:
            nxt = RE_TOKEN.match(text, tm.end() + 1) if text[tm.end():tm.end() + 1] == " " else None
            if nxt and _name_ok(nxt.group(0), allow_lower):
                out.append((tm.start(), tm.end()))
                i = tm.end()
                continue
        if not _name_ok(tok, allow_lower and (not out or text[out[0][0]].islower())):
            # "under August Wurzer": a month or weekday can be a first name when a surname follows
            if out or low not in _MONTH_DAY_WORDS or not _is_cap(tok):
                break
            nxt = re.match(r"[ \t]+((?:[A-Z]['’])?[A-Z][a-z]+)", text[tm.end():])
            if not nxt or not _name_ok(nxt.group(1), False) or nxt.group(1).lower() in _MONTH_DAY_WORDS:
                break
        if out and tok[0].islower() != text[out[0][0]].islower():
            break  # "John smith" is rare; "John and" handled by the stop words
        out.append((tm.start(), tm.end()))
        i = tm.end()
    # a particle cannot end a name
    while out and text[out[-1][0]:out[-1][1]].lower() in PARTICLES:
        out.pop()
    return out


def _norm(tok: str) -> str:
    if tok.islower() or tok.isupper():
        return "-".join(p[:1].upper() + p[1:].lower() for p in tok.split("-"))
    return tok


def _norm_at(tok: str, index: int) -> str:
    """A particle inside a name keeps its case ("van Gogh")."""
    if index > 0 and tok.lower() in PARTICLES:
        return tok
    return _norm(tok)


def _emit(text: str, toks: list[tuple[int, int]], conf: float, prio: float, single: str, source: str
          ) -> list[Candidate]:
    """first / last / full candidates for name tokens; `single` says what one token is."""
    if not toks:
        return []
    out: list[Candidate] = []
    start, end = toks[0][0], toks[-1][1]
    full = " ".join(_norm_at(text[s:e], i) for i, (s, e) in enumerate(toks))
    meta = {"source": source}
    if len(toks) == 1:
        s, e = toks[0]
        out.append(Candidate(single, s, e, _norm(text[s:e]), conf, prio, (), meta))
        out.append(Candidate("person_name", s, e, full, conf * 0.9, prio, (), meta))
        return out
    out.append(Candidate("first_name", toks[0][0], toks[0][1], _norm(text[toks[0][0]:toks[0][1]]), conf, prio, (),
                         meta))
    # the last name starts at the first particle after the first token ("van Dyke"), else at the last token
    li = len(toks) - 1
    for k in range(1, len(toks) - 1):
        if text[toks[k][0]:toks[k][1]].lower() in PARTICLES:
            li = k
            break
    ls = toks[li][0]
    out.append(Candidate("last_name", ls, end, " ".join(_norm_at(text[s:e], 1) for s, e in toks[li:]), conf, prio, (),
                         meta))
    out.append(Candidate("person_name", start, end, full, conf, prio, (), meta))
    return out


RE_BUSINESS_BEFORE = re.compile(r"\b(?:restaurant|place|cafe|café|bar|pub|hotel|venue|shop|dish|business|street|"
                                r"road|area|neighbou?rhood|town|city|company)s?\s+(?:(?:by|with|under|called|named|"
                                r"is)\s+)?(?:the\s+)?name", _I)
RE_BOOKING_CUE = re.compile(r"book|reserv|table|cancel|party|lunch|dinner|\d|tonight|tomorrow|today|seat", _I)
RE_POST_NAME = re.compile(rf"(?:^|(?<=[\s,.;:!?(\"]))(?P<n>{CAP_TOKEN}(?:\s+(?:(?:van|von|de|da|di|del|der|den|la|le|"
                          rf"du|ter)\s+)?{CAP_TOKEN}){{0,2}})(?=\s)")
RE_CAP_RUN = re.compile(rf"(?<![\w'’])(?:{CAP_TOKEN})(?:\s+(?:{CAP_TOKEN}))+")
RE_PLACE_BEFORE = re.compile(r"\b(?:about|to|in|at|near|from|called|named|restaurant|place|find|visit|try|want|"
                             r"like|go|around|into|inquire|information\s+on|info\s+on|on|serves?|serving|eat|"
                             r"eating|recommend|of)\s*$", _I)
RE_PERSON_AFTER = re.compile(r"\s*(?:has|had|have|made|booked|reserved|is\s+(?:booked|coming|my|the|on)|was|here|"
                             r"speaking|party|booking|reservation|table|and\s+I\b|['’]s\s+(?:booking|reservation|party|"
                             r"table)|[,.]?\s*(?:table|party)\s+(?:of|for)|[,]\s*(?:a\s+)?(?:table|party|booking))", _I)
RE_PERSON_BEFORE = re.compile(r"(?:reservation|booking|table|booked|reserved|cancel|party|guest|customer|"
                              r"hello|hi|hey|dear|thanks|regards|i\s+think|maybe|probably|you\s+have\s+a|"
                              r"there\s+is\s+a|it\s+was|was)\s*[,:]?\s*(?:\w+\s+){0,2}$", _I)


def _mostly_title_case(text: str) -> bool:
    words = re.findall(r"[A-Za-z]+", text)
    if len(words) < 5:
        return False
    caps = sum(1 for w in words if w[0].isupper())
    return caps / len(words) > 0.6


def _next_is_boundary(text: str, end: int) -> bool:
    """After a name: end, punctuation, or a function word — not a lower-case noun ("Polish food")."""
    rest = text[end:]
    if re.match(r"\s*(?:$|[,.;:!?)\"'”’\n-])", rest):
        return True
    m = re.match(r"\s+([A-Za-z']+)", rest)
    if not m:
        return True
    w = m.group(1).lower()
    return w in _BOUNDARY_WORDS or w in STOP_WORDS and w not in _NOUNISH


_NOUNISH = frozenset({"booking", "booked", "book", "table", "tables", "reservation", "party", "people", "person",
                      "guest", "guests", "lunch", "dinner", "breakfast", "brunch", "restaurant", "restaurants",
                      "menu", "food", "cuisine", "meal"})
_BOUNDARY_WORDS = frozenset({"at", "on", "for", "in", "tomorrow", "today", "tonight", "and", "i", "please", "who",
                             "from", "to", "with", "under", "is", "was", "has", "had", "here", "speaking", "but",
                             "so", "we", "the", "a", "my", "thanks", "thank", "party", "reservation", "booking",
                             "table", "name", "or", "by", "this", "that", "which", "can", "could", "would",
                             "will", "should", "sorry", "if", "as", "about", "around", "not", "it", "its", "it's",
                             "he", "she", "they", "you", "also", "again", "instead", "then", "x", "pls", "plz"})


def _requested_single(requested: Sequence[str], name_kinds: dict[str, str]) -> str | None:
    """Which name a one-word answer is: the name field asked for most often, ties to the one asked first."""
    kinds = [name_kinds[r] for r in requested if r in name_kinds]
    if not kinds:
        return None
    counts: dict[str, int] = {}
    for k in kinds:
        counts[k] = counts.get(k, 0) + 1
    best = max(counts.values())
    for k in kinds:
        if counts[k] == best:
            return k
    return None


def _bare_answer(text: str, requested: Sequence[str], name_kinds: dict[str, str]) -> list[Candidate]:
    """The whole answer is the name the assistant asked for: "John Smith", "smith", "Dulcie, Petsch"."""
    head = _FILLER_HEAD.match(text)
    s = head.end() if head else 0
    tail = _FILLER_TAIL.search(text, s)
    e = tail.start() if tail else len(text)
    core = text[s:e]
    if not core or len(core) > 60 or re.search(r"\d", core):
        return []
    parts = list(RE_TOKEN.finditer(core))
    # "Armando and Eves": first and last name joined by "and"
    if len(parts) == 3 and parts[1].group(0).lower() in ("and", "&"):
        parts = [parts[0], parts[2]]
    if not 1 <= len(parts) <= 3:
        return []
    toks: list[tuple[int, int]] = []
    prev_end = 0
    first_names = common_first_names()
    for p in parts:
        gap = core[prev_end:p.start()]
        if toks and not re.fullmatch(r"\s*,?\s*|\s+(?:and|&)\s+|\s*&\s*", gap):
            return []
        if not toks and gap.strip():
            return []
        tok = p.group(0)
        low = tok.lower()
        if low in STOP_WORDS and low not in PARTICLES:
            # a capitalised word that is also a first name: "Will", "May", "Grant"
            if not (_is_cap(tok) and low in first_names):
                return []
        toks.append((s + p.start(), s + p.end()))
        prev_end = p.end()
    if not toks:
        return []
    lower = [text[a].islower() for a, _ in toks]
    if any(lower):
        # a writer who capitalises ("It's crazy") would capitalise a name: lower-case words are not one
        if re.search(r"[A-Z]", text[:toks[0][0]] + text[toks[-1][1]:]) or not all(lower):
            return []
    conf = 0.85 if not any(lower) else 0.7
    if len(toks) == 1:
        single = _requested_single(requested, name_kinds) or "first_name"
        if single not in ("first_name", "last_name"):
            single = "first_name"
        return _emit(text, toks, conf, 0.9, single, "answer")
    return _emit(text, toks, conf, 0.9, "first_name", "answer")


def _leading_name(text: str, requested: Sequence[str], name_kinds: dict[str, str]) -> list[Candidate]:
    """"Lashon, a table for myself and 5 others" right after the assistant asked for a name."""
    m = re.match(rf"\s*(?P<n>{CAP_TOKEN}(?:\s+{CAP_TOKEN}){{0,2}})\s*(?:,|-|:|\bhere\b)", text)
    if not m:
        return []
    toks = _collect(text, m.start("n"), allow_lower=False, max_tokens=3)
    if not toks or toks[-1][1] != m.end("n"):
        return []
    single = _requested_single(requested, name_kinds) or "first_name"
    if single not in ("first_name", "last_name"):
        single = "first_name"
    return _emit(text, toks, 0.75, 0.85, single, "answer")


def find_names(text: str, *, requested: Sequence[str] = (), name_kinds: dict[str, str] | None = None
               ) -> list[Candidate]:
    """Name candidates. `name_kinds` maps the requested field keys that are names to their kind (first_name,
    last_name, person_name)."""
    name_kinds = name_kinds or {}
    out: list[Candidate] = []
    asked = [r for r in requested if r in name_kinds]
    if asked:
        out += _bare_answer(text, requested, name_kinds) or _leading_name(text, requested, name_kinds)
    boost = 0.1 if asked else 0.0

    for rx, single, conf in ((RE_FIRST, "first_name", 0.9), (RE_LAST, "last_name", 0.9)):
        for m in rx.finditer(text):
            toks = _collect(text, m.end(), allow_lower=True, max_tokens=1)
            if toks:
                out += _emit(text, toks, conf, 0.95, single, "label")
    for m in RE_STRONG.finditer(text):
        trig = m.group("trig").lower()
        if re.search(r"(?:first|last|family|sur|second)\s*name", text[max(0, m.start() - 8):m.end()], _I):
            continue  # handled by RE_FIRST / RE_LAST
        toks = _collect(text, m.end(), allow_lower=True, max_tokens=3)
        if not toks:
            continue
        if text[toks[0][0]].islower() and not _next_is_boundary(text, toks[-1][1]):
            continue
        if RE_BUSINESS_BEFORE.search(text[max(0, m.start() - 30):m.start() + 12]):
            continue  # "a restaurant by the name of …", "the restaurant name is …"
        single = "last_name" if trig.startswith("under") else "first_name"
        if re.match(rf"{TITLES}\s", text[m.end():], _I):
            single = "last_name"
        lower = text[toks[0][0]].islower()
        out += _emit(text, toks, (0.7 if lower else 0.9) + boost / 2, 0.9, single, "strong")
    if not (text.isupper() and len(text) > 12):
        for m in RE_MEDIUM.finditer(text):
            trig = re.sub(r"\s+", " ", m.group("trig").lower()).strip(" ,")
            toks = _collect(text, m.end(), allow_lower=False, max_tokens=3)
            if not toks:
                continue
            if not _next_is_boundary(text, toks[-1][1]):
                continue
            words = [text[a:b] for a, b in toks]
            if trig != "under" and any(w.lower() in _PLACE_WORDS or w.lower() in _ADJECTIVES for w in words):
                continue
            title = bool(RE_TITLE.match(text, m.end()))
            whole = m.start() == len(text) - len(text.lstrip()) and re.fullmatch(r"[\s.!]*", text[toks[-1][1]:])
            if trig == "for" and not (RE_BOOKING_CUE.search(text[max(0, m.start() - 60):m.start()]) or whole):
                continue  # "looking for Surrey Quays"; "for Smith" alone is an answer
            if trig in ("for", "by", "with", "from", "think", "probably", "it's", "its", "it is",
                        "it’s") and len(toks) < 2 and not title:
                # "for Smith" only right after a booking word; "it's Smith" only when a name was asked for
                before = text[max(0, m.start() - 30):m.start()].lower()
                if not (re.search(r"(?:book(?:ing|ed)?|reserv\w*|table|made|cancel)\s*(?:\w+\s+){0,2}$", before)
                        and trig == "for") and not asked and not (whole and trig == "for"):
                    continue
            if trig in ("i'm", "im", "i am", "i ’m", "i’m", "this is") and len(toks) == 1 and not asked:
                conf = 0.6
            elif trig in ("for", "with", "from", "by", "think", "probably"):
                conf = 0.65 if len(toks) >= 2 else 0.5
            else:
                conf = 0.75
            single = "first_name"
            if trig in ("under", "for", "by") or title:
                single = "last_name"
            if trig.startswith(("regards", "cheers", "thanks", "thank you", "sincerely", "best", "signed")):
                if not re.match(r"\s*$", text[toks[-1][1]:]):
                    continue
            out += _emit(text, toks, conf + boost, 0.7, single, "medium")
        # "Jana Picariello here", "Darci Steinmeyer is my name", "Kristy Eheler has a booking"
        for m in RE_POST_NAME.finditer(text):
            after = text[m.end():]
            k = RE_IS_MY_NAME.match(after)
            if not k:
                continue
            toks = _collect(text, m.start("n"), allow_lower=False, max_tokens=3)
            if not toks or toks[-1][1] != m.end("n"):
                continue
            which = (k.group("which") or "").lower()
            single = "last_name" if which in ("last", "family", "sur") else "first_name"
            words_after = after.strip().lower()
            conf = 0.85 if words_after.startswith(("is", "'s", "’s", "here", "speaking")) else 0.7
            if which in ("last", "family", "sur") and len(toks) > 1:
                toks = toks[-1:]
            if which in ("first", "given") and len(toks) > 1:
                toks = toks[:1]
            out += _emit(text, toks, conf, 0.85, single, "post")
        # sign-offs: "Thanks,\nJohn Smith", "... - Anna"
        for rx in (RE_SIGNOFF, RE_DASH_SIGN):
            for m in rx.finditer(text):
                toks = _collect(text, m.end(), allow_lower=False, max_tokens=3)
                if toks and re.fullmatch(r"[\s.!]*", text[toks[-1][1]:]):
                    out += _emit(text, toks, 0.75, 0.8, "first_name", "signature")
        # two or three capitalised words with no trigger: "You have a Collette Kiekbusch booking",
        # "Kristy Eheler has a booking" — only with a cue, places and businesses look the same
        if not _mostly_title_case(text):
            first_names = common_first_names()
            for m in RE_CAP_RUN.finditer(text):
                run = [t for t in re.finditer(CAP_TOKEN, m.group(0))]
                k = 0
                while k < len(run) and run[k].group(0).lower() in STOP_WORDS:
                    k += 1
                if len(run) - k < 2:
                    continue
                toks = _collect(text, m.start() + run[k].start(), allow_lower=False, max_tokens=3)
                if len(toks) < 2:
                    continue
                words = [text[a:b].lower() for a, b in toks]
                if any(w in _PLACE_WORDS or w in _ADJECTIVES for w in words):
                    continue
                after = text[toks[-1][1]:]
                before = text[max(0, toks[0][0] - 40):toks[0][0]]
                nxt = re.match(r"\s+([A-Za-z]+)", after)
                if nxt and nxt.group(1).lower() in _PLACE_WORDS:
                    continue
                if RE_PLACE_BEFORE.search(before):
                    continue
                cue_after = bool(RE_PERSON_AFTER.match(after))
                cue_before = bool(RE_PERSON_BEFORE.search(before))
                known = words[0] in first_names
                at_end = bool(re.fullmatch(r"[\s.!?]*", after))
                if at_end and re.search(r",\s*$", before):
                    cue_before = True  # "…, table for four, Vaughn Cassavaugh"
                if toks[0][0] == 0 and (at_end or re.match(r"\s*,", after)):
                    cue_after = True  # "Kaci Mccraw" / "Jamal Langland, that is my name"
                if not (cue_after or cue_before or known or asked):
                    continue
                conf = 0.55 + boost + (0.1 if known else 0) + (0.1 if cue_after or cue_before else 0)
                out += _emit(text, toks, conf, 0.5, "first_name", "caps")
    return out
