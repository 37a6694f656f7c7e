"""Customers on a portal: who they are (by phone, per business), their sessions, and the one-time code that
guards their history."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from backend.db import session_scope
from backend.errors import AuthenticationError, NotFound, RateLimited, ServiceError, SessionExpired
from backend.messaging import portal
from backend.models import Contact, PortalSession, VerificationCode, Workspace
from backend.models.types import utcnow
from backend.security import token_hash
from tests.unit.messaging_helpers import (
    last_code,
    make_workspace,
    settings_override,
    settle_background,  # noqa: F401 - autouse fixture
    sms_outbox,
    wrong_code,
)

PHONE = "+12125550147"


def _returning_customer(slug: str, ask: bool = True) -> portal.PortalIdentity:
    """A contact with one earlier conversation, and a fresh session for them that has not verified yet (and, with
    `ask`, asked for its code)."""
    first = portal.identify_customer(slug, "(212) 555-0147", "Jordan")
    portal.send_customer_message(first.session_token, "My first visit")
    identity = portal.identify_customer(slug, "212 555 0147")
    if ask:
        portal.send_verification_code(identity.session_token)
    return identity


def test_a_new_customer_is_verified_at_once_and_gets_a_session(db):
    biz = make_workspace()
    identity = portal.identify_customer(biz.slug, "(212) 555-0147", "Jordan")
    assert identity.verified and not identity.needs_verification
    assert identity.workspace_id == biz.id and identity.conversation_id is None
    assert identity.masked_phone == "+1 ••• ••• 0147" and identity.first_name == "Jordan"
    with session_scope() as s:
        contact = s.exec(select(Contact)).one()
        session_row = s.exec(select(PortalSession)).one()
    assert contact.phone == PHONE and contact.first_name == "Jordan"
    assert session_row.token_hash == token_hash(identity.session_token) != identity.session_token
    assert timedelta(days=29) < session_row.expires_at - utcnow() <= timedelta(days=30)
    assert sms_outbox() == []  # nothing to protect, so no code


def test_identify_refuses_unknown_or_disabled_businesses_and_bad_phones(db):
    biz = make_workspace()
    with pytest.raises(NotFound):
        portal.identify_customer("no-such-business", PHONE)
    with pytest.raises(ServiceError) as err:
        portal.identify_customer(biz.slug, "not a phone")
    assert err.value.field == "phone"
    with session_scope() as s:
        s.get(Workspace, biz.id).portal_enabled = False
    with pytest.raises(NotFound):
        portal.identify_customer(biz.slug, PHONE)
    with session_scope() as s:
        assert s.exec(select(Contact)).all() == [] and s.exec(select(PortalSession)).all() == []


def test_the_same_phone_twice_is_one_contact(db):
    biz = make_workspace()
    a = portal.identify_customer(biz.slug, "(212) 555-0147")
    b = portal.identify_customer(biz.slug, "+1 212 555 0147")
    assert a.contact_id == b.contact_id and a.session_token != b.session_token


def test_resume_checks_token_workspace_revocation_and_expiry(db):
    biz = make_workspace()
    other = make_workspace("elm-salon", "Elm Salon")
    identity = portal.identify_customer(biz.slug, PHONE, "Jordan")

    resumed = portal.resume_portal_session(biz.slug, identity.session_token)
    # The name on file is told only to a browser that entered the texted code, even the one that typed it.
    assert (resumed.contact_id, resumed.verified, resumed.first_name) == (identity.contact_id, True, "")

    with pytest.raises(AuthenticationError):
        portal.resume_portal_session(other.slug, identity.session_token)  # a token of another business
    with pytest.raises(AuthenticationError):
        portal.resume_portal_session(biz.slug, "forged-token")
    with pytest.raises(AuthenticationError):
        portal.resume_portal_session(biz.slug, "")

    with session_scope() as s:
        row = s.exec(select(PortalSession)).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(SessionExpired, match="expired"):
        portal.resume_portal_session(biz.slug, identity.session_token)
    with pytest.raises(SessionExpired):
        portal.send_customer_message(identity.session_token, "still there?")

    fresh = portal.identify_customer(biz.slug, PHONE)
    portal.end_portal_session(fresh.session_token)
    with pytest.raises(AuthenticationError):
        portal.resume_portal_session(biz.slug, fresh.session_token)
    with pytest.raises(AuthenticationError):
        portal.list_portal_messages(fresh.session_token)


def test_resume_touches_last_activity_at_most_once_a_minute(db):
    biz = make_workspace()
    identity = portal.identify_customer(biz.slug, PHONE)
    with session_scope() as s:
        row = s.exec(select(PortalSession)).one()
        first_touch = row.last_activity_at
    portal.resume_portal_session(biz.slug, identity.session_token)
    with session_scope() as s:
        assert s.exec(select(PortalSession)).one().last_activity_at == first_touch
        row = s.exec(select(PortalSession)).one()
        row.last_activity_at = utcnow() - timedelta(minutes=2)
    portal.resume_portal_session(biz.slug, identity.session_token)
    with session_scope() as s:
        assert s.exec(select(PortalSession)).one().last_activity_at > utcnow() - timedelta(seconds=30)


def test_the_same_phone_at_two_businesses_is_two_contacts_with_separate_histories(db):
    oak = make_workspace("oak-dental", "Oak Dental")
    elm = make_workspace("elm-salon", "Elm Salon")
    at_oak = portal.identify_customer(oak.slug, PHONE, "Jordan")
    portal.send_customer_message(at_oak.session_token, "Tooth question")

    at_elm = portal.identify_customer(elm.slug, PHONE, "Jo")
    assert at_elm.contact_id != at_oak.contact_id
    assert at_elm.verified  # no history at this business, whatever happened at the other one
    assert portal.list_portal_messages(at_elm.session_token) == []
    portal.send_customer_message(at_elm.session_token, "Haircut question")

    assert [m.content for m in portal.list_portal_messages(at_oak.session_token)] == ["Tooth question"]
    assert [m.content for m in portal.list_portal_messages(at_elm.session_token)] == ["Haircut question"]
    with session_scope() as s:
        names = {c.workspace_id: c.first_name for c in s.exec(select(Contact))}
    assert names == {oak.id: "Jordan", elm.id: "Jo"}


def test_a_returning_customer_must_verify_and_gets_a_code_by_sms_through_the_outbox_when_asking(db):
    biz = make_workspace()
    identity = _returning_customer(biz.slug, ask=False)
    assert not identity.verified and identity.needs_verification and not identity.code_sent
    assert identity.first_name == ""  # the name on file is not shown to someone who only typed the number
    assert identity.visible_conversation_ids == [] and identity.conversation_id is None
    assert sms_outbox(biz.id) == []  # typing a number texts nothing: the browser asks for the code

    portal.send_verification_code(identity.session_token)
    assert portal.resume_portal_session(biz.slug, identity.session_token).code_sent
    [text] = sms_outbox(biz.id)
    assert (text.channel, text.to_address, text.status, text.provider) == ("sms", PHONE, "sent", "outbox")
    assert "Oak Dental" in text.body and "expires in 10 minutes" in text.body
    code = last_code(PHONE)
    with session_scope() as s:
        stored = s.exec(select(VerificationCode)).one()
    assert code not in stored.code_hash and len(stored.code_hash) == 64

    assert portal.list_portal_messages(identity.session_token) == []  # history hidden until verified
    verified = portal.verify_code(identity.session_token, code[:3] + " " + code[3:])
    assert verified.verified and not verified.needs_verification and verified.first_name == "Jordan"
    assert [m.content for m in portal.list_portal_messages(identity.session_token)] == ["My first visit"]
    assert portal.resume_portal_session(biz.slug, identity.session_token).verified


def test_a_wrong_code_says_how_many_tries_remain_and_the_last_one_burns_it(db):
    biz = make_workspace()
    identity = _returning_customer(biz.slug)
    code = last_code(PHONE)
    for remaining in (4, 3, 2, 1):
        with pytest.raises(ServiceError) as err:
            portal.verify_code(identity.session_token, wrong_code(code))
        assert err.value.field == "code"
        assert f"{remaining} {'try' if remaining == 1 else 'tries'} left" in err.value.message
    with pytest.raises(ServiceError, match="can't be used any more"):
        portal.verify_code(identity.session_token, wrong_code(code))
    with pytest.raises(ServiceError, match="can't be used any more"):
        portal.verify_code(identity.session_token, code)  # even the right code: it is burned
    assert not portal.resume_portal_session(biz.slug, identity.session_token).verified

    portal.send_verification_code(identity.session_token)
    assert portal.verify_code(identity.session_token, last_code(PHONE)).verified


def test_malformed_codes_do_not_spend_a_try(db):
    biz = make_workspace()
    identity = _returning_customer(biz.slug)
    for bad in ("", "12345", "abcdef", "1234567"):
        with pytest.raises(ServiceError, match="6-digit code"):
            portal.verify_code(identity.session_token, bad)
    with session_scope() as s:
        assert s.exec(select(VerificationCode)).one().attempts == 0


def test_an_expired_code_is_refused_clearly(db):
    biz = make_workspace()
    identity = _returning_customer(biz.slug)
    code = last_code(PHONE)
    with session_scope() as s:
        s.exec(select(VerificationCode)).one().expires_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(ServiceError, match="expired"):
        portal.verify_code(identity.session_token, code)


def test_a_new_code_replaces_the_previous_one(db):
    biz = make_workspace()
    identity = _returning_customer(biz.slug)
    old = last_code(PHONE)
    portal.send_verification_code(identity.session_token)
    new = last_code(PHONE)
    if new != old:  # one in a million they are equal
        with pytest.raises(ServiceError, match="That code is wrong"):
            portal.verify_code(identity.session_token, old)
    with session_scope() as s:
        s.exec(select(VerificationCode).where(VerificationCode.consumed_at.is_(None))).one()
    assert portal.verify_code(identity.session_token, new).verified


T0 = datetime(2031, 3, 4, 9, 0, tzinfo=timezone.utc)  # any date: the sends below are given their clock
CUSTOMER_AT, STRANGER_AT = "198.51.100.20", "203.0.113.66"


def _browser(slug: str, phone: str = PHONE) -> str:
    return portal.identify_customer(slug, phone).session_token


def test_a_stranger_cannot_use_up_the_customers_codes_or_spend_the_customers_tries(db):
    """Issue 15, finding 10: the limit on texts was per number only, so anyone typing it could use it up."""
    biz = make_workspace()
    customer = _returning_customer(biz.slug, ask=False).session_token
    stranger = _browser(biz.slug)
    for minute in range(3):
        portal.send_verification_code(stranger, client_address=STRANGER_AT, now=T0 + timedelta(minutes=minute))
    with pytest.raises(RateLimited, match=r"already sent 3 codes to this number in the last hour.* 57 minutes"):
        portal.send_verification_code(_browser(biz.slug), client_address=STRANGER_AT, now=T0 + timedelta(minutes=3))
    for _ in range(5):
        with pytest.raises(ServiceError, match="wrong"):
            portal.verify_code(stranger, wrong_code(last_code(PHONE)), now=T0 + timedelta(minutes=4))

    portal.send_verification_code(customer, client_address=CUSTOMER_AT, now=T0 + timedelta(minutes=5))
    code = last_code(PHONE)
    with pytest.raises(ServiceError, match="Ask for a code first"):
        portal.verify_code(_browser(biz.slug), code, now=T0 + timedelta(minutes=6))  # the code is its session's
    # A new code for the stranger replaces the stranger's own, never the customer's.
    portal.send_verification_code(stranger, client_address="192.0.2.7", now=T0 + timedelta(minutes=6))
    assert portal.verify_code(customer, code, now=T0 + timedelta(minutes=7)).verified
    with pytest.raises(ServiceError):
        portal.verify_code(stranger, code, now=T0 + timedelta(minutes=7))


def test_codes_to_one_number_from_everywhere_and_from_one_address_to_any_numbers_are_capped(db):
    biz = make_workspace()
    with settings_override(verification_codes_per_number_per_hour=4, verification_codes_per_address_per_hour=5):
        for i in range(4):
            portal.send_verification_code(_browser(biz.slug), client_address=f"203.0.113.{i}",
                                          now=T0 + timedelta(minutes=i))
        with pytest.raises(RateLimited, match="This number was sent too many codes.* 56 minutes"):
            portal.send_verification_code(_browser(biz.slug), client_address="203.0.113.9",
                                          now=T0 + timedelta(minutes=4))
        for i in range(4):  # one address typing other numbers: the fifth is its last this hour
            portal.send_verification_code(_browser(biz.slug, f"+1212555020{i}"), client_address="203.0.113.0",
                                          now=T0 + timedelta(minutes=5 + i))
        with pytest.raises(RateLimited, match="from your network.* 50 minutes"):
            portal.send_verification_code(_browser(biz.slug, "+12125550299"), client_address="203.0.113.0",
                                          now=T0 + timedelta(minutes=10))
        assert len(sms_outbox(biz.id)) == 8
        # An hour after the first code, each limit lets the next one through.
        portal.send_verification_code(_browser(biz.slug), client_address="203.0.113.9", now=T0 + timedelta(minutes=61))
        portal.send_verification_code(_browser(biz.slug, "+12125550299"), client_address="203.0.113.0",
                                      now=T0 + timedelta(minutes=61))


def test_a_code_is_only_good_for_its_own_contact(db):
    biz = make_workspace()
    identity = _returning_customer(biz.slug)
    jordan_code = last_code(PHONE)
    stranger = portal.identify_customer(biz.slug, "+12125550199")
    portal.send_customer_message(stranger.session_token, "hello")
    stranger_again = portal.identify_customer(biz.slug, "+12125550199")
    with pytest.raises(ServiceError):
        portal.verify_code(stranger_again.session_token, jordan_code)
    assert portal.verify_code(identity.session_token, jordan_code).verified


def test_a_session_trusted_only_because_nothing_existed_must_verify_once_history_appears(db):
    """Someone who typed a phone number before its owner ever chatted must not read what the owner writes
    later from another browser."""
    biz = make_workspace()
    early = portal.identify_customer(biz.slug, PHONE)
    assert early.verified
    owner_of_phone = portal.identify_customer(biz.slug, PHONE, "Jordan")
    portal.send_customer_message(owner_of_phone.session_token, "My private question")

    resumed = portal.resume_portal_session(biz.slug, early.session_token)
    assert not resumed.verified and resumed.needs_verification
    assert portal.list_portal_messages(early.session_token) == []
