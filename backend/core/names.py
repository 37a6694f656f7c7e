"""Cleaning what people type as names and e-mail addresses: one rule for owners, contacts and the business."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from backend.errors import ServiceError


def normalize_email(email: str) -> str:
    email = (email or "").strip()
    if not email:
        raise ServiceError("Enter your email address.", field="email")
    try:
        result = validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ServiceError(f"That email address is not valid: {exc}", field="email") from exc
    return result.normalized.lower()


def clean_name(value: str, label: str, field: str, max_length: int, required: bool = True) -> str:
    value = " ".join((value or "").split())
    if required and not value:
        raise ServiceError(f"Enter {label}.", field=field)
    if len(value) > max_length:
        raise ServiceError(f"{label[0].upper() + label[1:]} can be at most {max_length} characters.", field=field)
    return value
