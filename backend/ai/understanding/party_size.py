"""How many people: "for 4", "party of six", "4 people", "two adults and a child" (3), "me and my wife" (2),
"myself and 5 others" (6), "just me" (1), "two couples" (4), "the 8 of us", "a 6 top".

`find_counts` returns `Candidate`s of kind "count" (value: int).
"""

from __future__ import annotations

import re

from backend.ai.understanding.candidates import Candidate
from backend.ai.understanding.numwords import NUM, parse_number

_I = re.I

# Nouns that count people; the value is how many people one of them is (None: unknown, e.g. "my kids").
_PEOPLE_NOUNS = {
    "people": 1, "persons": 1, "person": 1, "peeps": 1, "ppl": 1, "pax": 1, "heads": 1, "head": 1, "diners": 1,
    "diner": 1, "covers": 1, "guests": 1, "guest": 1, "adults": 1, "adult": 1, "grownups": 1, "grown-ups": 1,
    "kids": 1, "kid": 1, "children": 1, "child": 1, "babies": 1, "baby": 1, "infants": 1, "infant": 1,
    "toddlers": 1, "toddler": 1, "teens": 1, "teenagers": 1, "teenager": 1, "men": 1, "man": 1, "women": 1,
    "woman": 1, "boys": 1, "boy": 1, "girls": 1, "girl": 1, "ladies": 1, "lady": 1, "gentlemen": 1, "guys": 1,
    "guy": 1, "friends": 1, "friend": 1, "colleagues": 1, "colleague": 1, "coworkers": 1, "co-workers": 1,
    "members": 1, "seniors": 1, "senior": 1, "students": 1, "others": 1, "other": 1, "couples": 2, "couple": 2,
    "individuals": 1, "attendees": 1, "folks": 1, "mates": 1, "sons": 1, "son": 1, "daughters": 1, "daughter": 1,
    "sisters": 1, "sister": 1, "brothers": 1, "brother": 1, "grandparents": 1, "grandkids": 1, "grandchildren": 1,
    "nephews": 1, "nieces": 1, "cousins": 1, "relatives": 1, "girlfriends": 1, "boyfriends": 1, "tenors": 1,
    "players": 1, "vegetarians": 1, "vegans": 1, "visitors": 1, "participants": 1,
    "employees": 1, "staff": 1, "clients": 1, "customers": 1, "family members": 1, "souls": 1, "humans": 1,
    "associates": 1, "buddies": 1, "partners": 1, "parents": 1, "seats": 1, "teen": 1, "siblings": 1,
    "sibling": 1,
}
# Nouns that people leave out of the party size span ("7 persons" → "7"); they still count.
_SPAN_WITHOUT_NOUN = frozenset({"persons", "heads", "head", "members", "individuals", "pax", "covers", "diners",
                                "seats"})
_NOUN_RX = "|".join(sorted((re.escape(n) for n in _PEOPLE_NOUNS), key=len, reverse=True))
# One person each ("my wife"); plural relations count 2 when the word says so ("my parents").
_RELATIONS_1 = ("wife", "husband", "hubby", "partner", "spouse", "boyfriend", "girlfriend", "fiance", "fiancé",
                "fiancee", "fiancée", "son", "daughter", "child", "kid", "baby", "mother", "mom", "mum", "mommy",
                "mummy", "father", "dad", "daddy", "sister", "brother", "friend", "colleague", "coworker", "boss",
                "grandma", "grandmother", "grandpa", "grandfather", "granny", "nan", "nana", "aunt", "auntie",
                "uncle", "cousin", "niece", "nephew", "date", "roommate", "flatmate", "mate", "buddy", "pal",
                "neighbor", "neighbour", "assistant", "client", "guest", "sibling", "stepson", "stepdaughter",
                "fiance", "bf", "gf", "missus", "mrs", "other half", "better half", "in-law", "mother-in-law",
                "father-in-law", "man", "woman", "lady", "gentleman", "husband's", "parent", "plus one",
                "plus-one", "nephew", "grandson", "granddaughter", "twin")
