"""The owner's free-text custom instructions turned into what a composer without a language model can honour:
a greeting, a sign-off, things never to mention, lines always to add, "when X say Y", emoji and brevity.

    rules = parse_instructions("Always greet with 'Welcome to Bright Smile!'. Never mention competitors.")
    rules.greeting, rules.never_mention      # "Welcome to Bright Smile!", ("competitors",)
    describe_instructions(rules)             # "Understood: greeting “Welcome to Bright Smile!”; never mention: …"

Only template words are ever rewritten: text quoted from the documents or written by the owner is used as is."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable


@dataclass(frozen=True)
class ConditionalLine:
    """"If someone asks about parking, tell them it is free behind the building": a line said when the message
    mentions any of `when`."""

    when: tuple[str, ...]  # trigger phrases; one matches when all its words are in the message
    line: str

    def applies(self, message: str) -> bool:
        words = _stem_set(message)
        return any(_stem_set(phrase) and _stem_set(phrase) <= words for phrase in self.when)


@dataclass(frozen=True)
class Instructions:
    """What an embedded composer understood of the owner's custom instructions."""

    text: str = ""
    greeting: str = ""  # said at the start of the first reply
    sign_off: str = ""  # ends every reply
    never_mention: tuple[str, ...] = ()  # words, phrases or topics no reply may contain
    always_add: tuple[str, ...] = ()  # lines added to answers (once per conversation)
    conditional: tuple[ConditionalLine, ...] = ()
    brief: bool = False  # "keep answers short"
    emoji: bool | None = None  # False: "no emojis"; True: "use emojis"; None: the personality decides
    llm_only: tuple[str, ...] = ()  # instructions only a language model can follow

    @property
    def understood(self) -> bool:
        return bool(self.greeting or self.sign_off or self.never_mention or self.always_add or self.conditional
                    or self.brief or self.emoji is not None)

    def forbidden_in(self, text: str) -> str | None:
        """The forbidden term `text` mentions, or None."""
        if not self.never_mention:
            return None
        m = _forbidden_regex(self.never_mention).search(text)
        return m.group(0) if m else None


# Topics an owner names by one word that texts mention by many.
_TOPIC_WORDS: dict[str, tuple[str, ...]] = {
    "price": ("price", "prices", "pricing", "priced", "cost", "costs", "fee", "fees", "rate", "rates", "charge",
              "charges", "tariff", "tariffs", "how much", "quote", "quotes"),
    "competitor": ("competitor", "competitors", "competition", "rival", "rivals"),
    "discount": ("discount", "discounts", "promotion", "promotions", "promo", "promos", "coupon", "coupons",
                 "voucher", "vouchers", "% off", "special offer", "special offers"),
    "politics": ("politics", "political", "election", "elections", "politician", "politicians"),
    "religion": ("religion", "religious"),
    "salary": ("salary", "salaries", "wage", "wages"),
}
_TOPIC_OF = {"price": "price", "prices": "price", "pricing": "price", "cost": "price", "costs": "price",
             "fee": "price", "fees": "price", "rate": "price", "rates": "price", "competitor": "competitor",
             "competitors": "competitor", "competition": "competitor", "discount": "discount",
             "discounts": "discount", "promotion": "discount", "promotions": "discount", "politics": "politics",
             "political": "politics", "religion": "religion", "salary": "salary", "salaries": "salary",
             "wages": "salary"}
_MONEY = r"[$€£¥]\s?\d|\d(?:[\d,.]*\d)?\s?(?:[$€£]|dollars?\b|euros?\b|pounds?\b|usd\b|eur\b|gbp\b)"


