"""Portal link slugs: readable, unique, and hard to guess once regenerated."""

from __future__ import annotations

import re
import secrets
import unicodedata

from sqlmodel import Session, select

from backend.models import Workspace

_RESERVED = {"admin", "api", "portal", "login", "signup", "dashboard", "setup", "static", "files", "demo-admin"}


def slugify(text: str, max_length: int = 40) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].strip("-") or "business"


def _taken(session: Session, slug: str) -> bool:
    return slug in _RESERVED or session.exec(select(Workspace.id).where(Workspace.slug == slug)).first() is not None


def unique_slug(session: Session, name: str) -> str:
    base = slugify(name)
    if not _taken(session, base):
        return base
    while True:
        candidate = f"{base}-{secrets.token_hex(2)}"
        if not _taken(session, candidate):
            return candidate


def random_slug(session: Session, name: str) -> str:
    """A fresh link that an old, shared link cannot be guessed from."""
    while True:
        candidate = f"{slugify(name, 30)}-{secrets.token_hex(4)}"
        if not _taken(session, candidate):
            return candidate
