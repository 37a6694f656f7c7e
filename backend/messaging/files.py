"""Files customers and owners send: checked by what they contain, kept by the storage provider, and handed
out only through short-lived signed links to someone allowed to see the conversation they belong to.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import unicodedata
import uuid
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import filetype
from sqlmodel import select

from backend.db import session_scope, tenant_get
from backend.errors import NotFound, ServiceError
from backend.messaging.access import load_portal_session, visible_conversation_ids
from backend.messaging.views import FILE_URL_SECONDS
from backend.models import Message, StoredFile
from backend.providers.storage import get_storage
from backend.settings import get_settings

log = logging.getLogger(__name__)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

# What `filetype` reports, mapped to the one type we store. MediaRecorder's audio/webm is a WebM container,
# which filetype (reading only the header) cannot tell from a video; the same goes for audio in an MP4.
_DETECTED_AS = {
    "image/png": "image/png",
    "image/apng": "image/png",
    "image/jpeg": "image/jpeg",
    "image/gif": "image/gif",
    "image/webp": "image/webp",
    "application/pdf": "application/pdf",
    "audio/mpeg": "audio/mpeg",
    "audio/x-wav": "audio/wav",
    "audio/ogg": "audio/ogg",
    "video/webm": "audio/webm",
    "audio/mp4": "audio/mp4",
    "video/mp4": "audio/mp4",
    DOCX: DOCX,
}

# The names a type may carry; the first is added to a name that has no extension.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "image/png": ("png",),
    "image/jpeg": ("jpg", "jpeg", "jpe", "jfif"),
    "image/gif": ("gif",),
    "image/webp": ("webp",),
    "application/pdf": ("pdf",),
    "text/plain": ("txt", "text", "log", "md"),
    "text/csv": ("csv",),
    DOCX: ("docx",),
    "audio/mpeg": ("mp3",),
    "audio/wav": ("wav",),
    "audio/ogg": ("ogg", "oga", "opus"),
    "audio/webm": ("webm", "weba"),
    "audio/mp4": ("m4a", "mp4"),
}

_DESCRIPTIONS = {
    "text/html": "Web pages",
    "image/svg+xml": "SVG images",
    "application/x-executable": "Programs",
    "application/x-msdownload": "Programs",
    "application/zip": "ZIP archives",
}
_MARKUP_STARTS = ("<!doctype html", "<html", "<head", "<body", "<script", "<iframe", "<?xml", "<svg")
_MARKUP_EXTENSIONS = {"html", "htm", "xhtml", "svg", "xml", "shtml"}
_UNSAFE_NAME_CHARS = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')
MAX_NAME_CHARS = 120


@dataclass(frozen=True)
class UploadInfo:
    kind: str  # image | audio | file
    content_type: str
    safe_filename: str
    size_bytes: int = 0
    sha256: str = ""


def allowed_types() -> list[str]:
    return [t.strip().lower() for t in get_settings().allowed_upload_types.split(",") if t.strip()]


def _kind(content_type: str) -> str:
    if content_type.startswith("image/"):
        return "image"
    if content_type.startswith("audio/"):
        return "audio"
    return "file"


def _split_name(filename: str) -> tuple[str, str]:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]  # browsers on Windows may send a full path
    name = unicodedata.normalize("NFC", _UNSAFE_NAME_CHARS.sub("_", name))
    name = " ".join(name.split()).strip(" .")
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return name, ""
    return stem, ext.lower()


def _safe_filename(stem: str, ext: str) -> str:
    stem = stem[: MAX_NAME_CHARS - len(ext) - 1].strip(" .") or "file"
    return f"{stem}.{ext}"


def _looks_like_markup(text: str) -> bool:
    head = text.lstrip("\ufeff \t\r\n").lower()[:1024]
    return head.startswith(_MARKUP_STARTS) or "<script" in head


def _text_type(data: bytes) -> str | None:
    """text/plain for UTF-8 text without NUL bytes; text/html for text that a browser would run as a page."""
    if b"\x00" in data:
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if any(ord(ch) < 32 and ch not in "\t\n\r\f" for ch in text[:65536]):
        return None
    return "text/html" if _looks_like_markup(text) else "text/plain"


def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def _detect(data: bytes) -> str | None:
    """The content type the bytes really are; None when nothing recognises them."""
    guess = filetype.guess(data)
    if guess is not None:
        if guess.mime in (DOCX, "application/zip"):
            return DOCX if _is_docx(data) else "application/zip"
        return _DETECTED_AS.get(guess.mime, guess.mime)
    return _text_type(data)


def _offer() -> str:
    kinds = {
        "image": "photos", "application/pdf": "PDFs", "text": "text files", DOCX: "Word documents", "audio": "audio",
    }
    offered = []
    for allowed in allowed_types():
        key = allowed if allowed in kinds else allowed.split("/")[0]
        label = kinds.get(key)
        if label and label not in offered:
            offered.append(label)
    return f" You can send {', '.join(offered)}." if offered else ""


def _describe(content_type: str) -> str:
    if content_type in _DESCRIPTIONS:
        return _DESCRIPTIONS[content_type]
    known = filetype.get_type(mime=content_type)
    return f"{known.extension.upper()} files" if known is not None else "Files of this kind"


def _refuse_type(description: str) -> ServiceError:
    return ServiceError(f"{description} can't be sent here.{_offer()}", field="file")


def inspect_upload(filename: str, data: bytes) -> UploadInfo:
    """Decide what a file is from its bytes, and refuse what is not allowed, with a reason a person understands."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ServiceError("The file could not be read. Try again.", field="file")
    data = bytes(data)
    if not data:
        raise ServiceError("This file is empty.", field="file")
    limit_mb = get_settings().max_upload_mb
    if len(data) > limit_mb * 1024 * 1024:
        raise ServiceError(f"This file is too large. Files can be at most {limit_mb} MB.", field="file")

    stem, ext = _split_name(filename)
    detected = _detect(data)
    if ext in _MARKUP_EXTENSIONS:
        raise _refuse_type("Web pages and markup files")
    if detected is None:
        raise _refuse_type("Files of this kind")
    if detected == "text/plain" and ext in EXTENSIONS["text/csv"]:
        detected = "text/csv"
    if detected not in allowed_types():
        raise _refuse_type(_describe(detected))

    if not ext:
        ext = EXTENSIONS[detected][0]
    elif ext not in EXTENSIONS.get(detected, ()):
        claimed = next((t for t, exts in EXTENSIONS.items() if ext in exts), None)
        if claimed is None and detected.startswith("text/"):
            raise _refuse_type(f".{ext} files")
        raise ServiceError(
            f"This file's content does not match its name: it is called .{ext} but contains "
            f"{_content_words(detected)}. Rename it or send the original file.",
            field="file",
        )
    return UploadInfo(
        kind=_kind(detected),
        content_type=detected,
        safe_filename=_safe_filename(stem, ext),
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _content_words(content_type: str) -> str:
    words = {
        "image/png": "a PNG image", "image/jpeg": "a JPEG photo", "image/gif": "a GIF image",
        "image/webp": "a WebP image", "application/pdf": "a PDF", "text/plain": "text", "text/csv": "text",
        DOCX: "a Word document", "audio/mpeg": "MP3 audio", "audio/wav": "WAV audio", "audio/ogg": "Ogg audio",
        "audio/webm": "WebM audio", "audio/mp4": "MP4 audio",
    }
    return words.get(content_type, content_type)


# --- storing -------------------------------------------------------------------------------------------------


def _storage_key(workspace_id: int, info: UploadInfo) -> str:
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", info.safe_filename).strip("._")[:80] or "file"
    return f"ws/{int(workspace_id)}/files/{uuid.uuid4().hex}/{ascii_name}"


@contextmanager
def staged_file(workspace_id: int, data: bytes, info: UploadInfo) -> Iterator[StoredFile]:
    """Put the bytes in storage and yield an unsaved StoredFile row for the caller's transaction.

    Use it around the caller's `session_scope()`: if anything in the block fails (the database write
    included), the stored object is deleted again, so no file is left without its row.
    """
    storage = get_storage()
    key = _storage_key(workspace_id, info)
    storage.put(key, data, info.content_type)
    try:
        yield StoredFile(
            workspace_id=workspace_id,
            storage_key=key,
            filename=info.safe_filename,
            content_type=info.content_type,
            size_bytes=info.size_bytes or len(data),
            sha256=info.sha256 or hashlib.sha256(data).hexdigest(),
        )
    except BaseException:
        delete_stored_objects([key])
        raise


def store_file(workspace_id: int, filename: str, data: bytes) -> int:
    """Check, store and record one file of a workspace; returns the StoredFile id."""
    info = inspect_upload(filename, data)
    with staged_file(workspace_id, bytes(data), info) as row:
        with session_scope() as session:
            session.add(row)
            session.flush()
            return row.id


def delete_stored_objects(keys: list[str]) -> None:
    """Remove objects from storage after their rows are gone; a failure is logged, never raised, because the
    rows (and with them every link to the file) are already deleted."""
    storage = get_storage()
    for key in keys:
        try:
            storage.delete(key)
        except Exception:
            log.warning("could not delete stored file %s", key, exc_info=True)


# --- access-checked links --------------------------------------------------------------------------------------


def _signed_url(stored: StoredFile) -> str:
    return get_storage().url(stored.storage_key, FILE_URL_SECONDS, filename=stored.filename)


def file_url_for_owner(workspace_id: int, file_id: int) -> str:
    with session_scope() as session:
        stored = tenant_get(session, StoredFile, workspace_id, file_id)
        if stored is None:
            raise NotFound("This file no longer exists.")
        return _signed_url(stored)


def file_url_for_customer(session_token: str, file_id: int) -> str:
    """Only files attached to messages in conversations this portal session may see."""
    with session_scope() as session:
        portal = load_portal_session(session, session_token)
        visible = visible_conversation_ids(session, portal.session)
        stored = tenant_get(session, StoredFile, portal.workspace.id, file_id)
        attached = stored is not None and visible and session.exec(
            select(Message.id).where(
                Message.workspace_id == portal.workspace.id,
                Message.file_id == file_id,
                Message.conversation_id.in_(visible),
            )
        ).first()
        if not attached:
            raise NotFound("This file no longer exists.")
        return _signed_url(stored)