def _term_pattern(term: str) -> str:
    words = [re.escape(w) for w in term.lower().split()]
    if not words:
        return ""
    last = words[-1]
    # singular and plural alike: "competitor" finds "competitors", "prices" finds "price"
    if re.fullmatch(r"[a-z]{3,}", last):
        stem = re.sub(r"(?:es|s)$", "", last) if last.endswith(("ses", "xes", "ches", "shes")) else \
            re.sub(r"s$", "", last)
        last = stem + r"(?:s|es)?"
    body = r"\s+".join(words[:-1] + [last])
    start = r"\b" if re.match(r"\w", term) else ""
    end = r"\b" if re.search(r"\w$", term) else ""
    return start + body + end


@lru_cache(maxsize=256)
def _forbidden_regex(terms: tuple[str, ...]) -> re.Pattern[str]:
    patterns: list[str] = []
    for term in terms:
        patterns.append(_term_pattern(term))
        topic = _TOPIC_OF.get(term.lower())
        if topic:
            patterns.extend(_term_pattern(w) for w in _TOPIC_WORDS[topic])
            if topic == "price":
                patterns.append(_MONEY)
    patterns = [p for p in patterns if p]
    return re.compile("|".join(patterns) if patterns else r"(?!x)x", re.IGNORECASE)


_QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|«([^»]+)»|(?<![\w])'([^']+?)'(?![\w])|‘([^’]+)’")
_Q = r"\x00(\d+)\x00"  # a quoted span, replaced by its index while the instructions are cut into clauses
_PLAIN_Q = re.compile(_Q)
_CLAUSE_SPLIT = re.compile(r"(?<=[.!?])\s+|\s*[\n\r]+\s*|\s*;\s*(?=[A-Za-z\x00])|(?<=\.)(?=[A-Z])")
_BULLET = re.compile(r"^\s*(?:[-*•·–]|\d+[.)])\s*")

_WHO = (r"(?:people|customers?|patients?|clients?|guests?|visitors?|users?|members?|students?|parents?|callers?|"
        r"buyers?|tenants?|diners?|everyone|everybody|anyone|them|him|her|the (?:customer|patient|client|guest|"
        r"user|caller|person)s?|each (?:customer|patient|client|guest|person)|every (?:customer|patient|client|"
        r"guest|person|one)|all (?:customers|patients|clients|guests))")
_ALWAYS = r"(?:(?:please\s+)?(?:make sure to\s+|be sure to\s+)?(?:always\s+)?)"
_GREETING_WORDS = re.compile(r"^(?:hi|hello|hey|welcome|good (?:morning|afternoon|evening|day)|greetings|thanks|"
                             r"thank you|dear|howdy|aloha|bonjour|hola|hiya|g'day)\b", re.IGNORECASE)

_GREETING_PATTERNS = [
    re.compile(rf"^{_ALWAYS}(?:greet|welcome)\b(?:\s+{_WHO})?(?:\s+(?:warmly|politely|first|always))?\s+"
               rf"(?:with|by saying|saying|using|as)\b\s*[:,\-–]?\s*(?P<x>.+)$", re.I),
    re.compile(rf"^{_ALWAYS}(?:start|begin|open)\b(?:\s+(?:every|each|all|the|your|any|a))?(?:\s+(?:first|new))?"
               rf"(?:\s+(?:conversations?|chats?|replies|reply|messages?|answers?|responses?|interactions?))?\s+"
               rf"(?:with|by saying|saying|by greeting (?:them )?with)\b\s*[:,\-–]?\s*(?P<x>.+)$", re.I),
    re.compile(r"^(?:the\s+|our\s+|your\s+|my\s+)?(?:greeting|welcome message|opening line|first line)\s*"
               r"(?:is|should be|must be|will be|=|:|-|–)\s*(?P<x>.+)$", re.I),
    re.compile(rf"^{_ALWAYS}(?:say|use|write)\s+(?P<x>{_Q})\s*[,:]?\s*(?:as|for|when|to|at)\s+"
               r"(?:(?:the|a|your|our)\s+)?(?:greeting|greet|welcome|hello|first|start|beginning|opening|"
               r"someone|a customer|people|new)", re.I),
]
_SIGNOFF_PATTERNS = [
    re.compile(rf"^{_ALWAYS}(?:sign(?:\s+off)?|close|end|finish|wrap up|conclude)\b"
               rf"(?:\s+(?:every|each|all|the|your|any|off))?(?:\s+(?:conversations?|chats?|replies|reply|"
               rf"messages?|answers?|responses?|emails?))?\s+(?:with|by saying|saying|using|as)\b\s*[:,\-–]?\s*"
               rf"(?P<x>.+)$", re.I),
    re.compile(r"^(?:the\s+|our\s+|your\s+|my\s+)?(?:sign[- ]?off|signature|closing(?: line)?|farewell)\s*"
               r"(?:is|should be|must be|will be|=|:|-|–)\s*(?P<x>.+)$", re.I),
    re.compile(rf"^{_ALWAYS}(?:use|add|put|write)\s+(?P<x>{_Q})\s*(?:as|for)\s+(?:(?:the|a|your|our)\s+)?"
               r"(?:sign[- ]?off|signature|closing|close|ending|farewell)", re.I),
]
_NEVER = (r"(?:please\s+)?(?:you\s+(?:must|should|may)\s+)?(?:never|don'?t|do not|dont|must not|mustn'?t|"
          r"should not|shouldn'?t|may not|cannot|can'?t|avoid|refrain from|stay away from|under no circumstances)"
          r"\s+(?:ever\s+)?")
