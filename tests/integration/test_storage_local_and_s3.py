"""File storage behaves the same on the local folder and on a real S3 server (SeaweedFS), and its links are safe."""

from __future__ import annotations

import time
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from backend.providers.storage import (
    LocalStorage,
    S3Storage,
    StorageError,
    get_storage,
    verify_local_url,
)

pytestmark = pytest.mark.integration


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "files")
    s3 = request.getfixturevalue("seaweedfs")
    return S3Storage(s3.bucket, s3.endpoint_url, s3.region, s3.access_key, s3.secret_key)


@pytest.fixture
def s3_storage(seaweedfs) -> S3Storage:
    return S3Storage(seaweedfs.bucket, seaweedfs.endpoint_url, seaweedfs.region, seaweedfs.access_key,
                     seaweedfs.secret_key)


def _key(name: str = "report.pdf") -> str:
    return f"tests/{uuid.uuid4().hex}/{name}"


def test_put_get_exists_delete_round_trip(storage):
    key = _key()
    assert not storage.exists(key)

    storage.put(key, b"%PDF first", "application/pdf")
    assert storage.exists(key)
    assert storage.get(key) == b"%PDF first"

    storage.put(key, b"%PDF second", "application/pdf")
    assert storage.get(key) == b"%PDF second"

    storage.delete(key)
    assert not storage.exists(key)
    with pytest.raises(FileNotFoundError):
        storage.get(key)
    storage.delete(key)  # deleting again is fine


def test_missing_key_raises_file_not_found(storage):
    with pytest.raises(FileNotFoundError):
        storage.get(_key("never-written.txt"))


@pytest.mark.parametrize(
    "bad_key",
    ["", "/etc/passwd", "../outside.txt", "a/../../b", "a\\b.txt", "a//b", "./a", "a/./b", "a/..", "line\nbreak"],
)
def test_unsafe_keys_are_rejected_before_touching_storage(storage, bad_key):
    for action in (
        lambda: storage.put(bad_key, b"x", "text/plain"),
        lambda: storage.get(bad_key),
        lambda: storage.exists(bad_key),
        lambda: storage.delete(bad_key),
        lambda: storage.url(bad_key),
    ):
        with pytest.raises(ValueError, match="storage key"):
            action()


def test_local_write_leaves_no_temporary_files(tmp_path):
    storage = LocalStorage(tmp_path / "files")
    storage.put("a/b/c.txt", b"data", "text/plain")
    assert sorted(p.name for p in (tmp_path / "files" / "a" / "b").iterdir()) == ["c.txt"]


# --- S3 presigned links (SeaweedFS enforces SigV4, so refusals are real) -----------------------------------


def test_presigned_url_downloads_the_file_with_its_name(s3_storage):
    key = _key("invoice.pdf")
    s3_storage.put(key, b"%PDF invoice", "application/pdf")

    response = httpx.get(s3_storage.url(key, expires_seconds=60, filename="Invoice März.pdf"))
    assert response.status_code == 200
    assert response.content == b"%PDF invoice"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "Invoice%20M%C3%A4rz.pdf" in disposition

    plain = httpx.get(s3_storage.url(key))
    assert plain.status_code == 200 and plain.content == b"%PDF invoice"


def test_tampered_presigned_url_is_refused(s3_storage):
    key, other = _key("mine.txt"), _key("someone-elses.txt")
    s3_storage.put(key, b"mine", "text/plain")
    s3_storage.put(other, b"not yours", "text/plain")
    url = s3_storage.url(key, expires_seconds=60)

    signature = parse_qs(urlsplit(url).query)["X-Amz-Signature"][0]
    forged_signature = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    assert httpx.get(url.replace(signature, forged_signature)).status_code == 403
    assert httpx.get(url.replace(key, other)).status_code == 403
    assert httpx.get(url.replace("X-Amz-Expires=60", "X-Amz-Expires=6000")).status_code == 403
    assert httpx.get(url).status_code == 200


