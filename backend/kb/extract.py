"""Text out of the documents a business teaches its assistant: PDF, Word (.docx), plain text, Markdown, HTML, CSV.

The kind of a file is decided by its bytes, never by its name (a name only breaks the tie between plain text
and its Markdown or CSV flavours). Extraction returns blocks in reading order, each remembering its page and
the nearest heading above it, so the chunks cut from them can be cited as "Price list, page 3".

Nothing here runs anything the file contains: HTML is parsed, never rendered; scripts and styles are dropped.
Every refusal is an ExtractionError whose message can be shown to the owner as is.

A file is untrusted: what it may expand to is bounded before it is read (backend.kb.unpack for Word files and
PDF streams; decoded text is capped here), and extraction runs in a memory- and time-limited process
(backend.kb.worker).

The readers per format are extract_text.py, extract_docx.py and extract_pdf.py; what they share is in
blocks.py."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import Counter

import filetype

from backend.kb.blocks import (
    _DESCRIBE,
    _HTML_TAG,
    _MARKUP_START,
    _MD_HEADING,
    _OLE_MAGIC,
    _ZIP_KINDS,
    CSV,
    DOCX,
    HTML,
    KB_TYPES,
    MARKDOWN,
    OFFER,
    PDF,
    TXT,
    TYPE_LABELS,
    Block,
    Extracted,
    ProgressCallback,
    _sniff_dialect,
    decode_text,
)
from backend.kb.extract_docx import extract_docx
from backend.kb.extract_pdf import extract_pdf
from backend.kb.extract_text import extract_csv, extract_html, extract_markdown, extract_txt
from backend.kb.unpack import MB, ExtractionError, check_docx_listing
from backend.settings import get_settings


def _check_size(data: bytes) -> None:
    if not data:
        raise ExtractionError("This file is empty.")
    limit_mb = get_settings().max_upload_mb
    if len(data) > limit_mb * 1024 * 1024:
        raise ExtractionError(f"This file is too large. Documents can be at most {limit_mb} MB.")


def _zip_listing(data: bytes) -> list[zipfile.ZipInfo]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return []


def detect_type(data: bytes, filename: str = "") -> str:
    """One of KB_TYPES for these bytes, or ExtractionError saying what the file is and what is accepted."""
    data = bytes(data)
    _check_size(data)
    if data.startswith(_OLE_MAGIC):
        raise ExtractionError("This looks like an old-format Office file (.doc/.xls) or a password-protected one. "
                              "Save it as a normal .docx (without a password) or as PDF, then add it again.")
    guess = filetype.guess(data)
    if guess is not None:
        if guess.mime == PDF:
            return PDF
        if guess.mime in (DOCX, "application/zip") or guess.extension in ("xlsx", "pptx", "zip"):
            listing = _zip_listing(data)
            names = [info.filename for info in listing]
            if "word/document.xml" in names:
                check_docx_listing(listing)
                return DOCX
            for prefix, message in _ZIP_KINDS.items():
                if any(n.startswith(prefix) for n in names):
                    raise ExtractionError(message)
            raise ExtractionError(f"ZIP archives can't be added. {OFFER}")
        for prefix, message in _DESCRIBE.items():
            if guess.mime.startswith(prefix):
                raise ExtractionError(f"{message} {OFFER}")
        raise ExtractionError(f"{guess.extension.upper()} files can't be added to the knowledge base. {OFFER}")
    text = decode_text(data)  # raises for binary content
    return _text_flavour(text, _extension(filename))


def _extension(filename: str) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    return name.rpartition(".")[2].lower() if "." in name else ""


def _text_flavour(text: str, ext: str) -> str:
    head = text[:4096]
    if _MARKUP_START.match(head) or len(_HTML_TAG.findall(head)) >= 3:
        return HTML
    if re.match(r"^\s*<(\?xml|svg|!doctype\s+svg)\b", head, re.I):
        raise ExtractionError(f"XML and SVG files can't be added to the knowledge base. {OFFER}")
    if _looks_like_csv(text, prefer=ext in ("csv", "tsv")):
        return CSV
    lines = text.splitlines()
    if ext in ("md", "markdown") or any(_MD_HEADING.match(line) for line in lines[:2000]):
        return MARKDOWN
    return TXT


def _looks_like_csv(text: str, prefer: bool) -> bool:
    sample = "\n".join(line for line in text[:65536].splitlines()[:60] if line.strip())
    if sample.count("\n") < (1 if prefer else 2):
        return False
    dialect = _sniff_dialect(sample)
    if dialect is None:
        return False
    try:
        rows = [row for row in csv.reader(io.StringIO(text[:65536]), dialect) if any(c.strip() for c in row)][:50]
    except csv.Error:
        return False
    if len(rows) < (2 if prefer else 3):
        return False
    width, count = Counter(len(row) for row in rows).most_common(1)[0]
    if width < 2 or len(rows[0]) != width:
        return False
    if prefer:  # the name says CSV: a few ragged rows are fine
        return count >= 0.8 * len(rows)
    if count != len(rows):
        return False
    # Without the name's word for it, the first row must read like a header: short labels, not sentences.
    return all(0 < len(cell.strip()) <= 40 and not cell.strip().endswith(".") for cell in rows[0])


def extract(data: bytes, mime_type: str | None = None, filename: str = "",
            progress: ProgressCallback | None = None) -> Extracted:
    """Blocks of text from a document, by its content type (detected from the bytes when not given)."""
    data = bytes(data)
    _check_size(data)
    mime_type = mime_type or detect_type(data, filename)
    if mime_type == PDF:
        result = extract_pdf(data, progress)
    elif mime_type == DOCX:
        result = extract_docx(data)
    elif mime_type in (TXT, MARKDOWN, HTML, CSV):
        text = decode_text(data)
        if not text.strip():
            raise ExtractionError("This document has no text to learn from.")
        limit_mb = get_settings().kb_max_expanded_mb
        if len(text) > limit_mb * MB:  # the parsers hold several copies of it: cap it before they start
            raise ExtractionError(f"This file holds more than {limit_mb} MB of text. Split it into smaller files "
                                  "and add those.")
        result = {TXT: extract_txt, MARKDOWN: extract_markdown, HTML: extract_html, CSV: extract_csv}[mime_type](text)
    else:
        raise ExtractionError(f"This kind of file can't be added to the knowledge base. {OFFER}")
    if progress is not None and mime_type != PDF:
        progress(1.0)
    return result


__all__ = [
    "CSV", "DOCX", "HTML", "KB_TYPES", "MARKDOWN", "OFFER", "PDF", "TXT", "TYPE_LABELS", "Block", "ExtractionError",
    "Extracted", "decode_text", "detect_type", "extract",
]
