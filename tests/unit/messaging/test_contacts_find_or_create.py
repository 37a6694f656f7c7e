"""Owner bookings for walk-ins and phone calls: the customer is found by phone or created, per workspace."""

from __future__ import annotations

import pytest

from backend.db import session_scope
from backend.errors import ServiceError
from backend.messaging.contacts import find_or_create_contact, get_contact
from backend.models import Contact
from tests.unit.messaging_helpers import make_workspace


def test_creates_a_new_walk_in_with_the_phone_in_the_workspace_region(db):
    ws = make_workspace(slug="oak-dental", region="US").id
    contact_id = find_or_create_contact(ws, "(212) 555-0147", "  Dana ", "Reyes")
    with session_scope() as s:
        c = s.get(Contact, contact_id)
        assert (c.workspace_id, c.phone, c.first_name, c.last_name) == (ws, "+12125550147", "Dana", "Reyes")


def test_finds_the_existing_contact_and_never_overwrites_a_name(db):
    ws = make_workspace(slug="oak-dental").id
    first = find_or_create_contact(ws, "+1 212 555 0147", "Dana", "Reyes")
    again = find_or_create_contact(ws, "212-555-0147", "Someone", "Else")
    assert again == first
    assert get_contact(ws, first).first_name == "Dana"


def test_fills_the_name_of_an_unnamed_contact(db):
    ws = make_workspace(slug="oak-dental").id
    unnamed = find_or_create_contact(ws, "+12125550147")
    assert find_or_create_contact(ws, "+12125550147", "Dana") == unnamed
    assert get_contact(ws, unnamed).first_name == "Dana"


def test_the_same_phone_is_a_separate_contact_in_another_workspace(db):
    a = make_workspace(slug="oak-dental").id
    b = make_workspace(slug="elm-salon", owner_email="owner@elm.example").id
    assert find_or_create_contact(a, "+12125550147", "Dana") != find_or_create_contact(b, "+12125550147", "Dee")
    with session_scope() as s:
        assert len(s.query(Contact).filter(Contact.phone == "+12125550147").all()) == 2


@pytest.mark.parametrize("phone, first, field", [("", "Dana", "phone"), ("12", "Dana", "phone"),
                                                 ("+12125550147", "x" * 81, "first_name")])
def test_bad_input_is_refused_and_changes_nothing(db, phone, first, field):
    ws = make_workspace(slug="oak-dental").id
    with pytest.raises(ServiceError) as err:
        find_or_create_contact(ws, phone, first)
    assert err.value.field == field
    with session_scope() as s:
        assert s.query(Contact).filter(Contact.workspace_id == ws).count() == 0
