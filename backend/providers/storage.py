"""File storage: a local folder by default, any S3-compatible service (SeaweedFS, MinIO, AWS) when a bucket is set.

Rows never hold bytes; they hold a storage key. Both backends hand out short-lived signed links so a page
can show or download a file without the app streaming it through a state handler.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from pathlib import Path
from urllib.parse import quote, urlencode

from backend.settings import Settings, get_settings

log = logging.getLogger(__name__)

MAX_KEY_BYTES = 1024  # S3's own limit; the local folder keeps the same rule so keys move between backends


class StorageError(OSError):
    """The storage backend refused or failed an operation (bad credentials, unreachable, …)."""


def validate_key(key: str) -> str:
    """Return the key if it is a safe relative path, else raise ValueError saying why."""
    if not isinstance(key, str) or not key:
        raise ValueError("storage key must be a non-empty string")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise ValueError(f"storage key is longer than {MAX_KEY_BYTES} bytes")
    if "\\" in key:
        raise ValueError(f"storage key must not contain backslashes: {key!r}")
    if key.startswith("/"):
        raise ValueError(f"storage key must be relative, not absolute: {key!r}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in key):
        raise ValueError(f"storage key must not contain control characters: {key!r}")
    for part in key.split("/"):
        if part in ("", ".", ".."):
            raise ValueError(f"storage key must not contain empty, '.' or '..' segments: {key!r}")
    return key


def attachment_disposition(filename: str) -> str:
    """A Content-Disposition value that survives non-ASCII names and cannot inject headers (RFC 6266)."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in filename) or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


