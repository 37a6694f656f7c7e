"""Personal data swapped for placeholders before text leaves for an outside AI service, and put back in its answer
(backend.providers.redaction): each kind, the near-misses that must reach the model untouched, and streaming."""

from __future__ import annotations

import pytest

from backend.providers.redaction import Redactor, find_sensitive, iban_ok, luhn_ok


def _kinds(text: str) -> list[tuple[str, str]]:
    return [(f.kind, f.text) for f in find_sensitive(text)]


# --- each kind -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("Write to jo.smith+spa@example.co.uk please", "jo.smith+spa@example.co.uk"),
    ("MAIL: ANA_RUIZ@Mail.Example.COM.", "ANA_RUIZ@Mail.Example.COM"),
    ("(bob@example.org)", "bob@example.org"),
])
def test_email_addresses(text, expected):
    assert _kinds(text) == [("EMAIL", expected)]


@pytest.mark.parametrize("text, expected", [
    ("Call me on +1 212 555 0147 tomorrow", "+1 212 555 0147"),
    ("my number: +12125550147", "+12125550147"),
    ("+44 20 7946 0011 is the office", "+44 20 7946 0011"),
    ("(+33) no, +33 6 12 34 56 78", "+33 6 12 34 56 78"),
    ("my number is (212) 555-0147.", "(212) 555-0147"),
    ("cell 212.555.0147", "212.555.0147"),
    ("1-212-555-0147 after six", "1-212-555-0147"),
    ("UK mobile 07700 900123", "07700 900123"),
    ("office 020 7946 0011", "020 7946 0011"),
    ("portable 06 12 34 56 78", "06 12 34 56 78"),
    ("text 2125550147 any time", "2125550147"),
])
def test_phone_numbers_international_and_national(text, expected):
    assert _kinds(text) == [("PHONE", expected)]


@pytest.mark.parametrize("text, expected", [
    ("card 4111 1111 1111 1111 exp 12/28", "4111 1111 1111 1111"),
    ("4111-1111-1111-1111", "4111-1111-1111-1111"),
    ("amex 378282246310005", "378282246310005"),
    ("5555555555554444.", "5555555555554444"),
])
def test_card_numbers_that_pass_luhn(text, expected):
    assert _kinds(text) == [("CARD", expected)]


@pytest.mark.parametrize("text, expected", [
    ("IBAN DE89 3704 0044 0532 0130 00 thanks", "DE89 3704 0044 0532 0130 00"),
    ("pay to GB82WEST12345698765432", "GB82WEST12345698765432"),
    ("my account number is 12345678", "12345678"),
    ("Sort code 12-34-56, acct no. 31926819", "12-34-56"),
    ("routing: 021000021", "021000021"),
])
def test_bank_accounts(text, expected):
    assert ("ACCOUNT", expected) in _kinds(text)


def test_sort_code_and_account_number_both_go():
    assert _kinds("Sort code 12-34-56, acct no. 31926819") == [("ACCOUNT", "12-34-56"), ("ACCOUNT", "31926819")]


# --- near-misses: what the model needs to answer must reach it --------------------------------------------------------


@pytest.mark.parametrize("text", [
    "Where is order #123456789?",
    "Order number 2125550147 has not arrived",
    "order 2125550147",
    "Invoice 00012345678 is wrong",
    "ref 20260314",
    "Booking confirmation 0123456789",
    "Can I come on 2026-03-14 at 10:30?",
    "or on 14/03/2026, or 03.14.2026, or 01.02.2026",
    "It costs $1,250.00, or €1.250.000 or 1 250 000 XOF",
    "We are open 9:00-17:00, room 1204, 555 people came, ZIP 10001",
    "version 1.2.3 at 192.168.0.1",
    "card ending 4242, order 1234 5678 9012 3456",
    "4111 1111 1111 1112 fails the Luhn check",
    "0000 0000 0000 0000",
    "DE89 3704 0044 0532 0130 01 has a wrong checksum",
    "Account #4455 and party of 12",
    "@jo_smith on Instagram",
    "+1 is my plus one",
])
def test_near_misses_are_left_alone(text):
    assert find_sensitive(text) == []
    redactor = Redactor()
    assert redactor.redact(text) == text


def test_checksums():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("DE89 3704 0044 0532 0130 00") and not iban_ok("DE89 3704 0044 0532 0130 01")


# --- placeholders ----------------------------------------------------------------------------------------------------