_NEVER_VERBS = (r"(?:mention(?:ing)?|say(?:ing)?|discuss(?:ing)?|talk(?:ing)?\s+about|bring(?:ing)?\s+up|"
                r"refer(?:ring)?\s+to|referenc(?:e|ing)|comment(?:ing)?\s+on|speak(?:ing)?\s+(?:about|of)|"
                r"us(?:e|ing)\s+the\s+(?:words?|phrases?|terms?|expressions?)|give\s+out|quot(?:e|ing)|"
                r"disclos(?:e|ing)|reveal(?:ing)?|shar(?:e|ing)|promis(?:e|ing)|offer(?:ing)?|recommend(?:ing)?|"
                r"giv(?:e|ing)|provid(?:e|ing)|advertis(?:e|ing)|talk\s+of|"
                r"(?:answer(?:ing)?|respond(?:ing)?\s+to|reply(?:ing)?\s+to)\s+(?:any\s+)?questions?\s+"
                r"(?:about|on|regarding|related to|concerning))")
_NEVER_PATTERNS = [
    re.compile(rf"^{_NEVER}{_NEVER_VERBS}\s+(?P<x>.+)$", re.I),
    re.compile(r"^(?:please\s+)?(?:avoid|refrain from|stay away from)\s+(?P<x>.+)$", re.I),
    re.compile(rf"^{_NEVER}us(?:e|ing)\s+(?P<x>{_Q}(?:.*{_Q})?.*)$", re.I),
    re.compile(r"^no\s+(?:mention(?:s|ing)?\s+of|talk(?:ing)?\s+(?:of|about)|discussion\s+(?:of|about)|"
               r"discussing|mentioning|references?\s+to|comments?\s+on)\s+(?P<x>.+)$", re.I),
    re.compile(r"^(?P<x>.+?)\s+(?:is|are)\s+(?:off[- ]limits|not to be (?:mentioned|discussed)|never to be "
               r"(?:mentioned|discussed)|a forbidden topic|forbidden topics|forbidden|taboo)\b.*$", re.I),
]
_NEVER_CUT = re.compile(
    r"\s*(?::|\s-\s|\s–\s|\s—\s|,?\s+instead\b|,?\s+but\b|,?\s+unless\b|,?\s+except\b|,?\s+because\b|,?\s+since\b|"
    r",?\s+as\s+(?:they|it|we|this)\b|,?\s+even\s+if\b|,?\s+if\b|,?\s+when\b|\s+(?:in|on|over)\s+(?:the\s+|any\s+|"
    r"your\s+)?(?:chats?|conversations?|replies|answers|messages|responses|here)\b|\s+to\s+(?:customers|patients|"
    r"clients|guests|people|anyone|users|visitors|callers)\b|\s+to\s+(?:a|the|any)\s+(?:customer|patient|client|guest|"
    r"person|user|caller|visitor)\b|\s+with\s+(?:customers|patients|clients|guests|"
    r"people|anyone|users)\b|\s+at\s+all\b|\s+ever\b|\s+under\s+any\s+circumstances\b|\s+whatsoever\b)", re.I)
