"""Small primitives for secrets: random tokens, their stored hashes, and password hashing."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    """Tokens are stored as SHA-256: a database leak does not hand out live sessions."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# A hash to verify against when the account does not exist, so timing does not reveal which emails exist.
DUMMY_PASSWORD_HASH = _hasher.hash("not-a-real-password")


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# --- stored credentials (calendar passwords, OAuth tokens): Fernet, keyed from the settings -------------------


class SecretDecryptionError(ValueError):
    """A stored secret could not be decrypted: the key changed or the value was tampered with."""


def _fernet():
    import base64

    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    from backend.settings import get_settings

    settings = get_settings()
    material = settings.encryption_key or settings.effective_secret_key
    try:  # an ASSISTANT_ENCRYPTION_KEY that already is a Fernet key is used as it is
        if settings.encryption_key:
            return Fernet(material.encode())
    except ValueError:
        pass
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"front-desk", info=b"stored-credentials").derive(
        material.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt_secret(token: str) -> str:
    from cryptography.fernet import InvalidToken

    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError, UnicodeError) as exc:
        raise SecretDecryptionError("a stored secret could not be decrypted (was the secret key changed?)") from exc


def mask_secret(secret: str, visible: int = 4) -> str:
    """"••••3f9a": enough to recognise a credential, never enough to use it."""
    if not secret:
        return ""
    tail = secret[-visible:] if len(secret) > visible * 2 else ""
    return "••••" + tail
