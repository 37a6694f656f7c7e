"""Text out of the documents a business teaches its assistant: PDF, Word (.docx), plain text, Markdown, HTML, CSV.

The kind of a file is decided by its bytes, never by its name (a name only breaks the tie between plain text
and its Markdown or CSV flavours). Extraction returns blocks in reading order, each remembering its page and
the nearest heading above it, so the chunks cut from them can be cited as "Price list, page 3".

Nothing here runs anything the file contains: HTML is parsed, never rendered; scripts and styles are dropped.
Every refusal is an ExtractionError whose message can be shown to the owner as is.

A file is untrusted: what it may expand to is bounded before it is read (backend.kb.unpack for Word files and
PDF streams; decoded text is capped here), and extraction runs in a memory- and time-limited process
(backend.kb.worker).
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable

import filetype

from backend.kb.unpack import (
    DAMAGED_DOCX,
    MB,
    PDF_TOO_COMPLEX,
    ExtractionError,
    check_docx_listing,
    check_docx_parts,
    check_pdf_expansion,
    pdf_configuration,
)
from backend.settings import get_settings

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


# --- what a file is ----------------------------------------------------------------------------------------


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


_MARKUP_START = re.compile(r"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S)
_HTML_TAG = re.compile(r"</?(p|div|h[1-6]|table|tr|td|li|ul|ol|span|a|br|section|article|script|style)\b[^>]*>", re.I)
_MD_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_MD_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")


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


def _sniff_dialect(sample: str) -> type[csv.Dialect] | csv.Dialect | None:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return None


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


# --- text decoding -----------------------------------------------------------------------------------------


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


# --- shared helpers ----------------------------------------------------------------------------------------


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


# --- plain text and Markdown -------------------------------------------------------------------------------


def _looks_like_text_heading(paragraph: str, next_paragraph: str | None) -> bool:
    if next_paragraph is None or "\n" in paragraph:
        return False
    words = paragraph.split()
    return (len(paragraph) <= 60 and 0 < len(words) <= 8 and paragraph[-1] not in ".,;!?"
            and any(ch.isalpha() for ch in paragraph) and len(next_paragraph) > len(paragraph))


def extract_txt(text: str) -> Extracted:
    paragraphs = _paragraphs(text.split("\n"))
    blocks: list[Block] = []
    heading = ""
    for index, paragraph in enumerate(paragraphs):
        following = paragraphs[index + 1] if index + 1 < len(paragraphs) else None
        if _looks_like_text_heading(paragraph, following):
            heading = _heading_text(paragraph.rstrip(":"))
            blocks.append(Block(paragraph, heading=heading, kind="heading"))
        else:
            blocks.append(Block(paragraph, heading=heading))
    return _finish(TXT, blocks)


_MD_LINK = re.compile(r"!?\[([^\]]*)\]\(([^)\s]*)(?:\s+\"[^\"]*\")?\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|~~|`)(?=\S)(.+?)(?<=\S)\1")
_MD_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_MD_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def _md_inline(line: str) -> str:
    def link(match: re.Match) -> str:
        label, target = match.group(1).strip(), match.group(2).strip()
        if match.group(0).startswith("!"):
            return label
        return f"{label} ({target})" if target and target != label and not target.startswith("#") else label

    line = _MD_LINK.sub(link, line)
    line = _MD_EMPHASIS.sub(lambda m: m.group(2), line)
    if line.strip().startswith("|") and line.strip().endswith("|"):
        line = " | ".join(cell.strip() for cell in line.strip().strip("|").split("|"))
    return line


def extract_markdown(text: str) -> Extracted:
    lines = text.split("\n")
    if lines and lines[0].strip() == "---":  # YAML front matter
        for end in range(1, min(len(lines), 60)):
            if lines[end].strip() in ("---", "..."):
                lines = lines[end + 1:]
                break
    blocks: list[Block] = []
    heading = ""
    current: list[str] = []
    in_fence = False
    skip_underline = False

    def flush() -> None:
        if current:
            blocks.append(Block("\n".join(current), heading=heading))
            current.clear()

    def start_section(title: str) -> None:
        nonlocal heading
        flush()
        title = _clean_inline(_md_inline(title))
        if title:
            heading = _heading_text(title)
            blocks.append(Block(title, heading=heading, kind="heading"))

    for index, raw in enumerate(lines):
        if skip_underline:
            skip_underline = False
            continue
        if _MD_FENCE.match(raw):
            in_fence = not in_fence
            flush()
            continue
        if in_fence:
            if raw.strip():
                current.append(raw.rstrip())
            continue
        atx = _MD_HEADING.match(raw)
        if atx:
            start_section(atx.group(2))
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if raw.strip() and not current and _MD_SETEXT.match(following) and not raw.lstrip().startswith("|"):
            start_section(raw)
            skip_underline = True
            continue
        if _MD_TABLE_RULE.match(raw) and "|" in raw:
            continue
        line = _clean_line(_md_inline(raw))
        if re.fullmatch(r"(-{3,}|\*{3,}|_{3,})", line.replace(" ", "")):
            flush()  # a thematic break
            continue
        if line:
            current.append(line)
        else:
            flush()
    flush()
    return _finish(MARKDOWN, blocks)


# --- CSV ---------------------------------------------------------------------------------------------------


def extract_csv(text: str) -> Extracted:
    lines = text.split("\n")
    sample = "\n".join(line for line in lines[:50] if line.strip())
    dialect = _sniff_dialect(sample) or csv.excel
    rows = [row for row in csv.reader(io.StringIO(text), dialect) if any(cell.strip() for cell in row)]
    if not rows:
        raise ExtractionError("This document has no text to learn from.")
    header = [_clean_inline(cell) for cell in rows[0]]
    if len(rows) == 1:
        return _finish(CSV, [Block(" | ".join(header), kind="row")])
    blocks = [Block(_row_text(header, row), kind="row") for row in rows[1:]]
    return _finish(CSV, blocks)


# --- HTML --------------------------------------------------------------------------------------------------

_DROP_TAGS = ("script", "style", "nav", "noscript", "template", "iframe", "object", "embed", "svg", "canvas",
              "button", "select", "input", "textarea", "form", "dialog", "head")
_HEADING_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_BLOCK_TAGS = {"p", "div", "section", "article", "main", "aside", "header", "footer", "li", "ul", "ol", "dl",
               "dt", "dd", "pre", "blockquote", "address", "figure", "figcaption", "caption", "hr", "br",
               "details", "summary", "fieldset", "table", "tbody", "thead", "tfoot", "center", "body", "html"}


def extract_html(text: str) -> Extracted:
    from bs4 import BeautifulSoup
    from bs4.element import CData, Comment, Declaration, Doctype, NavigableString, ProcessingInstruction, Tag

    soup = BeautifulSoup(text, "lxml")
    title_tag = soup.find("title")
    page_title = _heading_text(title_tag.get_text(" ")) if title_tag else ""
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()

    blocks: list[Block] = []
    state = {"heading": page_title}
    buffer: list[str] = []
    skip = (Comment, Declaration, Doctype, CData, ProcessingInstruction)

    def flush() -> None:
        joined = _clean_inline("".join(buffer))
        buffer.clear()
        if joined:
            blocks.append(Block(joined, heading=state["heading"]))

    def table(node: Tag) -> None:
        rows = []
        for tr in node.find_all("tr"):
            if tr.find_parent("table") is not node:
                continue  # a nested table's rows are read with that table
            cells = tr.find_all(["td", "th"], recursive=False)
            rows.append(([_clean_inline(c.get_text(" ")) for c in cells], bool(cells) and all(c.name == "th"
                                                                                              for c in cells)))
        if not rows:
            return
        header: list[str] = []
        if rows[0][1]:
            header = rows[0][0]
            rows = rows[1:]
        for cells, _ in rows:
            line = _row_text(header, cells)
            if line.strip():
                blocks.append(Block(line, heading=state["heading"], kind="row"))

    def walk(node: Tag) -> None:
        for child in node.children:
            if isinstance(child, skip):
                continue
            if isinstance(child, NavigableString):
                buffer.append(str(child))
                continue
            if not isinstance(child, Tag):
                continue
            name = (child.name or "").lower()
            if name in _HEADING_TAGS:
                flush()
                title = _heading_text(child.get_text(" "))
                if title:
                    state["heading"] = title
                    blocks.append(Block(title, heading=title, kind="heading"))
            elif name == "table":
                flush()
                table(child)
            elif name == "pre":
                flush()
                content = "\n".join(_clean_line(x) for x in child.get_text().split("\n") if x.strip())
                if content:
                    blocks.append(Block(content, heading=state["heading"]))
            elif name in _BLOCK_TAGS:
                flush()
                walk(child)
                flush()
            else:
                walk(child)

    walk(soup)
    flush()
    return _finish(HTML, blocks)


# --- DOCX --------------------------------------------------------------------------------------------------


def _docx_heading_level(paragraph) -> int | None:
    try:
        style = paragraph.style
        name = (style.name or "") if style is not None else ""
    except (KeyError, ValueError, AttributeError):
        name = ""
    lowered = name.lower()
    if lowered == "title":
        return 0
    match = re.match(r"heading\s*(\d)", lowered)
    if match:
        return int(match.group(1))
    # Outline level set directly on the paragraph (documents from other editors).
    ppr = paragraph._p.pPr
    if ppr is not None:
        outline = ppr.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}outlineLvl")
        if outline is not None:
            try:
                level = int(outline.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}val"))
                return level + 1 if level < 9 else None
            except (TypeError, ValueError):
                return None
    return None


def extract_docx(data: bytes) -> Extracted:
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    check_docx_parts(data)
    try:
        document = docx.Document(io.BytesIO(data))
    except MemoryError:
        raise  # not a damaged file: the worker's memory limit speaking (backend.kb.worker)
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ExtractionError(DAMAGED_DOCX) from exc
    except Exception as exc:  # lxml and python-docx raise many kinds on broken XML
        log.info("docx could not be opened: %r", exc)
        raise ExtractionError(DAMAGED_DOCX) from exc

    blocks: list[Block] = []
    heading = ""

    def table_blocks(table: Table) -> None:
        rows = []
        for row in table.rows:
            cells: list[str] = []
            previous = None
            for cell in row.cells:
                # A merged cell is reported once per grid column it spans; keep it once.
                if previous is not None and cell._tc is previous:
                    continue
                previous = cell._tc
                cells.append(_clean_inline(cell.text))
            if any(cells):
                rows.append(cells)
        if not rows:
            return
        header = rows[0] if len(rows) > 1 else []
        for cells in (rows[1:] if header else rows):
            line = _row_text(header, cells)
            if line.strip():
                blocks.append(Block(line, heading=heading, kind="row"))

    try:
        for item in document.iter_inner_content():
            if isinstance(item, Paragraph):
                text = "\n".join(_clean_line(x) for x in item.text.split("\n") if x.strip())
                if not text:
                    continue
                if _docx_heading_level(item) is not None:
                    heading = _heading_text(text)
                    blocks.append(Block(text, heading=heading, kind="heading"))
                else:
                    blocks.append(Block(text, heading=heading))
            elif isinstance(item, Table):
                table_blocks(item)
    except MemoryError:
        raise
    except Exception as exc:
        log.info("docx could not be read: %r", exc)
        raise ExtractionError(DAMAGED_DOCX) from exc
    return _finish(DOCX, blocks)


# --- PDF ---------------------------------------------------------------------------------------------------


@dataclass
class _Line:
    text: str
    size: float
    bold: bool


def _pdf_runs_to_lines(runs: list[tuple[str, float, bool]]) -> list[_Line]:
    lines: list[_Line] = []
    text, sizes, bolds = "", [], []

    def end_line() -> None:
        nonlocal text, sizes, bolds
        cleaned = _clean_line(text)
        if cleaned:
            lines.append(_Line(cleaned, max(sizes) if sizes else 0.0, bool(bolds) and all(bolds)))
        text, sizes, bolds = "", [], []

    for run_text, size, bold in runs:
        if not run_text:
            continue
        # A change of font size between runs is a change of line even when the PDF did not say so.
        if text.strip() and sizes and size > 0 and abs(size - sizes[-1]) > 0.15 * max(size, sizes[-1]):
            end_line()
        parts = run_text.split("\n")
        for index, part in enumerate(parts):
            if index > 0:
                end_line()
            if part:
                text += part
                if part.strip():
                    sizes.append(size)
                    bolds.append(bold)
    end_line()
    return lines


def _body_size(pages: list[list[_Line]]) -> float:
    weights: Counter[float] = Counter()
    for lines in pages:
        for line in lines:
            weights[round(line.size * 2) / 2] += len(line.text)
    return weights.most_common(1)[0][0] if weights else 0.0


_DOT_LEADER = re.compile(r"(\.\s?){5,}")  # "Prices . . . . . 3" in a table of contents


def _is_pdf_heading(line: _Line, body: float) -> bool:
    text = line.text
    if not any(ch.isalpha() for ch in text) or len(text) > 150 or _DOT_LEADER.search(text):
        return False
    if body > 0 and line.size >= body * 1.15:
        return True
    return line.bold and len(text) <= 80 and len(text.split()) <= 12 and text[-1] not in ".,;"


def _join_pdf_lines(lines: list[str]) -> str:
    out = ""
    for line in lines:
        line = _SPACES.sub(" ", _DOT_LEADER.sub(" … ", line)).strip()
        if not out:
            out = line
        elif out.endswith("-") and len(out) > 1 and out[-2].isalpha() and line[:1].islower():
            out = out[:-1] + line  # a word hyphenated at the end of a line
        else:
            out += " " + line
    return out


def _drop_running_lines(pages: list[list[_Line]]) -> None:
    """Remove running headers and footers: lines at the top or bottom of most pages (digits ignored, so
    "Page 3 of 9" counts as the same line on every page)."""
    used = [lines for lines in pages if lines]
    if not used:
        return

    def key(text: str) -> str:
        return re.sub(r"\d+", "#", text.casefold())

    counts: Counter[str] = Counter()
    for lines in used:
        edge = {key(line.text) for line in lines[:2] + lines[-2:]}
        counts.update(edge)
    running = {k for k, n in counts.items() if n >= max(3, 0.6 * len(used))}
    for lines in pages:
        for position in (0, 1, -1, -2):
            if len(lines) <= 1:
                break
            index = position if position >= 0 else len(lines) + position
            if 0 <= index < len(lines) and (key(lines[index].text) in running
                                            or _PAGE_NUMBER.match(lines[index].text)):
                del lines[index]


_PAGE_NUMBER = re.compile(
    r"^(page\s*)?(\d{1,4}|(?=[ivxlc]+\b)c{0,3}(xc|xl|l?x{0,3})(ix|iv|v?i{0,3}))(\s*(of|/)\s*\d{1,4})?$", re.I)


_BULLET = re.compile(r"^([•▪◦●‣\-–*]|\d{1,3}[.)]|[a-z][.)])\s")


def extract_pdf(data: bytes, progress: ProgressCallback | None = None) -> Extracted:
    from pypdf import apply_configuration

    with apply_configuration(**pdf_configuration()):
        return _extract_pdf(data, progress)


def _extract_pdf(data: bytes, progress: ProgressCallback | None) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, LimitReachedError, PdfReadError

    damaged = ("This PDF is damaged and can't be read. Open it and save (or print) it as a new PDF, "
               "then add it again.")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            # PDFs with only an owner password ("no copying") open with an empty user password.
            try:
                opened = reader.decrypt("")
            except Exception:
                opened = 0
            if not opened:
                raise ExtractionError("This PDF is password-protected. Remove the password (save an unprotected "
                                      "copy) and add it again.")
        page_count = len(reader.pages)
    except (ExtractionError, MemoryError):
        raise
    except FileNotDecryptedError as exc:
        raise ExtractionError("This PDF is password-protected. Remove the password (save an unprotected copy) and "
                              "add it again.") from exc
    except LimitReachedError as exc:
        raise ExtractionError(PDF_TOO_COMPLEX) from exc
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as exc:
        raise ExtractionError(damaged) from exc
    except Exception as exc:
        log.info("PDF could not be opened: %r", exc)
        raise ExtractionError(damaged) from exc
    if page_count == 0:
        raise ExtractionError(damaged)
    max_pages = get_settings().kb_max_pdf_pages
    if page_count > max_pages:
        raise ExtractionError(f"This PDF has {page_count:,} pages; documents can have at most {max_pages:,}. "
                              "Split it into smaller files and add those.")
    check_pdf_expansion(reader)

    pages: list[list[_Line]] = []
    failures = 0
    for index in range(page_count):
        runs: list[tuple[str, float, bool]] = []

        def visit(text, cm, tm, font_dict, font_size, _runs=runs):
            try:
                scale = math.hypot(float(tm[2]), float(tm[3])) * math.hypot(float(cm[2]), float(cm[3]))
                size = abs(float(font_size or 0.0)) * (scale or 1.0)
            except (TypeError, ValueError, IndexError):
                size = 0.0
            base = ""
            if font_dict is not None:
                try:
                    base = str(font_dict.get("/BaseFont", ""))
                except Exception:
                    base = ""
            bold = any(word in base for word in ("Bold", "Black", "Heavy", "Semibold", "SemiBold"))
            _runs.append((text, round(size, 2), bold))

        try:
            plain = reader.pages[index].extract_text(visitor_text=visit) or ""
        except FileNotDecryptedError as exc:
            raise ExtractionError("This PDF is password-protected. Remove the password and add it again.") from exc
        except LimitReachedError as exc:
            raise ExtractionError(PDF_TOO_COMPLEX) from exc
        except MemoryError:
            raise
        except Exception as exc:  # one broken page must not lose the others
            log.info("PDF page %d could not be read: %r", index + 1, exc)
            failures += 1
            runs, plain = [], ""
        lines = _pdf_runs_to_lines(runs)
        if not lines and plain.strip():
            lines = [_Line(_clean_line(x), 0.0, False) for x in plain.split("\n") if x.strip()]
        pages.append(lines)
        if progress is not None:
            progress((index + 1) / page_count)

    if failures == page_count:
        raise ExtractionError(damaged)
    if not any(pages):
        raise ExtractionError("This PDF has no text layer (scanned?): it holds only images of pages, and text "
                              "recognition is not available here. Export it with text (or add the text as a "
                              "Word or text file).")

    _drop_running_lines(pages)
    body = _body_size(pages)
    blocks: list[Block] = []
    heading = ""
    for page_number, lines in enumerate(pages, start=1):
        if not lines:
            continue
        full = max(len(line.text) for line in lines)
        paragraph: list[str] = []
        heading_lines: list[_Line] = []

        def flush_paragraph() -> None:
            if paragraph:
                blocks.append(Block(_join_pdf_lines(paragraph), page=page_number, heading=heading))
                paragraph.clear()

        def flush_heading() -> None:
            nonlocal heading
            if heading_lines:
                title = " ".join(line.text for line in heading_lines)
                heading = _heading_text(title)
                blocks.append(Block(title, page=page_number, heading=heading, kind="heading"))
                heading_lines.clear()

        for line in lines:
            if _is_pdf_heading(line, body):
                flush_paragraph()
                # A heading wrapped over two lines is one heading; a chapter title followed by a section
                # title (a different size or weight) is two.
                if heading_lines and (abs(heading_lines[-1].size - line.size) > 0.05 * max(line.size, 1.0)
                                      or heading_lines[-1].bold != line.bold or len(heading_lines) >= 3):
                    flush_heading()
                heading_lines.append(line)
                continue
            flush_heading()
            if paragraph and _BULLET.match(line.text):
                flush_paragraph()
            paragraph.append(line.text)
            # A short line that ends a sentence usually ends its paragraph; a contents line always does.
            if line.text[-1] in ".!?:" and len(line.text) < 0.75 * full or _DOT_LEADER.search(line.text):
                flush_paragraph()
        flush_paragraph()
        flush_heading()
    return _finish(PDF, blocks, page_count=page_count)


# --- entry point -------------------------------------------------------------------------------------------


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
