"""How far an untrusted file may expand, checked before it is read.

A small file can expand enormously (a "zip bomb": 2.5 MB of Word file holding 2.5 GB of text). Everything a
document holds compressed is bounded here before a parser sees it:

- a Word file's listing (the ZIP's central directory) on upload: its total unpacked size
  (`kb_max_expanded_mb`), each large part's compression ratio (`kb_max_compression_ratio`), the number of parts,
  and only the compression methods Word writes;
- then each of its parts, unpacked once by our own bounded reader a megabyte at a time: a part larger than
  listed, a total above `kb_max_expanded_mb` and XML that declares entities ("billion laughs") are refused,
  so that python-docx, which unpacks whole parts at once, reads only parts known to end where they say;
- a PDF's streams, decoded under pypdf's per-stream limits and counted against `kb_max_expanded_mb` before
  any text is extracted from them.

These give the owner a clear refusal. Whatever gets past them meets the memory and time limits of the process
that reads documents (backend.kb.worker).
"""

from __future__ import annotations

import io
import logging
import struct
import zipfile
import zlib
from typing import Iterable

from backend.errors import ServiceError
from backend.settings import get_settings

log = logging.getLogger(__name__)

MB = 1024 * 1024
MAX_ZIP_ENTRIES = 10_000  # a Word file has a few dozen parts; a listing this long is not a document
RATIO_FLOOR_BYTES = MB  # small parts may compress as tightly as they like: they cannot grow far
_READ_CHUNK = MB
_ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)  # what Word writes; bzip2/LZMA expand unboundedly
_XML_DECLARATIONS = tuple(marker.encode(encoding) for marker in ("<!DOCTYPE", "<!ENTITY")
                          for encoding in ("ascii", "utf-16-le", "utf-16-be"))


class ExtractionError(ServiceError):
    """The document cannot be read as text; the message says why and what to do instead."""

    def __init__(self, message: str):
        super().__init__(message, field="file")


# --- Word files --------------------------------------------------------------------------------------------

DAMAGED_DOCX = ("This Word document is damaged and can't be read. Open it in Word, save it again and add the "
                "new copy.")


def _max_expanded_bytes() -> int:
    return get_settings().kb_max_expanded_mb * MB


def _too_big_docx() -> ExtractionError:
    limit = get_settings().kb_max_expanded_mb
    return ExtractionError(f"This Word file expands to more than {limit} MB when unpacked (it may be a \"zip "
                           "bomb\"). Open it in Word and save it again without large pictures or embedded files, "
                           "or split it into smaller documents, then add it again.")


def check_docx_listing(listing: list[zipfile.ZipInfo]) -> None:
    """Refuse a Word file whose listing (the ZIP's central directory) says it expands too far, before any of it
    is unpacked. The listing can lie; check_docx_parts catches that."""
    settings = get_settings()
    resave = "Open it in Word, save it again and add the new copy."
    if len(listing) > MAX_ZIP_ENTRIES:
        raise ExtractionError(f"This Word file holds more than {MAX_ZIP_ENTRIES:,} parts, far more than a real "
                              f"document. {resave}")
    total = 0
    for info in listing:
        if info.compress_type not in _ZIP_METHODS:
            raise ExtractionError(f"This Word file is compressed in a way Word never uses. {resave}")
        total += info.file_size
        if total > settings.kb_max_expanded_mb * MB:
            raise _too_big_docx()
        if info.file_size > RATIO_FLOOR_BYTES and \
                info.file_size > settings.kb_max_compression_ratio * max(info.compress_size, 1):
            raise ExtractionError(f"Part of this Word file ({info.filename[:80]}) is compressed more than "
                                  f"{settings.kb_max_compression_ratio} times over, which real documents never "
                                  f"are (it may be a \"zip bomb\"). {resave}")


def _inflated_pieces(data: bytes, info: zipfile.ZipInfo) -> Iterable[bytes]:
    """A part's bytes as they unpack, a megabyte at a time, by our own reader rather than zipfile's (which
    unpacks up to a gigabyte per call before it looks at the listed size)."""
    header = data[info.header_offset:info.header_offset + 30]
    if len(header) < 30 or header[:4] != b"PK\x03\x04" or info.flag_bits & 0x1:  # 0x1: encrypted
        raise ExtractionError(DAMAGED_DOCX)
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    start = info.header_offset + 30 + name_length + extra_length
    raw = memoryview(data)[start:start + info.compress_size]
    if len(raw) != info.compress_size:
        raise ExtractionError(DAMAGED_DOCX)
    if info.compress_type == zipfile.ZIP_STORED:
        if info.compress_size != info.file_size:
            raise ExtractionError(DAMAGED_DOCX)
        for offset in range(0, len(raw), _READ_CHUNK):
            yield bytes(raw[offset:offset + _READ_CHUNK])
        return
    inflater = zlib.decompressobj(-15)
    pending = raw
    while not inflater.eof:
        try:
            piece = inflater.decompress(pending, _READ_CHUNK)
        except zlib.error as exc:
            raise ExtractionError(DAMAGED_DOCX) from exc
        if not piece and len(inflater.unconsumed_tail) == len(pending):
            raise ExtractionError(DAMAGED_DOCX)  # the data ran out before the stream ended
        pending = inflater.unconsumed_tail
        if piece:
            yield piece


