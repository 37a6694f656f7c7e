"""Small primitives for secrets: random tokens, their stored hashes, password hashing, and which address a
request came from (the key of the rate limits)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from backend.settings import get_settings

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


# --- the client's address ------------------------------------------------------------------------------------

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def _networks(spec: str) -> tuple[_Network, ...]:
    networks = []
    for part in spec.replace(";", ",").split(","):
        part = part.strip()
        if part:
            networks.append(ipaddress.ip_network(part, strict=False))  # a typo fails loudly at the first request
    return tuple(networks)


def _parse(value: str) -> _Address | None:
    value = (value or "").strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1:value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.7:51234"
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _key(address: _Address) -> str:
    # One IPv6 subscriber holds a whole /64: limits keyed on single IPv6 addresses would not limit anyone.
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def client_address(peer: str, forwarded_for: str = "", trusted_proxies: str | None = None) -> str:
    """The address a request came from, as the rate limits key it ("" when unknown).

    It is the connection's peer, unless the peer is one of ASSISTANT_TRUSTED_PROXIES: then X-Forwarded-For is
    read from the right (each proxy appends the address it received from) and the first hop that is not one of
    our proxies is the client. Whatever a client writes into the header itself sits to the left of that hop, so it
    is never believed; with no trusted proxies the header is ignored altogether.
    """
    if trusted_proxies is None:

        trusted_proxies = get_settings().trusted_proxies
    networks = _networks(trusted_proxies or "")
    current = _parse(peer)
    if current is None:
        return ""

    def trusted(address: _Address) -> bool:
        return any(address.version == net.version and address in net for net in networks)

    hops = [hop for hop in (forwarded_for or "").split(",") if hop.strip()]
    while trusted(current) and hops:
        forwarded = _parse(hops.pop())
        if forwarded is None:  # a proxy we trust never writes garbage: the header was not from it
            break
        current = forwarded
    return _key(current)