_RELATIONS_2 = ("parents", "in-laws", "inlaws", "grandparents", "twins")
_RELATIONS_UNKNOWN = ("kids", "children", "friends", "family", "colleagues", "coworkers", "sons", "daughters",
                      "siblings",
                      "sisters", "brothers", "cousins", "guests", "team", "mates", "girls", "boys", "folks",
                      "relatives", "grandkids", "grandchildren", "triplets", "others", "people")
_REL_RX = "|".join(sorted((re.escape(r) for r in _RELATIONS_1 + _RELATIONS_2 + _RELATIONS_UNKNOWN
                           if r not in ("other half", "better half")), key=len, reverse=True))
_DET = r"(?:my|our|his|her|their|the|your|a|an|one)"
_ADJ = r"(?:(?:small|little|young|older|younger|old|grown|elderly|other|lovely|adult|teenage|teen|drinking|" \
       r"best|close|good|dear|two|three|four|five|six|seven|eight|nine|ten|\d{1,2})\s+)*"

NUMX = rf"(?:{NUM}|a\s+couple\s+of|couple\s+of)"

# One member of a group: "2 adults", "a child", "my wife", "me", "my 2 kids", "the five men", "three of my friends"
MEMBER = (rf"(?:(?:the\s+|my\s+|our\s+|his\s+|her\s+|their\s+)?{NUMX}\s+(?:of\s+(?:my|our|his|her|their)\s+)?"
          rf"{_ADJ}(?:{_NOUN_RX})\b"
          rf"|(?:a|an|one)\s+{_ADJ}(?:{_NOUN_RX}|{_REL_RX})\b"
          rf"|(?:me|myself|i|moi|yours\s+truly)\b(?!['’])(?!\s+(?:would|want|wanted|need|needed|am|have|had|will|wish|"
          rf"think|hope|was|can|could|should|made|booked|reserved|called|also|are|just|really)\b)"
          rf"|the\s+{NUM}\b(?!\s+(?:of|{_NOUN_RX})\b)(?=\s*(?:$|[,.!?]|we\b|who\b|joining\b|coming\b))"
          rf"|(?:{_DET}\s+)?{_ADJ}(?:{_REL_RX})\b"
          rf"|(?<![-\w]){NUM}\b(?=\s*(?:,|and\b|&|plus\b|\+|with\b|$|[.!?;]|tonight|tomorrow|today|at\b|for\b|"
          rf"please)))")
SEP = r"(?:\s*,\s*(?:and\s+|plus\s+)?|\s+and\s+(?:also\s+)?|\s*&\s*|\s+plus\s+|\s*\+\s*|\s+as\s+well\s+as\s+|" \
      r"\s+(?=(?:\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten)\s+(?:adults?|kids?|children|child|" \
      r"teens?|babies|baby|infants?|seniors?|people|persons)\b)|" \
      r"\s+along\s+with\s+|\s+with\s+|\s+and\s+then\s+)"
RE_GROUP = re.compile(rf"(?<![\w'])(?P<with>with\s+)?(?P<g>{MEMBER}(?:{SEP}{MEMBER})*)", _I)
RE_MEMBER = re.compile(MEMBER, _I)

NOT_COUNT_AFTER = (r"\s*(?:[ap]\.?\s?m\b|o['’]?\s?clock|:\d|\.\d|h\d|days?\b|weeks?\b|months?\b|years?\b|nights?\b|"
                   r"hours?\b|hrs?\b|minutes?\b|mins?\b|%|percent|dollars?|bucks|euros?|pounds?|usd|eur|gbp|th\b|"
                   r"st\b|nd\b|rd\b|stars?\b|tables?\b|in\s+the\s+(?:morning|afternoon|evening)|more\b|extra\b|"
                   r"additional\b|at\s+night|ish\b|-ish|/|or\s+(?:higher|more|better|above|less|lower)|"
                   r"course|rating|star|generations?|(?:or|to|-|–)\s*(?:\d+|one|two|three|four|five|six|seven|"
                   r"eight|nine|ten|eleven|twelve)\b|[\s-](?:thirty|fifteen|forty[\s-]five|o['’]?\s?clock)\b)")