def test_wrong_secret_key_is_refused(seaweedfs, s3_storage):
    key = _key("secret.txt")
    s3_storage.put(key, b"secret", "text/plain")
    impostor = S3Storage(seaweedfs.bucket, seaweedfs.endpoint_url, seaweedfs.region, seaweedfs.access_key,
                         "not-the-secret")

    with pytest.raises(StorageError, match="SignatureDoesNotMatch|Access Denied|403"):
        impostor.get(key)
    with pytest.raises(StorageError):
        impostor.put(_key(), b"intrusion", "text/plain")
    assert httpx.get(impostor.url(key, expires_seconds=60)).status_code == 403


def test_s3_config_errors_are_reported_not_raised(seaweedfs):
    assert S3Storage(seaweedfs.bucket, seaweedfs.endpoint_url, "us-east-1", "ak", "sk").validate_config() == []
    errors = S3Storage("", "localhost:9000", "us-east-1", "only-access-key", "").validate_config()
    assert any("bucket" in e for e in errors)
    assert any("together" in e for e in errors)
    assert any("http://" in e for e in errors)


# --- local signed links --------------------------------------------------------------------------------------


def _query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def test_local_url_is_signed_and_verifies(configure, tmp_path):
    configure(secret_key="first-secret", public_url="https://desk.example/")
    storage = LocalStorage(tmp_path / "files")
    key = "workspace/1/photo 1.jpg"

    url = storage.url(key, expires_seconds=120)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == "https://desk.example"
    assert parts.path == "/files/workspace/1/photo%201.jpg"
    query = _query(url)
    assert int(query["exp"]) == pytest.approx(time.time() + 120, abs=5)
    assert verify_local_url(key, query["exp"], query["sig"])

    named = _query(storage.url(key, filename="Photo.jpg"))
    assert named["filename"] == "Photo.jpg"
    assert verify_local_url(key, named["exp"], named["sig"], filename="Photo.jpg")
    assert not verify_local_url(key, named["exp"], named["sig"], filename="Other.exe")


def test_local_url_rejects_tampering_expiry_and_another_secret(configure, tmp_path):
    configure(secret_key="first-secret")
    storage = LocalStorage(tmp_path / "files")
    key = "workspace/1/contract.pdf"
    query = _query(storage.url(key, expires_seconds=120))
    exp, sig = query["exp"], query["sig"]
    assert verify_local_url(key, exp, sig)

    assert not verify_local_url("workspace/2/contract.pdf", exp, sig)
    assert not verify_local_url(key, str(int(exp) + 3600), sig)
    assert not verify_local_url(key, exp, sig[:-1] + ("0" if sig[-1] != "0" else "1"))
    assert not verify_local_url(key, exp, "")
    assert not verify_local_url(key, exp, "é" * 64)
    assert not verify_local_url(key, "not-a-number", sig)
    assert not verify_local_url("../etc/passwd", exp, sig)

    expired = _query(storage.url(key, expires_seconds=-1))
    assert not verify_local_url(key, expired["exp"], expired["sig"])

    configure(secret_key="second-secret")
    assert not verify_local_url(key, exp, sig)


# --- selection by settings ---------------------------------------------------------------------------------


def test_get_storage_follows_settings(configure, seaweedfs):
    configure(s3_bucket=None)
    local = get_storage()
    assert isinstance(local, LocalStorage)
    assert get_storage() is local
    assert local.validate_config() == []

    configure(
        s3_bucket=seaweedfs.bucket,
        s3_endpoint_url=seaweedfs.endpoint_url,
        s3_region=seaweedfs.region,
        s3_access_key=seaweedfs.access_key,
        s3_secret_key=seaweedfs.secret_key,
    )
    remote = get_storage()
    assert isinstance(remote, S3Storage)
    key = _key("via-settings.txt")
    remote.put(key, b"configured", "text/plain")
    assert S3Storage(seaweedfs.bucket, seaweedfs.endpoint_url, seaweedfs.region, seaweedfs.access_key,
                     seaweedfs.secret_key).get(key) == b"configured"
