"""Phone numbers as customers type them, stored as E.164 so one person is one contact however they write it."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from backend.errors import ServiceError

MAX_INPUT_CHARS = 40  # longer than any real number written with spaces and punctuation


def normalize_phone(raw: str, region: str) -> str:
    """E.164 (e.g. "+12125550147"). `region` (ISO 3166 alpha-2, the workspace's phone_region) decides what a
    number written without a country code means."""
    text = (raw or "").strip()
    if not text:
        raise ServiceError("Enter your phone number.", field="phone")
    if len(text) > MAX_INPUT_CHARS:
        raise ServiceError("That phone number is too long. Check it and try again.", field="phone")
    region_code = (region or "").strip().upper() or None
    if region_code not in phonenumbers.SUPPORTED_REGIONS:
        region_code = None  # only numbers written with "+" and a country code can be understood then
    try:
        number = phonenumbers.parse(text, region_code)
    except NumberParseException:
        hint = " Include the country code, e.g. +1 212 555 0147." if region_code is None else ""
        raise ServiceError(f"That doesn't look like a phone number.{hint}", field="phone") from None
    if number.extension:
        raise ServiceError("Enter the phone number without an extension.", field="phone")
    if not phonenumbers.is_possible_number(number):
        raise ServiceError("That phone number has too few or too many digits. Check it and try again.",
                           field="phone")
    if not phonenumbers.is_valid_number(number):
        raise ServiceError("That phone number doesn't exist. Check it, and add the country code if it's "
                           "from another country.", field="phone")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """"+1 ••• ••• 0147": enough for a person to recognise their own number, not enough to learn someone else's."""
    value = (e164 or "").strip()
    last4 = value[-4:] if len(value) >= 4 else value
    try:
        country = phonenumbers.parse(value, None).country_code
    except NumberParseException:
        return f"••• ••• {last4}"
    return f"+{country} ••• ••• {last4}"


def display_phone(e164: str) -> str:
    """The international format people read ("+1 212-555-0147"); the stored value if it cannot be parsed."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164, None), PhoneNumberFormat.INTERNATIONAL)
    except NumberParseException:
        return e164