_ADVERBS = r"(?:just|only|about|around|roughly|maybe|probably|definitely|actually|still|now|like|a\s+total\s+of|" \
           r"a\s+group\s+of|a\s+party\s+of|going\s+to\s+be|gonna\s+be|all|total|altogether)"
RE_FOR_N = re.compile(rf"\b(?P<pre>for|4)\s+(?:(?:just|only|about|around|roughly|maybe|like|the|us|all)\s+)*"
                      rf"(?P<n>{NUM})(?!{NOT_COUNT_AFTER})", _I)
RE_OF_N = re.compile(rf"\b(?:party|group|table|booking|reservation|family|team|company|crowd|total|maximum|max|"
                     rf"minimum|size|gang|crew|bunch|people|guests|persons|headcount|head\s+count)\s+"
                     rf"(?:of|for|is|are|=|:|will\s+be)\s+(?:{_ADVERBS}\s+)*(?P<n>{NUM})"
                     rf"(?!{NOT_COUNT_AFTER})", _I)
RE_WE_ARE = re.compile(
    rf"\b(?:we\s*(?:are|'re|’re|re|will\s+be|'ll\s+be|’ll\s+be|would\s+be|might\s+be)|there\s*(?:are|'re|will\s+be|"
    rf"'ll\s+be|’ll\s+be|would\s+be|is|'s|’s)|it\s*(?:'s|’s|is|will\s+be|'ll\s+be|’ll\s+be|would\s+be)|its|"
    rf"(?:make|made|change|changed|update|increase|decrease|reduce|bump|move|up)\s+(?:it|that|this|the\s+\w+|"
    rf"our\s+\w+|my\s+\w+)?\s*(?:to|for)?|expect(?:ing)?|number\s+(?:is|of\s+(?:people|guests)\s+is|will\s+be)|"
    rf"(?:just|only|now|count\s+is|said|say|meant|mean)|we\s+(?:have|need|want))\s+(?:{_ADVERBS}\s+)*(?P<n>{NUM})\b"
    rf"(?!{NOT_COUNT_AFTER})", _I)
RE_N_TOTAL = re.compile(rf"\b(?P<n>{NUM})\s+(?:(?:in\s+)?total|altogether|all\s+together|attending|of\s+us\s+total|"
                        rf"is\s+the\s+(?:amount|number)\s+of\s+(?:people|guests)|seated\s+together|are\s+coming|"
                        rf"will\s+(?:be\s+)?(?:come|coming|attend|attending|join|joining|there|at\s+the\s+table|"
                        rf"dining)|"
                        rf"(?:is|are)\s+(?:coming|attending|joining)|seats\s+(?:all\s+)?together)\b", _I)
RE_ALL_N = re.compile(rf"\ball\s+(?P<n>{NUM})\b(?=\s+(?:of\s+us|seated|together|are|will|coming|people|$))", _I)
RE_N_FOR_TIME = re.compile(rf"(?<![\w:.])(?P<n>{NUM})\s+(?:for|at|@)\s+(?=(?:\d{{1,2}}(?::\d{{2}})?\s*(?:[ap]\.?m)|"
                           r"\d{1,2}\s*(?:[?.!]|$)|"
                           r"\d{1,2}[:.]\d{2}|quarter|half|noon|\d{1,2}\s*o'?clock|tonight|tomorrow|today|lunch|"
                           r"dinner|breakfast))", _I)
RE_NUMBER_TO = re.compile(rf"\b(?:number\s+of\s+(?:people|guests|persons)|party\s+size|headcount|head\s+count|"
                          rf"group\s+(?:size|number|count)|party\s+number|guest\s+count|numbers)\b[^.?!]{{0,90}}?\b"
                          rf"(?:to|into|is|are|will\s+be)\s+(?P<n>{NUM})\b(?!{NOT_COUNT_AFTER})", _I)