_ITEM_SPLIT = re.compile(r"\s*(?:,\s*(?:and|or|nor)\s+|,|\s+and/or\s+|\s+or\s+|\s+and\s+|\s+nor\s+|/)\s*", re.I)
_LEADING_WORDS = re.compile(r"^(?:(?:a|an|the|any|our|their|your|its|his|her|my|about|of|on|to|with|for|that)\s+)+",
                            re.I)

_REMIND = re.compile(
    rf"^{_ALWAYS}(?P<verb>remind|tell|ask|advise|encourage|invite|inform|let)\s+(?:{_WHO}\s+)?(?:know\s+)?"
    rf"(?:(?P<how>to|that|about|of)\s+)?(?P<x>.+)$", re.I)
_ALWAYS_SAY_THAT = re.compile(r"^(?:please\s+)?(?:always|make sure to|be sure to)\s+(?:mention|say|note|state|point "
                              r"out|add|explain|stress|emphasi[sz]e)\s+that\s+(?P<x>.+)$", re.I)
_ALWAYS_ADD_QUOTED = re.compile(rf"^{_ALWAYS}(?:add|include|append|insert|put|mention|say|write|end with|close "
                                rf"with|finish with)\s+(?P<x>{_Q})(?:\s+(?:to|at|in|after|on)\b.*)?\s*[.!]?$", re.I)
_EVERY = re.compile(r"\b(?:always|every|each|all|everyone|everybody|every time|whenever)\b", re.I)

_CONDITION_PATTERNS = [
    re.compile(r"^(?:if|when|whenever|in case)\s+(?:asked|questioned)\s+(?:about|for|regarding|on)\s+"
               r"(?P<when>.+?)\s*[,:]\s*(?:then\s+)?(?P<do>.+)$", re.I),
    re.compile(rf"^(?:if|when|whenever|in case)\s+(?:someone|somebody|anyone|they|you(?:'re| are)?|{_WHO}|a "
               r"(?:customer|patient|client|guest|user|caller|person|visitor))\s+(?:ever\s+)?(?:asks?|asked|"
               r"inquires?|enquires?|mentions?|talks?|says?|writes?|has|have|reports?|complains?|wants?|needs?|"
               r"is asking|are asking|brings? up)\s*(?:about|for|on|regarding|of|us about|you about)?\s+"
               r"(?P<when>.+?)\s*[,:]\s*(?:then\s+)?(?P<do>.+)$", re.I),
    re.compile(r"^(?:if|when|whenever)\s+(?P<when>.+?)\s+(?:is|are|gets?|get)\s+(?:mentioned|asked about|brought up|"
               r"raised)\s*[,:]\s*(?:then\s+)?(?P<do>.+)$", re.I),
    re.compile(r"^(?:for|regarding|about|on)\s+(?:questions?\s+(?:about|on|regarding)\s+)?(?P<when>.+?)\s*[,:]\s*"
               r"(?P<do>.+)$", re.I),
]
_ACTION = re.compile(
    rf"^(?:please\s+)?(?:always\s+)?(?:(?P<verb>tell|remind|ask|advise|encourage|invite|inform|let|direct|refer|"
    rf"send|point)\s+(?:{_WHO}\s+)?(?:know\s+)?(?:(?P<how>to|that|about|of)\s+)?|(?P<say>say|reply|answer|respond|"
    rf"mention|explain|write)\s+(?:that\s+|with\s+|:\s*)?)(?P<x>.+)$", re.I)