def check_docx_parts(data: bytes) -> None:
    """Unpack every part of a Word file once, counting, without keeping any of it: refuse the file when a part
    unpacks to more than its listing says, when all of them together pass kb_max_expanded_mb, or when an XML
    part declares entities. Afterwards python-docx may unpack the file itself: each part is known to end
    exactly where its listing says, and the listing is within the limits."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            listing = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ExtractionError(DAMAGED_DOCX) from exc
    check_docx_listing(listing)
    budget = _max_expanded_bytes()
    for info in listing:
        if info.is_dir():
            continue
        is_xml = info.filename.endswith((".xml", ".rels"))
        seen, crc, tail = 0, 0, b""
        for piece in _inflated_pieces(data, info):
            seen += len(piece)
            if seen > budget:
                raise _too_big_docx()
            if seen > info.file_size:
                raise ExtractionError(DAMAGED_DOCX)  # larger than it says: a lie, or damage
            # An entity declaration is how XML expands itself ("billion laughs"); Word never writes one.
            if is_xml and any(marker in tail + piece for marker in _XML_DECLARATIONS):
                raise ExtractionError("This Word file contains an XML entity declaration, which Word never writes "
                                      "and which can make a file expand without limit. Open it in Word, save it "
                                      "again and add the new copy.")
            tail = piece[-16:]
            crc = zlib.crc32(piece, crc)
        if seen != info.file_size or crc != info.CRC:
            raise ExtractionError(DAMAGED_DOCX)
        budget -= seen


# --- PDF ---------------------------------------------------------------------------------------------------

# pypdf's limits on what one stream may decode to (75 MB by default), set to this or kb_max_expanded_mb if less.
MAX_PDF_STREAM_MB = 64
_PDF_STREAM_LIMITS = ("zlib_maximum_output_length", "lzw_maximum_output_length", "run_length_maximum_output_length",
                      "brotli_maximum_output_length", "jbig2_maximum_output_length",
                      "array_based_stream_maximum_output_length", "maximum_declared_stream_length",
                      "image_maximum_buffer_size")
PDF_TOO_COMPLEX = ("This PDF is built in an unusually complex way and can't be read safely. Open it and save (or "
                   "print) it as a new PDF, then add it again.")


def pdf_configuration() -> dict[str, int]:
    from pypdf import get_configuration

    cap = min(_max_expanded_bytes(), MAX_PDF_STREAM_MB * MB)
    current = get_configuration()
    return {name: min(getattr(current, name), cap) for name in _PDF_STREAM_LIMITS}


def _pdf_streams(reader) -> Iterable:
    """Every stream text extraction decodes, page by page: content streams, form XObjects (nested) and the
    ToUnicode maps of fonts; each once."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

    seen: set = set()

    def resolve(value):
        if isinstance(value, IndirectObject):
            key = (value.idnum, value.generation)
            if key in seen:
                return None
            seen.add(key)
            return value.get_object()
        return value

    def resources(dictionary, depth: int):
        if depth > 20 or not isinstance(dictionary, DictionaryObject):
            return
        xobjects = resolve(dictionary.get("/XObject"))
        if isinstance(xobjects, DictionaryObject):
            for value in xobjects.values():
                form = resolve(value)
                if isinstance(form, StreamObject) and form.get("/Subtype") == "/Form":
                    yield form
                    yield from resources(resolve(form.get("/Resources")), depth + 1)
        fonts = resolve(dictionary.get("/Font"))
        if isinstance(fonts, DictionaryObject):
            for value in fonts.values():
                font = resolve(value)
                if isinstance(font, DictionaryObject):
                    cmap = resolve(font.get("/ToUnicode"))
                    if isinstance(cmap, StreamObject):
                        yield cmap

    for page in reader.pages:
        contents = resolve(page.get("/Contents"))
        for item in (contents if isinstance(contents, ArrayObject) else [contents]):
            item = resolve(item)
            if isinstance(item, StreamObject):
                yield item
        yield from resources(resolve(page.get("/Resources")), 0)


def check_pdf_expansion(reader) -> None:
    """Decode what text extraction will read and refuse the PDF once it adds up to more than kb_max_expanded_mb,
    before any of it is parsed. pypdf keeps what it decoded, so extraction reads these same bytes again for free."""
    from pypdf.errors import LimitReachedError

    limit_mb = get_settings().kb_max_expanded_mb
    total = 0
    streams = _pdf_streams(reader)
    while True:
        try:
            stream = next(streams)
            total += len(stream.get_data())
        except StopIteration:
            return
        except LimitReachedError as exc:
            per_stream = pdf_configuration()["zlib_maximum_output_length"] // MB
            raise ExtractionError(f"This PDF holds a compressed part that expands to more than {per_stream} MB "
                                  "(it may be a \"decompression bomb\"). Open it and save (or print) it as a new "
                                  "PDF, then add it again.") from exc
        except MemoryError:
            raise
        except Exception as exc:  # a broken stream: its page fails on its own later, the others are still read
            log.info("PDF stream could not be decoded: %r", exc)
            continue
        if total > limit_mb * MB:
            raise ExtractionError(f"This PDF expands to more than {limit_mb} MB when its compressed parts are "
                                  "unpacked (it may be a \"decompression bomb\"). Split it into smaller files, or "
                                  "save (or print) it as a new PDF, then add it again.")