RE_NOT_BEFORE = re.compile(r"(?:\bnot|n['’]t|\bdidnt|\bdont|\bnot\s+for)\s+(?:say\s+|said\s+|for\s+|be\s+)?$", _I)
RE_SUBSET_BEFORE = re.compile(r"(?:\bincluding|\bincl\.?|\binc\.?|\bof\s+which|\bof\s+whom|\bamong\s+(?:them|us)|"
                              r"\bwhich\s+includes?|\bthat\s+includes?)\s+$", _I)
RE_N_OF_US = re.compile(rf"(?P<the>\bthe\s+|\ball\s+)?(?P<n>{NUM})\s+of\s+(?:us|them|you|we)\b", _I)
RE_N_TOP = re.compile(rf"\b(?P<a>a\s+)(?P<n>{NUM})(?:[\s-](?:top|seater|person|people|-?top|seating|seat))\b", _I)
RE_THE_N = re.compile(rf"\bthe\s+(?P<n>{NUM})(?:\s+(?!of\b)(?=[A-Z]|(?:{_NOUN_RX})\b)|(?=\s*(?:$|[.,!?;])))", _I)
_NOT_ALONE = r"(?!\s*(?:and|&|plus|with|,|\+)\b|\s*,)"
RE_ONE = re.compile(rf"\b(?:(?:just|only)\s+(?:for\s+)?(?P<me>me|myself|one|1|moi|yours\s+truly)\b(?!\s+of)"
                    rf"{_NOT_ALONE}|"
                    r"(?P<solo>solo|by\s+myself|on\s+my\s+own|me\s+alone|myself\s+alone|party\s+of\s+one|"
                    r"(?<=eating\s)alone|(?<=dining\s)alone|(?<=coming\s)alone)|"
                    r"(?:table|seat|booking|reservation|space|room|spot|place)\s+(?:just\s+|only\s+)?for\s+"
                    rf"(?:just\s+|only\s+)?(?P<me2>myself|me|one)\b(?!\s+at\s+\d){_NOT_ALONE}|"
                    rf"\bfor\s+(?P<me3>myself)\b{_NOT_ALONE}|"
                    r"(?P<both>both\s+of\s+us|the\s+two\s+of\s+us|us\s+two|just\s+us\s+two|"
                    r"the\s+pair\s+of\s+us))\b", _I)
RE_COUPLE = re.compile(r"\b(?P<n>a|one|two|three|four|five|\d)\s+couples?\b(?!\s+of\s+(?!people|friends|guests))",
                       _I)
RE_RANGE_BEFORE = re.compile(rf"(?P<n>{NUM})\s*(?:or|to|-|–)\s*$", _I)


def _member_count(member: str) -> int | None:
    """People one member stands for; None when it does not say (e.g. "my kids")."""
    t = re.sub(r"\s+", " ", member.strip().lower())
    m = re.match(rf"(?:(?:the|my|our|his|her|their) )?(?P<n>{NUMX}) (?:of (?:my|our|his|her|their) )?(?:{_ADJ})"
                 rf"(?P<noun>{_NOUN_RX})$", t, _I)
    if m:
        ntok = m.group("n")
        n = 2 if "couple" in ntok else parse_number(ntok)
        if n is None:
            return None
        mult = _PEOPLE_NOUNS.get(m.group("noun"), 1)
        return n * mult
    if re.fullmatch(r"(?:me|myself|i|moi|yours truly)", t):
        return 1
    n = parse_number(t)
    if n is not None:
        return n
    m = re.fullmatch(rf"the ({NUM})", t, _I)
    if m:
        return parse_number(m.group(1))
    m = re.fullmatch(rf"(?:a|an|one) (?:{_ADJ})(?P<noun>.+)", t)
    if m:
        noun = m.group("noun")
        return 2 if noun in ("couple",) else 1
    m = re.fullmatch(rf"(?:(?:{_DET}) )?(?P<adj>{_ADJ})(?P<rel>.+)", t)
    if m:
        rel = m.group("rel")
        adj_n = [parse_number(w) for w in m.group("adj").split() if parse_number(w)]
        if adj_n:
            return adj_n[0]
        if rel in _RELATIONS_2:
            return 2
        if rel in _RELATIONS_UNKNOWN:
            return None
        return 1
    n = parse_number(t)
    return n


