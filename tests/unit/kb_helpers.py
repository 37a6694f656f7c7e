"""Real sample documents for the knowledge-base tests and bench, built from scratch: PDFs with a text layer
(pypdf's writer plus hand-written content streams in the standard Helvetica fonts), PDFs without one, Word files
(python-docx), a generator of plausible business prose, decompression bombs (a Word file and PDFs that expand
to gigabytes, built in a fraction of a second without ever holding what they expand to), and a fixture whose
document readers cannot start."""

from __future__ import annotations

import io
import random
import struct
import sys
import zipfile
import zlib
from typing import Iterable, Sequence

import pytest
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    EncodedStreamObject,
    FloatObject,
    NameObject,
    NumberObject,
)

# A line is (text, font size, bold).
Line = tuple[str, float, bool]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _font(writer: PdfWriter, base: str):
    return writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"),
        NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject(base),
        NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
    }))


def wrap(text: str, width: int = 90) -> list[str]:
    lines, current = [], ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    if current:
        lines.append(current)
    return lines


def text_pdf(pages: Sequence[Iterable[Line | str]], password: str | None = None) -> bytes:
    """A PDF whose pages hold the given lines as real text (a str is body text in 11 pt Helvetica)."""
    writer = PdfWriter()
    regular, bold = _font(writer, "/Helvetica"), _font(writer, "/Helvetica-Bold")
    for lines in pages:
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Resources")] = DictionaryObject({
            NameObject("/Font"): DictionaryObject({NameObject("/F1"): regular, NameObject("/F2"): bold}),
        })
        ops = ["BT", "72 740 Td"]
        for item in lines:
            text, size, is_bold = (item, 11.0, False) if isinstance(item, str) else item
            leading = size * 1.35
            ops.append(f"/{'F2' if is_bold else 'F1'} {size:g} Tf {leading:g} TL")
            ops.append(f"({_escape(text)}) Tj T*")
        ops.append("ET")
        stream = DecodedStreamObject()
        stream.set_data("\n".join(ops).encode("cp1252", "replace"))
        page[NameObject("/Contents")] = writer._add_object(stream)
    if password is not None:
        writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def image_only_pdf(pages: int = 2) -> bytes:
    """A "scanned" PDF: each page paints a small grey image and holds no text at all."""
    writer = PdfWriter()
    for _ in range(pages):
        page = writer.add_blank_page(612, 792)
        image = DecodedStreamObject()
        image.set_data(bytes([128]) * 64)
        image.update({
            NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Image"),
            NameObject("/Width"): NumberObject(8), NameObject("/Height"): NumberObject(8),
            NameObject("/ColorSpace"): NameObject("/DeviceGray"), NameObject("/BitsPerComponent"): NumberObject(8),
        })
        page[NameObject("/Resources")] = DictionaryObject({
            NameObject("/XObject"): DictionaryObject({NameObject("/Im1"): writer._add_object(image)}),
        })
        content = DecodedStreamObject()
        content.set_data(b"q 400 0 0 500 100 150 cm /Im1 Do Q")
        page[NameObject("/Contents")] = writer._add_object(content)
        page[NameObject("/MediaBox")] = ArrayObject([FloatObject(0), FloatObject(0), FloatObject(612),
                                                     FloatObject(792)])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_bytes(build) -> bytes:
    """A Word document made by `build(document)` with python-docx."""
    import docx

    document = docx.Document()
    build(document)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


_SUBJECTS = ["The clinic", "Our front desk", "Every patient", "The team", "A new client", "The practice",
             "Each appointment", "Our hygienist", "The booking system", "The waiting room"]
_VERBS = ["offers", "schedules", "confirms", "reviews", "explains", "prepares", "updates", "records", "welcomes",
          "checks"]
_OBJECTS = ["routine cleanings", "the treatment plan", "insurance questions", "evening appointments",
            "the price of whitening", "emergency visits", "follow-up calls", "payment options", "x-ray results",
            "parking instructions", "cancellation rules", "gift vouchers"]
_TAILS = ["before the first visit", "within two working days", "on weekdays from eight to six",
          "for families with children", "at no extra cost", "when the dentist is available",
          "in English and Spanish", "by phone or e-mail", "after every check-up", "during the summer months"]


def business_prose(words: int, seed: int = 0) -> str:
    """Deterministic, readable sentences about a small business, about `words` long."""
    rng = random.Random(seed)
    sentences, count = [], 0
    while count < words:
        sentence = f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} {rng.choice(_TAILS)}."
        sentences.append(sentence)
        count += len(sentence.split())
    return " ".join(sentences)