class Storage(ABC):
    name: str = ""

    @abstractmethod
    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None: ...

    @abstractmethod
    def get(self, key: str) -> bytes:
        """The stored bytes; FileNotFoundError when the key holds nothing."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the key; deleting a missing key is not an error."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def url(self, key: str, expires_seconds: int = 300, filename: str | None = None) -> str:
        """A link that lets anyone holding it GET the file until it expires."""

    def validate_config(self) -> list[str]:
        """Configuration problems as readable sentences; never raises."""
        return []


# --- local folder ------------------------------------------------------------------------------------------


def _local_signature(key: str, exp: int, filename: str | None, secret: str) -> str:
    # The filename is signed too, so a shared link cannot be edited into a different download name.
    payload = f"{key}\n{exp}\n{filename or ''}".encode("utf-8")
    return hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).hexdigest()


def verify_local_url(key: str, exp: int | str, sig: str, filename: str | None = None) -> bool:
    """True only for an unexpired link that LocalStorage.url() signed with the current secret key."""
    try:
        validate_key(key)
        exp_int = int(exp)
    except (TypeError, ValueError):
        return False
    if exp_int < int(time.time()) or not isinstance(sig, str):
        return False
    expected = _local_signature(key, exp_int, filename, get_settings().effective_secret_key)
    return hmac.compare_digest(expected.encode("ascii"), sig.lower().encode("utf-8"))


class LocalStorage(Storage):
    """Files in a folder on this machine; links point at the app's own `/files/…` route."""

    name = "local"

    def __init__(self, root: Path | str):
        self.root = Path(root).resolve()

    def path_for(self, key: str) -> Path:
        """The file a key maps to (for a route that streams it); always inside the root."""
        path = (self.root / validate_key(key)).resolve()
        # A symlink planted inside the folder must not lead out of it.
        if not path.is_relative_to(self.root):
            raise ValueError(f"storage key escapes the storage folder: {key!r}")
        return path

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target and rename, so a reader never sees half a file.
        fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(bytes(data))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        path = self.path_for(key)
        if not path.is_file():
            raise FileNotFoundError(f"no stored file at {key!r}")
        return path.read_bytes()

    def delete(self, key: str) -> None:
        self.path_for(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def url(self, key: str, expires_seconds: int = 300, filename: str | None = None) -> str:
        validate_key(key)
        settings = get_settings()
        exp = int(time.time()) + int(expires_seconds)
        query = {"exp": exp, "sig": _local_signature(key, exp, filename, settings.effective_secret_key)}
        if filename:
            query["filename"] = filename
        return f"{settings.public_url.rstrip('/')}/files/{quote(key, safe='/')}?{urlencode(query)}"

    def validate_config(self) -> list[str]:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            if not os.access(self.root, os.W_OK | os.X_OK):
                return [f"storage folder {self.root} is not writable"]
        except OSError as exc:
            return [f"storage folder {self.root} cannot be created: {exc}"]
        return []


# --- S3-compatible -----------------------------------------------------------------------------------------


class S3Storage(Storage):
    """An S3 bucket through boto3: SigV4 and path-style addressing, which every S3-compatible server accepts."""

    name = "s3"

    def __init__(
        self,
        bucket: str,
        endpoint_url: str = "",
        region: str = "us-east-1",
        access_key: str = "",
        secret_key: str = "",
    ):
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.region = region or "us-east-1"
        self.access_key = access_key
        self.secret_key = secret_key
        self._client = None
        self._client_lock = threading.Lock()

    @property
    def client(self):
        # Built on first use so that constructing the provider (e.g. to validate settings) needs no network.
        with self._client_lock:
            if self._client is None:
                import boto3
                from botocore.config import Config

                self._client = boto3.client(
                    "s3",
                    endpoint_url=self.endpoint_url or None,
                    region_name=self.region,
                    aws_access_key_id=self.access_key or None,
                    aws_secret_access_key=self.secret_key or None,
                    config=Config(
                        signature_version="s3v4",
                        s3={"addressing_style": "path"},
                        connect_timeout=5,
                        read_timeout=30,
                        retries={"max_attempts": 3, "mode": "standard"},
                    ),
                )
            return self._client

    @staticmethod
    def _is_missing(exc: Exception) -> bool:
        error = getattr(exc, "response", {}).get("Error", {})
        return str(error.get("Code")) in {"NoSuchKey", "404", "NotFound"}

    def _fail(self, action: str, key: str, exc: Exception) -> StorageError:
        return StorageError(f"S3 {action} of {key!r} in bucket {self.bucket!r} failed: {exc}")

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        validate_key(key)
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=bytes(data), ContentType=content_type)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("upload", key, exc) from exc

    def get(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        validate_key(key)
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if self._is_missing(exc):
                raise FileNotFoundError(f"no stored file at {key!r}") from exc
            raise self._fail("download", key, exc) from exc
        except BotoCoreError as exc:
            raise self._fail("download", key, exc) from exc

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        validate_key(key)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if not self._is_missing(exc):
                raise self._fail("delete", key, exc) from exc
        except BotoCoreError as exc:
            raise self._fail("delete", key, exc) from exc

    def exists(self, key: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        validate_key(key)
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError as exc:
            if self._is_missing(exc):
                return False
            raise self._fail("lookup", key, exc) from exc
        except BotoCoreError as exc:
            raise self._fail("lookup", key, exc) from exc

    def url(self, key: str, expires_seconds: int = 300, filename: str | None = None) -> str:
        validate_key(key)
        params = {"Bucket": self.bucket, "Key": key}
        if filename:
            params["ResponseContentDisposition"] = attachment_disposition(filename)
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=int(expires_seconds))

    def validate_config(self) -> list[str]:
        errors = []
        if not self.bucket:
            errors.append("S3 bucket is not set (ASSISTANT_S3_BUCKET)")
        if bool(self.access_key) != bool(self.secret_key):
            errors.append("S3 access key and secret key must be set together")
        if self.endpoint_url and not self.endpoint_url.startswith(("http://", "https://")):
            errors.append(f"S3 endpoint URL must start with http:// or https://, got {self.endpoint_url!r}")
        return errors


# --- selection ---------------------------------------------------------------------------------------------

_cache: dict[tuple, Storage] = {}
_cache_lock = threading.Lock()


def storage_from_settings(settings: Settings) -> Storage:
    if settings.s3_bucket:
        return S3Storage(
            bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
        )
    return LocalStorage(settings.data_dir / "files")


def get_storage() -> Storage:
    """The configured storage: S3 when a bucket is set, else the local folder. One instance per configuration."""
    s = get_settings()
    # Keyed by the values rather than the settings object, so a settings reload with the same values keeps
    # the boto3 client (and its connection pool).
    key = (s.s3_bucket, s.s3_endpoint_url, s.s3_region, s.s3_access_key, s.s3_secret_key, str(s.data_dir))
    with _cache_lock:
        storage = _cache.get(key)
        if storage is None:
            storage = _cache[key] = storage_from_settings(s)
        return storage
