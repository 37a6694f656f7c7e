"""Numbers as people write them in messages: "4", "four", "twenty-one", "a dozen"; ordinals "3rd", "third".

Regex fragments (to be compiled with re.IGNORECASE) and the parsers that turn a matched fragment into an int.
Shared by the date/time rules (`ai.datetimes`) and the count / number rules (`ai.entities`).
"""

from __future__ import annotations

import re

UNITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
TEENS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
         "seventeen": 17, "eighteen": 18, "nineteen": 19}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
        "ninety": 90}
ORDINAL_UNITS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
                 "eighth": 8, "ninth": 9}
ORDINAL_TEENS = {"tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14, "fifteenth": 15,
                 "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19}
ORDINAL_TENS = {"twentieth": 20, "thirtieth": 30}

_U = "|".join(UNITS)
_T = "|".join(TEENS)
_X = "|".join(TENS)
# Cardinal words up to 99 ("twenty one", "twenty-one"), "zero", "a dozen" / "dozen", "a couple" is not a number.
NUM_WORD = rf"(?:(?:{_X})(?:[\s-](?:{_U}))?|{_T}|{_U}|zero|(?:half\s+a\s+|a\s+)?dozen)"
# Digits or words; the trailing lookarounds keep "4" out of "4.5" / "45" / "4th".
NUM = rf"(?:(?<![\d.,:/])\d{{1,3}}(?![\d]|[.,:/]\d|st\b|nd\b|rd\b|th\b)|\b{NUM_WORD}\b)"
# Ordinals for days of the month: "3rd", "twenty-first", "thirty first".
ORD_WORD = (rf"(?:(?:twenty|thirty)[\s-](?:{'|'.join(ORDINAL_UNITS)})|{'|'.join(ORDINAL_TEENS)}|"
            rf"{'|'.join(ORDINAL_TENS)}|{'|'.join(ORDINAL_UNITS)})")
HOUR_WORD = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"

def parse_number(token: str) -> int | None:
    """"4" → 4, "Twenty-One" → 21, "a dozen" → 12; None when `token` is not one number."""
    t = re.sub(r"[\s-]+", " ", token.strip().lower())
    if not t:
        return None
    if t.isdigit():
        return int(t)
    if t.endswith("dozen"):
        return 6 if t.startswith("half") else 12
    if t == "zero":
        return 0
    if t in UNITS:
        return UNITS[t]
    if t in TEENS:
        return TEENS[t]
    parts = t.split(" ")
    if parts[0] in TENS:
        if len(parts) == 1:
            return TENS[parts[0]]
        if len(parts) == 2 and parts[1] in UNITS:
            return TENS[parts[0]] + UNITS[parts[1]]
    return None


def parse_ordinal(token: str) -> int | None:
    """"3rd" / "3" → 3, "twenty-first" → 21; None otherwise."""
    t = re.sub(r"[\s-]+", " ", token.strip().lower())
    m = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?", t)
    if m:
        return int(m.group(1))
    if t in ORDINAL_UNITS:
        return ORDINAL_UNITS[t]
    if t in ORDINAL_TEENS:
        return ORDINAL_TEENS[t]
    if t in ORDINAL_TENS:
        return ORDINAL_TENS[t]
    parts = t.split(" ")
    if len(parts) == 2 and parts[0] in TENS and parts[1] in ORDINAL_UNITS:
        return TENS[parts[0]] + ORDINAL_UNITS[parts[1]]
    return None

