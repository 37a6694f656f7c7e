"""Text extraction by content type, on real files made here, and the chunks cut from it."""

from __future__ import annotations

import io
import random
import zipfile

import pytest

from backend.kb.chunk import chunk_blocks, chunk_faq, estimate_tokens
from backend.kb.extract import (
    CSV,
    DOCX,
    HTML,
    MARKDOWN,
    PDF,
    TXT,
    Block,
    ExtractionError,
    detect_type,
    extract,
)
from tests.unit.kb_helpers import (
    business_prose,
    docx_bytes,
    image_only_pdf,
    long_pdf,
    pdf_stream_bomb,
    text_pdf,
    wrap,
    zip_bomb_docx,
)
from tests.unit.messaging_helpers import png_bytes, settings_override

_RANDOM = random.Random(1)


def _price_list_pdf(password: str | None = None) -> bytes:
    return text_pdf([
        [("Opening hours", 18, True),
         "We are open Monday to Friday from nine in the morning until six in the",
         "evening. On Saturdays we open at ten.",
         "Closed on Sundays and public holidays."],
        [("Price list", 18, True),
         "A routine cleaning costs 80 dollars.",
         ("Whitening", 13, True),
         "Whitening costs 300 dollars and takes one hour. We hyphen-",
         "ate nothing here but a long word is split across lines."],
    ], password=password)


# --- detection ---------------------------------------------------------------------------------------------