_EMOJI_OFF = re.compile(r"\b(?:no|never use|don'?t use|do not use|avoid|without|not use|zero|never add|don'?t add|"
                        r"do not add|without any)\s+(?:any\s+)?(?:emojis?|emoticons?|smileys?)\b", re.I)
_EMOJI_ON = re.compile(r"\b(?:use|add|include)\s+(?:some\s+|a few\s+|lots of\s+|plenty of\s+)?(?:emojis?|"
                       r"emoticons?|smileys?)\b", re.I)
_BRIEF = re.compile(r"\b(?:(?:keep|make)\s+(?:your\s+|all\s+|the\s+|every\s+)?(?:answers?|replies|reply|responses?|"
                    r"messages?|it|them|things)\s+(?:short|brief|concise|to the point|simple)|be\s+(?:brief|concise|"
                    r"short|succinct)|short\s+(?:answers|replies|responses|messages)|(?:answer|reply|respond)\s+"
                    r"(?:briefly|concisely|in short))\b", re.I)

_PRONOUNS = [
    (re.compile(r"\bhis or her\b|\bhis/her\b|\btheir\b", re.I), "your"),
    (re.compile(r"\bhe or she\b|\bhe/she\b", re.I), "you"),
    (re.compile(r"\bthemselves\b", re.I), "yourself"),
    (re.compile(r"\btheirs\b", re.I), "yours"),
    (re.compile(r"\bthey(['’](?:re|ve|ll|d))\b", re.I), r"you\1"),
    (re.compile(r"\bthey\b|\bthem\b", re.I), "you"),
]


def _to_customer(text: str) -> str:
    """"bring their insurance card" said to the owner → "bring your insurance card" said to the customer."""
    for pattern, repl in _PRONOUNS:
        text = pattern.sub(repl, text)
    return text


def _sentence(text: str) -> str:
    text = text.strip().strip(",;:-– ").strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?…" else text + "."


def _line_for(verb: str, how: str, rest: str) -> str:
    """A customer-facing line from "remind them to X", "tell them that X", "encourage people to X"."""
    verb, how = (verb or "").lower(), (how or "").lower()
    rest = _to_customer(rest.strip())
    if not rest:
        return ""
    if how in ("about", "of"):
        lead = {"remind": "Just a reminder about "}.get(verb, "Please note: ")
        return _sentence(lead + rest)
    if how == "that" or (not how and re.match(r"(?:we|our|you|the|it|there|this|parking|all|every)\b", rest, re.I)):
        if verb == "remind":
            return _sentence("Just a reminder: " + rest)
        return _sentence(rest)
    if how == "to" or (not how and verb in ("ask", "tell", "remind", "advise", "encourage", "invite")):
        if verb == "remind":
            return _sentence("Please remember to " + rest)
        if verb in ("encourage", "invite"):
            return _sentence("Feel free to " + rest)
        if verb == "advise":
            return _sentence("We recommend that you " + rest)
        return _sentence("Please " + rest)
    return ""


def _restore(text: str, quotes: list[str]) -> str:
    return _PLAIN_Q.sub(lambda m: quotes[int(m.group(1))], text)


def _quoted_only(text: str, quotes: list[str]) -> str | None:
    """The quoted text when `text` is exactly one quoted span (with trailing punctuation at most)."""
    m = re.fullmatch(rf"\s*{_Q}\s*[.!]?\s*", text)
    return quotes[int(m.group(1))].strip() if m else None


def _literal(text: str, quotes: list[str], *, greeting: bool) -> str:
    """The greeting or sign-off an instruction gives: its quoted text, or unquoted words that read like one."""
    quoted = _quoted_only(text, quotes)
    if quoted is not None:
        return quoted
    if _PLAIN_Q.search(text):
        m = _PLAIN_Q.search(text)
        return quotes[int(m.group(1))].strip()
    plain = text.strip().rstrip(".").strip()
    if not plain or len(plain.split()) > 14:
        return ""
    if greeting:
        return plain if _GREETING_WORDS.match(plain) else ""
    if re.match(r"(?:a|an|the|some|your|our)\s", plain, re.I):  # "end with a question" is not a literal sign-off
        return ""
    return plain


