"""Builders shared by the messaging tests: workspaces with members, sample files of every allowed type, and
small harnesses (settings overrides, the SMS outbox, a bus that records what is published)."""

from __future__ import annotations

import io
import os
import re
import struct
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import pytest
from sqlmodel import select

from backend.db import session_scope
from backend.models import Membership, OutboxMessage, User, Workspace
from backend.providers import events as events_module
from backend.providers.background import wait_until_idle
from backend.providers.events import InProcessBus
from backend.settings import get_settings, reset_settings_cache


@dataclass(frozen=True)
class Biz:
    id: int
    slug: str
    owner_id: int
    owner_email: str


def make_workspace(slug: str = "oak-dental", name: str = "Oak Dental", owner_email: str | None = None,
                   region: str = "US", owner_name: str = "Ana Ruiz", ai: bool = False) -> Biz:
    """`ai` False: the assistant stays out of the conversation, for tests about messaging alone."""
    owner_email = owner_email or f"owner@{slug}.example"
    with session_scope() as s:
        ws = Workspace(name=name, slug=slug, phone_region=region, ai_enabled=ai)
        user = User(email=owner_email, password_hash="not-used-in-these-tests", full_name=owner_name)
        s.add_all([ws, user])
        s.flush()
        s.add(Membership(workspace_id=ws.id, user_id=user.id, role="owner"))
        return Biz(id=ws.id, slug=slug, owner_id=user.id, owner_email=owner_email)


def add_member(workspace_id: int, email: str, name: str = "Second Member") -> int:
    with session_scope() as s:
        user = User(email=email, password_hash="not-used-in-these-tests", full_name=name)
        s.add(user)
        s.flush()
        s.add(Membership(workspace_id=workspace_id, user_id=user.id, role="agent"))
        return user.id


@contextmanager
def settings_override(**values) -> Iterator[None]:
    """Set ASSISTANT_* values for the block; the previous environment and settings come back afterwards."""
    saved = {}
    for field, value in values.items():
        name = f"ASSISTANT_{field.upper()}"
        saved[name] = os.environ.get(name)
        os.environ[name] = str(value)
    reset_settings_cache()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_settings_cache()


def settle() -> None:
    """Let in-process background deliveries finish, so none outlives its test's database."""
    assert wait_until_idle(15), "background tasks did not finish"


@pytest.fixture(autouse=True)
def settle_background(request):
    """Import into a test module to let its background deliveries finish before the database is emptied.

    Taking `db` from here (when the test uses it) makes its teardown, the truncation, run after this one.
    """
    if "db" in request.fixturenames:
        request.getfixturevalue("db")
    yield
    settle()


def sms_outbox(workspace_id: int | None = None) -> list[OutboxMessage]:
    settle()
    with session_scope() as s:
        query = select(OutboxMessage).where(OutboxMessage.channel == "sms").order_by(OutboxMessage.id)
        if workspace_id is not None:
            query = query.where(OutboxMessage.workspace_id == workspace_id)
        return list(s.exec(query).all())


def last_code(phone: str) -> str:
    texts = [m for m in sms_outbox() if m.to_address == phone]
    assert texts, f"no text was sent to {phone}"
    return re.search(r"\b(\d{6})\b", texts[-1].body).group(1)


def wrong_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


class RecordingBus(InProcessBus):
    """The in-process bus, noting for each event whether what it announces was already committed: a check
    run at publish time in a separate connection, which sees only committed rows."""

    def __init__(self, check) -> None:
        super().__init__()
        self.check = check
        self.published: list[tuple[str, dict, bool]] = []

    def publish(self, channel: str, event: dict) -> None:
        self.published.append((channel, event, self.check(channel, event)))
        super().publish(channel, event)


@contextmanager
def recording_bus(check=lambda channel, event: True) -> Iterator[RecordingBus]:
    url = get_settings().redis_url
    bus = RecordingBus(check)
    previous = events_module._buses.get(url)
    events_module._buses[url] = bus
    try:
        yield bus
    finally:
        if previous is None:
            events_module._buses.pop(url, None)
        else:
            events_module._buses[url] = previous


# --- sample files, each real enough for content detection -------------------------------------------------------


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr("word/document.xml", "<w:document><w:body>Hello</w:body></w:document>")
    return buffer.getvalue()


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "not a document")
    return buffer.getvalue()


def webm_audio_bytes() -> bytes:
    # EBML header with DocType "webm", as Chrome's MediaRecorder writes for audio/webm;codecs=opus.
    return (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08"
            b"\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02" + b"\x18\x53\x80\x67" + b"\x00" * 64)


def mp4_audio_bytes() -> bytes:
    ftyp = b"ftyp" + b"isom" + struct.pack(">I", 512) + b"isomiso2mp41"
    return struct.pack(">I", len(ftyp) + 4) + ftyp + b"\x00\x00\x00\x08free" + b"\x00" * 64


SAMPLES: dict[str, tuple[str, bytes, str]] = {
    # name: (filename, bytes, expected content type)
    "png": ("photo.png", png_bytes(), "image/png"),
    "jpeg": ("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64,
             "image/jpeg"),
    "gif": ("anim.gif", b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + b"\x00" * 32 + b";", "image/gif"),
    "webp": ("pic.webp", b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00" + b"\x00" * 40, "image/webp"),
    "pdf": ("invoice.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n",
            "application/pdf"),
    "text": ("notes.txt", "Bonjour, j'ai une question sur ma facture.\n".encode("utf-8"), "text/plain"),
    "csv": ("list.csv", b"name,phone\nJordan,+12125550147\n", "text/csv"),
    "docx": ("letter.docx", docx_bytes(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "mp3": ("song.mp3", b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" + b"\x00" * 64, "audio/mpeg"),
    "wav": ("memo.wav", b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00" + b"\x00" * 40,
            "audio/wav"),
    "ogg": ("voice.ogg", b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x13OpusHead" + b"\x00" * 32, "audio/ogg"),
    "webm": ("voice-message.webm", webm_audio_bytes(), "audio/webm"),
    "mp4": ("voice-message.mp4", mp4_audio_bytes(), "audio/mp4"),
}