def test_types_are_detected_by_content_not_by_name():
    assert detect_type(_price_list_pdf(), "notes.txt") == PDF
    assert detect_type(docx_bytes(lambda d: d.add_paragraph("Hello")), "scan.pdf") == DOCX
    assert detect_type(b"<!DOCTYPE html><html><body><p>Hi</p></body></html>", "notes.txt") == HTML
    assert detect_type(b"Service,Price,Minutes\nCleaning,80,30\nWhitening,300,60\n", "data.txt") == CSV
    assert detect_type(b"# Hours\n\nOpen daily.\n", "readme.txt") == MARKDOWN
    assert detect_type(b"Just a plain note.\nWith two lines.", "list.csv") == TXT
    assert detect_type(b"Name,Price\nCleaning,80\n", "prices.csv") == CSV
    assert detect_type(b'Name,Notes\nCleaning,"twice\na year"\nWhitening,once\n', "prices.csv") == CSV
    assert detect_type(b"Hello, world. This is prose.\nIt has, now and then, commas.\nLike this.", "a.txt") == TXT
    with pytest.raises(ExtractionError, match="XML and SVG"):
        detect_type(b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'><text>hi</text></svg>")


@pytest.mark.parametrize("data,fragment", [
    (png_bytes(), "Images can't be read"),
    (b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 120, "ELF files can't be added"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "old-format Office file"),
    (bytes(range(256)) * 8, "binary data"),
    (bytes(_RANDOM.randrange(1, 256) for _ in range(4000)), "binary data"),
])
def test_what_is_not_a_document_is_refused_with_what_is_accepted(data, fragment):
    with pytest.raises(ExtractionError) as err:
        detect_type(data, "document.pdf")
    assert fragment in err.value.message
    assert err.value.field == "file"


def test_spreadsheets_and_archives_get_their_own_advice():
    sheet = io.BytesIO()
    with zipfile.ZipFile(sheet, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(ExtractionError, match="Save the sheet as CSV"):
        detect_type(sheet.getvalue())
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(ExtractionError, match="ZIP archives"):
        detect_type(plain.getvalue())


def test_empty_blank_and_oversize_files_are_refused():
    with pytest.raises(ExtractionError, match="empty"):
        extract(b"")
    with pytest.raises(ExtractionError, match="no text to learn from"):
        extract(b"  \n\n \t ")
    with settings_override(max_upload_mb=1):
        with pytest.raises(ExtractionError, match="at most 1 MB"):
            extract(b"word " * 300_000)


# --- PDF ---------------------------------------------------------------------------------------------------


def test_pdf_text_keeps_pages_and_headings():
    result = extract(_price_list_pdf())
    assert result.mime_type == PDF and result.page_count == 2
    body = [b for b in result.blocks if b.kind == "paragraph"]
    assert body[0] == Block("We are open Monday to Friday from nine in the morning until six in the evening. "
                            "On Saturdays we open at ten.", page=1, heading="Opening hours")
    assert body[1].text == "Closed on Sundays and public holidays." and body[1].page == 1
    cleaning = next(b for b in body if "cleaning" in b.text)
    assert (cleaning.page, cleaning.heading) == (2, "Price list")
    whitening = next(b for b in body if "300 dollars" in b.text)
    assert (whitening.page, whitening.heading) == (2, "Whitening")
    assert "hyphenate nothing" in whitening.text  # a word split at the end of a line is whole again


def test_a_heading_carries_over_to_the_next_page():
    pdf = text_pdf([[("Treatments", 16, True), "Fillings are done in one visit."],
                    ["Crowns need two visits and a lab fitting in between."]])
    blocks = [b for b in extract(pdf).blocks if b.kind == "paragraph"]
    assert [(b.page, b.heading) for b in blocks] == [(1, "Treatments"), (2, "Treatments")]


def test_running_headers_and_page_numbers_are_dropped():
    pages = [["Oak Dental - Patient handbook", f"Body text of page {n} about appointment number {n}.",
              f"Page {n} of 4"] for n in range(1, 5)]
    text = extract(text_pdf(pages)).text
    assert "Patient handbook" not in text and "of 4" not in text
    for n in range(1, 5):
        assert f"Body text of page {n} about appointment number {n}." in text


def test_chapter_and_section_titles_are_separate_headings_and_contents_lines_are_not():
    pdf = text_pdf([[("Contents", 16, True), ("Prices . . . . . . . . . . 2", 11, True),
                     "This handbook explains how the practice works."],
                    [("Chapter 1", 20, True), ("1.1 Prices", 14, True), "A cleaning costs 80 dollars."]])
    blocks = extract(pdf).blocks
    assert [b.text for b in blocks if b.kind == "heading"] == ["Contents", "Chapter 1", "1.1 Prices"]
    assert next(b for b in blocks if "80 dollars" in b.text).heading == "1.1 Prices"
    assert any(b.text == "Prices … 2" for b in blocks)


def test_password_protected_pdf_is_refused_clearly():
    with pytest.raises(ExtractionError, match="password-protected"):
        extract(_price_list_pdf(password="s3cret"))


def test_pdf_with_only_an_owner_password_is_read():
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_price_list_pdf())))
    writer.encrypt(user_password="", owner_password="owner-only", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    assert "80 dollars" in extract(out.getvalue()).text


@pytest.mark.parametrize("damage", ["truncated", "garbage", "header-only"])
def test_damaged_pdf_is_refused_clearly(damage):
    good = _price_list_pdf()
    data = {"truncated": good[: len(good) // 2], "garbage": b"%PDF-1.7\n" + bytes(range(1, 200)) * 5,
            "header-only": b"%PDF-1.4\n%%EOF\n"}[damage]
    with pytest.raises(ExtractionError, match="damaged"):
        extract(data)


def test_scanned_pdf_without_text_layer_is_refused_clearly():
    with pytest.raises(ExtractionError, match=r"has no text layer \(scanned\?\)"):
        extract(image_only_pdf())


def test_pdf_extraction_reports_progress_per_page():
    seen = []
    extract(long_pdf(pages=4, words_per_page=50), progress=seen.append)
    assert seen == [0.25, 0.5, 0.75, 1.0]


# --- Word --------------------------------------------------------------------------------------------------


def test_docx_headings_paragraphs_and_tables():
    def build(document):
        document.add_heading("Oak Dental", 0)
        document.add_paragraph("A family practice in the old town.")
        document.add_heading("Prices", 1)
        table = document.add_table(rows=3, cols=2)
        for r, (service, price) in enumerate([("Service", "Price"), ("Cleaning", "$80"), ("Whitening", "$300")]):
            table.cell(r, 0).text, table.cell(r, 1).text = service, price
        document.add_heading("Payment", 2)
        document.add_paragraph("Cards and cash are accepted.")

    blocks = extract(docx_bytes(build)).blocks
    assert [(b.kind, b.text, b.heading) for b in blocks] == [
        ("heading", "Oak Dental", "Oak Dental"),
        ("paragraph", "A family practice in the old town.", "Oak Dental"),
        ("heading", "Prices", "Prices"),
        ("row", "Service: Cleaning\nPrice: $80", "Prices"),
        ("row", "Service: Whitening\nPrice: $300", "Prices"),
        ("heading", "Payment", "Payment"),
        ("paragraph", "Cards and cash are accepted.", "Payment"),
    ]
    assert all(b.page is None for b in blocks)


def test_damaged_docx_is_refused_clearly():
    good = docx_bytes(lambda d: d.add_paragraph("Hello there"))
    broken = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(broken, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, b"<w:document><broken" if item.filename == "word/document.xml" else data)
    with pytest.raises(ExtractionError, match="Word document is damaged"):
        extract(broken.getvalue())


def _rewrite_docx(replace: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    good = docx_bytes(lambda d: d.add_paragraph("Hello there"))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(out, "w", compression) as target:
        for item in source.infolist():
            target.writestr(item.filename, replace.get(item.filename, source.read(item)))
    return out.getvalue()


def test_a_word_file_that_would_expand_too_far_is_refused_from_its_listing():
    bomb = zip_bomb_docx(300)  # 300 MB of text in 0.3 MB
    with pytest.raises(ExtractionError, match="expands to more than 200 MB when unpacked"):
        detect_type(bomb)
    with settings_override(kb_max_expanded_mb=400):
        with pytest.raises(ExtractionError, match=r"\(word/document.xml\) is compressed more than 100 times over"):
            detect_type(bomb)
        with settings_override(kb_max_compression_ratio=2000):
            assert detect_type(bomb) == DOCX
            with settings_override(kb_max_expanded_mb=250):
                with pytest.raises(ExtractionError, match="expands to more than 250 MB"):
                    extract(bomb, DOCX)  # the reader counts too, whatever the caller checked before
    prose = business_prose(200_000, seed=3)  # a long real document: its text is over a megabyte, and compresses
    handbook = docx_bytes(lambda d: [d.add_paragraph(prose[i:i + 2000]) for i in range(0, len(prose), 2000)])
    assert detect_type(handbook) == DOCX and prose[:500] in extract(handbook).text


def test_a_word_file_whose_listing_lies_is_read_only_as_far_as_it_says():
    liar = zip_bomb_docx(300, declared_size=64 * 1024)
    assert detect_type(liar) == DOCX  # the listing looks fine
    with pytest.raises(ExtractionError, match="Word document is damaged"):
        extract(liar)


def test_word_files_with_entity_declarations_or_foreign_compression_are_refused():
    laughs = (b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
              b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p>'
              b'<w:r><w:t>&b;</w:t></w:r></w:p></w:body></w:document>')
    with pytest.raises(ExtractionError, match="XML entity declaration"):
        extract(_rewrite_docx({"word/document.xml": laughs}))
    with pytest.raises(ExtractionError, match="compressed in a way Word never uses"):
        detect_type(_rewrite_docx({}, compression=zipfile.ZIP_BZIP2))
    assert extract(_rewrite_docx({}, compression=zipfile.ZIP_STORED)).text == "Hello there"


def test_text_is_capped_before_it_is_parsed():
    with settings_override(kb_max_expanded_mb=1):
        with pytest.raises(ExtractionError, match="more than 1 MB of text"):
            extract(b"<p>word</p> " * 100_000, HTML)
        assert extract(b"<p>word</p> " * 1000, HTML).text.startswith("word")


def test_a_pdf_is_refused_past_the_page_limit_or_its_expansion_limit():
    with settings_override(kb_max_pdf_pages=3):
        with pytest.raises(ExtractionError, match="has 4 pages; documents can have at most 3"):
            extract(text_pdf([[f"Page {n}."] for n in range(4)]))
        assert extract(text_pdf([[f"Page {n}."] for n in range(3)])).page_count == 3
    with pytest.raises(ExtractionError, match="holds a compressed part that expands to more than 64 MB"):
        extract(pdf_stream_bomb(1, 100))
    with settings_override(kb_max_expanded_mb=30):
        with pytest.raises(ExtractionError, match="expands to more than 30 MB when its compressed parts"):
            extract(pdf_stream_bomb(2, 20))
        assert extract(pdf_stream_bomb(1, 20)).text == "Page 1 of the price list."


# --- text, Markdown, HTML, CSV -----------------------------------------------------------------------------


def test_plain_text_paragraphs_and_short_title_lines():
    text = "OPENING HOURS\n\nWe are open from nine to five on weekdays.\nSaturdays ten to two.\n\nCall us any time."
    blocks = extract(text.encode()).blocks
    assert [(b.kind, b.text, b.heading) for b in blocks] == [
        ("heading", "OPENING HOURS", "OPENING HOURS"),
        ("paragraph", "We are open from nine to five on weekdays.\nSaturdays ten to two.", "OPENING HOURS"),
        ("paragraph", "Call us any time.", "OPENING HOURS"),
    ]


def test_text_that_is_not_utf8_is_read_as_windows_1252():
    data = "Café crème: 3 € — served “hot”.\n\nSpécialité maison.".encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    text = extract(data).text
    assert "Café crème: 3 € — served “hot”." in text and "Spécialité" in text


def test_utf16_text_with_a_byte_order_mark_is_read():
    assert "naïve résumé" in extract("A naïve résumé.".encode("utf-16")).text


def test_markdown_headings_links_and_code():
    text = ("---\ntitle: front matter\n---\n# Services\n\nWe offer **cleanings** and [whitening](https://oak.example)."
            "\n\n## Prices\n\n| Service | Price |\n|---|---|\n| Cleaning | $80 |\n\nKids\n====\n\n"
            "```\n# not a heading\n```\n")
    blocks = extract(text.encode()).blocks
    headings = [b.text for b in blocks if b.kind == "heading"]
    assert headings == ["Services", "Prices", "Kids"]
    services = next(b for b in blocks if "cleanings" in b.text)
    assert services.text == "We offer cleanings and whitening (https://oak.example)." and services.heading == "Services"
    table = next(b for b in blocks if "Cleaning" in b.text)
    assert table.text == "Service | Price\nCleaning | $80" and table.heading == "Prices"
    code = next(b for b in blocks if "not a heading" in b.text)
    assert code.kind == "paragraph" and code.heading == "Kids"
    assert "front matter" not in extract(text.encode()).text


def test_html_keeps_headings_and_tables_and_never_keeps_scripts():
    page = b"""<!DOCTYPE html><html><head><title>Oak Dental</title>
      <script>document.write('INJECTED'); fetch('https://evil.example')</script>
      <style>.x { color: red }</style></head>
      <body><nav><a href="/">Home</a> <a href="/about">About us</a></nav>
      <h1>Welcome</h1><p>We are a <b>family</b> practice.</p>
      <script type="text/javascript">alert("STEAL")</script><noscript>Enable JS</noscript>
      <h2>Hours</h2><table><tr><th>Day</th><th>Hours</th></tr><tr><td>Monday</td><td>9-5</td></tr></table>
      <div>Call <a href="tel:+1555">555-0100</a> to book.<!-- hidden comment --></div>
      <img src=x onerror="alert('IMG')"></body></html>"""
    result = extract(page)
    text = result.text
    for forbidden in ("INJECTED", "evil.example", "STEAL", "color: red", "Home", "About us", "Enable JS",
                      "hidden comment", "onerror", "IMG"):
        assert forbidden not in text
    assert [(b.kind, b.text, b.heading) for b in result.blocks] == [
        ("heading", "Welcome", "Welcome"),
        ("paragraph", "We are a family practice.", "Welcome"),
        ("heading", "Hours", "Hours"),
        ("row", "Day: Monday\nHours: 9-5", "Hours"),
        ("paragraph", "Call 555-0100 to book.", "Hours"),
    ]


def test_html_with_only_scripts_has_no_text():
    with pytest.raises(ExtractionError, match="no text to learn from"):
        extract(b"<html><body><script>alert(1)</script><style>p{}</style></body></html>")


def test_csv_rows_read_as_column_value_lines():
    data = "Service;Price;Notes\nCleaning;80;\nWhitening;300;Once a year\n".encode()
    blocks = extract(data, CSV).blocks
    assert [b.text for b in blocks] == ["Service: Cleaning\nPrice: 80",
                                       "Service: Whitening\nPrice: 300\nNotes: Once a year"]
    quoted = extract(b'Service,Notes\nCleaning,"Twice a year,\nwith polish"\n', CSV).blocks
    assert [b.text for b in quoted] == ["Service: Cleaning\nNotes: Twice a year, with polish"]
    assert all(b.kind == "row" for b in blocks)


# --- chunking ----------------------------------------------------------------------------------------------


def test_chunks_keep_their_page_and_heading():
    chunks = chunk_blocks(extract(_price_list_pdf()).blocks)
    assert [(c.page, c.heading) for c in chunks] == [(1, "Opening hours"), (2, "Price list"), (2, "Whitening")]
    assert chunks[0].content.startswith("Opening hours\n\nWe are open")
    assert [c.ordinal for c in chunks] == [0, 1, 2]
    assert all(c.token_count == estimate_tokens(c.content) > 0 for c in chunks)


def test_long_sections_are_cut_between_sentences_with_overlap():
    prose = business_prose(700, seed=3)
    chunks = chunk_blocks([Block(prose, page=4, heading="Policies")], size=500, overlap=100)
    assert len(chunks) > 5
    for chunk in chunks:
        assert len(chunk.content) <= 500
        assert chunk.page == 4 and chunk.heading == "Policies"
        assert chunk.content[0].isupper() and chunk.content.endswith(".")  # whole sentences only
    for before, after in zip(chunks, chunks[1:]):
        first_sentence = after.content.split(". ")[0]
        assert first_sentence in before.content  # the overlap repeats the end of the previous chunk
    words = set(prose.split())
    assert words == set(" ".join(c.content for c in chunks).split())


def test_chunks_never_split_words_when_a_space_is_near():
    text = " ".join(f"word{i:04d}" for i in range(600))  # no sentence ends at all
    chunks = chunk_blocks([Block(text)], size=300, overlap=50)
    for chunk in chunks:
        assert all(token.startswith("word") and len(token) == 8 for token in chunk.content.split())
    assert max(len(c.content) for c in chunks) <= 300


def test_small_paragraphs_are_packed_and_rows_stay_whole():
    rows = [Block(f"Service: Treatment {i}\nPrice: {i * 10}", heading="Prices", kind="row") for i in range(60)]
    chunks = chunk_blocks(rows, size=400, overlap=60)
    assert 3 < len(chunks) < 60
    for chunk in chunks:
        lines = chunk.content.split("\n")
        assert lines[0].startswith("Service:") or lines[0].startswith("Price:")
        assert lines[-1].startswith("Price:")  # never ends half-way through a row


def test_a_page_break_or_new_heading_starts_a_new_chunk():
    blocks = [Block("Short intro.", page=1, heading="A"), Block("Next page text.", page=2, heading="A"),
              Block("B", kind="heading", heading="B", page=2), Block("Under B.", page=2, heading="B")]
    chunks = chunk_blocks(blocks)
    assert [(c.content, c.page, c.heading) for c in chunks] == [
        ("Short intro.", 1, "A"), ("Next page text.", 2, "A"), ("B\n\nUnder B.", 2, "B")]


def test_chunk_size_follows_the_settings():
    prose = business_prose(1200, seed=9)
    with settings_override(kb_chunk_chars=400, kb_chunk_overlap=0):
        small = chunk_blocks([Block(prose)])
    with settings_override(kb_chunk_chars=1600, kb_chunk_overlap=0):
        large = chunk_blocks([Block(prose)])
    assert max(len(c.content) for c in small) <= 400 and max(len(c.content) for c in large) <= 1600
    assert len(small) > 3 * len(large) - 3


def test_faq_is_one_chunk():
    (chunk,) = chunk_faq("  Do you take walk-ins? ", "Yes, until 4 pm.\n")
    assert chunk.content == "Q: Do you take walk-ins?\nA: Yes, until 4 pm." and chunk.ordinal == 0


def test_a_long_pdf_becomes_page_cited_chunks():
    chunks = chunk_blocks(extract(long_pdf(pages=5, words_per_page=300)).blocks)
    assert {c.page for c in chunks} == {1, 2, 3, 4, 5}
    for chunk in chunks:
        assert chunk.heading.startswith(f"Section {chunk.page}:")
        assert len(chunk.content) <= 1000


def test_wrap_helper_makes_lines_the_pdf_reader_joins_back():
    paragraph = business_prose(120, seed=5)
    pdf = text_pdf([wrap(paragraph, 80)])
    assert extract(pdf).blocks[0].text == paragraph