def _terms(text: str, quotes: list[str]) -> list[str]:
    """The forbidden words, phrases or topics of a "never mention …" clause."""
    if _PLAIN_Q.search(text):
        return [quotes[int(i)].strip() for i in _PLAIN_Q.findall(text) if quotes[int(i)].strip()]
    text = _NEVER_CUT.split(text, maxsplit=1)[0]
    out = []
    for item in _ITEM_SPLIT.split(text):
        item = _LEADING_WORDS.sub("", item.strip().strip(".,!?;:\"'")).strip()
        item = re.sub(r"^(?:other\s+)?(?=(?:competitors?|competition)\b)", "", item, flags=re.I)
        # a term of stop words only ("Never say no") would forbid half the language: left to the LLM
        if item and len(item.split()) <= 5 and content_words(item):
            out.append(item.lower())
    return out


def _triggers(text: str) -> list[str]:
    text = _restore_plain(text)
    out = []
    for item in re.split(r"\s*(?:,|\bor\b|\band\b|\bwith\b|/)\s*", text, flags=re.I):
        item = _LEADING_WORDS.sub("", item.strip().strip(".,!?;:\"'")).strip()
        if item and _stem_set(item):
            out.append(item.lower())
    return out


def _restore_plain(text: str) -> str:
    return _PLAIN_Q.sub("", text)


def _clauses(text: str) -> tuple[list[str], list[str]]:
    quotes: list[str] = []

    def hide(m: re.Match[str]) -> str:
        quotes.append(next(g for g in m.groups() if g is not None))
        return f"\x00{len(quotes) - 1}\x00"

    hidden = _QUOTED.sub(hide, text)
    clauses = []
    for piece in _CLAUSE_SPLIT.split(hidden):
        piece = _BULLET.sub("", piece or "").strip()
        if piece and re.search(r"\w", _PLAIN_Q.sub("x", piece)):
            clauses.append(piece)
    return clauses, quotes


