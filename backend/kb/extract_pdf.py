"""PDF into blocks: text runs into lines, headings by font size, running headers, footers and page numbers
dropped, paragraphs joined; stream expansion and page count bounded (backend.kb.unpack)."""

from __future__ import annotations

import io
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass

from backend.kb.blocks import (
    _SPACES,
    PDF,
    Block,
    Extracted,
    ProgressCallback,
    _clean_line,
    _finish,
    _heading_text,
)
from backend.kb.unpack import PDF_TOO_COMPLEX, ExtractionError, check_pdf_expansion, pdf_configuration
from backend.settings import get_settings

log = logging.getLogger(__name__)


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
