"""Search patterns that behave the same on SQLite and PostgreSQL: lower-cased LIKE with escaped wildcards."""

from __future__ import annotations

import re

MAX_SEARCH_CHARS = 100
MIN_PHONE_DIGITS = 3  # fewer digits would match nearly every number


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_pattern(search: str) -> str | None:
    """"%text%" for a case-insensitive contains-match against a lower()-ed column, or None for no search.

    Compare with `func.lower(column).like(pattern, escape="\\\\")`. Python lower-cases non-ASCII letters
    too; SQLite's lower() only ASCII, so there a name like "Élodie" matches only as typed.
    """
    text = " ".join((search or "").split())[:MAX_SEARCH_CHARS].lower()
    return f"%{_escape(text)}%" if text else None


def phone_digits_pattern(search: str) -> str | None:
    """"%2125550%" when the search holds enough digits to be part of a phone number (stored as E.164)."""
    digits = re.sub(r"\D", "", search or "")[:20]
    return f"%{digits}%" if len(digits) >= MIN_PHONE_DIGITS else None