def _groups(text: str) -> list[Candidate]:
    out = []
    for m in RE_GROUP.finditer(text):
        g = m.group("g")
        members = []
        pos = m.start("g")
        for mm in RE_MEMBER.finditer(g):
            members.append(mm.group(0))
        if not members:
            continue
        counts = [_member_count(x) for x in members]
        low = [x.strip().lower() for x in members]
        has_self = any(x in ("me", "myself", "i", "moi", "yours truly") for x in low)
        explicit = any(re.match(rf"(?:(?:the|my|our|his|her|their)\s+)?{NUMX}\s", x, _I) for x in members)
        if len(members) == 1:
            x = low[0]
            if not explicit:
                continue  # "my wife" alone, "me" alone: not a party size
            if re.fullmatch(rf"{NUM}", x, _I):
                continue
        if any(c is None for c in counts):
            continue
        if len(members) >= 2 and not explicit and not has_self and not any(
                re.search(rf"\b(?:{_REL_RX})\b", x) for x in low):
            continue
        if len(members) >= 2 and all(re.fullmatch(NUM, x, _I) for x in low):
            continue  # "2, 3 and 4": a list of numbers
        total = sum(counts)  # type: ignore[arg-type]
        start = pos
        with_ = bool(m.group("with"))
        if with_ and not has_self:
            # "lunch with my daughter and my wife": the speaker comes too
            if not re.match(r"\s*(?:of|for)\b", text[m.end():]):
                total += 1
        if len(members) == 1 and low[0].split()[-1] in ("others", "other", "more", "extra"):
            continue  # "5 more" / "3 others" alone: a change, not the party
        if total <= 0 or total > 500:
            continue
        conf = 0.9 if explicit else 0.8
        prio = 0.95 if len(members) >= 2 else 0.9
        alts: tuple = ()
        if len(members) == 1:
            before = text[max(0, start - 12):start]
            r = RE_RANGE_BEFORE.search(before)
            if r and parse_number(r.group("n")):
                if not re.search(r"\bfrom\s+\S+\s*(?:or|to|-|–)\s*$", text[max(0, start - 20):start], _I):
                    alts = (parse_number(r.group("n")) * _PEOPLE_NOUNS.get(low[0].split()[-1], 1),)
                    conf = 0.6
        end = m.end()
        if len(members) == 1 and low[0].split()[-1] in _SPAN_WITHOUT_NOUN:
            num = re.match(rf"(?:(?:the|my|our)\s+)?{NUMX}", members[0], _I)
            if num:
                end = start + num.end()
        if not explicit:
            prio = 0.85
        out.append(Candidate("count", start, end, total, conf, prio, alts,
                             {"members": len(members), "implicit": not explicit}))
    return out


def _simple(rx: re.Pattern[str], text: str, conf: float, prio: float, group: str = "n") -> list[Candidate]:
    out = []
    for m in rx.finditer(text):
        n = parse_number(m.group(group))
        if n is None or n <= 0 or n > 500:
            continue
        out.append(Candidate("count", m.start(group), m.end(group), n, conf, prio))
    return out