@lru_cache(maxsize=512)
def parse_instructions(text: str | None) -> Instructions:
    """Read the owner's custom instructions; whatever is not understood is kept in `llm_only`.

    Understood (in many phrasings, quoted or not):
    - a greeting: "Always greet with 'Welcome to Bright Smile!'", "Start every conversation with …",
      "Greeting: …", "Say '…' when someone first writes";
    - a sign-off: "Sign off with 'Have a sparkling day!'", "End every message with …", "Signature: …";
    - words or topics never to mention: "Never mention competitors", "Don't discuss prices", "Avoid politics",
      "Never use the word 'cheap'", "No talk of discounts", "Prices are off-limits" (a topic like prices also
      forbids "$120", "cost", "fee");
    - lines to always add: "Always remind people to bring their insurance card" (→ "Please remember to bring your
      insurance card."), "Always mention that parking is free", "Always add 'Walk-ins welcome!'";
    - lines to add when a subject comes up: "If someone asks about parking, tell them it's behind the building",
      "For tooth pain with swelling or fever, tell them to call us at (555) 010-2030 right away";
    - "keep answers short", "no emojis" / "use emojis".
    """
    text = (text or "").strip()
    if not text:
        return Instructions()
    clauses, quotes = _clauses(text)
    greeting = sign_off = ""
    never: list[str] = []
    always: list[str] = []
    conditional: list[ConditionalLine] = []
    brief = False
    emoji: bool | None = None
    llm_only: list[str] = []

    for clause in clauses:
        original = _restore(clause, quotes).strip()
        understood = False
        # flags first: "Don't use emojis" is not a forbidden word
        if _EMOJI_OFF.search(clause):
            emoji, understood = False, True
        elif _EMOJI_ON.search(clause) and not re.search(_NEVER, clause, re.I):
            emoji, understood = True, True
        if _BRIEF.search(clause):
            brief, understood = True, True
        if understood:
            continue

        cond = next((m for m in (p.match(clause) for p in _CONDITION_PATTERNS) if m), None)
        if cond:
            line = _action_line(cond.group("do"), quotes)
            triggers = _triggers(cond.group("when"))
            if line and triggers:
                conditional.append(ConditionalLine(tuple(triggers), line))
                continue
            llm_only.append(original)
            continue

        m = next((m for m in (p.match(clause) for p in _GREETING_PATTERNS) if m), None)
        if m:
            literal = _literal(m.group("x"), quotes, greeting=True)
            if literal and not greeting:
                greeting = literal
                continue

        m = next((m for m in (p.match(clause) for p in _SIGNOFF_PATTERNS) if m), None)
        if m:
            x = m.group("x")
            reminder = re.match(r"(?:a\s+)?(?:reminder|note)\s+(?:to|that|about)\s+", x, re.I)
            if reminder:  # "End every message with a reminder to book early" is an always-add line
                how = reminder.group(0).split()[-1]
                line = _line_for("remind", how, x[reminder.end():])
                if line:
                    always.append(line)
                    continue
            literal = _literal(x, quotes, greeting=False)
            if literal and not sign_off:
                sign_off = literal
                continue

        m = _ALWAYS_ADD_QUOTED.match(clause)
        if m:
            always.append(_restore(m.group("x"), quotes).strip())
            continue

        m = next((m for m in (p.match(clause) for p in _NEVER_PATTERNS) if m), None)
        if m:
            terms = _terms(m.group("x"), quotes)
            if terms:
                never.extend(t for t in terms if t not in never)
                continue

        m = _ALWAYS_SAY_THAT.match(clause)
        if m:
            line = _sentence(_to_customer(_restore(m.group("x"), quotes)))
            if line:  # "Always mention that parking is free" → "Parking is free."
                always.append(line)
                continue

        m = _REMIND.match(clause)
        if m and (m.group("verb").lower() == "remind" or _EVERY.search(clause)):
            line = _line_for(m.group("verb"), m.group("how") or "", _restore(m.group("x"), quotes))
            if line:
                always.append(line)
                continue

        llm_only.append(original)

    return Instructions(text=text, greeting=greeting, sign_off=sign_off, never_mention=tuple(never),
                        always_add=tuple(dict.fromkeys(always)), conditional=tuple(conditional), brief=brief,
                        emoji=emoji, llm_only=tuple(llm_only))


def _action_line(action: str, quotes: list[str]) -> str:
    quoted = _quoted_only(action, quotes)
    if quoted is not None:
        return quoted
    m = _ACTION.match(action.strip())
    if not m:
        return ""
    rest = _restore(m.group("x"), quotes)
    if m.group("say"):  # the owner's own words: "say they start at $50" is about prices, not the customer
        only = _quoted_only(m.group("x"), quotes)
        return only if only is not None else _sentence(rest)
    verb = m.group("verb").lower()
    if verb in ("direct", "refer", "send", "point"):
        rest = re.sub(r"^(?:them|people|customers|patients|clients|guests)\s+", "", rest.strip(), flags=re.I)
        rest = re.sub(r"^to\s+", "", rest, flags=re.I)
        return _sentence("Please see " + _to_customer(rest))
    return _line_for(verb, m.group("how") or "", rest)


