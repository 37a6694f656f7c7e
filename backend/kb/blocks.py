"""What extraction produces (blocks in reading order, each with its page and the nearest heading above it) and
what every format's reader shares: the kinds of file, text decoding with its size cap, line cleaning, the
Markdown and CSV cues that both detection and the text readers use."""

from __future__ import annotations

import csv
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Callable, Iterable

from backend.kb.unpack import ExtractionError

log = logging.getLogger(__name__)

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TXT = "text/plain"
MARKDOWN = "text/markdown"
HTML = "text/html"
CSV = "text/csv"
KB_TYPES: tuple[str, ...] = (PDF, DOCX, TXT, MARKDOWN, HTML, CSV)

TYPE_LABELS = {PDF: "PDF", DOCX: "Word document", TXT: "Text", MARKDOWN: "Markdown", HTML: "Web page", CSV: "CSV"}
OFFER = "You can add PDF, Word (.docx), text, Markdown, HTML and CSV files."

MAX_HEADING_CHARS = 300
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .doc/.xls, and every password-protected Office file
_ZIP_KINDS = {
    "xl/": "Excel spreadsheets can't be added directly. Save the sheet as CSV and add that.",
    "ppt/": "PowerPoint files can't be added. Save the slides as PDF and add that.",
}
_DESCRIBE = {
    "image/": "Images can't be read as text (there is no text recognition here).",
    "audio/": "Audio files can't be added to the knowledge base.",
    "video/": "Videos can't be added to the knowledge base.",
}


@dataclass(frozen=True)
class Block:
    """One paragraph, table row or heading in reading order."""

    text: str
    page: int | None = None  # 1-based, for paged formats (PDF)
    heading: str = ""  # the nearest heading above this block ("" before the first one)
    kind: str = "paragraph"  # heading | paragraph | row


@dataclass
class Extracted:
    mime_type: str
    blocks: list[Block] = field(default_factory=list)
    page_count: int | None = None

    @property
    def text(self) -> str:
        return "\n\n".join(b.text for b in self.blocks)


ProgressCallback = Callable[[float], None]


_MARKUP_START = re.compile(r"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S)
_HTML_TAG = re.compile(r"</?(p|div|h[1-6]|table|tr|td|li|ul|ol|span|a|br|section|article|script|style)\b[^>]*>", re.I)
_MD_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_MD_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")


def _sniff_dialect(sample: str) -> type[csv.Dialect] | csv.Dialect | None:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return None


def _control_ratio(text: str) -> float:
    if not text:
        return 0.0
    sample = text[:200_000]
    bad = sum(1 for ch in sample if unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") and ch not in "\t\n\r\f")
    return bad / len(sample)


def _declared_charset(data: bytes) -> str | None:
    match = re.search(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9_\-]+)", data[:4096], re.I)
    return match.group(1).decode("ascii").lower() if match else None


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252 / Latin-1 if the result reads as text."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return _checked(data.decode("utf-16"))
        except UnicodeDecodeError:
            raise ExtractionError("This file says it is UTF-16 text but can't be read as such.") from None
    if b"\x00" in data[:65536]:
        raise ExtractionError(f"This file is not a document we can read (it looks like binary data). {OFFER}")
    candidates = ["utf-8-sig"]
    declared = _declared_charset(data)
    if declared and declared not in ("utf-8", "utf8"):
        candidates.append(declared)
    candidates += ["cp1252", "latin-1"]
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        return _checked(text)
    raise ExtractionError("This file's text can't be read. Save it as UTF-8 text and add it again.")


def _checked(text: str) -> str:
    # Binary data decodes "successfully" as Latin-1; control characters give it away.
    if _control_ratio(text) > 0.01:
        raise ExtractionError(f"This file is not a document we can read (it looks like binary data). {OFFER}")
    return text.replace("\r\n", "\n").replace("\r", "\n")


_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")


def _clean_line(text: str) -> str:
    return _SPACES.sub(" ", text.replace("\x00", "")).strip()


def _clean_inline(text: str) -> str:
    return " ".join(text.split())


def _heading_text(text: str) -> str:
    return _clean_inline(text)[:MAX_HEADING_CHARS]


def _paragraphs(lines: Iterable[str]) -> list[str]:
    """Blank-line separated paragraphs; single line breaks inside a paragraph are kept (lists, addresses)."""
    out: list[str] = []
    current: list[str] = []
    for raw in lines:
        line = _clean_line(raw)
        if line:
            current.append(line)
        elif current:
            out.append("\n".join(current))
            current = []
    if current:
        out.append("\n".join(current))
    return out


def _row_text(header: list[str], row: list[str]) -> str:
    """A table or CSV row as "column: value" lines, so each row reads on its own once retrieved."""
    parts = []
    for index, value in enumerate(row):
        value = _clean_inline(value)
        if not value:
            continue
        label = header[index] if index < len(header) and header[index] else (f"column {index + 1}" if header else "")
        parts.append(f"{label}: {value}" if label else value)
    return "\n".join(parts) if header else " | ".join(parts)


def _finish(mime_type: str, blocks: list[Block], page_count: int | None = None) -> Extracted:
    blocks = [b for b in blocks if b.text.strip()]
    if not blocks:
        raise ExtractionError("This document has no text to learn from.")
    return Extracted(mime_type=mime_type, blocks=blocks, page_count=page_count)