def test_placeholders_are_consistent_within_one_request_and_restored():
    redactor = Redactor()
    first = redactor.redact("I'm jo@example.com, call +1 212 555 0147 or (212) 555-0147.")
    second = redactor.redact("Again: JO@example.com. Card 4111 1111 1111 1111, and ana@example.com")
    assert first == "I'm [EMAIL_1], call [PHONE_1] or [PHONE_1]."
    assert second == "Again: [EMAIL_1]. Card [CARD_1], and [EMAIL_2]"
    assert "jo@example.com" not in first + second and "4111" not in second

    reply = redactor.restore("Thanks! We'll write to [EMAIL_1] and charge [card_1]; [EMAIL_9] is unknown.")
    assert reply == "Thanks! We'll write to jo@example.com and charge 4111 1111 1111 1111; [EMAIL_9] is unknown."
    # A model that drops the brackets still gets the value back; a word that merely contains one does not.
    assert redactor.restore('{"card": "CARD_1", "note": "MYCARD_1 or CARD_10"}') == \
        '{"card": "4111 1111 1111 1111", "note": "MYCARD_1 or CARD_10"}'


def test_one_phone_written_two_ways_is_one_placeholder():
    redactor = Redactor()
    assert redactor.redact("+44 20 7946 0011 / 020 7946 0011 / 07700 900123") == "[PHONE_1] / [PHONE_1] / [PHONE_2]"
    assert redactor.restore("[PHONE_1]") == "+44 20 7946 0011"  # as the customer first wrote it


def test_a_fresh_redactor_starts_counting_again():
    assert Redactor().redact("ana@example.com") == Redactor().redact("bob@example.com") == "[EMAIL_1]"


def test_messages_and_tool_call_arguments_are_redacted_without_touching_the_callers_list():
    messages = [
        {"role": "system", "content": "Passages: [1] Call the office on 020 7946 0011."},
        {"role": "user", "content": [{"type": "text", "text": "Email me at jo@example.com"}]},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "c1", "type": "function",
             "function": {"name": "note", "arguments": '{"email": "jo@example.com"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": '{"saved": "jo@example.com"}'},
    ]
    before = repr(messages)
    redactor = Redactor()
    out = redactor.redact_messages(messages)
    assert repr(messages) == before
    assert out[0]["content"] == "Passages: [1] Call the office on [PHONE_1]."
    assert out[1]["content"][0]["text"] == "Email me at [EMAIL_1]"
    assert out[2]["tool_calls"][0]["function"]["arguments"] == '{"email": "[EMAIL_1]"}'
    assert out[3]["content"] == '{"saved": "[EMAIL_1]"}'
    assert "jo@example.com" not in repr(out)
    assert redactor.restore_value({"to": ["[EMAIL_1]"], "n": 2, "office": "[PHONE_1]"}) == {
        "to": ["jo@example.com"], "n": 2, "office": "020 7946 0011"}


# --- streaming -------------------------------------------------------------------------------------------------------


def _streamed(redactor: Redactor, chunks: list[str]) -> tuple[list[str], str]:
    restorer = redactor.stream_restorer()
    shown = [restorer.feed(chunk) for chunk in chunks]
    shown.append(restorer.flush())
    return shown, "".join(shown)


def test_a_placeholder_split_across_chunks_is_restored():
    redactor = Redactor()
    redactor.redact("jo@example.com and 4111 1111 1111 1111")
    shown, whole = _streamed(redactor, ["We will write to [EM", "AIL", "_1", "] and charge [", "CARD_1]", "."])
    assert whole == "We will write to jo@example.com and charge 4111 1111 1111 1111."
    assert not any("[" in piece for piece in shown)
    assert shown[0] == "We will write to "  # the start of the placeholder waits for the rest


def test_a_placeholder_without_brackets_split_across_chunks_is_restored():
    redactor = Redactor()
    redactor.redact("card 4111 1111 1111 1111")
    shown, whole = _streamed(redactor, ["Charged CAR", "D_", "1 today. A", "ll done. CARPET"])
    assert whole == "Charged 4111 1111 1111 1111 today. All done. CARPET"
    assert shown[0] == "Charged "


def test_brackets_that_are_not_placeholders_are_not_held_back():
    redactor = Redactor()
    redactor.redact("jo@example.com")
    shown, whole = _streamed(redactor, ["See [1", "] and [note", "s] or [EMAIL_2] [E"])
    assert shown[:2] == ["See [1", "] and [note"]
    assert whole == "See [1] and [notes] or [EMAIL_2] [E"


def test_without_placeholders_a_stream_passes_straight_through():
    shown, whole = _streamed(Redactor(), ["Hello [EM", "AIL_1]"])
    assert shown == ["Hello [EM", "AIL_1]", ""]
