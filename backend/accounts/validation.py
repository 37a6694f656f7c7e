"""Checks on what a person types when signing up or changing a password."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from backend.errors import ServiceError
from backend.settings import get_settings

_COMMON_PASSWORDS = {
    "password", "password1", "password123", "123456789", "1234567890", "qwertyuiop", "letmein123",
    "iloveyou12", "welcome123", "admin12345", "passw0rd12", "abc1234567", "qwerty1234", "1q2w3e4r5t",
}


def normalize_email(email: str) -> str:
    email = (email or "").strip()
    if not email:
        raise ServiceError("Enter your email address.", field="email")
    try:
        result = validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ServiceError(f"That email address is not valid: {exc}", field="email") from exc
    return result.normalized.lower()


def check_password_strength(password: str, email: str = "") -> None:
    minimum = get_settings().min_password_length
    if len(password) < minimum:
        raise ServiceError(f"Use at least {minimum} characters for your password.", field="password")
    if len(password) > 256:
        raise ServiceError("Use at most 256 characters for your password.", field="password")
    if len(set(password)) < 4:
        raise ServiceError("That password is too easy to guess: mix more different characters.", field="password")
    if password.lower() in _COMMON_PASSWORDS:
        raise ServiceError("That password is too common. Choose another one.", field="password")
    if email and password.lower() == email.lower().split("@")[0]:
        raise ServiceError("Don't use your email address as your password.", field="password")


def clean_name(value: str, label: str, field: str, max_length: int, required: bool = True) -> str:
    value = " ".join((value or "").split())
    if required and not value:
        raise ServiceError(f"Enter {label}.", field=field)
    if len(value) > max_length:
        raise ServiceError(f"{label[0].upper() + label[1:]} can be at most {max_length} characters.", field=field)
    return value
