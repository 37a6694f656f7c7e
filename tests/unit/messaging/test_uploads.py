"""Uploads are judged by their bytes: allowed types only, names that agree with the content, size limits."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from backend.db import session_scope
from backend.errors import ServiceError
from backend.messaging import files
from backend.messaging.files import inspect_upload, store_file
from backend.models import StoredFile
from backend.providers.storage import get_storage
from tests.unit.messaging_helpers import SAMPLES, make_workspace, settings_override, zip_bytes


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_each_allowed_type_is_recognised_by_its_content(sample):
    filename, data, content_type = SAMPLES[sample]
    info = inspect_upload(filename, data)
    assert info.content_type == content_type
    assert info.safe_filename == filename
    assert info.size_bytes == len(data)
    expected_kind = "image" if content_type.startswith("image/") else "audio" if content_type.startswith(
        "audio/") else "file"
    assert info.kind == expected_kind


def test_a_browser_voice_recording_counts_as_audio():
    _, data, _ = SAMPLES["webm"]
    assert inspect_upload("voice-message.webm", data).kind == "audio"
    assert inspect_upload("recording", data).safe_filename == "recording.webm"


@pytest.mark.parametrize(
    "filename,sample,fragment",
    [
        ("report.pdf", "png", "content does not match its name"),
        ("photo.png", "pdf", "content does not match its name"),
        ("notes.pdf", "text", "content does not match its name"),
        ("song.mp3", "wav", "content does not match its name"),
        ("letter.txt", "docx", "content does not match its name"),
    ],
)
def test_a_name_that_disagrees_with_the_content_is_refused(filename, sample, fragment):
    with pytest.raises(ServiceError) as err:
        inspect_upload(filename, SAMPLES[sample][1])
    assert err.value.field == "file" and fragment in err.value.message


@pytest.mark.parametrize(
    "filename,data,fragment",
    [
        ("tool.exe", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 120, "Programs can't be sent"),
        ("setup.exe", b"MZ\x90\x00" + b"\x00" * 120, "Programs can't be sent"),
        ("photo.png", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 120, "Programs can't be sent"),
        ("page.html", b"<!DOCTYPE html><html><body>hi</body></html>", "Web pages"),
        ("notes.txt", b"<html><script>alert(document.cookie)</script></html>", "Web pages"),
        ("readme.txt", b"  \n<script>steal()</script>", "Web pages"),
        ("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "Web pages"),
        ("archive.zip", zip_bytes(), "ZIP archives"),
        ("script.py", b"print('hello')\n", ".py files"),
        ("blob.bin", bytes(range(256)) * 4, "Files of this kind"),
    ],
)
def test_disallowed_types_are_refused_with_what_can_be_sent(filename, data, fragment):
    with pytest.raises(ServiceError) as err:
        inspect_upload(filename, data)
    assert err.value.field == "file"
    assert fragment in err.value.message and "You can send" in err.value.message


def test_empty_and_oversize_files_are_refused():
    with pytest.raises(ServiceError, match="empty"):
        inspect_upload("empty.txt", b"")
    with settings_override(max_upload_mb=1):
        big = b"a" * (1024 * 1024 + 1)
        with pytest.raises(ServiceError, match="at most 1 MB") as err:
            inspect_upload("big.txt", big)
        assert err.value.field == "file"
        assert inspect_upload("fits.txt", big[:-1]).size_bytes == 1024 * 1024


def test_the_settings_decide_which_types_are_allowed():
    with settings_override(allowed_upload_types="image/png,application/pdf"):
        assert inspect_upload("photo.png", SAMPLES["png"][1]).content_type == "image/png"
        with pytest.raises(ServiceError, match="You can send photos, PDFs"):
            inspect_upload("voice.ogg", SAMPLES["ogg"][1])


def test_names_are_made_safe():
    data = SAMPLES["pdf"][1]
    assert inspect_upload("C:\\Users\\ana\\Invoice March.PDF", data).safe_filename == "Invoice March.pdf"
    assert inspect_upload("../../etc/passwd.pdf", data).safe_filename == "passwd.pdf"
    assert inspect_upload('we<ird>:"name".pdf', data).safe_filename == "we_ird_name_.pdf"
    assert inspect_upload(".pdf", data).safe_filename == "pdf.pdf"
    long_name = inspect_upload("x" * 300 + ".pdf", data).safe_filename
    assert len(long_name) <= files.MAX_NAME_CHARS and long_name.endswith(".pdf")


def test_store_file_keeps_bytes_under_the_workspace_and_records_them(db):
    biz = make_workspace()
    file_id = store_file(biz.id, "invoice.pdf", SAMPLES["pdf"][1])
    with session_scope() as s:
        row = s.get(StoredFile, file_id)
    assert row.storage_key.startswith(f"ws/{biz.id}/files/")
    assert row.content_type == "application/pdf" and row.size_bytes == len(SAMPLES["pdf"][1])
    assert len(row.sha256) == 64
    assert get_storage().get(row.storage_key) == SAMPLES["pdf"][1]


def test_store_file_removes_the_stored_bytes_when_the_row_cannot_be_written(db):
    with pytest.raises(IntegrityError):
        store_file(999_999, "invoice.pdf", SAMPLES["pdf"][1])  # no such workspace: the foreign key refuses
    with session_scope() as s:
        assert s.exec(select(StoredFile)).all() == []
    folder = get_storage().root / "ws" / "999999" / "files"
    assert not folder.exists() or not any(p.is_file() for p in folder.rglob("*"))