_AFTER_OK = frozenset({"at", "on", "in", "tonight", "tomorrow", "today", "please", "and", "or", "for", "from",
                       "this", "next", "of", "pm", "am", "people", "persons", "guests", "adults", "then", "instead",
                       "now", "only", "total", "altogether", "inside", "outside", "indoors", "outdoors", "thanks",
                       "thank", "so", "but", "if", "is", "would", "will", "with", "under", "around", "about", "by",
                       "lunch", "dinner", "breakfast", "brunch", "i", "we", "it", "that", "too", "as", "to", "the",
                       "a", "an", "my", "our", "pls", "plz", "preferably", "ideally", "near", "no",
                       "not", "yes", "ok", "okay", "sir", "madam", "mate", "asap", "again", "also",
                       "tmrw", "tmr", "sometime", "any", "anytime", "monday", "tuesday", "wednesday", "thursday",
                       "friday", "saturday", "sunday", "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug",
                       "sep", "sept", "oct", "nov", "dec", "january", "february", "march", "april", "june",
                       "july", "august", "september", "october", "november", "december", "can", "could", "do",
                       "does", "have", "has", "are", "was", "were", "be", "there", "here", "where", "when", "what",
                       "which", "who", "how", "after", "before", "until", "till", "during", "round"})


def _free_after(text: str, end: int) -> bool:
    """"for 4 at 8" / "for 4 tomorrow" / "for 4." — not "for 3 burgers" or "2 for 1 deals"."""
    m = re.match(r"\s+([a-z]+)", text[end:])
    if not m:
        return True
    word = m.group(1)
    return word in _AFTER_OK or word in _PEOPLE_NOUNS or len(word) < 3


def find_counts(text: str, *, expect_count: bool = False) -> list[Candidate]:
    out = _groups(text)
    for m in RE_N_OF_US.finditer(text):
        n = parse_number(m.group("n"))
        if n and 0 < n <= 500:
            start = m.start("the") if m.group("the") and m.group("the").strip().lower() == "the" else m.start("n")
            out.append(Candidate("count", start, m.end("n"), n, 0.9, 0.95))
    for m in RE_N_TOP.finditer(text):
        n = parse_number(m.group("n"))
        if n and 0 < n <= 100:
            out.append(Candidate("count", m.start(), m.end("n"), n, 0.85, 0.9))
    for m in RE_THE_N.finditer(text):
        n = parse_number(m.group("n"))
        if n and 0 < n <= 100:
            out.append(Candidate("count", m.start(), m.end("n"), n, 0.6, 0.5))
    for m in RE_COUPLE.finditer(text):
        k = m.group("n").lower()
        n = 1 if k in ("a", "one") else parse_number(k)
        if n:
            out.append(Candidate("count", m.start(), m.end(), 2 * n, 0.85, 0.9))
    for m in RE_ONE.finditer(text):
        if m.group("both"):
            out.append(Candidate("count", m.start(), m.end(), 2, 0.9, 0.9))
            continue
        for g, conf in (("me", 0.8), ("solo", 0.85), ("me2", 0.7), ("me3", 0.6)):
            if m.group(g):
                out.append(Candidate("count", m.start(g), m.end(g), 1, conf, 0.8))
                break
        else:
            out.append(Candidate("count", m.end() - 3, m.end(), 1, 0.85, 0.85))
    out += _simple(RE_OF_N, text, 0.9, 0.85)
    out += [c for c in _simple(RE_FOR_N, text, 0.75 if not expect_count else 0.85, 0.6) if _free_after(text, c.end)]
    out += _simple(RE_WE_ARE, text, 0.7, 0.5)
    out += _simple(RE_N_TOTAL, text, 0.75, 0.55)
    out += _simple(RE_ALL_N, text, 0.6, 0.45)
    out += _simple(RE_N_FOR_TIME, text, 0.65, 0.45)
    out += _simple(RE_NUMBER_TO, text, 0.7, 0.7)
    if expect_count and re.fullmatch(r"\s*(?:(?:it'?s|just|only|it\s+is|that'?s)\s+)*(?P<me>me|myself)\s*[.!]?\s*",
                                     text, _I):
        m = re.search(r"\b(?:me|myself)\b", text, _I)
        if m:
            out.append(Candidate("count", m.start(), m.end(), 1, 0.8, 0.9))
    # "I didn't say 4, I said 2": a number that is denied is not the party size
    # "we are 5 including 2 children": the part is not the party
    return [c for c in out if not RE_NOT_BEFORE.search(text[max(0, c.start - 20):c.start])
            and not RE_SUBSET_BEFORE.search(text[max(0, c.start - 20):c.start])]