def long_pdf(pages: int = 100, words_per_page: int = 300) -> bytes:
    """A `pages`-page PDF: a bold heading and ~`words_per_page` words of wrapped body text on every page."""
    content = []
    for number in range(1, pages + 1):
        lines: list[Line | str] = [(f"Section {number}: {_OBJECTS[number % len(_OBJECTS)].capitalize()}", 16.0,
                                    True)]
        text = business_prose(words_per_page, seed=number)
        # At 11 pt, ~95 characters fill a 6.5-inch line; four paragraphs per page.
        sentences = text.split(". ")
        quarter = max(1, len(sentences) // 4)
        for start in range(0, len(sentences), quarter):
            paragraph = ". ".join(sentences[start:start + quarter]).rstrip(".") + "."
            lines.extend(wrap(paragraph, 95))
        content.append(lines)
    return text_pdf(content)


# --- decompression bombs -----------------------------------------------------------------------------------

MB = 1024 * 1024
_BOMB_BLOCK = b"ha " * (MB // 3)  # ~1 MB that deflates to ~1 KB: the best ratio deflate allows (~1000:1)


class _Repeated:
    """A deflate stream of `head + block * count + tail`, with the checksum (zlib.crc32 for ZIP, zlib.adler32
    for a zlib stream) of what it expands to.

    After a full flush the compressor forgets everything before, so the bytes for one block can be repeated as
    they are: the stream is built from one compressed block, not by compressing gigabytes."""

    def __init__(self, head: bytes, block: bytes, count: int, tail: bytes, checksum):
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        piece = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
        framing = zlib.compressobj(9, zlib.DEFLATED, -15)
        start = framing.compress(head) + framing.flush(zlib.Z_FULL_FLUSH)
        end = framing.compress(tail) + framing.flush(zlib.Z_FINISH)
        self.deflate = start + piece * count + end
        self.size = len(head) + len(block) * count + len(tail)
        value = checksum(head)
        for _ in range(count):
            value = checksum(block, value)
        self.checksum = checksum(tail, value)


def _zip(members: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """A ZIP archive written by hand: (name, payload, method, crc, declared size) each, so a test can say
    anything it likes about a member's size."""
    out = io.BytesIO()
    central = []
    for name, payload, method, crc, size in members:
        encoded = name.encode()
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(payload), size,
                              len(encoded), 0))
        out.write(encoded)
        out.write(payload)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc,
                                   len(payload), size, len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
    start = out.tell()
    for record in central:
        out.write(record)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), out.tell() - start, start, 0))
    return out.getvalue()


def zip_bomb_docx(expanded_mb: int = 2560, declared_size: int | None = None) -> bytes:
    """A real Word file whose word/document.xml is one paragraph of `expanded_mb` MB of "ha ha ha": about
    expanded_mb / 1000 MB on disk (the default: 2.5 MB that expand to 2.5 GB). `declared_size` makes the archive
    lie about that part's uncompressed size."""
    template = docx_bytes(lambda d: d.add_paragraph("BOMB"))
    with zipfile.ZipFile(io.BytesIO(template)) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    head, _, tail = parts["word/document.xml"].partition(b"BOMB")
    bomb = _Repeated(head, _BOMB_BLOCK, expanded_mb, tail, zlib.crc32)
    members = []
    for name, payload in parts.items():
        if name == "word/document.xml":
            members.append((name, bomb.deflate, zipfile.ZIP_DEFLATED, bomb.checksum,
                            bomb.size if declared_size is None else declared_size))
        else:
            members.append((name, payload, zipfile.ZIP_STORED, zlib.crc32(payload), len(payload)))
    return _zip(members)


def pdf_stream_bomb(pages: int, stream_mb: int) -> bytes:
    """A PDF whose every page shows a line of text and then `stream_mb` MB of blank space, all in one
    FlateDecode content stream of about stream_mb KB."""
    writer = PdfWriter()
    font = _font(writer, "/Helvetica")
    spaces = b" " * MB
    for number in range(1, pages + 1):
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Resources")] = DictionaryObject({
            NameObject("/Font"): DictionaryObject({NameObject("/F1"): font}),
        })
        head = f"BT /F1 11 Tf 72 740 Td (Page {number} of the price list.) Tj ET\n".encode()
        bomb = _Repeated(head, spaces, stream_mb, b"\n", zlib.adler32)
        stream = EncodedStreamObject()
        stream._data = b"\x78\xda" + bomb.deflate + struct.pack(">I", bomb.checksum)  # a zlib stream
        stream[NameObject("/Filter")] = NameObject("/FlateDecode")
        page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --- the document reader -------------------------------------------------------------------------------------


@pytest.fixture
def broken_install(monkeypatch):
    """Document readers that cannot start (as after a bad deploy)."""
    from backend.kb import worker

    monkeypatch.setattr(worker, "READER_COMMAND", (sys.executable, "-c", "raise SystemExit(3)"))
    monkeypatch.setattr(worker, "_spare", None)
