"""Checks on a password an owner chooses (names and e-mail addresses are cleaned by backend.core.names)."""

from __future__ import annotations

from backend.errors import ServiceError
from backend.settings import get_settings

_COMMON_PASSWORDS = {
    "password", "password1", "password123", "123456789", "1234567890", "qwertyuiop", "letmein123",
    "iloveyou12", "welcome123", "admin12345", "passw0rd12", "abc1234567", "qwerty1234", "1q2w3e4r5t",
}


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
