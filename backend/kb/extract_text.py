"""Plain text, Markdown, CSV and HTML (parsed, never rendered: scripts and styles dropped) into blocks."""

from __future__ import annotations

import csv
import io
import re

from backend.kb.blocks import (
    _MD_HEADING,
    _MD_SETEXT,
    CSV,
    HTML,
    MARKDOWN,
    TXT,
    Block,
    Extracted,
    _clean_inline,
    _clean_line,
    _finish,
    _heading_text,
    _paragraphs,
    _row_text,
    _sniff_dialect,
)
from backend.kb.unpack import ExtractionError


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