def describe_instructions(instructions: Instructions | str | None) -> str:
    """What the built-in assistant understood, in words the dashboard can show under the instructions box."""
    rules = instructions if isinstance(instructions, Instructions) else parse_instructions(instructions or "")
    if not rules.text:
        return "No custom instructions."
    parts = []
    if rules.greeting:
        parts.append(f"greeting “{rules.greeting}”")
    if rules.sign_off:
        parts.append(f"sign-off “{rules.sign_off}”")
    if rules.never_mention:
        parts.append("never mention: " + ", ".join(rules.never_mention))
    if rules.always_add:
        parts.append("always add: " + " ".join(f"“{line}”" for line in rules.always_add))
    for cond in rules.conditional:
        parts.append(f"when a message mentions {_or_list(cond.when)}: “{cond.line}”")
    if rules.brief:
        parts.append("short replies")
    if rules.emoji is False:
        parts.append("no emojis")
    elif rules.emoji:
        parts.append("emojis allowed")
    out = []
    if parts:
        summary = "Understood: " + "; ".join(parts)
        out.append(summary if summary.endswith(("”", ".", "!", "?")) else summary + ".")
    if rules.llm_only:
        lead = "Only the AI model (when one is connected) follows: " if parts else \
            "The built-in assistant cannot apply these on its own; only the AI model (when one is connected) " \
            "follows: "
        out.append(lead + " ".join(f"“{c}”" for c in rules.llm_only))
    return " ".join(out)


def _or_list(items: Iterable[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


_SYNONYMS = {"hurts": "pain", "hurt": "pain", "hurting": "pain", "ache": "pain", "aches": "pain", "aching": "pain",
             "painful": "pain", "sore": "pain", "swollen": "swelling", "swell": "swelling", "swells": "swelling",
             "feverish": "fever", "temperature": "fever", "toothache": "tooth pain", "teeth": "tooth",
             "cost": "price", "costs": "price", "fee": "price", "fees": "price", "cheap": "price",
             "expensive": "price", "pricing": "price", "car": "parking", "park": "parking", "kids": "child",
             "kid": "child", "children": "child", "toddler": "child", "toddlers": "child", "opening": "open",
             "opened": "open", "hours": "hour", "dog": "pet", "dogs": "pet", "cat": "pet", "cats": "pet",
             "puppy": "pet", "reservation": "book", "reservations": "book", "reserve": "book", "booking": "book",
             "bookings": "book", "located": "address", "location": "address", "directions": "address",
             "payment": "pay", "payments": "pay", "paying": "pay", "paid": "pay", "haircut": "cut",
             "haircuts": "cut", "phone": "call", "telephone": "call"}
_WORD_RE = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_STOP = frozenset("""a an the and or of to in on at for with by from about is are was were be been am do does did
have has had i me my we our us you your they them their it its this that these those what which who how when where
why can could would should will shall may might must please hi hello hey thanks thank just also any some there here
not no yes if so as but than then too very s t much many get got like want would need know tell over under
after before into through during up down out off again further once only own same other each few more most such
nor both all whom while until because between against above below ok okay""".split())


def stem(word: str) -> str:
    """A crude English stem, enough to match "parking" with "park" and "prices" with "price"."""
    w = word.lower().replace("’", "'")
    w = re.sub(r"'s$", "", w)
    if len(w) > 5 and w.endswith("ing"):
        w = w[:-3]
    elif len(w) > 4 and w.endswith("ied"):
        w = w[:-3] + "y"
    elif len(w) > 4 and w.endswith("ed"):
        w = w[:-2]
    elif len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 4 and w.endswith(("sses", "shes", "ches", "xes")):
        w = w[:-2]
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if len(w) > 4 and w.endswith("e"):
        w = w[:-1]
    return w


def content_words(text: str) -> list[str]:
    """Lowercased words of `text` without stop words, synonyms folded ("hurts" → "pain")."""
    out: list[str] = []
    for word in _WORD_RE.findall(text.lower()):
        word = word.replace("’", "'")
        if word.endswith("'s"):  # "what's", "men's" → "what", "men"
            word = word[:-2]
        if word in _STOP or "'" in word:  # stop words and the rest of the contractions ("don't", "i'm")
            continue
        out.extend(_SYNONYMS.get(word, word).split())
    return out


def _stem_set(text: str) -> frozenset[str]:
    return frozenset(stem(w) for w in content_words(text))

