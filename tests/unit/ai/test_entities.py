"""Entity extraction: what a customer message fills — dates and times in the workspace's zone (DST weeks
included), party sizes, names, emails, phones, amounts — with exact spans, ambiguity and requested slots."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from backend.ai.types import Entity, FieldSpec
from backend.ai.understanding.entities import DEFAULT_FIELDS, extract_entities, field_kind

NY = "America/New_York"
BERLIN = "Europe/Berlin"
UTC = ZoneInfo("UTC")

# Wednesday 4 March 2026, 10:00 in New York.
WED_NY = datetime(2026, 3, 4, 10, 0, tzinfo=ZoneInfo(NY))
# Friday 27 March 2026, 18:00 in Berlin: clocks go forward on Sunday 29 March at 02:00.
FRI_BERLIN_DST = datetime(2026, 3, 27, 18, 0, tzinfo=ZoneInfo(BERLIN))
# Saturday 31 October 2026, 20:00 in New York: clocks go back on Sunday 1 November at 02:00.
SAT_NY_DST = datetime(2026, 10, 31, 20, 0, tzinfo=ZoneInfo(NY))
# 20:00 UTC on Wednesday 4 March is already Thursday 5 March, 05:00 in Tokyo.
UTC_EVENING = datetime(2026, 3, 4, 20, 0, tzinfo=UTC)


def extract(text: str, now: datetime = WED_NY, tz: str = NY, **kw) -> list[Entity]:
    ents = extract_entities(text, now=now, timezone=tz, **kw)
    _check_invariants(text, ents)
    return ents


def _check_invariants(text: str, ents: list[Entity]) -> None:
    assert [e.start for e in ents] == sorted(e.start for e in ents)
    for e in ents:
        assert text[e.start:e.end] == e.text, e
        assert e.text.strip() == e.text and e.text, e
        assert 0.0 <= e.confidence <= 1.0, e
    for i, a in enumerate(ents):
        for b in ents[i + 1:]:
            if a.field == b.field:
                assert a.end <= b.start or b.end <= a.start, (a, b)


def by_field(ents: list[Entity], field: str) -> list[Entity]:
    return [e for e in ents if e.field == field]


def one(ents: list[Entity], field: str) -> Entity:
    found = by_field(ents, field)
    assert len(found) == 1, (field, ents)
    return found[0]


# ---------------------------------------------------------------- dates and times

@pytest.mark.parametrize(
    "text,field,value,span",
    [
        ("Can we come the day after tomorrow?", "date", "2026-03-06", "day after tomorrow"),
        ("a table tonight please", "date", "2026-03-04", "tonight"),
        ("tomorrow works", "date", "2026-03-05", "tomorrow"),
        ("this Friday", "date", "2026-03-06", "this Friday"),
        ("on Saturday", "date", "2026-03-07", "Saturday"),
        ("in 2 weeks", "date", "2026-03-18", "in 2 weeks"),
        ("15 days from today", "date", "2026-03-19", "15 days from today"),
        ("in three days", "date", "2026-03-07", "in three days"),
        ("the 3rd", "date", "2026-04-03", "3rd"),  # the 3rd has passed this month
        ("on the 27th of August", "date", "2026-08-27", "27th of August"),
        ("Dec 5th", "date", "2026-12-05", "Dec 5th"),
        ("Friday the 13th", "date", "2026-03-13", "Friday the 13th"),
        ("Monday, August 13th, 2018", "date", "2018-08-13", "Monday, August 13th, 2018"),
        ("Sun, 05 Aug 2018", "date", "2018-08-05", "Sun, 05 Aug 2018"),
        ("book it for 2018/04/24.", "date", "2018-04-24", "2018/04/24"),
        ("08/31/2018", "date", "2018-08-31", "08/31/2018"),
        ("the first Monday of April", "date", "2026-04-06", "first Monday of April"),
        ("at noon", "time", "12:00", "noon"),
        ("7:30 pm", "time", "19:30", "7:30 pm"),
        ("0730pm", "time", "19:30", "0730pm"),
        ("19:15", "time", "19:15", "19:15"),
        ("quarter to 8 pm", "time", "19:45", "quarter to 8 pm"),
        ("half past seven tonight", "time", "19:30", "half past seven"),
        ("a quarter past six in the evening", "time", "18:15", "quarter past six in the evening"),
        ("30 minutes before 12pm", "time", "11:30", "30 minutes before 12pm"),
        ("dinner at 7", "time", "19:00", "7"),
        ("8 in the morning", "time", "08:00", "8 in the morning"),
        ("around 5ish", "time", "17:00", "5ish"),
        ("eight o'clock", "time", "08:00", "eight o'clock"),
    ],
)
def test_dates_and_times_are_resolved_relative_to_the_message_time(text, field, value, span):
    e = one(extract(text), field)
    assert (e.value, e.text) == (value, span)


def test_the_day_after_tomorrow_at_9_45_gives_both_parts():
    ents = extract("the day after tomorrow at 9:45")
    assert one(ents, "date").value == "2026-03-06"
    t = one(ents, "time")
    assert t.value == "09:45" and t.text == "9:45"
    assert "21:45" in t.alternatives and t.confidence < 0.7


@pytest.mark.parametrize(
    "text,value,alternative",
    [
        ("at 7", "07:00", "19:00"),  # 7-11 as said, with the evening reading offered
        ("7ish", "07:00", "19:00"),
        ("at 3", "15:00", "03:00"),  # 1-6: the business-hours afternoon
    ],
)
def test_an_hour_without_am_pm_is_a_less_confident_guess(text, value, alternative):
    t = one(extract(text), "time")
    assert t.value == value
    assert alternative in t.alternatives
    assert t.confidence < 0.7


def test_am_pm_and_evening_context_are_not_ambiguous():
    for text, value in (("at 7pm", "19:00"), ("tonight at 7", "19:00"), ("breakfast at 8", "08:00")):
        t = one(extract(text), "time")
        assert t.value == value and not t.alternatives and t.confidence >= 0.65, text


def test_next_thursday_said_on_a_wednesday_is_ambiguous():
    d = one(extract("next Thursday"), "date")
    assert d.value == "2026-03-12"
    assert d.alternatives == ("2026-03-05",)
    assert d.confidence < 0.7
    # said on a Sunday, "next Friday" can only be one day in the coming week
    sunday = datetime(2026, 3, 8, 12, 0, tzinfo=ZoneInfo(NY))
    d = one(extract("next Friday", now=sunday), "date")
    assert d.value == "2026-03-13" and not d.alternatives


def test_day_month_order_follows_the_phone_region():
    us = one(extract("5/12", phone_region="US"), "date")
    gb = one(extract("5/12", tz="Europe/London", phone_region="GB"), "date")
    assert us.value == "2026-05-12" and "2026-12-05" in us.alternatives
    assert gb.value == "2026-12-05" and "2026-05-12" in gb.alternatives
    assert us.confidence < 0.7


def test_relative_times_cross_the_berlin_spring_forward_in_real_hours():
    sat_late = datetime(2026, 3, 28, 23, 30, tzinfo=ZoneInfo(BERLIN))
    ents = extract("any table in 3 hours?", now=sat_late, tz=BERLIN)
    assert one(ents, "time").value == "03:30"  # 22:30 UTC + 3 h = 01:30 UTC = 03:30 CEST
    assert one(ents, "date").value == "2026-03-29"
    assert one(ents, "time").text == "in 3 hours"


def test_datetime_fields_carry_the_offset_in_the_dst_week():
    fields = [FieldSpec("when", "datetime")]
    e = one(extract("Sunday at 7pm", now=FRI_BERLIN_DST, tz=BERLIN, fields=fields), "when")
    assert e.value == "2026-03-29T19:00:00+02:00"
    assert e.text == "Sunday at 7pm"
    e = one(extract("tomorrow at 7pm", now=FRI_BERLIN_DST, tz=BERLIN, fields=fields), "when")
    assert e.value == "2026-03-28T19:00:00+01:00"
    # 02:30 on the 29th does not exist in Berlin: it moves forward by the gap
    e = one(extract("Sunday at 2:30am", now=FRI_BERLIN_DST, tz=BERLIN, fields=fields), "when")
    assert e.value == "2026-03-29T03:30:00+02:00"


def test_new_york_fall_back_week():
    fields = [FieldSpec("when", "datetime"), FieldSpec("date", "date")]
    e = one(extract("tomorrow at 6pm", now=SAT_NY_DST, tz=NY, fields=fields), "when")
    assert e.value == "2026-11-01T18:00:00-05:00"  # EST after the change
    e = one(extract("Monday at 6pm", now=SAT_NY_DST, tz=NY, fields=fields), "when")
    assert e.value == "2026-11-02T18:00:00-05:00"
    # one real hour after 01:00 EDT is 01:00 EST
    first_one_am = datetime(2026, 11, 1, 5, 0, tzinfo=UTC)
    ents = extract("in an hour", now=first_one_am, tz=NY)
    assert one(ents, "time").value == "01:00"


def test_dates_use_the_workspace_zone_not_utc():
    ents = extract("today or tomorrow", now=UTC_EVENING, tz="Asia/Tokyo")
    assert [e.value for e in by_field(ents, "date")] == ["2026-03-05", "2026-03-06"]
    ents = extract("today", now=UTC_EVENING, tz="America/Los_Angeles")
    assert one(ents, "date").value == "2026-03-04"


def test_tomorrow_said_after_midnight_offers_today():
    late = datetime(2026, 3, 5, 0, 30, tzinfo=ZoneInfo(NY))
    d = one(extract("tomorrow", now=late), "date")
    assert d.value == "2026-03-06" and d.alternatives == ("2026-03-05",) and d.confidence < 0.8


def test_tonight_in_the_small_hours_is_the_next_calendar_day():
    evening = datetime(2026, 3, 5, 20, 0, tzinfo=ZoneInfo(NY))
    assert one(extract("Can I come tonight at 1am?", now=evening), "date").value == "2026-03-06"
    assert one(extract("tonight at 8pm", now=evening), "date").value == "2026-03-05"
    after_midnight = datetime(2026, 3, 6, 0, 30, tzinfo=ZoneInfo(NY))  # "tonight" is already the day begun
    assert one(extract("tonight at 1am", now=after_midnight), "date").value == "2026-03-06"


def test_a_time_the_customer_rules_out_is_not_extracted():
    ents = extract("I said 5pm not 6pm")
    assert [e.value for e in by_field(ents, "time")] == ["17:00"]


# ---------------------------------------------------------------- party size

@pytest.mark.parametrize(
    "text,value,span",
    [
        ("a table for 4 please", 4, "4"),
        ("party of six", 6, "six"),
        ("4 people", 4, "4 people"),
        ("two adults and a child", 3, "two adults and a child"),
        ("just me", 1, "me"),
        ("me and my wife", 2, "me and my wife"),
        ("myself and 5 others", 6, "myself and 5 others"),
        ("my wife and I and four kids", 6, "my wife and I and four kids"),
        ("two couples", 4, "two couples"),
        ("Is there room for the 8 of us?", 8, "the 8"),
        ("We are 13 and need a table", 13, "13"),
        ("a table for 7 persons", 7, "7"),
        ("Can I get a 6 top tonight?", 6, "a 6"),
    ],
)
def test_party_sizes(text, value, span):
    e = one(extract(text), "people")
    assert (e.value, e.text) == (value, span)
    assert isinstance(e.value, int)


def test_a_range_keeps_the_other_number_as_an_alternative():
    e = one(extract("a table for 4 or 5 people"), "people")
    assert e.value == 5 and e.alternatives == (4,) and e.confidence < 0.8


def test_counts_are_not_times_and_times_are_not_counts():
    ents = extract("table for 2 at 8pm tomorrow")
    assert one(ents, "people").value == 2
    assert one(ents, "time").value == "20:00"
    assert one(ents, "date").value == "2026-03-05"
    assert not by_field(extract("book it for 7pm"), "people")
    assert not by_field(extract("in 3 days"), "people")


# ---------------------------------------------------------------- names

@pytest.mark.parametrize(
    "text,first,last",
    [
        ("Hi, my name is John Smith and I'd like a table", "John", "Smith"),
        ("my name is john smith", "John", "Smith"),
        ("This is Maria Garcia, table for 2", "Maria", "Garcia"),
        ("I'm Anna", "Anna", None),
        ("Please put it under the name Okafor", None, "Okafor"),
        ("I have a booking for John Smith at 8pm", "John", "Smith"),
        ("Kristy Eheler has a booking for tomorrow", "Kristy", "Eheler"),
        ("Jana Picariello here, I need to cancel", "Jana", "Picariello"),
        ("Table for 2 at 8.\n\nThanks,\nPeter", "Peter", None),
        ("Hi, Vincent van Gogh here", "Vincent", "van Gogh"),
        ("My first name is Alina", "Alina", None),
        ("Negus is my family name", None, "Negus"),
    ],
)
def test_names_from_context(text, first, last):
    ents = extract(text)
    assert [e.value for e in by_field(ents, "first_name")] == ([first] if first else [])
    assert [e.value for e in by_field(ents, "last_name")] == ([last] if last else [])


@pytest.mark.parametrize(
    "text",
    [
        "Thanks",
        "Hello",
        "Can you help me?",
        "Thanks, Can I come Tuesday?",
        "Hello Can I get a table",
        "I am looking for Polish cuisine.",
        "I would like information on the Hush Brasserie restaurant please.",
        "I want to go to a restaurant named Dragon.",
        "Great, Saturday works. See you then!",
        "I'm sorry, I'm running late",
        "Good Morning",
    ],
)
def test_no_names_from_capitalised_words(text):
    ents = extract(text)
    assert not [e for e in ents if e.field in ("first_name", "last_name")], ents


def test_a_bare_answer_is_the_name_that_was_asked_for():
    ents = extract("John Smith", requested=("first_name", "last_name"))
    assert (one(ents, "first_name").value, one(ents, "last_name").value) == ("John", "Smith")
    ents = extract("smith", requested=("last_name",))
    assert one(ents, "last_name").value == "Smith" and not by_field(ents, "first_name")
    ents = extract("Armando and Eves", requested=("first_name", "last_name"))
    assert (one(ents, "first_name").value, one(ents, "last_name").value) == ("Armando", "Eves")
    # without the question, a lone capitalised word is not a name
    assert not extract("Smith")
    # an answer that is not a name
    assert not extract("That's incorrect", requested=("first_name", "last_name"))


# ---------------------------------------------------------------- requested slots

def test_a_bare_number_follows_the_requested_slot():
    assert [(e.field, e.value) for e in extract("7", requested=("people",))] == [("people", 7)]
    t = one(extract("7", requested=("time",)), "time")
    assert t.value == "07:00" and "19:00" in t.alternatives
    assert [(e.field, e.value) for e in extract("seven please", requested=("people",))] == [("people", 7)]
    assert extract("7") == []
    assert one(extract("1930", requested=("time",)), "time").value == "19:30"


def test_a_bare_weekday_answers_the_date_question():
    d = one(extract("Tuesday", requested=("date",)), "date")
    assert d.value == "2026-03-10"


def test_requested_text_field_takes_the_whole_answer():
    fields = [FieldSpec("allergies", "text", "any food allergies"), FieldSpec("date", "date")]
    ents = extract("  peanuts and shellfish ", fields=fields, requested=("allergies",))
    e = one(ents, "allergies")
    assert (e.value, e.start, e.end) == ("peanuts and shellfish", 2, 23)
    assert 0.3 <= e.confidence <= 0.7
    assert extract("peanuts and shellfish", fields=fields) == []


def test_fields_map_by_type_then_key_and_description():
    assert field_kind(FieldSpec("party_size", "number")) == "count"
    assert field_kind(FieldSpec("guests", "number")) == "count"
    assert field_kind(FieldSpec("n", "number", "number of people")) == "count"
    assert field_kind(FieldSpec("rooms", "number", "how many rooms")) == "number"
    assert field_kind(FieldSpec("first_name", "text")) == "first_name"
    assert field_kind(FieldSpec("surname", "text")) == "last_name"
    assert field_kind(FieldSpec("contact_email", "text")) == "email"
    assert field_kind(FieldSpec("mobile", "text")) == "phone"
    assert field_kind(FieldSpec("budget", "text")) == "money"
    assert field_kind(FieldSpec("arrival", "text", "arrival date")) == "date"
    assert field_kind(FieldSpec("notes", "text", "anything else")) == "text"
    assert field_kind(FieldSpec("d", "date")) == "date"


def test_custom_number_field_takes_the_number_next_to_its_word():
    fields = [FieldSpec("party_size", "number"), FieldSpec("children", "number", "number of children")]
    ents = extract("we are 5 including 2 children", fields=fields)
    assert one(ents, "party_size").value == 5
    c = one(ents, "children")
    assert (c.value, c.text) == (2, "2")


def test_only_the_requested_fields_are_returned():
    fields = [FieldSpec("date", "date")]
    ents = extract("John Smith, 4 people, tomorrow at 7pm, john@example.com", fields=fields)
    assert [(e.field, e.value) for e in ents] == [("date", "2026-03-05")]


# ---------------------------------------------------------------- emails, phones, money

def test_emails_phones_and_money():
    text = ("Reach me at Jane.Doe@Example.COM or 212-555-0147. Deposit $45, or 45 dollars, €12.50, "
            "12,50 € and ¥500")
    ents = extract(text)
    assert one(ents, "email").value == "Jane.Doe@example.com"
    assert one(ents, "email").text == "Jane.Doe@Example.COM"
    assert one(ents, "phone").value == "+12125550147"
    money = [(e.text, e.value) for e in by_field(ents, "money")]
    assert money == [
        ("$45", {"amount": "45.00", "currency": "USD"}),
        ("45 dollars", {"amount": "45.00", "currency": "USD"}),
        ("€12.50", {"amount": "12.50", "currency": "EUR"}),
        ("12,50 €", {"amount": "12.50", "currency": "EUR"}),
        ("¥500", {"amount": "500", "currency": "JPY"}),
    ]
    assert not by_field(ents, "time")  # "12.50" of "€12.50" is not ten to one


def test_phone_numbers_use_the_region():
    assert one(extract("call 020 7946 0958", tz="Europe/London", phone_region="GB"), "phone").value == "+442079460958"
    assert not by_field(extract("call 020 7946 0958", phone_region="US"), "phone")
    assert one(extract("call +44 20 7946 0958"), "phone").value == "+442079460958"
    assert one(extract("$20", phone_region="CA"), "money").value == {"amount": "20.00", "currency": "CAD"}


def test_a_full_booking_message():
    ents = extract("Hi, this is Sarah Connor. Table for 2 adults and 2 kids next Friday at 7:30pm, "
                   "my number is (212) 555-0147")
    got = {e.field: e.value for e in ents}
    assert got == {"first_name": "Sarah", "last_name": "Connor", "people": 4, "date": "2026-03-13",
                   "time": "19:30", "phone": "+12125550147"}
    assert {e.field for e in ents} <= {f.key for f in DEFAULT_FIELDS}


def test_empty_and_odd_input():
    assert extract("") == []
    assert extract("   ") == []
    assert extract("🙂🙂 !!!") == []
    # an unknown zone name falls back to UTC rather than failing
    assert one(extract_entities("today", now=UTC_EVENING, timezone="Mars/Base"), "date").value == "2026-03-04"


def test_fast_enough():
    messages = [
        "Hi, I'd like a table for 4 tomorrow at 7:30pm, name is John Smith",
        "Can I book the day after tomorrow at 9:45 for 2 adults and a child?",
        "thanks!",
        "what time do you open on Sunday?",
        "my email is a@b.co and phone 212 555 0147",
    ] * 40
    extract_entities(messages[0], now=WED_NY, timezone=NY)
    t0 = time.perf_counter()
    for m in messages:
        extract_entities(m, now=WED_NY, timezone=NY)
    per_message_ms = (time.perf_counter() - t0) * 1000 / len(messages)
    assert per_message_ms < 5.0


def test_urls_and_yes_no_answers():
    fields = [FieldSpec("website", "url"), FieldSpec("outdoor", "boolean", "outdoor seating?")]
    ents = extract("see https://example.com/menu, or www.example.org.", fields=fields)
    assert [(e.text, e.value) for e in ents] == [("https://example.com/menu", "https://example.com/menu"),
                                                  ("www.example.org", "https://www.example.org")]
    assert [(e.field, e.value) for e in extract("Yes please", fields=fields, requested=("outdoor",))] == [
        ("outdoor", True)]
    assert [(e.field, e.value) for e in extract("nope, inside", fields=fields, requested=("outdoor",))] == [
        ("outdoor", False)]
    assert extract("Yes please", fields=fields) == []
    assert one(extract("example.com", fields=fields, requested=("website",)), "website").value == "https://example.com"


def test_money_hints_need_the_whole_word():
    # "restaurant" holds "rent" and "coffee" holds "fee": neither makes a field an amount of money
    assert field_kind(FieldSpec("city", "text", "City in which the restaurant is located")) == "text"
    assert field_kind(FieldSpec("coffee_order", "text", "")) == "text"
    assert field_kind(FieldSpec("monthly_rent", "text", "")) == "money"
    assert field_kind(FieldSpec("late_fee", "text", "")) == "money"
