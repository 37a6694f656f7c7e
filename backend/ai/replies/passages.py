"""Passages cut into units a reply can quote: the sentences of a paragraph, the lines of a list or table (a
record keeps its header), the answer of a "Q: … A: …" pair; each remembers its heading for context."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Sequence

from backend.ai.types import Passage


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
