"""Cutting extracted blocks into the chunks the assistant retrieves and cites.

Chunks follow the document's structure: a new heading or a new page always starts a new chunk, so every chunk
has exactly one page and one nearest heading to cite ("Price list, page 3"). Inside a section, paragraphs
(or table rows) are packed up to `kb_chunk_chars`; a paragraph longer than that is cut between sentences, else
between words, and only a single "word" longer than a whole chunk is ever cut in the middle. Consecutive chunks of
one section share about `kb_chunk_overlap` characters, starting on a line, sentence or word boundary, so a
fact that straddles a cut is still whole in one of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from backend.kb.extract import Block
from backend.settings import get_settings

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+")
_TOKENS = re.compile(r"\w+|[^\w\s]", re.UNICODE)


@dataclass(frozen=True)
class Chunk:
    ordinal: int
    content: str
    heading: str = ""
    page: int | None = None
    token_count: int = 0

    @property
    def embedding_text(self) -> str:
        """What to embed: the content, led by its heading when the content does not already start with it."""
        if self.heading and not self.content.startswith(self.heading):
            return f"{self.heading}\n{self.content}"
        return self.content


def estimate_tokens(text: str) -> int:
    """Words and punctuation marks: close to (a little under) what a WordPiece tokenizer counts."""
    return len(_TOKENS.findall(text))


def _split_words(text: str, limit: int) -> list[str]:
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = rest.rfind(" ", 0, limit + 1)
        newline = rest.rfind("\n", 0, limit + 1)
        cut = max(cut, newline)
        if cut <= 0:
            cut = limit  # one unbroken "word" longer than a chunk: nothing better to do
        pieces.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    if rest:
        pieces.append(rest)
    return pieces


def _split_long(text: str, limit: int) -> list[str]:
    """Sentences (or, for a sentence longer than `limit`, runs of words) of a paragraph too long for one chunk;
    joined with single spaces they give the paragraph back."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        sentence = sentence.strip()
        if not sentence:
            continue
        pieces.extend(_split_words(sentence, limit) if len(sentence) > limit else [sentence])
    return pieces


def _tail(text: str, size: int) -> str:
    """About the last `size` characters of text, starting at a line, sentence or word boundary."""
    if size <= 0 or not text:
        return ""
    if len(text) <= size:
        return ""  # the whole previous chunk would repeat: no overlap is better than a duplicate
    window_start = len(text) - size
    window = text[window_start:]
    for boundary in ("\n", ". ", "? ", "! "):
        index = window.find(boundary)
        if 0 <= index < len(window) - 1 and len(window) - index - len(boundary) >= size // 3:
            return window[index + len(boundary):].strip()
    if text[window_start - 1].isspace():
        return window.strip()
    space = window.find(" ")
    return window[space + 1:].strip() if space >= 0 else ""


@dataclass
class _Section:
    heading: str
    page: int | None
    lead: list[str]  # heading lines that open the section
    items: list[tuple[str, str]]  # (text, joiner before it)


def _sections(blocks: Iterable[Block]) -> list[_Section]:
    sections: list[_Section] = []
    pending_heads: list[str] = []
    current: _Section | None = None
    for block in blocks:
        text = block.text.strip()
        if not text:
            continue
        if block.kind == "heading":
            # A heading opens the next section; a run of headings (title, then chapter) opens it together.
            if current is not None and current.items:
                current = None
            pending_heads.append(text)
            continue
        if (current is None or pending_heads or block.heading != current.heading or block.page != current.page):
            current = _Section(block.heading, block.page, pending_heads, [])
            pending_heads = []
            sections.append(current)
        joiner = "\n" if block.kind == "row" else "\n\n"
        current.items.append((text, joiner))
    if pending_heads:  # headings with nothing after them still carry words worth finding
        sections.append(_Section(pending_heads[-1], None, [], [("\n".join(pending_heads), "\n\n")]))
    return sections


def chunk_blocks(blocks: Iterable[Block], size: int | None = None, overlap: int | None = None) -> list[Chunk]:
    settings = get_settings()
    size = max(200, int(size if size is not None else settings.kb_chunk_chars))
    overlap = max(0, min(int(overlap if overlap is not None else settings.kb_chunk_overlap), size // 2))

    texts: list[tuple[str, str, int | None]] = []
    for section in _sections(blocks):
        pieces: list[tuple[str, str]] = []
        for text, joiner in section.items:
            for index, piece in enumerate(_split_long(text, size - overlap)):
                pieces.append((piece, joiner if index == 0 else " "))
        lead = "\n".join(section.lead)
        current = lead
        previous_chunk = ""
        for piece, joiner in pieces:
            candidate = f"{current}{joiner}{piece}" if current else piece
            if len(candidate) <= size or not current or current == lead and len(lead) + len(piece) < size * 1.5:
                current = candidate
                continue
            texts.append((current, section.heading, section.page))
            previous_chunk = current
            tail = _tail(previous_chunk, overlap)
            current = f"{tail}{joiner}{piece}" if tail and len(tail) + len(piece) + 2 <= size else piece
        if current and current != lead or (current and not pieces):
            texts.append((current, section.heading, section.page))

    return [
        Chunk(ordinal=index, content=content, heading=heading[:300], page=page, token_count=estimate_tokens(content))
        for index, (content, heading, page) in enumerate(texts)
    ]


def chunk_faq(question: str, answer: str) -> list[Chunk]:
    content = f"Q: {question.strip()}\nA: {answer.strip()}"
    return [Chunk(ordinal=0, content=content, heading="", page=None, token_count=estimate_tokens(content))]
