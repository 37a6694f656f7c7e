"""Word (.docx) into blocks, headings from the paragraph styles and tables row by row; the parts are unpacked
with the bounds of backend.kb.unpack before python-docx sees the file."""

from __future__ import annotations

import io
import logging
import re
import zipfile

from backend.kb.blocks import (
    DOCX,
    Block,
    Extracted,
    _clean_inline,
    _clean_line,
    _finish,
    _heading_text,
    _row_text,
)
from backend.kb.unpack import DAMAGED_DOCX, ExtractionError, check_docx_parts

log = logging.getLogger(__name__)


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
