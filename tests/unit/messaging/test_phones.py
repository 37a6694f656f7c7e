"""Phone numbers typed on the portal become one E.164 value per person, read with the business's region."""

from __future__ import annotations

import pytest

from backend.errors import ServiceError
from backend.messaging.phones import display_phone, mask_phone, normalize_phone


@pytest.mark.parametrize(
    "raw,region,expected",
    [
        ("(212) 555-0147", "US", "+12125550147"),
        ("212.555.0147", "us", "+12125550147"),
        ("+1 212 555 0147", "GB", "+12125550147"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("+44 20 7946 0958", "US", "+442079460958"),
        ("  +33 6 12 34 56 78 ", "", "+33612345678"),
    ],
)
def test_valid_numbers_become_e164_using_the_workspace_region(raw, region, expected):
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize(
    "raw,region,fragment",
    [
        ("", "US", "Enter your phone number"),
        ("call me", "US", "doesn't look like a phone number"),
        ("12", "US", "too few or too many digits"),
        ("+1 212 555 014", "US", "too few or too many digits"),
        ("+1 (212) 555-0147 ext 5", "US", "without an extension"),
        ("+1 011 555 0147", "US", "doesn't exist"),
        ("2125550147", "", "Include the country code"),
        ("1" * 41, "US", "too long"),
    ],
)
def test_invalid_numbers_get_a_friendly_message_on_the_phone_field(raw, region, fragment):
    with pytest.raises(ServiceError) as err:
        normalize_phone(raw, region)
    assert err.value.field == "phone" and fragment in err.value.message


def test_the_same_digits_mean_different_numbers_in_different_regions():
    assert normalize_phone("0612345678", "FR") == "+33612345678"
    with pytest.raises(ServiceError):
        normalize_phone("0612345678", "US")


def test_masking_shows_only_the_country_and_last_four_digits():
    assert mask_phone("+12125550147") == "+1 ••• ••• 0147"
    assert mask_phone("+442079460958") == "+44 ••• ••• 0958"
    assert "555" not in mask_phone("+12125550147")
    assert display_phone("+12125550147") == "+1 212-555-0147"
